/**
 * `scheduler k8s-cronjob <task_id>`: a Kubernetes batch/v1 CronJob that triggers a task through
 * its signed webhook (SPEC §5) on the task's own schedule, or a one-line reason why no CronJob
 * fires at exactly the instants the task would.
 *
 * Kubernetes reads `spec.schedule` with robfig/cron v3 (`TZ=<timeZone> <schedule>`,
 * ParseStandard). Its `Next` walks real time and matches the local fields, so a local time that
 * a daylight-saving gap removes never fires and one that a fold repeats fires twice
 * (kubernetes/kubernetes#121594): Chronolog's `dst_policy {gap: skip, repeat: both}`. That walk
 * has two further flaws: it steps whole hours in real time (after a 30-minute shift such as Lord
 * Howe's, a restricted hour loses its minutes for the day), and on a day whose midnight a gap
 * removes it never re-checks the day (a weekly schedule can fire on the wrong day). So the
 * manifest is emitted only when Chronolog's own engine, run with the task's policy, and the same
 * engine, run on the emitted cron line with robfig's policy, give the same instants around every
 * clock change of the zone in the coming years and for the next MATCH_SAMPLE runs.
 */
import { createHash } from "node:crypto";
import { Document } from "yaml";
import { isDomainError } from "../domain/errors.ts";
import {
  type DstPolicy,
  parseCron,
  parseIntervalSeconds,
  parseSchedule,
  type Schedule,
  type ScheduleSpec,
} from "../domain/schedule/mod.ts";

/** Where and how the CronJob reaches the service. */
export interface CronJobOptions {
  /** Base URL of the Chronolog service as the cluster sees it, e.g. http://chronolog.jobs:8000. */
  serviceUrl: string;
  /** The Secret holding CHRONOLOG_WEBHOOK_SECRET (default "chronolog-webhook"). */
  secretName?: string;
  /** The key of the secret in that Secret (default "secret"). */
  secretKey?: string;
  /** metadata.namespace, when given. */
  namespace?: string;
  /** A container image with sh, date, curl and openssl (default DEFAULT_IMAGE). */
  image?: string;
  /**
   * The instant the manifest is made for (epoch ms, default the current time): a
   * schedule_start_at before it bounds nothing, and clock changes are checked from it on.
   */
  now?: number;
}

/** The task as tasks.get returns it on the wire (the fields a CronJob depends on). */
export interface TaskWire {
  id: string;
  name?: string | null;
  schedule_type?: string | null;
  schedule_expression?: string | null;
  schedule_timezone?: string | null;
  schedule_enabled?: boolean | null;
  schedule_start_at?: string | null;
  schedule_end_at?: string | null;
  max_runs?: number | null;
  dst_policy?: Record<string, string> | null;
  next_run_at?: string | null;
  overlap_policy?: string | null;
  catchup_policy?: string | null;
  catchup_window_s?: number | null;
  jitter_ms?: number | null;
  [field: string]: unknown;
}

/**
 * A CronJob manifest, its metadata.name and the caveats its `chronolog/notes` annotation holds
 * (the CLI also prints them on stderr), or why the task has none.
 */
export type CronJobResult = { yaml: string; name: string; notes: string[] } | { error: string };

/**
 * Debian 12 with curl and ca-certificates, which depends on the openssl program; dash is its sh
 * and GNU date knows `+%s`. Alpine-based curl images (curlimages/curl, alpine/curl) lack openssl.
 */
export const DEFAULT_IMAGE = "buildpack-deps:bookworm-curl";
/** The Secret and key the container reads CHRONOLOG_WEBHOOK_SECRET from by default. */
export const DEFAULT_SECRET_NAME = "chronolog-webhook";
export const DEFAULT_SECRET_KEY = "secret";
/** The longest CronJob name: Kubernetes appends 11 characters to name each Job. */
export const MAX_NAME_LENGTH = 52;
/** The prefix of the labels and annotations the manifest carries. */
export const LABEL_PREFIX = "chronolog";

/**
 * The container's program: signs "{timestamp}.{body}" with the webhook secret as SPEC §5 asks
 * and posts it. The URL and the secret come from the environment, so no task id is ever shell
 * text. A retry re-sends the same signature, which the service accepts once: a retry can never
 * start a second run.
 */
