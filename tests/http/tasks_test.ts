/**
 * The task methods of SPEC §1–§3 over real HTTP against the real service process, once on the
 * embedded PGlite log and once on Postgres. One service per store, one step per behaviour; every
 * step makes its own tasks (its own user_id where it lists), so the steps do not lean on each
 * other.
 */
import {
  assert,
  assertEquals,
  createDatabase,
  errorOf,
  type JsonReply,
  POSTGRES_ADMIN_URL,
  resultOf,
  rpc,
  startService,
} from "../_helpers.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A task as the wire carries it; the fields the steps read are typed, the rest compared whole. */
interface Task {
  [field: string]: unknown;
  id: string;
  name: string;
  status: string;
  version: number;
  schedule_type: string | null;
  schedule_enabled: boolean;
  schedule_description: string | null;
  next_run_at: string | null;
  last_run_at: string | null;
  run_count: number;
  failed_runs: number;
  created_at: string;
  updated_at: string;
}

interface Page {
  tasks: Task[];
  total: number;
  limit: number;
  offset: number;
}

interface TaskEvent {
  position: number;
  version: number;
  type: string;
  data: unknown;
  metadata: { actor: string | null; request_id: string | null; causation: string | null };
  recorded_at: string;
}

interface EventPage {
  events: TaskEvent[];
  next_from_version: number | null;
}

interface RpcError {
  code: number;
  message: string;
  data: { code: string; field?: string | null; [key: string]: unknown };
}

type Params = Record<string, unknown>;

/** Calls methods on one service; each call gets a fresh id unless the step gives one. */
class Client {
  readonly #url: string;
  #lastId = 0;

  constructor(url: string) {
    this.#url = url;
  }

