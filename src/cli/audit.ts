/**
 * `events` and `replay`: a task's audit log and the task rebuilt from it, asked of a running
 * service over JSON-RPC (tasks.events, tasks.replay).
 */
import { z } from "zod";
import { TASK_EVENT_TYPES } from "../domain/task.ts";
import { failure, type OutputFormat, parseCommand, readFormat, usageError } from "./common.ts";
import { callMethod, serviceUrl } from "./rpc_client.ts";

const URL_OPTION =
  "      --url URL            the service (default: CHRONOLOG_URL, else http://127.0.0.1:8000)";
const FORMAT_OPTION = "  -f, --format table|json  output for people (default) or scripts";
const EXIT_CODES =
  "Exit codes: 0 success, 1 the service refused the call or cannot be reached, 2 usage error.";

/** The help text of `events`. */
export const EVENTS_USAGE = `Usage: deno task cli events <task_id> [options]

Prints a task's audit log, oldest first: each event's global position, stream version, recorded
time, type and a short summary of its data (-f json: every field). Asks a running service.

Options:
${URL_OPTION}
      --from-version N     start at this stream version (default 1)
${FORMAT_OPTION}
  -h, --help               this text

${EXIT_CODES}`;

/** The help text of `replay`. */
export const REPLAY_USAGE =
  `Usage: deno task cli replay <task_id> --as-of <version|instant> [options]

Rebuilds a task from its log as it stood at a stream version (a whole number: 1 is the task as
created) or at an instant (ISO 8601 with Z or an offset), and prints it. Asks a running service.

Options:
      --as-of VERSION|ISO  the stream version or the instant (required)
${URL_OPTION}
${FORMAT_OPTION}
  -h, --help               this text

${EXIT_CODES}`;

/** Events asked for per call: the most tasks.events returns at once. */
const EVENTS_PAGE = 1000;
/** The longest data summary in the table. */
const MAX_SUMMARY = 72;
const TYPE_WIDTH = Math.max(...TASK_EVENT_TYPES.map((type) => type.length));
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i;

const EventsPage = z.object({
  events: z.array(z.looseObject({
    position: z.number(),
    version: z.number(),
    recorded_at: z.string(),
    type: z.string(),
    data: z.unknown(),
  })),
  next_from_version: z.number().nullable(),
});
type EventEntry = z.infer<typeof EventsPage>["events"][number];

const Replayed = z.object({ task: z.record(z.string(), z.unknown()), version: z.number() });

/** `events <task_id>`: prints the task's events, paging through tasks.events. */
export async function runEvents(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    url: { type: "string" },
    "from-version": { type: "string", default: "1" },
    format: { type: "string", short: "f", default: "table" },
    help: { type: "boolean", short: "h" },
  }, { usage: EVENTS_USAGE, positionals: true });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const common = readCommon(positionals, values);
  if (typeof common === "number") return common;
  const { taskId, url, format } = common;
  let fromVersion = Number(values["from-version"]);
  if (!/^\d+$/.test(values["from-version"]) || fromVersion < 1) {
    return usageError("--from-version must be a whole number from 1");
  }

  const collected: EventEntry[] = [];
  // Pages are printed as they come, so a long stream shows at once; the header waits for the
  // first answer, so a refused call prints only its error.
  for (let first = true;; first = false) {
    const outcome = await callMethod(url, "tasks.events", {
      task_id: taskId,
      from_version: fromVersion,
      limit: EVENTS_PAGE,
    });
    if ("failure" in outcome) return failure(outcome.failure);
    const page = EventsPage.safeParse(outcome.result);
    if (!page.success) {
      return failure(`the service at ${url} sent an unexpected tasks.events reply`);
    }
    if (first && format === "table") {
      console.log(eventRow("position", "version", "recorded_at", "type", "data"));
    }
    for (const entry of page.data.events) {
      if (format === "json") collected.push(entry);
      else {
        console.log(eventRow(
          String(entry.position),
          String(entry.version),
          entry.recorded_at,
          entry.type,
          summarize(entry.type, entry.data),
        ));
      }
    }
    const next = page.data.next_from_version;
    if (next === null) break;
    if (next <= fromVersion) {
      return failure(`the service at ${url} sent a next_from_version that does not advance`);
    }
    fromVersion = next;
  }
  if (format === "json") console.log(JSON.stringify({ events: collected }));
  return 0;
}