export const TRIGGER_SCRIPT = `set -eu
timestamp=$(date +%s)
body='{}'
signature=$(printf '%s' "$timestamp.$body" | openssl dgst -sha256 -hmac "$CHRONOLOG_WEBHOOK_SECRET" -hex | sed 's/^.* //')
if [ "\${#signature}" -ne 64 ]; then
  echo 'chronolog: could not sign the request (is openssl installed?)' >&2
  exit 1
fi
exec curl --silent --show-error --fail --max-time 30 --retry 3 --retry-connrefused \\
  -X POST "$CHRONOLOG_TRIGGER_URL" \\
  -H 'Content-Type: application/json' \\
  -H "X-Webhook-Timestamp: $timestamp" \\
  -H "X-Webhook-Signature: $signature" \\
  --data-binary "$body"
`;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How far ahead clock changes are checked: 28 years hold every weekday/date pairing. */
const HORIZON_MS = 28 * 365.25 * DAY_MS;
/** How many runs from `now` on must match one for one. */
const MATCH_SAMPLE = 1000;
/** Instants compared on either side of a clock change (the largest change is 2 hours). */
const CHANGE_MARGIN_MS = 6 * HOUR_MS;
/** robfig's reading of local times: real time, so gaps skip and folds repeat. */
const KUBERNETES_DST: DstPolicy = { gap: "skip", repeat: "both" };
/** Below 10 s the CronJob controller may never start a run (Kubernetes CronJob docs). */
const MIN_STARTING_DEADLINE_S = 10;
/** Slug characters in a name: "chronolog-" + slug + "-" + 8 hex digits ≤ MAX_NAME_LENGTH. */
const SLUG_LENGTH = MAX_NAME_LENGTH - "chronolog-".length - 1 - 8;

const CONCURRENCY: Record<string, string> = {
  skip: "Forbid",
  allow: "Allow",
  cancel_previous: "Replace",
  queue: "Forbid",
};

/** A CronJob for the task, or a one-line reason why no CronJob fires exactly when it would. */
export function cronJobManifest(task: TaskWire, options: CronJobOptions): CronJobResult {
  const url = triggerUrl(options.serviceUrl, task.id);
  if (typeof url !== "string") return url;
  const now = options.now ?? Date.now();
  const plan = planSchedule(task, now);
  if ("error" in plan) return plan;

  const name = cronJobName(task);
  const hash = taskHash(task.id);
  const labels = {
    "app.kubernetes.io/managed-by": "chronolog",
    [`${LABEL_PREFIX}/task-hash`]: hash,
  };
  const notes = [...plan.notes];
  if (task.schedule_enabled === true) {
    notes.push(
      "the task's own schedule is enabled, so Chronolog fires it too and each occurrence runs " +
        "twice: once this CronJob runs, disable it in Chronolog (tasks.update " +
        "schedule_enabled false)",
    );
  }
  const overlap = task.overlap_policy ?? "skip";
  if (overlap === "queue") {
    notes.push(
      "overlap_policy queue: Kubernetes cannot queue a run, so the CronJob forbids overlap; " +
        "the service still applies the task's own policy to each trigger",
    );
  }
  const catchup = task.catchup_policy ?? "latest";
  if (catchup === "all") {
    notes.push(
      "catchup_policy all: after downtime Kubernetes starts only the most recent missed run",
    );
  }
  const annotations: Record<string, string> = {
    [`${LABEL_PREFIX}/task-id`]: task.id,
    [`${LABEL_PREFIX}/schedule`]: `${task.schedule_type} ${task.schedule_expression} (${
      task.schedule_timezone ?? "UTC"
    })`,
    ...(notes.length > 0 ? { [`${LABEL_PREFIX}/notes`]: notes.join("; ") } : {}),
  };

  const manifest = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      labels,
      annotations,
    },
    spec: {
      schedule: plan.schedule,
      timeZone: plan.timeZone,
      concurrencyPolicy: CONCURRENCY[overlap] ?? "Forbid",
      startingDeadlineSeconds: catchup === "none"
        ? MIN_STARTING_DEADLINE_S
        : Math.max(MIN_STARTING_DEADLINE_S, task.catchup_window_s ?? 86_400),
      // The CronJob takes the schedule over: it runs whether or not Chronolog still fires it
      // (a note says to disable the task's own schedule, or each occurrence runs twice).
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          // The service records the run and applies the task's retry policy: one attempt here.
          backoffLimit: 0,
          // A pod stuck pulling its image must not block later runs under Forbid.
          activeDeadlineSeconds: 300,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never",
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65534,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [{
                name: "trigger",
                image: options.image ?? DEFAULT_IMAGE,
                command: ["sh", "-c", TRIGGER_SCRIPT],
                env: [
                  { name: "CHRONOLOG_TRIGGER_URL", value: url },
                  {
                    name: "CHRONOLOG_WEBHOOK_SECRET",
                    valueFrom: {
                      secretKeyRef: {
                        name: options.secretName ?? DEFAULT_SECRET_NAME,
                        key: options.secretKey ?? DEFAULT_SECRET_KEY,
                      },
                    },
                  },
                ],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
              }],
            },
          },
        },
      },
    },
  };
  // Labels appear three times; as plain copies, not YAML aliases, for any reader.
  const document = new Document(manifest, { aliasDuplicateObjects: false });
  document.commentBefore = ` Chronolog task ${task.id}: ${plan.description}`;
  return { yaml: document.toString({ lineWidth: 0 }), name, notes };
}