  /** The reply of one call. */
  reply(method: string, params: Params, id?: string | number): Promise<JsonReply> {
    return rpc(this.#url, { method, params, id: id ?? `call-${++this.#lastId}` });
  }

  /** The reply body of one call. */
  async send(method: string, params: Params, id?: string | number): Promise<unknown> {
    return (await this.reply(method, params, id)).body;
  }

  /** The result of a call that must succeed. */
  async ok<T = Task>(method: string, params: Params, id?: string | number): Promise<T> {
    const what = `${method} ${JSON.stringify(params).slice(0, 300)}`;
    return resultOf<T>(await this.reply(method, params, id), what);
  }

  /** The error of a call that must fail. */
  async fails(method: string, params: Params): Promise<RpcError> {
    const what = `${method} ${JSON.stringify(params).slice(0, 300)}`;
    return errorOf<RpcError>(await this.reply(method, params), what);
  }

  /** A call without an id: JSON-RPC answers nothing. */
  async notify(method: string, params: Params): Promise<void> {
    const reply = await rpc(this.#url, { method, params });
    assertEquals(reply.status, 204);
  }

  create(params: Params, id?: string | number): Promise<Task> {
    return this.ok("tasks.create", params, id);
  }

  update(params: Params, id?: string | number): Promise<Task> {
    return this.ok("tasks.update", params, id);
  }

  get(taskId: string): Promise<Task> {
    return this.ok("tasks.get", { task_id: taskId });
  }

  complete(params: Params): Promise<Task> {
    return this.ok("tasks.scheduled.complete", params);
  }

  async events(taskId: string): Promise<TaskEvent[]> {
    return (await this.ok<EventPage>("tasks.events", { task_id: taskId, limit: 1000 })).events;
  }
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function epoch(instant: string | null): number {
  assert(instant !== null, "expected an instant, got null");
  return Date.parse(instant);
}

/** The same instant written with a UTC offset, e.g. 2026-01-15T14:30:00.000+05:30. */
function withOffset(instant: string, offsetMinutes: number): string {
  const local = new Date(Date.parse(instant) + offsetMinutes * MINUTE).toISOString();
  const sign = offsetMinutes < 0 ? "-" : "+";
  const hours = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, "0");
  const minutes = String(Math.abs(offsetMinutes) % 60).padStart(2, "0");
  return `${local.slice(0, -1)}${sign}${hours}:${minutes}`;
}

/**
 * The first instant after `now` at one of the UTC times of day ("HH:MM") on a day `onDay`
 * accepts: the expected next run, worked out without the schedule engine.
 */
function nextUtc(now: number, times: string[], onDay: (day: Date) => boolean = () => true): string {
  const today = Math.floor(now / DAY) * DAY;
  for (let day = today; day < today + 400 * DAY; day += DAY) {
    if (!onDay(new Date(day))) continue;
    for (const time of [...times].sort()) {
      const [hours, minutes] = time.split(":").map(Number);
      const at = day + hours * HOUR + minutes * MINUTE;
      if (at > now) return iso(at);
    }
  }
  throw new Error(`no ${times.join(",")} within 400 days of ${iso(now)}`);
}

/** The first of start + k·period (k ≥ 0) after `now`. */
function nextInterval(start: number, periodMs: number, now: number): string {
  const k = now < start ? 0 : Math.floor((now - start) / periodMs) + 1;
  return iso(start + k * periodMs);
}

/** What a new task carries when the call gives only its name and schedule. */
const DEFAULTS = {
  user_id: null,
  parent_id: null,
  status: "pending",
  inputs: {},
  result: null,
  error: null,
  executor: { type: "echo" },
  priority: 0,
  dependencies: [],
  last_run_at: null,
  run_count: 0,
  failed_runs: 0,
  overlap_policy: "skip",
  catchup_policy: "latest",
  catchup_window_s: 86_400,
  jitter_ms: 0,
  retry: { max_attempts: 1, backoff_ms: 1000, backoff_factor: 2, max_backoff_ms: 300_000 },
  timeout_s: 3600,
  version: 1,
};

/** A whole minute five hours and some ago: a schedule_start_at in the past. */
const PAST_START = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * HOUR - 17 * MINUTE;

interface CreateCase {
  label: string;
  schedule: Params;
  description: string;
  /** The expected next_run_at for a task created at `createdAt`. */
  next(createdAt: number): string;
}

const CREATE_CASES: CreateCase[] = [
  {
    label: "once with Z",
    schedule: { schedule_type: "once", schedule_expression: "2099-01-15T09:00:00Z" },
    description: "once at 2099-01-15T09:00:00.000Z",
    next: () => "2099-01-15T09:00:00.000Z",
  },
  {
    label: "once in local time of its zone",
    schedule: {
      schedule_type: "once",
      schedule_expression: "2099-01-15T09:00:00",
      schedule_timezone: "Asia/Kolkata",
    },
    description: "once at 2099-01-15 09:00:00, Kolkata time",
    next: () => "2099-01-15T03:30:00.000Z",
  },
  {
    label: "interval in seconds, anchored at create",
    schedule: { schedule_type: "interval", schedule_expression: "3600" },
    description: "every hour",
    next: (createdAt) => iso(createdAt + HOUR),
  },
  {
    label: "interval as an ISO duration",
    schedule: { schedule_type: "interval", schedule_expression: "PT15M" },
    description: "every 15 minutes",
    next: (createdAt) => iso(createdAt + 15 * MINUTE),
  },
  {
    label: "interval anchored at a schedule_start_at in the past",
    schedule: {
      schedule_type: "interval",
      schedule_expression: "3600",
      schedule_start_at: iso(PAST_START),
    },
    description: "every hour",
    next: (createdAt) => nextInterval(PAST_START, HOUR, createdAt),
  },
  {
    label: "cron",
    schedule: { schedule_type: "cron", schedule_expression: "0 9 * * *" },
    description: "at 09:00, UTC",
    next: (createdAt) => nextUtc(createdAt, ["09:00"]),
  },
  {
    label: "daily at two times",
    schedule: { schedule_type: "daily", schedule_expression: "09:00,17:30" },
    description: "at 09:00 and 17:30 every day, UTC",
    next: (createdAt) => nextUtc(createdAt, ["09:00", "17:30"]),
  },
  {
    label: "daily in a zone",
    schedule: {
      schedule_type: "daily",
      schedule_expression: "09:00",
      schedule_timezone: "Asia/Kolkata",
    },
    description: "at 09:00 every day, Kolkata time",
    next: (createdAt) => nextUtc(createdAt, ["03:30"]),
  },
  {
    label: "weekly",
    schedule: { schedule_type: "weekly", schedule_expression: "1,3,5 09:00" },
    description: "at 09:00 on Monday, Wednesday and Friday, UTC",
    next: (createdAt) =>
      nextUtc(createdAt, ["09:00"], (day) => [1, 3, 5].includes(day.getUTCDay())),
  },
  {
    label: "monthly",
    schedule: { schedule_type: "monthly", schedule_expression: "1,15 09:00" },
    description: "at 09:00 on the 1st and the 15th of every month, UTC",
    next: (createdAt) => nextUtc(createdAt, ["09:00"], (day) => [1, 15].includes(day.getUTCDate())),
  },
  {
    label: "monthly on the last day",
    schedule: { schedule_type: "monthly", schedule_expression: "L 09:00" },
    description: "at 09:00 on the last day of every month, UTC",
    next: (createdAt) =>
      nextUtc(createdAt, ["09:00"], (day) => new Date(day.getTime() + DAY).getUTCDate() === 1),
  },
  {
    label: "rrule",
    schedule: {
      schedule_type: "rrule",
      schedule_expression: "RRULE:FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
    },
    description: "every day at 9 AM, UTC",
    next: (createdAt) => nextUtc(createdAt, ["09:00"]),
  },
];

/** An `inputs` or `result` over the 64 KiB cap. */
const TOO_BIG = { blob: "x".repeat(65 * 1024) };

/** How a bad call is refused, when not as -32602 invalid_params. */
interface Refusal {
  /** The JSON-RPC code. */
  code: number;
  /** data.code. */
  kind: string;
}

const INVALID_SCHEDULE: Refusal = { code: -32602, kind: "invalid_schedule" };
const NOT_FOUND: Refusal = { code: -32001, kind: "not_found" };
const CONFLICT: Refusal = { code: -32002, kind: "conflict" };
const FORBIDDEN: Refusal = { code: -32003, kind: "forbidden" };

interface BadCase {
  method: string;
  label: string;
  params: Params;
  /** data.field. */
  field: string;
  refusal: Refusal;
  /** Whether data.field may name a part of `field` (a key inside `inputs`). */
  nested: boolean;
}

function bad(
  method: string,
  label: string,
  call: { params: Params; field: string; refusal?: Refusal; nested?: boolean },
): BadCase {
  return {
    method,
    label,
    params: call.params,
    field: call.field,
    refusal: call.refusal ?? { code: -32602, kind: "invalid_params" },
    nested: call.nested ?? false,
  };
}

/** Bad calls on every task method, about a scheduled task `target` and an unscheduled `plain`. */
function badCases(target: string, plain: string): BadCase[] {
  const name = "refused";
  const daily = { schedule_type: "daily", schedule_expression: "09:00" };
  const hourly = { schedule_type: "interval", schedule_expression: "3600" };
  const create = (label: string, call: Parameters<typeof bad>[2]) =>
    bad("tasks.create", label, { ...call, params: { name, ...call.params } });
  const onTarget = (method: string, label: string, call: Parameters<typeof bad>[2]) =>
    bad(method, label, { ...call, params: { task_id: target, ...call.params } });
  const unknownTask = (method: string, params: Params = {}) =>
    bad(method, "unknown task", {
      params: { task_id: "no-such-task", ...params },
      field: "task_id",
      refusal: NOT_FOUND,
    });
  return [
    create("unknown field", { params: { bogus: 1 }, field: "bogus" }),
    bad("tasks.create", "no name", { params: {}, field: "name" }),
    create("name not a string", { params: { name: 42 }, field: "name" }),
    create("name over 256 characters", { params: { name: "n".repeat(257) }, field: "name" }),
    create("blank name", { params: { name: "   " }, field: "name" }),
    create("id with a space", { params: { id: "bad id" }, field: "id" }),
    create("id taken", { params: { id: target }, field: "id", refusal: CONFLICT }),
    create("daily 25:00", {
      params: { ...daily, schedule_expression: "25:00" },
      field: "schedule_expression",
      refusal: INVALID_SCHEDULE,
    }),
    create("cron minute 61", {
      params: { schedule_type: "cron", schedule_expression: "61 * * * *" },
      field: "schedule_expression",
      refusal: INVALID_SCHEDULE,
    }),
    create("once in the past", {
      params: { schedule_type: "once", schedule_expression: "2001-01-01T00:00:00Z" },
      field: "schedule_expression",
      refusal: INVALID_SCHEDULE,
    }),
    create("unknown time zone", {
      params: { ...daily, schedule_timezone: "Mars/Olympus" },
      field: "schedule_timezone",
      refusal: INVALID_SCHEDULE,
    }),
    create("schedule_end_at before the first run", {
      params: { ...hourly, schedule_end_at: "2001-01-01T00:00:00Z" },
      field: "schedule_end_at",
      refusal: INVALID_SCHEDULE,
    }),
    create("schedule_type without an expression", {
      params: { schedule_type: "daily" },
      field: "schedule_expression",
    }),
    create("schedule_expression without a type", {
      params: { schedule_expression: "09:00" },
      field: "schedule_type",
    }),
    create("unknown schedule_type", {
      params: { schedule_type: "hourly", schedule_expression: "1" },
      field: "schedule_type",
    }),
    create("max_runs without a schedule", { params: { max_runs: 3 }, field: "max_runs" }),
    create("max_runs 0", { params: { ...daily, max_runs: 0 }, field: "max_runs" }),
    create("schedule_start_at not an instant", {
      params: { ...daily, schedule_start_at: "tomorrow" },
      field: "schedule_start_at",
    }),
    create("unknown dst_policy value", {
      params: { ...daily, dst_policy: { gap: "later" } },
      field: "dst_policy.gap",
    }),
    create("http executor with an ftp url", {
      params: { executor: { type: "http", url: "ftp://example.com/x" } },
      field: "executor.url",
    }),
    create("http executor with no url", {
      params: { executor: { type: "http", url: "not a url" } },
      field: "executor.url",
    }),
    create("unknown executor type", {
      params: { executor: { type: "carrier-pigeon" } },
      field: "executor.type",
    }),
    create("command executor while CHRONOLOG_ALLOW_COMMAND is off", {
      params: { executor: { type: "command", argv: ["true"] } },
      field: "executor.type",
      refusal: FORBIDDEN,
    }),
    create("parent_id that does not exist", {
      params: { parent_id: "no-such-parent" },
      field: "parent_id",
      refusal: NOT_FOUND,
    }),
    create("dependency that does not exist", {
      params: { dependencies: [{ id: "no-such-task" }] },
      field: "dependencies.0.id",
      refusal: NOT_FOUND,
    }),
    create("retry max_attempts 0", {
      params: { retry: { max_attempts: 0 } },
      field: "retry.max_attempts",
    }),
    create("timeout_s 0", { params: { timeout_s: 0 }, field: "timeout_s" }),
    create("fractional priority", { params: { priority: 1.5 }, field: "priority" }),
    create("unknown overlap_policy", {
      params: { overlap_policy: "sometimes" },
      field: "overlap_policy",
    }),
    create("inputs over 64 KiB", { params: { inputs: TOO_BIG }, field: "inputs" }),

    bad("tasks.get", "no task_id", { params: {}, field: "task_id" }),
    bad("tasks.get", "task_id a number", { params: { task_id: 5 }, field: "task_id" }),
    onTarget("tasks.get", "unknown field", { params: { verbose: true }, field: "verbose" }),
    unknownTask("tasks.get"),

    onTarget("tasks.update", "unknown field", { params: { name, bogus: 1 }, field: "bogus" }),
    bad("tasks.update", "no task_id", { params: { name }, field: "task_id" }),
    onTarget("tasks.update", "name over 256 characters", {
      params: { name: "n".repeat(257) },
      field: "name",
    }),
    onTarget("tasks.update", "a good name with a bad schedule_expression", {
      params: { name, schedule_expression: "every now and then" },
      field: "schedule_expression",
      refusal: INVALID_SCHEDULE,
    }),
    onTarget("tasks.update", "a new schedule_type its expression does not fit", {
      params: { schedule_type: "cron" },
      field: "schedule_expression",
      refusal: INVALID_SCHEDULE,
    }),
    onTarget("tasks.update", "unknown time zone", {
      params: { schedule_timezone: "Nowhere/City" },
      field: "schedule_timezone",
      refusal: INVALID_SCHEDULE,
    }),
    bad("tasks.update", "a schedule_type without expression on a task without schedule", {
      params: { task_id: plain, schedule_type: "daily" },
      field: "schedule_expression",
    }),
    onTarget("tasks.update", "schedule_enabled a string", {
      params: { schedule_enabled: "no" },
      field: "schedule_enabled",
    }),
    onTarget("tasks.update", "version 0", { params: { name, version: 0 }, field: "version" }),
    onTarget("tasks.update", "version that is not the task's", {
      params: { name, version: 99 },
      field: "version",
      refusal: CONFLICT,
    }),
    onTarget("tasks.update", "http executor with a bad url", {
      params: { executor: { type: "http", url: "nope" } },
      field: "executor.url",
    }),
    onTarget("tasks.update", "command executor while CHRONOLOG_ALLOW_COMMAND is off", {
      params: { executor: { type: "command", argv: ["true"] } },
      field: "executor.type",
      refusal: FORBIDDEN,
    }),
    onTarget("tasks.update", "parent_id that does not exist", {
      params: { name, parent_id: "no-such-parent" },
      field: "parent_id",
      refusal: NOT_FOUND,
    }),
    onTarget("tasks.update", "parent_id the task itself", {
      params: { parent_id: target },
      field: "parent_id",
    }),
    unknownTask("tasks.update", { name }),

    bad("tasks.delete", "no task_id", { params: {}, field: "task_id" }),
    onTarget("tasks.delete", "unknown field", { params: { force: true }, field: "force" }),
    unknownTask("tasks.delete"),

    bad("tasks.list", "limit 0", { params: { limit: 0 }, field: "limit" }),
    bad("tasks.list", "limit 5000", { params: { limit: 5000 }, field: "limit" }),
    bad("tasks.list", "offset -1", { params: { offset: -1 }, field: "offset" }),
    bad("tasks.list", "unknown status", { params: { status: "done" }, field: "status" }),
    bad("tasks.list", "empty user_id", { params: { user_id: "" }, field: "user_id" }),
    bad("tasks.list", "unknown field", { params: { sort: "name" }, field: "sort" }),

    bad("tasks.events", "no task_id", { params: {}, field: "task_id" }),
    onTarget("tasks.events", "from_version 0", {
      params: { from_version: 0 },
      field: "from_version",
    }),
    onTarget("tasks.events", "limit 5000", { params: { limit: 5000 }, field: "limit" }),
    unknownTask("tasks.events"),

    onTarget("tasks.replay", "no as_of", { params: {}, field: "as_of" }),
    onTarget("tasks.replay", "as_of a word", { params: { as_of: "yesterday" }, field: "as_of" }),
    onTarget("tasks.replay", "as_of without a T", {
      params: { as_of: "2026-01-15 09:00:00Z" },
      field: "as_of",
    }),
    onTarget("tasks.replay", "as_of version 0", { params: { as_of: 0 }, field: "as_of" }),
    onTarget("tasks.replay", "as_of a fraction", { params: { as_of: 1.5 }, field: "as_of" }),
    onTarget("tasks.replay", "as_of before the task existed", {
      params: { as_of: "2001-01-01T00:00:00Z" },
      field: "as_of",
      refusal: NOT_FOUND,
    }),
    unknownTask("tasks.replay", { as_of: 1 }),

    bad("tasks.scheduled.list", "enabled_only a string", {
      params: { enabled_only: "yes" },
      field: "enabled_only",
    }),
    bad("tasks.scheduled.list", "unknown schedule_type", {
      params: { schedule_type: "hourly" },
      field: "schedule_type",
    }),
    bad("tasks.scheduled.list", "limit 0", { params: { limit: 0 }, field: "limit" }),
    bad("tasks.scheduled.list", "limit 5000", { params: { limit: 5000 }, field: "limit" }),

    bad("tasks.scheduled.due", "before a word", {
      params: { before: "tomorrow" },
      field: "before",
    }),
    bad("tasks.scheduled.due", "before an impossible date", {
      params: { before: "2026-02-30T00:00:00Z" },
      field: "before",
    }),
    bad("tasks.scheduled.due", "limit 0", { params: { limit: 0 }, field: "limit" }),
    bad("tasks.scheduled.due", "limit 5000", { params: { limit: 5000 }, field: "limit" }),
    bad("tasks.scheduled.due", "unknown field", {
      params: { after: "2026-01-01T00:00:00Z" },
      field: "after",
    }),

    bad("tasks.scheduled.init", "no task_id", { params: {}, field: "task_id" }),
    onTarget("tasks.scheduled.init", "from_time a word", {
      params: { from_time: "soon" },
      field: "from_time",
    }),
    onTarget("tasks.scheduled.init", "from_time before 1970, where no schedule runs", {
      params: { from_time: "1969-12-31T00:00:00Z" },
      field: "from_time",
    }),
    bad("tasks.scheduled.init", "a task without schedule", {
      params: { task_id: plain },
      field: "task_id",
    }),
    unknownTask("tasks.scheduled.init"),

    onTarget("tasks.scheduled.complete", "scheduled_for a word", {
      params: { scheduled_for: "soon" },
      field: "scheduled_for",
    }),
    onTarget("tasks.scheduled.complete", "success a string", {
      params: { success: "true" },
      field: "success",
    }),
    onTarget("tasks.scheduled.complete", "error over 8192 characters", {
      params: { success: false, error: "e".repeat(8193) },
      field: "error",
    }),
    onTarget("tasks.scheduled.complete", "result over 64 KiB", {
      params: { result: TOO_BIG },
      field: "result",
    }),
    onTarget("tasks.scheduled.complete", "calculate_next_run a number", {
      params: { calculate_next_run: 1 },
      field: "calculate_next_run",
    }),
    unknownTask("tasks.scheduled.complete"),

    // Text the log cannot store: U+0000 and unpaired surrogates (Postgres text and jsonb refuse
    // both), wherever a task keeps client text.
    ...["a\u0000b", "a\ud800b"].flatMap((text) => {
      const what = text.includes("\u0000") ? "NUL" : "a lone surrogate";
      const inText = (method: string, field: string, params: Params, nested = false) =>
        bad(method, `${what} in ${field}`, { params, field, nested });
      return [
        inText("tasks.create", "name", { name: text }),
        inText("tasks.create", "user_id", { name, user_id: text }),
        inText("tasks.create", "inputs", { name, inputs: { key: text } }, true),
        inText("tasks.create", "executor.headers", {
          name,
          executor: { type: "http", url: "https://example.com/", headers: { "x-k": text } },
        }, true),
        inText("tasks.update", "name", { task_id: target, name: text }),
        inText("tasks.update", "inputs", { task_id: target, inputs: [text] }, true),
        inText("tasks.scheduled.complete", "error", {
          task_id: target,
          success: false,
          error: text,
        }),
        inText("tasks.scheduled.complete", "result", { task_id: target, result: [text] }, true),
      ];
    }),
  ];
}

/** The methods every bad-params table must cover. */
const TASK_METHODS = [
  "tasks.create",
  "tasks.get",
  "tasks.update",
  "tasks.delete",
  "tasks.list",
  "tasks.events",
  "tasks.replay",
  "tasks.scheduled.list",
  "tasks.scheduled.due",
  "tasks.scheduled.init",
  "tasks.scheduled.complete",
];

/** Every step, against one running service. */
async function taskSteps(t: Deno.TestContext, url: string): Promise<void> {
  const client = new Client(url);

  await t.step(
    "tasks.create computes next_run_at at create for every schedule type, with defaults",
    async () => {
      for (const { label, schedule, description, next } of CREATE_CASES) {
        const task = await client.create({ name: label, ...schedule });
        const createdAt = epoch(task.created_at);
        assertEquals(task.next_run_at, next(createdAt), label);
        assertEquals(task.schedule_description, description, label);
        assertEquals(task.schedule_enabled, true, label);
        assertEquals(task.schedule_timezone, schedule.schedule_timezone ?? "UTC", label);
        assertEquals(task.updated_at, task.created_at, label);
        for (const [field, value] of Object.entries(DEFAULTS)) {
          assertEquals(task[field], value, `${label}: ${field}`);
        }
        assertEquals(await client.get(task.id), task, label);
      }
    },
  );

  await t.step("tasks.create without a schedule has no next_run_at", async () => {
    const task = await client.create({ name: "unscheduled" });
    assertEquals(task.schedule_type, null);
    assertEquals(task.schedule_expression, null);
    assertEquals(task.schedule_enabled, false);
    assertEquals(task.schedule_description, null);
    assertEquals(task.next_run_at, null);
    for (const [field, value] of Object.entries(DEFAULTS)) {
      assertEquals(task[field], value, field);
    }
  });

  await t.step("tasks.create of a disabled schedule keeps it without next_run_at", async () => {
    const task = await client.create({
      name: "disabled",
      schedule_type: "daily",
      schedule_expression: "09:00",
      schedule_enabled: false,
    });
    assertEquals(task.schedule_type, "daily");
    assertEquals(task.schedule_enabled, false);
    assertEquals(task.next_run_at, null);
  });

  await t.step("tasks.create keeps every setting it is given", async () => {
    const settings = {
      name: "configured",
      user_id: "configured-user",
      inputs: { nested: [1, "two", { three: null }], flag: true },
      executor: {
        type: "http",
        url: "https://example.com/hook",
        method: "PUT",
        headers: { "x-team": "ops" },
        timeout_s: 30,
      },
      priority: 7,
      overlap_policy: "queue",
      catchup_policy: "all",
      catchup_window_s: 600,
      jitter_ms: 250,
      retry: { max_attempts: 3, backoff_ms: 500, backoff_factor: 1.5, max_backoff_ms: 10_000 },
      timeout_s: 90,
      schedule_type: "cron",
      schedule_expression: "*/5 * * * *",
      schedule_end_at: "2099-12-31T00:00:00.000Z",
      max_runs: 10,
      dst_policy: { gap: "skip", repeat: "both" },
    };
    const task = await client.create(settings);
    // Header values may be credentials: they are used, never returned (SPEC §5).
    const expected = {
      ...settings,
      executor: { ...settings.executor, headers: { "x-team": "<redacted>" } },
    };
    for (const [field, value] of Object.entries(expected)) {
      assertEquals(task[field], value, field);
    }
    assertEquals(await client.get(task.id), task);
    const [created] = await client.events(task.id);
    // The log's executor in the wire form: snake_case keys, header values redacted.
    assertEquals(
      (created.data as { settings: { executor: unknown } }).settings.executor,
      { ...settings.executor, headers: { "x-team": "<redacted>" } },
    );
  });

  await t.step("tasks.create takes a client id once; the second is a conflict", async () => {
    const task = await client.create({ id: "client-chosen.id:1@a-b", name: "first" });
    assertEquals(task.id, "client-chosen.id:1@a-b");
    const error = await client.fails("tasks.create", { id: task.id, name: "second" });
    assertEquals(error.code, -32002);
    assertEquals(error.data.code, "conflict");
    assertEquals(error.data.field, "id");
    assertEquals(await client.get(task.id), task);
  });

  await t.step("tasks.update changes what it is given and recomputes the schedule", async () => {
    const created = await client.create({
      name: "to update",
      schedule_type: "interval",
      schedule_expression: "3600",
    });

    const renamed = await client.update({ task_id: created.id, name: "renamed" });
    assertEquals(renamed.name, "renamed");
    assertEquals(renamed.version, 2);
    assertEquals(renamed.next_run_at, created.next_run_at, "a rename keeps the schedule");

    const same = await client.update({ task_id: created.id, name: "renamed" });
    assertEquals(same, renamed, "an update that changes nothing records nothing");

    const faster = await client.update({ task_id: created.id, schedule_expression: "PT30M" });
    assertEquals(faster.version, 3);
    assertEquals(faster.schedule_description, "every 30 minutes");
    assertEquals(faster.next_run_at, iso(epoch(faster.updated_at) + 30 * MINUTE));

    const disabled = await client.update({ task_id: created.id, schedule_enabled: false });
    assertEquals(disabled.version, 4);
    assertEquals(disabled.schedule_enabled, false);
    assertEquals(disabled.schedule_expression, "PT30M");
    assertEquals(disabled.next_run_at, null);

    const enabled = await client.update({ task_id: created.id, schedule_enabled: true });
    assertEquals(enabled.version, 5);
    assertEquals(enabled.schedule_enabled, true);
    assertEquals(enabled.next_run_at, iso(epoch(enabled.updated_at) + 30 * MINUTE));

    const stale = await client.fails("tasks.update", {
      task_id: created.id,
      version: 4,
      name: "stale",
    });
    assertEquals(stale.code, -32002);
    assertEquals(stale.data.code, "conflict");
    assertEquals(stale.data.field, "version");
    assertEquals(await client.get(created.id), enabled);

    const current = await client.update({ task_id: created.id, version: 5, priority: 3 });
    assertEquals(current.version, 6);
    assertEquals(current.priority, 3);

    const daily = await client.update({
      task_id: created.id,
      schedule_type: "daily",
      schedule_expression: "09:00",
    });
    assertEquals(daily.version, 7);
    assertEquals(daily.schedule_type, "daily");
    assertEquals(daily.next_run_at, nextUtc(epoch(daily.updated_at), ["09:00"]));

    const removed = await client.update({ task_id: created.id, schedule_type: null });
    assertEquals(removed.version, 8);
    assertEquals(removed.schedule_type, null);
    assertEquals(removed.schedule_expression, null);
    assertEquals(removed.schedule_enabled, false);
    assertEquals(removed.schedule_description, null);
    assertEquals(removed.next_run_at, null);

    const rescheduled = await client.update({
      task_id: created.id,
      schedule_type: "cron",
      schedule_expression: "30 17 * * *",
    });
    assertEquals(rescheduled.version, 9);
    assertEquals(rescheduled.next_run_at, nextUtc(epoch(rescheduled.updated_at), ["17:30"]));
    assertEquals(await client.get(created.id), rescheduled);
  });

  await t.step("tasks.delete hides the task but keeps its log", async () => {
    const task = await client.create({ name: "to delete", user_id: "deleting-user" });
    const deleted = await client.ok<unknown>("tasks.delete", { task_id: task.id }, "del-1");
    assertEquals(deleted, { task_id: task.id, deleted: true });

    const missing = await client.fails("tasks.get", { task_id: task.id });
    assertEquals(missing.code, -32001);
    assertEquals(missing.data, { code: "not_found", field: "task_id" });

    const page = await client.ok<Page>("tasks.list", { user_id: "deleting-user" });
    assertEquals(page.total, 0);
    assertEquals(page.tasks, []);

    const events = await client.events(task.id);
    assertEquals(events.map((event) => event.type), ["TaskCreated", "TaskDeleted"]);
    assertEquals(events[1].metadata.causation, "tasks.delete");
    assertEquals(events[1].metadata.request_id, "del-1");

    for (const method of ["tasks.delete", "tasks.update", "tasks.scheduled.init"]) {
      const again = await client.fails(method, { task_id: task.id });
      assertEquals(again.code, -32001, method);
    }
    // The id stays in the log: creating it again says so, and appends nothing.
    const reused = await client.fails("tasks.create", { id: task.id, name: "again" });
    assertEquals(reused.data, { code: "conflict", field: "id" });
    assert(/was deleted/.test(reused.message), reused.message);
    assertEquals((await client.events(task.id)).length, 2);
  });

  await t.step("tasks.list filters by user_id, status and parent_id, and pages", async () => {
    const user = "listing-user";
    // Ids that sort like creation order: tasks made in the same millisecond list by id.
    const parent = await client.create({ id: "listing-1", name: "parent", user_id: user });
    const first = await client.create({
      id: "listing-2",
      name: "child 1",
      user_id: user,
      parent_id: parent.id,
    });
    const second = await client.create({
      id: "listing-3",
      name: "child 2",
      user_id: user,
      parent_id: parent.id,
    });
    await client.create({ name: "someone else's", user_id: "other-listing-user" });
    const failed = await client.complete({ task_id: second.id, success: false, error: "boom" });
    assertEquals(failed.status, "failed");

    const all = await client.ok<Page>("tasks.list", { user_id: user });
    assertEquals(all.total, 3);
    assertEquals(all.limit, 100);
    assertEquals(all.offset, 0);
    assertEquals(
      all.tasks.map((task) => task.id),
      [second.id, first.id, parent.id],
      "newest first",
    );

    const pages: string[] = [];
    for (const offset of [0, 2, 4]) {
      const page = await client.ok<Page>("tasks.list", { user_id: user, limit: 2, offset });
      assertEquals(page.total, 3, `offset ${offset}`);
      assertEquals(page.limit, 2);
      assertEquals(page.offset, offset);
      assertEquals(page.tasks.length, offset === 0 ? 2 : offset === 2 ? 1 : 0);
      pages.push(...page.tasks.map((task) => task.id));
    }
    assertEquals(pages, all.tasks.map((task) => task.id));

    const children = await client.ok<Page>("tasks.list", { parent_id: parent.id });
    assertEquals(children.total, 2);
    assertEquals(children.tasks.map((task) => task.id), [second.id, first.id]);

    const failures = await client.ok<Page>("tasks.list", { user_id: user, status: "failed" });
    assertEquals(failures.total, 1);
    assertEquals(failures.tasks.map((task) => task.id), [second.id]);
    assertEquals(failures.tasks[0], await client.get(second.id));

    const pending = await client.ok<Page>("tasks.list", {
      user_id: user,
      status: "pending",
      parent_id: parent.id,
    });
    assertEquals(pending.tasks.map((task) => task.id), [first.id]);

    const nobody = await client.ok<Page>("tasks.list", { user_id: "nobody" });
    assertEquals(nobody, { tasks: [], total: 0, limit: 100, offset: 0 });
  });

  await t.step("tasks.scheduled.list filters by enabled_only and schedule_type", async () => {
    const user = "scheduled-list-user";
    const daily = await client.create({
      id: "scheduled-listing-1",
      name: "daily",
      user_id: user,
      schedule_type: "daily",
      schedule_expression: "09:00",
    });
    const cron = await client.create({
      id: "scheduled-listing-2",
      name: "cron",
      user_id: user,
      schedule_type: "cron",
      schedule_expression: "0 * * * *",
    });
    const paused = await client.create({
      id: "scheduled-listing-3",
      name: "paused",
      user_id: user,
      schedule_type: "interval",
      schedule_expression: "60",
      schedule_enabled: false,
    });
    await client.create({ id: "scheduled-listing-4", name: "unscheduled", user_id: user });
    const ids = (page: Page) => page.tasks.map((task) => task.id);

    const enabled = await client.ok<Page>("tasks.scheduled.list", { user_id: user });
    assertEquals(enabled.total, 2);
    assertEquals(ids(enabled), [cron.id, daily.id]);

    const every = await client.ok<Page>("tasks.scheduled.list", {
      user_id: user,
      enabled_only: false,
    });
    assertEquals(every.total, 3);
    assertEquals(ids(every), [paused.id, cron.id, daily.id]);

    const crons = await client.ok<Page>("tasks.scheduled.list", {
      user_id: user,
      schedule_type: "cron",
    });
    assertEquals(ids(crons), [cron.id]);

    const intervals = await client.ok<Page>("tasks.scheduled.list", {
      user_id: user,
      schedule_type: "interval",
    });
    assertEquals(intervals.total, 0, "the only interval is disabled");

    const pausedIntervals = await client.ok<Page>("tasks.scheduled.list", {
      user_id: user,
      schedule_type: "interval",
      enabled_only: false,
    });
    assertEquals(ids(pausedIntervals), [paused.id]);

    const paged = await client.ok<Page>("tasks.scheduled.list", {
      user_id: user,
      enabled_only: false,
      limit: 1,
      offset: 1,
    });
    assertEquals(paged.total, 3);
    assertEquals(ids(paged), [cron.id]);
  });

  await t.step(
    "tasks.scheduled.due lists enabled tasks due at or before `before`, soonest first",
    async () => {
      const user = "due-user";
      const once = (name: string, at: string, enabled = true) =>
        client.create({
          name,
          user_id: user,
          schedule_type: "once",
          schedule_expression: at,
          schedule_enabled: enabled,
        });
      const second = await once("second", "2099-01-02T00:00:00Z");
      const third = await once("third", "2099-01-03T00:00:00Z");
      const first = await once("first", "2099-01-01T00:00:00Z");
      await once("disabled", "2099-01-01T12:00:00Z", false);
      const gone = await once("deleted", "2099-01-01T06:00:00Z");
      await client.ok<unknown>("tasks.delete", { task_id: gone.id });
      await client.create({
        name: "someone else's",
        user_id: "other-due-user",
        schedule_type: "once",
        schedule_expression: "2099-01-01T00:00:00Z",
      });
      type Due = { tasks: Task[]; before: string };
      const ids = (due: Due) => due.tasks.map((task) => task.id);

      const due = await client.ok<Due>("tasks.scheduled.due", {
        user_id: user,
        before: "2099-01-02T00:00:00Z",
      });
      assertEquals(due.before, "2099-01-02T00:00:00.000Z");
      assertEquals(ids(due), [first.id, second.id]);
      assertEquals(due.tasks[0], first);

      const offset = await client.ok<Due>("tasks.scheduled.due", {
        user_id: user,
        before: "2099-01-02T01:00:00+01:00",
      });
      assertEquals(offset.before, "2099-01-02T00:00:00.000Z");
      assertEquals(ids(offset), [first.id, second.id]);

      const later = await client.ok<Due>("tasks.scheduled.due", {
        user_id: user,
        before: "2100-01-01T00:00:00Z",
      });
      assertEquals(ids(later), [first.id, second.id, third.id]);

      const limited = await client.ok<Due>("tasks.scheduled.due", {
        user_id: user,
        before: "2100-01-01T00:00:00Z",
        limit: 1,
      });
      assertEquals(ids(limited), [first.id]);

      const justBefore = await client.ok<Due>("tasks.scheduled.due", {
        user_id: user,
        before: "2098-12-31T23:59:59.999Z",
      });
      assertEquals(justBefore.tasks, []);

      const now = await client.ok<Due>("tasks.scheduled.due", { user_id: user });
      assertEquals(now.tasks, []);
      assert(Math.abs(epoch(now.before) - Date.now()) < MINUTE, "before defaults to now");
    },
  );

  await t.step("tasks.scheduled.init recomputes next_run_at after from_time", async () => {
    const interval = await client.create({
      name: "interval",
      schedule_type: "interval",
      schedule_expression: "3600",
    });
    const anchor = epoch(interval.created_at);
    const from = anchor + 10 * HOUR + 30 * MINUTE;
    const moved = await client.ok("tasks.scheduled.init", {
      task_id: interval.id,
      from_time: iso(from),
    });
    assertEquals(moved.next_run_at, iso(anchor + 11 * HOUR), "on the grid of the anchor");
    assertEquals(moved.version, 2);

    const daily = await client.create({
      name: "daily",
      schedule_type: "daily",
      schedule_expression: "09:00",
    });
    const later = await client.ok("tasks.scheduled.init", {
      task_id: daily.id,
      from_time: "2030-06-01T10:00:00Z",
    });
    assertEquals(later.next_run_at, "2030-06-02T09:00:00.000Z");
    const back = await client.ok("tasks.scheduled.init", { task_id: daily.id });
    assertEquals(back.next_run_at, daily.next_run_at, "from_time defaults to now");
    assertEquals(back.version, 3);
    assertEquals((await client.events(daily.id)).map((event) => event.type), [
      "TaskCreated",
      "NextRunComputed",
      "NextRunComputed",
    ]);

    await client.update({ task_id: daily.id, schedule_enabled: false });
    const disabled = await client.fails("tasks.scheduled.init", { task_id: daily.id });
    assertEquals(disabled.code, -32002);
    assertEquals(disabled.data, { code: "conflict", field: "task_id" });
  });

  await t.step(
    "tasks.scheduled.complete moves next_run_at from the occurrence, not the clock",
    async () => {
      const start = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
      const task = await client.create({
        name: "hourly since six hours ago",
        schedule_type: "interval",
        schedule_expression: "3600",
        schedule_start_at: iso(start),
      });
      const next = epoch(task.next_run_at);
      assertEquals(task.next_run_at, nextInterval(start, HOUR, epoch(task.created_at)));

      const late = await client.complete({
        task_id: task.id,
        scheduled_for: iso(start + 2 * HOUR),
        result: { ok: 1 },
      });
      assertEquals(
        late.next_run_at,
        iso(Math.max(start + 3 * HOUR, next)),
        "an old occurrence never moves the schedule back",
      );
      assertEquals(late.run_count, 1);
      assertEquals(late.status, "completed");
      assertEquals(late.result, { ok: 1 });
      assertEquals(late.last_run_at, late.updated_at);
      assertEquals(late.version, 3);

      const current = await client.complete({ task_id: task.id });
      assertEquals(current.next_run_at, iso(next + HOUR), "the default is the task's next run");
      assertEquals(current.run_count, 2);

      const ahead = await client.complete({
        task_id: task.id,
        scheduled_for: iso(next + 5 * HOUR),
      });
      assertEquals(ahead.next_run_at, iso(next + 6 * HOUR));

      const runs = (await client.events(task.id)).filter((event) => event.type === "RunStarted");
      // Event data is in the wire form: snake_case keys, ISO instants.
      assertEquals(
        runs.map((event) => (event.data as { scheduled_for: string }).scheduled_for),
        [iso(start + 2 * HOUR), iso(next), iso(next + 5 * HOUR)],
      );
      assertEquals(typeof (runs[0].data as { run_id: unknown }).run_id, "string");
    },
  );

  await t.step("tasks.scheduled.complete records an occurrence a month old", async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - 40 * DAY;
    const task = await client.create({
      name: "hourly since forty days ago",
      schedule_type: "interval",
      schedule_expression: "3600",
      schedule_start_at: iso(start),
    });
    const done = await client.complete({ task_id: task.id, scheduled_for: iso(start + HOUR) });
    assertEquals(done.run_count, 1);
    assertEquals(done.next_run_at, task.next_run_at);
  });

  await t.step("tasks.scheduled.complete runs each occurrence once", async () => {
    const task = await client.create({
      name: "exactly once",
      schedule_type: "interval",
      schedule_expression: "60",
    });
    const occurrence = task.next_run_at;
    const done = await client.complete({ task_id: task.id, scheduled_for: occurrence });
    assertEquals(done.run_count, 1);

    // The same instant written with an offset is the same occurrence.
    for (
      const [success, scheduledFor] of [[true, occurrence], [false, withOffset(occurrence!, -90)]]
    ) {
      const again = await client.fails("tasks.scheduled.complete", {
        task_id: task.id,
        scheduled_for: scheduledFor,
        success,
      });
      assertEquals(again.code, -32002);
      assertEquals(again.data.code, "conflict");
      assertEquals(again.data.field, "scheduled_for");
    }
    assertEquals(await client.get(task.id), done);
    assertEquals((await client.events(task.id)).length, done.version);
  });

  await t.step("tasks.scheduled.complete with success false counts a failure", async () => {
    const task = await client.create({
      name: "failing",
      schedule_type: "interval",
      schedule_expression: "60",
    });
    const failed = await client.complete({ task_id: task.id, success: false, error: "boom" });
    assertEquals(failed.status, "failed");
    assertEquals(failed.error, "boom");
    assertEquals(failed.failed_runs, 1);
    assertEquals(failed.run_count, 1);
    assertEquals(failed.next_run_at, iso(epoch(task.next_run_at) + MINUTE));

    const silent = await client.complete({ task_id: task.id, success: false });
    assertEquals(silent.failed_runs, 2);
    assert(typeof silent.error === "string" && silent.error.length > 0, "a default error");

    const recovered = await client.complete({ task_id: task.id });
    assertEquals(recovered.status, "completed");
    assertEquals(recovered.error, null);
    assertEquals(recovered.failed_runs, 2);
    assertEquals(recovered.run_count, 3);
  });

  await t.step(
    "tasks.scheduled.complete with calculate_next_run false leaves no run due, once",
    async () => {
      const task = await client.create({
        name: "kept",
        schedule_type: "interval",
        schedule_expression: "60",
      });
      const done = await client.complete({ task_id: task.id, calculate_next_run: false });
      assertEquals(done.run_count, 1);
      // The occurrence ran, so it cannot stay due; no following one was asked for.
      assertEquals(done.next_run_at, null);
      const again = await client.fails("tasks.scheduled.complete", {
        task_id: task.id,
        calculate_next_run: false,
      });
      assertEquals(again.code, -32002);
      assertEquals(again.data.field, "scheduled_for");
      assertEquals(await client.get(task.id), done);
      // init brings the schedule back, after the occurrence that ran.
      const resumed = await client.ok("tasks.scheduled.init", { task_id: task.id });
      assertEquals(Date.parse(resumed.next_run_at!) > Date.parse(task.next_run_at!), true);
    },
  );

  await t.step("a completed once task is disabled with no next_run_at", async () => {
    const task = await client.create({
      name: "once",
      schedule_type: "once",
      schedule_expression: "2099-01-15T09:00:00Z",
    });
    const done = await client.complete({ task_id: task.id });
    assertEquals(done.run_count, 1);
    assertEquals(done.schedule_enabled, false);
    assertEquals(done.schedule_type, "once");
    assertEquals(done.next_run_at, null);
    const events = await client.events(task.id);
    assertEquals(events.at(-1)?.type, "ScheduleCompleted");
    const nothingPending = await client.fails("tasks.scheduled.complete", { task_id: task.id });
    assertEquals(nothingPending.code, -32002);
    assertEquals(nothingPending.data, { code: "conflict", field: "scheduled_for" });
    assertEquals(await client.get(task.id), done);
    const due = await client.ok<{ tasks: Task[] }>("tasks.scheduled.due", {
      before: "2100-01-01T00:00:00Z",
      limit: 1000,
    });
    assert(!due.tasks.some((each) => each.id === task.id), "an exhausted task is not due");
  });

  await t.step("a task that reached max_runs has no next_run_at", async () => {
    const task = await client.create({
      name: "twice",
      schedule_type: "interval",
      schedule_expression: "60",
      max_runs: 2,
    });
    const first = await client.complete({ task_id: task.id });
    assertEquals(first.next_run_at, iso(epoch(task.next_run_at) + MINUTE));
    assertEquals(first.schedule_enabled, true);
    const second = await client.complete({ task_id: task.id });
    assertEquals(second.run_count, 2);
    assertEquals(second.next_run_at, null);
    assertEquals(second.schedule_enabled, false);
    const last = (await client.events(task.id)).at(-1);
    assertEquals(last?.type, "ScheduleCompleted");
    assertEquals(last?.data, { reason: "max_runs" });
  });

  await t.step(
    "tasks.events and tasks.replay reproduce every version as the methods returned it",
    async () => {
      const id = "audited";
      // Each call below records exactly one event, except complete (RunStarted, RunSucceeded).
      const replies = new Map<number, Task>();
      const calls: { causation: string; requestId: string | null }[] = [];
      const record = (task: Task, causation: string, requestId: string | null) => {
        replies.set(task.version, task);
        calls.push({ causation, requestId });
      };
      record(
        await client.create(
          { id, name: "audited", schedule_type: "daily", schedule_expression: "09:00" },
          "req-create",
        ),
        "tasks.create",
        "req-create",
      );
      record(
        await client.update({ task_id: id, name: "audited twice" }, "req-rename"),
        "tasks.update",
        "req-rename",
      );
      record(
        await client.update({ task_id: id, schedule_expression: "17:30" }, "req-reschedule"),
        "tasks.update",
        "req-reschedule",
      );
      // A numeric id is kept as its string form.
      record(
        await client.update({ task_id: id, schedule_enabled: false }, 4242),
        "tasks.update",
        "4242",
      );
      record(
        await client.update({ task_id: id, schedule_enabled: true }, "req-enable"),
        "tasks.update",
        "req-enable",
      );
      record(
        await client.ok(
          "tasks.scheduled.init",
          { task_id: id, from_time: "2030-01-01T00:00:00Z" },
          "req-init",
        ),
        "tasks.scheduled.init",
        "req-init",
      );
      record(
        await client.update({
          task_id: id,
          inputs: { list: [1, { b: null }], text: "ü ✓" },
          retry: { max_attempts: 4, backoff_factor: 1.5 },
          executor: { type: "http", url: "https://example.com/run", headers: { "x-k": "v" } },
        }, "req-settings"),
        "tasks.update",
        "req-settings",
      );
      // A notification has no id: its event carries none.
      await client.notify("tasks.update", { task_id: id, priority: 9 });
      record(await client.get(id), "tasks.update", null);
      const completed = await client.ok(
        "tasks.scheduled.complete",
        { task_id: id, result: { done: true } },
        "req-complete",
      );
      replies.set(completed.version, completed);

      const versions = completed.version;
      assertEquals(versions, 10);
      assertEquals(
        [...replies.keys()],
        [1, 2, 3, 4, 5, 6, 7, 8, 10],
        "each call but complete is one event",
      );

      const events = await client.events(id);
      assertEquals(events.map((event) => event.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assertEquals(events.map((event) => event.type), [
        "TaskCreated",
        "TaskUpdated",
        "ScheduleChanged",
        "ScheduleDisabled",
        "ScheduleEnabled",
        "NextRunComputed",
        "TaskUpdated",
        "TaskUpdated",
        "RunStarted",
        "RunSucceeded",
      ]);
      for (let i = 1; i < events.length; i++) {
        assert(events[i].position > events[i - 1].position, "positions increase");
      }
      // complete's two events share its call.
      const complete = { causation: "tasks.scheduled.complete", requestId: "req-complete" };
      assertEquals(
        events.map((event) => ({
          causation: event.metadata.causation,
          requestId: event.metadata.request_id,
        })),
        [...calls, complete, complete],
      );
      for (const event of events) {
        assertEquals(event.metadata.actor, null);
        const reply = replies.get(event.version);
        if (reply !== undefined) assertEquals(event.recorded_at, reply.updated_at);
      }

      const page = await client.ok<EventPage>("tasks.events", {
        task_id: id,
        from_version: 3,
        limit: 2,
      });
      assertEquals(page.events, events.slice(2, 4));
      assertEquals(page.next_from_version, 5);
      const tail = await client.ok<EventPage>("tasks.events", { task_id: id, from_version: 9 });
      assertEquals(tail.events, events.slice(8));
      assertEquals(tail.next_from_version, null);

      for (let version = 1; version <= versions; version++) {
        const replayed = await client.ok<{ task: Task; version: number }>("tasks.replay", {
          task_id: id,
          as_of: version,
        });
        assertEquals(replayed.version, version);
        assertEquals(replayed.task.version, version);
        const reply = replies.get(version);
        if (reply !== undefined) assertEquals(replayed.task, reply, `version ${version}`);
        else assertEquals(replayed.task.status, "in_progress", "between RunStarted and its end");
      }
      const beyond = await client.ok<{ version: number }>("tasks.replay", {
        task_id: id,
        as_of: versions + 5,
      });
      assertEquals(beyond.version, versions);

      // By instant: the last event recorded at or before as_of (calls may share a millisecond).
      for (const reply of replies.values()) {
        const asOf = epoch(reply.updated_at);
        const expected = Math.max(
          ...events.filter((event) => epoch(event.recorded_at) <= asOf).map((e) => e.version),
        );
        for (const instant of [reply.updated_at, withOffset(reply.updated_at, 330)]) {
          const replayed = await client.ok<{ task: Task; version: number }>("tasks.replay", {
            task_id: id,
            as_of: instant,
          });
          assertEquals(replayed.version, expected, instant);
          assertEquals(replayed.task, replies.get(expected), instant);
        }
      }
      assertEquals(await client.get(id), completed);
    },
  );

  await t.step("bad params for every task method are refused and change nothing", async (t) => {
    const target = await client.create({
      id: "bad-params-target",
      name: "target",
      schedule_type: "daily",
      schedule_expression: "09:00",
    });
    const plain = await client.create({ id: "bad-params-plain", name: "plain" });
    const cases = badCases(target.id, plain.id);
    assertEquals(
      [...new Set(cases.map((c) => c.method))].sort(),
      [...TASK_METHODS].sort(),
      "the table covers every task method",
    );
    const snapshot = async () => ({
      list: await client.ok<Page>("tasks.list", { limit: 1000 }),
      events: [await client.events(target.id), await client.events(plain.id)],
    });
    const before = await snapshot();

    for (const bad of cases) {
      await t.step(`${bad.method}: ${bad.label} -> ${bad.field}`, async () => {
        const error = await client.fails(bad.method, bad.params);
        assertEquals(error.code, bad.refusal.code);
        assertEquals(error.data.code, bad.refusal.kind);
        const field = String(error.data.field);
        assert(
          field === bad.field || (bad.nested && field.startsWith(`${bad.field}.`)),
          `data.field ${field}, expected ${bad.field}`,
        );
        assert(error.message.length > 0, "a message");
        if (bad.refusal.code === -32602) {
          // Schema failures carry the zod issues, domain refusals their message.
          assert(
            Array.isArray(error.data.issues) || error.data.message === error.message,
            JSON.stringify(error.data).slice(0, 300),
          );
        } else {
          assertEquals(error.data, { code: bad.refusal.kind, field: bad.field });
        }
      });
    }

    const after = await snapshot();
    assertEquals(after.list.total, before.list.total);
    assertEquals(after, before);
  });

  await t.step("stream versions past 2^31 are answered, not an internal error", async () => {
    const task = await client.create({ name: "short stream" });
    const huge = 2 ** 31;
    // Either reading is fair (the whole stream, or a refusal naming the field); a crash is not.
    const replayed = await client.send("tasks.replay", { task_id: task.id, as_of: huge }) as {
      result?: { task: Task; version: number };
      error?: RpcError;
    };
    if (replayed.error === undefined) {
      assertEquals(replayed.result?.task, task);
    } else {
      assertEquals([replayed.error.code, replayed.error.data?.field], [-32602, "as_of"]);
    }
    const events = await client.send("tasks.events", {
      task_id: task.id,
      from_version: huge,
    }) as { result?: EventPage; error?: RpcError };
    if (events.error === undefined) {
      assertEquals(events.result, { events: [], next_from_version: null });
    } else {
      assertEquals([events.error.code, events.error.data?.field], [-32602, "from_version"]);
    }
  });

  await t.step("a user_id filter with NUL is answered, not an internal error", async () => {
    // No task can hold such a user_id, so an empty page and a refusal naming it are both fair.
    for (const method of ["tasks.list", "tasks.scheduled.list", "tasks.scheduled.due"]) {
      const reply = await client.send(method, { user_id: "a\u0000b" }) as {
        result?: { tasks: Task[] };
        error?: RpcError;
      };
      if (reply.error === undefined) {
        assertEquals(reply.result?.tasks, [], method);
      } else {
        assertEquals([reply.error.code, reply.error.data?.field], [-32602, "user_id"], method);
      }
    }
  });

  await t.step("two concurrent updates of one task both apply", async () => {
    const task = await client.create({ name: "contended" });
    const [renamed, prioritised] = await Promise.all([
      client.update({ task_id: task.id, name: "renamed concurrently" }),
      client.update({ task_id: task.id, priority: 42 }),
    ]);
    assertEquals([renamed.version, prioritised.version].sort(), [2, 3]);
    const final = await client.get(task.id);
    assertEquals(final.version, 3);
    assertEquals(final.name, "renamed concurrently");
    assertEquals(final.priority, 42);
    assertEquals(final, renamed.version === 3 ? renamed : prioritised);
    assertEquals((await client.events(task.id)).map((event) => event.type), [
      "TaskCreated",
      "TaskUpdated",
      "TaskUpdated",
    ]);
  });

  await t.step("a request id the log cannot hold is left out, not fatal", async () => {
    const task = await client.create({ name: "odd id" }, "id\u0000with NUL");
    const long = await client.update({ task_id: task.id, name: "long id" }, "x".repeat(300));
    assertEquals(long.version, 2);
    const events = await client.events(task.id);
    assertEquals(events.map((event) => event.metadata.request_id), [null, null]);
  });

  await t.step("many concurrent updates of one task lose nothing", async () => {
    const task = await client.create({
      name: "crowded",
      schedule_type: "interval",
      schedule_expression: "3600",
    });
    const changes: Params[] = [
      { name: "crowded, renamed" },
      { priority: 5 },
      { jitter_ms: 100 },
      { timeout_s: 60 },
      { overlap_policy: "allow" },
      { catchup_policy: "none" },
      { inputs: { k: "v" } },
      { schedule_expression: "PT5M" },
    ];
    await Promise.all(changes.map((change) => client.update({ task_id: task.id, ...change })));
    const final = await client.get(task.id);
    assertEquals(final.version, 1 + changes.length);
    for (const change of changes) {
      for (const [field, value] of Object.entries(change)) assertEquals(final[field], value);
    }
  });

  await t.step("concurrent updates expecting the same version: one wins", async () => {
    const task = await client.create({ name: "raced" });
    const outcomes = await Promise.all(
      ["a", "b"].map((name) => client.send("tasks.update", { task_id: task.id, version: 1, name })),
    ) as { result?: Task; error?: RpcError }[];
    const won = outcomes.filter((outcome) => outcome.result !== undefined);
    const lost = outcomes.filter((outcome) => outcome.error !== undefined);
    assertEquals(won.length, 1);
    assertEquals(lost.length, 1);
    assertEquals(lost[0].error?.code, -32002);
    assertEquals(lost[0].error?.data.field, "version");
    assertEquals(await client.get(task.id), won[0].result);
  });
}

Deno.test("task methods over HTTP on PGlite", async (t) => {
  const service = await startService();
  try {
    await taskSteps(t, service.url);
  } finally {
    await service.stop();
  }
});

Deno.test({
  name: "task methods over HTTP on Postgres",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn(t) {
    const database = await createDatabase("postgres");
    try {
      const service = await startService({}, { databaseUrl: database.databaseUrl });
      try {
        await taskSteps(t, service.url);
      } finally {
        await service.stop();
      }
    } finally {
      await database.drop();
    }
  },
});
