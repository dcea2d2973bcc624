/**
 * `tasks events` and `tasks replay` (also `events` and `replay`): a task's audit log and the task
 * rebuilt from it, asked of a running service over JSON-RPC (tasks.events, tasks.replay).
 */
import { z } from "zod";
import { TASK_EVENT_TYPES } from "../domain/task.ts";
import {
  type CommandSpec,
  parseServiceCommand,
  reportFailure,
  type ServiceCommand,
} from "./command.ts";
import { failure, usageError } from "./common.ts";
import { printRecord } from "./output.ts";
import { isRecord } from "./rpc_client.ts";

const EVENTS: CommandSpec = {
  name: "tasks events",
  taskId: true,
  raw: false,
  description: "Prints a task's audit log, oldest first: each event's global position, stream " +
    "version, recorded time, type and a short summary of its data (-f json: every field). " +
    "Also: deno task cli events.",
  options: {
    "from-version": {
      kind: "text",
      placeholder: "N",
      help: "start at this stream version (default 1)",
    },
  },
};

const REPLAY: CommandSpec = {
  name: "tasks replay",
  taskId: true,
  raw: false,
  description: "Rebuilds a task from its log as it stood at a stream version (a whole number: 1 " +
    "is the task as created) or at an instant (ISO 8601 with Z or an offset), and prints it. " +
    "Also: deno task cli replay.",
  options: {
    "as-of": {
      kind: "text",
      placeholder: "VERSION|ISO",
      help: "the stream version or the instant (required)",
    },
  },
};

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

/** `tasks events <task_id>`: prints the task's events, paging through tasks.events. */
export async function runEvents(args: string[]): Promise<number> {
  const command = await parseServiceCommand(args, EVENTS);
  if (typeof command === "number") return command;
  const { client, format, params } = command;
  const fromText = (command.values["from-version"] as string | undefined) ?? "1";
  let fromVersion = Number(fromText);
  if (!/^\d+$/.test(fromText) || fromVersion < 1) {
    return usageError("--from-version must be a whole number from 1");
  }

  const collected: EventEntry[] = [];
  // Pages are printed as they come, so a long stream shows at once; the header waits for the
  // first answer, so a refused call prints only its error.
  for (let first = true;; first = false) {
    const outcome = await client.call("tasks.events", {
      task_id: params.task_id,
      from_version: fromVersion,
      limit: EVENTS_PAGE,
    });
    if ("failure" in outcome) return reportFailure(outcome, EVENTS);
    const page = EventsPage.safeParse(outcome.result);
    if (!page.success) {
      return failure(`the service at ${client.url} sent an unexpected tasks.events reply`);
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
      return failure(`the service at ${client.url} sent a next_from_version that does not advance`);
    }
    fromVersion = next;
  }
  if (format === "json") console.log(JSON.stringify({ events: collected }));
  return 0;
}

/** `tasks replay <task_id> --as-of V|ISO`: prints the task as tasks.replay rebuilds it. */
export async function runReplay(args: string[]): Promise<number> {
  const command = await parseServiceCommand(args, REPLAY);
  if (typeof command === "number") return command;
  const asOf = readAsOf(command);
  if (typeof asOf === "object") return asOf.exitCode;
  const { client, format, params } = command;

  const outcome = await client.call("tasks.replay", { task_id: params.task_id, as_of: asOf });
  if ("failure" in outcome) return reportFailure(outcome, REPLAY);
  const replayed = Replayed.safeParse(outcome.result);
  if (!replayed.success) {
    return failure(`the service at ${client.url} sent an unexpected tasks.replay reply`);
  }
  if (format === "json") console.log(JSON.stringify(replayed.data));
  else printRecord(replayed.data.task);
  return 0;
}

/** `--as-of` as tasks.replay takes it: a stream version or an ISO instant. */
function readAsOf(command: ServiceCommand): number | string | { exitCode: number } {
  const text = command.values["as-of"] as string | undefined;
  if (text === undefined) return { exitCode: usageError("--as-of is required") };
  if (/^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text))) {
    return Number(text);
  }
  if (ISO_INSTANT.test(text) && !Number.isNaN(Date.parse(text))) return text;
  return {
    exitCode: usageError(
      "--as-of must be a stream version (a whole number from 1) or an ISO 8601 instant with Z " +
        "or an offset",
    ),
  };
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