/**
 * The CronJob's metadata.name: "chronolog-" + a slug of the task's name (or id) + "-" + 8 hex
 * digits of SHA-256(id), at most 52 characters of [a-z0-9-], alphanumeric at both ends. The hash
 * keeps two tasks whose names slug alike (or ids that differ only in case) apart.
 */
export function cronJobName(task: Pick<TaskWire, "id" | "name">): string {
  const slug = slugOf(task.name ?? "") || slugOf(task.id);
  const hash = taskHash(task.id).slice(0, 8);
  return slug === "" ? `chronolog-${hash}` : `chronolog-${slug}-${hash}`;
}

/** The first 16 hex digits of SHA-256(id): a label value for any id. */
function taskHash(id: string): string {
  return createHash("sha256").update(id).digest("hex").slice(0, 16);
}

function slugOf(text: string): string {
  // Decomposed, "é" is "e" and a combining mark: the mark goes, the letter stays.
  return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "").slice(0, SLUG_LENGTH).replace(/-+$/, "");
}

/** `{serviceUrl}/webhook/trigger/{id}` with the id percent-encoded, or why not. */
function triggerUrl(serviceUrl: string, taskId: string): string | { error: string } {
  const base = URL.parse(serviceUrl);
  if (base === null || (base.protocol !== "http:" && base.protocol !== "https:")) {
    return { error: `The service URL "${serviceUrl}" is not an http or https URL` };
  }
  if (base.search !== "" || base.hash !== "" || base.username !== "" || base.password !== "") {
    return { error: "The service URL must be a base URL without credentials, query or fragment" };
  }
  if (taskId === "") return { error: "The task has no id" };
  const path = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${path}/webhook/trigger/${encodeURIComponent(taskId)}`;
}

interface Plan {
  schedule: string;
  timeZone: string;
  description: string;
  notes: string[];
}

/** The cron line and zone that fire exactly when the task's schedule does, or why none does. */
function planSchedule(task: TaskWire, now: number): Plan | { error: string } {
  const type = task.schedule_type;
  const expression = task.schedule_expression;
  if (!type || !expression) return { error: "The task has no schedule" };
  if (task.max_runs != null) {
    return { error: `max_runs ${task.max_runs} bounds the runs; a CronJob cannot stop by itself` };
  }
  if (task.schedule_end_at != null) {
    return { error: "schedule_end_at ends the schedule; a CronJob has no end date" };
  }
  const startAt = task.schedule_start_at == null ? null : Date.parse(task.schedule_start_at);
  if (Number.isNaN(startAt)) return { error: "schedule_start_at is not an ISO 8601 instant" };
  if (startAt !== null && startAt > now) {
    return {
      error: `schedule_start_at ${task.schedule_start_at} is in the future; a CronJob has no ` +
        "start date",
    };
  }
  if ((task.jitter_ms ?? 0) > 0) {
    return {
      error: `jitter_ms ${task.jitter_ms} moves each run off its instant; a CronJob cannot jitter`,
    };
  }
  if (type === "once") {
    return {
      error: "A once schedule runs a single time; a CronJob repeats (trigger the task instead)",
    };
  }
  if (type === "rrule") {
    return {
      error: "An rrule schedule (an RFC 5545 recurrence set) has no exact cron form; " +
        "use a cron, daily, weekly or monthly schedule",
    };
  }
  const spec: ScheduleSpec = {
    type: type as ScheduleSpec["type"],
    expression,
    timezone: task.schedule_timezone ?? "UTC",
    startAt,
    dstPolicy: task.dst_policy as Partial<DstPolicy> | null | undefined,
  };
  if (type === "interval") return planInterval(task, { spec, now });
  const parsed = parseSchedule(spec);
  if (isDomainError(parsed)) return { error: `${parsed.field}: ${parsed.message}` };

  const line = type === "cron" ? cronLine(expression) : calendarLine(type, expression);
  if ("error" in line) return line;
  const text = formatLine(line);
  const kubernetes = parseSchedule({
    type: "cron",
    expression: text,
    timezone: parsed.timezone,
    dstPolicy: KUBERNETES_DST,
  });
  if (isDomainError(kubernetes)) return { error: `Internal: ${text} is not a valid cron line` };
  const changes = clockChanges(parsed.timezone, { from: now, to: now + HORIZON_MS });
  const hazard = robfigHazard(line, changes);
  if (hazard !== null) return { error: hazard };
  for (const change of changes) {
    const mismatch = compareAround(parsed, kubernetes, change);
    if (mismatch !== null) return { error: mismatch };
  }
  const differs = compareFrom(parsed, kubernetes, now);
  if (differs !== null) return { error: differs };
  return { schedule: text, timeZone: parsed.timezone, description: parsed.description, notes: [] };
}

/**
 * An interval as a cron line on the UTC grid. Chronolog fires at anchor + k·N in real time;
 * cron steps restart every hour (minutes) and every day (hours), so only a period that divides
 * an hour, a day or equals a week keeps its grid, and the anchor must sit on a whole minute.
 */
function planInterval(
  task: TaskWire,
  context: { spec: ScheduleSpec; now: number },
): Plan | { error: string } {
  const { spec, now } = context;
  const seconds = parseIntervalSeconds(spec.expression);
  if (typeof seconds !== "number") return { error: `schedule_expression: ${seconds.message}` };
  if (seconds % 60 !== 0) {
    return { error: `Every ${seconds} s is not a whole number of minutes, cron's finest step` };
  }
  const step = seconds * 1000;
  // The grid: schedule_start_at when set, else the enable moment, which the wire does not
  // carry; next_run_at (anchor + k·N) lies on the same grid.
  let phase: number;
  let anchored: ScheduleSpec;
  if (spec.startAt != null) {
    phase = spec.startAt;
    anchored = spec;
  } else {
    const next = task.next_run_at == null ? NaN : Date.parse(task.next_run_at);
    if (task.schedule_enabled !== true || Number.isNaN(next)) {
      return {
        error: "The interval's grid starts anew whenever the schedule is enabled, and this one " +
          "is disabled (no next_run_at); enable it or set schedule_start_at",
      };
    }
    phase = next;
    anchored = { ...spec, anchor: next - step };
  }
  if (phase % MINUTE_MS !== 0) {
    return {
      error: `The interval's runs fall at ${new Date(phase).toISOString()} + k·${seconds} s, ` +
        "not on whole minutes where cron fires; set schedule_start_at to a whole minute",
    };
  }
  const minutes = seconds / 60;
  const at = new Date(phase);
  let line: CronLine;
  if (60 % minutes === 0) {
    line = {
      ...EVERY,
      minutes: progression(at.getUTCMinutes() % minutes, { step: minutes, max: 59 }),
    };
  } else if (minutes % 60 === 0 && 24 % (minutes / 60) === 0) {
    const hours = minutes / 60;
    line = {
      ...EVERY,
      minutes: [at.getUTCMinutes()],
      hours: progression(at.getUTCHours() % hours, { step: hours, max: 23 }),
    };
  } else if (minutes === 7 * 24 * 60) {
    line = {
      ...EVERY,
      minutes: [at.getUTCMinutes()],
      hours: [at.getUTCHours()],
      weekdays: [at.getUTCDay()],
      weekdaysRestricted: true,
    };
  } else {
    return {
      error: `Every ${describeSeconds(seconds)} does not divide an hour, a day or a week: ` +
        "cron restarts its steps every hour and every day, so runs would leave Chronolog's grid",
    };
  }
  const text = formatLine(line);
  const parsed = parseSchedule(anchored);
  if (isDomainError(parsed)) return { error: `${parsed.field}: ${parsed.message}` };
  const kubernetes = parseSchedule({ type: "cron", expression: text, timezone: "UTC" });
  if (isDomainError(kubernetes)) return { error: `Internal: ${text} is not a valid cron line` };
  const differs = compareFrom(parsed, kubernetes, now);
  if (differs !== null) return { error: differs };
  return {
    schedule: text,
    timeZone: "Etc/UTC",
    description: parsed.description,
    notes: [`interval on the UTC grid through ${new Date(phase).toISOString()}`],
  };
}

