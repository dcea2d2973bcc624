/** `schedule preview` and `schedule validate`: the schedule engine, offline. */
import { isDomainError } from "../domain/errors.ts";
import {
  type GapPolicy,
  nextRuns,
  parseSchedule,
  type RepeatPolicy,
  type ScheduleType,
} from "../domain/schedule/mod.ts";
import { groupUsage, parseCommand, runGroup, type Subcommand, usageError } from "./common.ts";

const OPTIONS = `Options (--type and --expression are required):
  -t, --type TYPE          once | interval | cron | daily | weekly | monthly | rrule
  -e, --expression EXPR    e.g. "0 9 * * 1-5", "PT15M", "09:00,17:30"
  -z, --timezone ZONE      IANA zone (default UTC)
      --from ISO           list runs after this instant (default now)
  -n, --count N            how many runs (default 10, at most 1000)
      --start-at ISO       no run before this instant
      --end-at ISO         no run after this instant
      --max-runs N         no more runs than this
      --gap shift|skip     DST gap policy
      --repeat first|both|last
                           DST repeat policy
  -f, --format table|json  output for people (default) or scripts
  -h, --help               this text

Exit codes: 0 success, 1 invalid schedule, 2 usage error.`;

const DESCRIPTIONS = {
  preview: `Lists the next instants a schedule fires, each with its local time in the schedule's
zone (-f json: {runs}). Works offline, like the service's schedules.preview.`,
  validate: `Checks a schedule and describes it in words; an invalid one names the field at fault
and exits 1 (-f json: {valid, error, field, description}). Works offline.`,
};

function scheduleUsage(command: "preview" | "validate"): string {
  return `Usage: deno task cli schedule ${command} [options]\n\n${
    DESCRIPTIONS[command]
  }\n\n${OPTIONS}`;
}

const COMMANDS: readonly Subcommand[] = [
  {
    name: "preview",
    summary: "the next instants a schedule fires",
    run: (args) => Promise.resolve(runSchedule("preview", args)),
  },
  {
    name: "validate",
    summary: "check a schedule and describe it in words",
    run: (args) => Promise.resolve(runSchedule("validate", args)),
  },
];

/** The help of `schedule`. */
export const SCHEDULE_USAGE = groupUsage(
  "schedule",
  "Schedules on their own, without a service: the engine the service runs, in this process.",
  COMMANDS,
);

/** `schedule <command> …`. */
export function runScheduleGroup(args: string[]): Promise<number> {
  return runGroup("schedule", args, { usage: SCHEDULE_USAGE, commands: COMMANDS });
}

/** `schedule preview|validate`, offline: the schedule engine in this process. */
function runSchedule(command: "preview" | "validate", args: string[]): number {
  const parsed = parseCommand(args, {
    type: { type: "string", short: "t" },
    expression: { type: "string", short: "e" },
    timezone: { type: "string", short: "z", default: "UTC" },
    from: { type: "string" },
    count: { type: "string", short: "n", default: "10" },
    "start-at": { type: "string" },
    "end-at": { type: "string" },
    "max-runs": { type: "string" },
    gap: { type: "string" },
    repeat: { type: "string" },
    format: { type: "string", short: "f", default: "table" },
    help: { type: "boolean", short: "h" },
  }, { usage: scheduleUsage(command), positionals: false });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (values.type === undefined || values.expression === undefined) {
    return usageError("--type and --expression are required");
  }
  if (values.format !== "table" && values.format !== "json") {
    return usageError(`--format must be table or json, got "${values.format}"`);
  }
  const instants: Record<string, number | undefined> = {};
  for (const name of ["from", "start-at", "end-at"] as const) {
    const text = values[name];
    if (text === undefined) continue;
    const instant = /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(text)
      ? Date.parse(text)
      : NaN;
    if (Number.isNaN(instant)) {
      return usageError(`--${name} must be an ISO 8601 instant with Z or an offset`);
    }
    instants[name] = instant;
  }
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    return usageError("--count must be a whole number from 1 to 1000");
  }
  const from = instants.from ?? Date.now();
  const schedule = parseSchedule({
    type: values.type as ScheduleType,
    expression: values.expression,
    timezone: values.timezone,
    startAt: instants["start-at"],
    endAt: instants["end-at"],
    maxRuns: values["max-runs"] === undefined ? null : Number(values["max-runs"]),
    dstPolicy: {
      gap: values.gap as GapPolicy | undefined,
      repeat: values.repeat as RepeatPolicy | undefined,
    },
    anchor: from,
  });
  const json = values.format === "json";
  if (isDomainError(schedule)) {
    if (json) {
      console.log(
        JSON.stringify({ valid: false, error: schedule.message, field: schedule.field ?? null }),
      );
    } else console.error(`chronolog: ${schedule.field}: ${schedule.message}`);
    return 1;
  }
  if (command === "validate") {
    console.log(
      json
        ? JSON.stringify({
          valid: true,
          error: null,
          field: null,
          description: schedule.description,
        })
        : `valid: ${schedule.description}`,
    );
    return 0;
  }
  const runs = nextRuns(schedule, from, { count });
  if (json) {
    console.log(JSON.stringify({ runs: runs.map((at) => new Date(at).toISOString()) }));
    return 0;
  }
  for (const at of runs) {
    const local = Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(schedule.timezone);
    console.log(
      `${new Date(at).toISOString()}  ${
        local.toPlainDateTime().toString({ smallestUnit: "second" })
      } ${local.offset}`,
    );
  }
  return 0;
}