/** `replay <task_id> --as-of V|ISO`: prints the task as tasks.replay rebuilds it. */
export async function runReplay(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    "as-of": { type: "string" },
    url: { type: "string" },
    format: { type: "string", short: "f", default: "table" },
    help: { type: "boolean", short: "h" },
  }, { usage: REPLAY_USAGE, positionals: true });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const common = readCommon(positionals, values);
  if (typeof common === "number") return common;
  const { taskId, url, format } = common;
  const asOfText = values["as-of"];
  if (asOfText === undefined) return usageError("--as-of is required");
  let asOf: number | string;
  if (/^\d+$/.test(asOfText) && Number(asOfText) >= 1 && Number.isSafeInteger(Number(asOfText))) {
    asOf = Number(asOfText);
  } else if (ISO_INSTANT.test(asOfText) && !Number.isNaN(Date.parse(asOfText))) {
    asOf = asOfText;
  } else {
    return usageError(
      "--as-of must be a stream version (a whole number from 1) or an ISO 8601 instant with Z " +
        "or an offset",
    );
  }

  const outcome = await callMethod(url, "tasks.replay", { task_id: taskId, as_of: asOf });
  if ("failure" in outcome) return failure(outcome.failure);
  const replayed = Replayed.safeParse(outcome.result);
  if (!replayed.success) {
    return failure(`the service at ${url} sent an unexpected tasks.replay reply`);
  }
  if (format === "json") {
    console.log(JSON.stringify(replayed.data));
    return 0;
  }
  const entries = Object.entries(replayed.data.task);
  const width = Math.max(...entries.map(([key]) => key.length)) + 1;
  for (const [key, value] of entries) {
    console.log(
      `${`${key}:`.padEnd(width)} ${typeof value === "string" ? value : JSON.stringify(value)}`,
    );
  }
  return 0;
}

/** The task id, the service URL and the format, or the exit code of a usage error. */
function readCommon(
  positionals: string[],
  values: { url?: string; format?: string },
): { taskId: string; url: string; format: OutputFormat } | number {
  if (positionals.length === 0) return usageError("a task id is required");
  if (positionals.length > 1) {
    return usageError(`one task id is expected, got "${positionals.join(" ")}"`);
  }
  const url = serviceUrl(values.url);
  if (url === null) {
    return usageError(
      `${values.url === undefined ? "CHRONOLOG_URL" : "--url"} must be an http or https URL`,
    );
  }
  const format = readFormat(values.format);
  if (format === null) return usageError(`--format must be table or json, got "${values.format}"`);
  return { taskId: positionals[0], url, format };
}

function eventRow(
  position: string,
  version: string,
  recordedAt: string,
  type: string,
  summary: string,
): string {
  return `${position.padStart(8)}  ${version.padStart(7)}  ${recordedAt.padEnd(24)}  ${
    type.padEnd(TYPE_WIDTH)
  }  ${summary}`.trimEnd();
}

/** One line about an event's data: its scalar fields, instants in ISO form, objects by their keys. */
function summarize(type: string, data: unknown): string {
  if (!isRecord(data)) return clip(JSON.stringify(data) ?? "");
  let parts: string[];
  if (type === "TaskCreated" || type === "ScheduleChanged") {
    const name = isRecord(data.settings) ? [fieldText("name", data.settings.name)] : [];
    parts = [
      ...name,
      `schedule=${scheduleText(data.schedule)}`,
      fieldText("next_run_at", data.next_run_at),
    ];
  } else {
    const fields = type === "TaskUpdated" && isRecord(data.changes) ? data.changes : data;
    parts = Object.entries(fields).sort(([a], [b]) => keyRank(a) - keyRank(b) || (a < b ? -1 : 1))
      .map(([key, value]) => fieldText(key, value));
  }
  return clip(parts.join(" "));
}

/** Keys that say most about an event come first; the store keeps keys in its own order. */
const LEADING_KEYS = ["scheduled_for", "decision", "attempt", "trigger", "reason", "error"];

function keyRank(key: string): number {
  const rank = LEADING_KEYS.indexOf(key);
  return rank === -1 ? LEADING_KEYS.length + (key === "run_id" ? 1 : 0) : rank;
}

function scheduleText(schedule: unknown): string {
  if (!isRecord(schedule)) return "none";
  return `${schedule.type} ${JSON.stringify(schedule.expression)} ${schedule.timezone}`;
}

function fieldText(key: string, value: unknown): string {
  // Instants travel in event data as ISO 8601 with milliseconds; whole seconds read shorter.
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT[\d:]{8}(\.\d{3})?Z$/.test(value)) {
    return `${key}=${value.replace(".000Z", "Z")}`;
  }
  if (Array.isArray(value)) return `${key}=[${value.length}]`;
  if (isRecord(value)) return `${key}={${Object.keys(value).join(",")}}`;
  return `${key}=${JSON.stringify(value) ?? "null"}`;
}

function clip(text: string): string {
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