/** A 5-field cron line as sets; day fields say whether they restrict (robfig's star bit). */
interface CronLine {
  minutes: number[];
  hours: number[];
  days: number[];
  daysRestricted: boolean;
  months: number[];
  weekdays: number[];
  weekdaysRestricted: boolean;
}

const range = (low: number, high: number): number[] =>
  Array.from({ length: high - low + 1 }, (_, i) => low + i);

const EVERY: CronLine = {
  minutes: range(0, 59),
  hours: range(0, 23),
  days: range(1, 31),
  daysRestricted: false,
  months: range(1, 12),
  weekdays: range(0, 6),
  weekdaysRestricted: false,
};

function progression(first: number, options: { step: number; max: number }): number[] {
  const values: number[] = [];
  for (let value = first; value <= options.max; value += options.step) values.push(value);
  return values;
}

/** A Chronolog cron expression as a line robfig reads the same way, or why there is none. */
function cronLine(expression: string): CronLine | { error: string } {
  const fields = parseCron(expression);
  if (isDomainError(fields)) return { error: `schedule_expression: ${fields.message}` };
  const special = [
    fields.daysBeforeLast.length > 0 && "L",
    (fields.nearestWeekdays.length > 0 || fields.lastWeekday) && "W",
    fields.lastWeekdays.some(Boolean) && "L (last weekday)",
    fields.nthWeekdays.length > 0 && "#",
  ].filter((form) => form !== false);
  if (special.length > 0) {
    return {
      error: `The cron expression uses ${special.join(", ")}, which Kubernetes' cron ` +
        "(5 fields: numbers, names, ranges, steps, lists) does not support",
    };
  }
  const seconds = indices(fields.seconds, 0);
  if (seconds.length !== 1 || seconds[0] !== 0) {
    return { error: "The cron expression fires at seconds past the minute; Kubernetes cannot" };
  }
  const days = indices(fields.days, 1);
  const weekdays = indices(fields.weekdays, 0);
  const allDays = days.length === 31;
  const allWeekdays = weekdays.length === 7;
  // Vixie: both fields restricted → a day matching either fires, else both must match. robfig
  // ORs only when neither field has its star bit (plain `*` or `?`), so an AND of two partial
  // fields (`*/2` with `5`) has no robfig form.
  const either = fields.dayOfMonthRestricted && fields.dayOfWeekRestricted;
  if (!either && !allDays && !allWeekdays) {
    return {
      error: "The cron expression needs a day of the month and a day of the week to match " +
        "together; Kubernetes' cron fires when either matches",
    };
  }
  return {
    minutes: indices(fields.minutes, 0),
    hours: indices(fields.hours, 0),
    days,
    daysRestricted: either || !allDays,
    months: indices(fields.months, 1),
    weekdays,
    weekdaysRestricted: either || !allWeekdays,
  };
}

/** A daily, weekly or monthly expression (already validated) as a cron line. */
function calendarLine(type: string, expression: string): CronLine | { error: string } {
  // daily is a list of times ("09:00, 17:30"); weekly and monthly are "DAYS TIMES".
  const parts = type === "daily" ? [expression] : expression.trim().split(/\s+/);
  const times = parts[parts.length - 1].split(",").map((item) => item.trim());
  const clock: [number, number][] = [];
  for (const time of times) {
    const [hour, minute, second] = time.split(":").map(Number);
    if ((second ?? 0) !== 0) return { error: `${time} has seconds; cron fires on whole minutes` };
    clock.push([hour, minute]);
  }
  const hours = [...new Set(clock.map(([hour]) => hour))].sort((a, b) => a - b);
  const minutes = [...new Set(clock.map(([, minute]) => minute))].sort((a, b) => a - b);
  if (hours.length * minutes.length !== new Set(clock.map((time) => time.join(":"))).size) {
    return {
      error: `The times ${times.join(", ")} need more than one cron line (one line fires at ` +
        "every pairing of its hours and minutes)",
    };
  }
  const line: CronLine = { ...EVERY, minutes, hours };
  if (type === "daily") return line;
  const days = numberList(parts[0]);
  if (days === null) {
    return {
      error: "The last day of the month (L) has no standard cron form; Kubernetes cannot fire it",
    };
  }
  if (type === "weekly") {
    // ISO weekdays (1 = Monday … 7 = Sunday) onto cron's 0 = Sunday … 6 = Saturday.
    const weekdays = [...new Set(days.map((day) => day % 7))].sort((a, b) => a - b);
    return { ...line, weekdays, weekdaysRestricted: true };
  }
  return { ...line, days, daysRestricted: true };
}

/** "1,3-5" as [1, 3, 4, 5]; null when the list holds L. */
function numberList(text: string): number[] | null {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    if (item.trim().toUpperCase() === "L") return null;
    const [first, last = first] = item.split("-").map(Number);
    for (let value = first; value <= last; value++) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function indices(values: readonly boolean[], from: number): number[] {
  const list: number[] = [];
  for (let v = from; v < values.length; v++) if (values[v]) list.push(v);
  return list;
}

/**
 * The 5-field text. A restricted day field is never written with a leading `*` or `?`: robfig
 * would give it the star bit and Chronolog would count it as unrestricted.
 */
function formatLine(line: CronLine): string {
  return [
    formatField(line.minutes, { min: 0, max: 59, star: true }),
    formatField(line.hours, { min: 0, max: 23, star: true }),
    line.daysRestricted ? formatField(line.days, { min: 1, max: 31, star: false }) : "*",
    formatField(line.months, { min: 1, max: 12, star: true }),
    line.weekdaysRestricted ? formatField(line.weekdays, { min: 0, max: 6, star: false }) : "*",
  ].join(" ");
}

function formatField(
  values: readonly number[],
  options: { min: number; max: number; star: boolean },
): string {
  const { min, max, star } = options;
  if (star && values.length === max - min + 1) return "*";
  const step = values.length >= 4 ? values[1] - values[0] : 0;
  if (step >= 2 && values.every((value, i) => value === values[0] + i * step)) {
    const last = values[values.length - 1];
    return star && values[0] === min && last + step > max
      ? `*/${step}`
      : `${values[0]}-${last}/${step}`;
  }
  const runs: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    runs.push(j - i >= 2 ? `${values[i]}-${values[j]}` : values.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return runs.join(",");
}

/** One change of a zone's UTC offset. */
interface ClockChange {
  zone: string;
  /** The instant of the change (ms). */
  at: number;
  /** Offsets before and after (ms, local = instant + offset). */
  before: number;
  after: number;
}

/** The zone's offset changes in [from, to], read from Temporal's tz database. */
function clockChanges(zone: string, window: { from: number; to: number }): ClockChange[] {
  const changes: ClockChange[] = [];
  let cursor = Temporal.Instant.fromEpochMilliseconds(window.from).toZonedDateTimeISO(zone);
  for (;;) {
    const next = cursor.getTimeZoneTransition("next");
    if (next === null || next.epochMilliseconds > window.to) return changes;
    const before = next.subtract({ nanoseconds: 1 }).offsetNanoseconds / 1e6;
    const after = next.offsetNanoseconds / 1e6;
    changes.push({ zone, at: next.epochMilliseconds, before, after });
    cursor = next;
  }
}

/**
 * Why robfig's walk would misfire at one of the zone's clock changes, or null: it steps hours in
 * real time (a change that is not whole hours, or not on the hour, misaligns a restricted hour
 * field), and it checks the day only when the hour wraps to 0 (a day whose midnight a gap
 * removes goes unchecked, so a restricted day field can fire on the wrong day).
 */
function robfigHazard(line: CronLine, changes: readonly ClockChange[]): string | null {
  const hoursRestricted = line.hours.length < 24;
  const daysRestricted = line.daysRestricted || line.weekdaysRestricted ||
    line.months.length < 12;
  for (const change of changes) {
    const low = change.at + Math.min(change.before, change.after);
    const high = change.at + Math.max(change.before, change.after);
    const offHour = (change.after - change.before) % HOUR_MS !== 0 || low % HOUR_MS !== 0;
    const lostMidnight = change.after > change.before &&
      Math.ceil(low / DAY_MS) * DAY_MS < high;
    if (offHour && hoursRestricted) {
      return `${zoneChange(change)}, not a whole hour on the hour; Kubernetes' cron steps ` +
        "whole hours and would skip runs that day";
    }
    if (lostMidnight && daysRestricted) {
      return `${zoneChange(change)}, skipping midnight; Kubernetes' cron then never checks the ` +
        "new day and can fire on a day the schedule excludes";
    }
  }
  return null;
}

/**
 * Null when both schedules fire at the same instants around a clock change, else the
 * difference in words (the task's DST policy against robfig's skip-gap, repeat-fold reading).
 */
function compareAround(task: Schedule, kubernetes: Schedule, change: ClockChange): string | null {
  const from = change.at - CHANGE_MARGIN_MS;
  const to = change.at + CHANGE_MARGIN_MS;
  const ours = instantsBetween(task, { from, to });
  const theirs = instantsBetween(kubernetes, { from, to });
  const onlyOurs = ours.filter((at) => !theirs.includes(at));
  const onlyTheirs = theirs.filter((at) => !ours.includes(at));
  if (onlyOurs.length === 0 && onlyTheirs.length === 0) return null;
  const zone = task.timezone;
  const list = (instants: number[]) =>
    instants.length === 0
      ? "nothing"
      : instants.slice(0, 3).map((at) => localInstant(at, zone)).join(", ") +
        (instants.length > 3 ? ", …" : "");
  return `${zoneChange(change)}: Chronolog fires ${list(onlyOurs)} where ` +
    `Kubernetes fires ${list(onlyTheirs)} (Kubernetes skips local times a gap removes and ` +
    "fires repeated ones twice); choose times outside the change or set dst_policy " +
    "{gap: skip, repeat: both}";
}

/** Null when the next MATCH_SAMPLE runs agree, else the first difference. */
function compareFrom(task: Schedule, kubernetes: Schedule, now: number): string | null {
  let after = now;
  for (let i = 0; i < MATCH_SAMPLE; i++) {
    const ours = task.next(after)?.at ?? null;
    const theirs = kubernetes.next(after)?.at ?? null;
    if (ours !== theirs) {
      const at = (instant: number | null) =>
        instant === null ? "no further run" : new Date(instant).toISOString();
      return `The cron line would fire at ${at(theirs)} where the schedule fires at ${at(ours)}`;
    }
    if (ours === null) return null;
    after = ours;
  }
  return null;
}

function instantsBetween(schedule: Schedule, window: { from: number; to: number }): number[] {
  const instants: number[] = [];
  let occurrence = schedule.next(window.from - 1);
  while (occurrence !== null && occurrence.at <= window.to) {
    instants.push(occurrence.at);
    occurrence = schedule.next(occurrence.at);
  }
  return instants;
}

/** "America/New_York changes its clocks on 2026-03-08 (02:00 becomes 03:00)". */
function zoneChange(change: ClockChange): string {
  const wall = (local: number) => new Date(local).toISOString().slice(11, 16);
  const date = new Date(change.at + change.before).toISOString().slice(0, 10);
  const what = `${wall(change.at + change.before)} becomes ${wall(change.at + change.after)}`;
  return `${change.zone} changes its clocks on ${date} (${what})`;
}

/** An instant as local time with its offset, e.g. 2026-03-08T03:30-04:00. */
function localInstant(at: number, zone: string): string {
  return Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(zone)
    .toString({ timeZoneName: "never", smallestUnit: "minute" });
}

/** "7 minutes", "90 minutes", "2 days". */
function describeSeconds(seconds: number): string {
  const units: [number, string][] = [[86_400, "day"], [3600, "hour"], [60, "minute"]];
  for (const [size, unit] of units) {
    if (seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${unit}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}
