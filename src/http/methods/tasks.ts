import { z } from "zod";
import { DomainError, isDomainError } from "../../domain/errors.ts";
import { SCHEDULE_TYPES } from "../../domain/schedule/mod.ts";
import {
  compileSchedule,
  DEFAULT_RUN_SETTINGS,
  type Executor,
  type JsonValue,
  type ScheduleFields,
  type SchedulePatch,
  type TaskSettings,
  type TaskState,
} from "../../domain/task.ts";
import type { TaskService } from "../../runtime/tasks.ts";
import type { EventMetadata, RecordedEvent } from "../../store/event_store.ts";
import { type Caller, ownerFilter } from "../auth.ts";
import type { MethodRegistry, RpcContext } from "../jsonrpc.ts";
import {
  formatInstant,
  isoInstant,
  isStorableJson,
  isStorableText,
  NOT_STORABLE,
  PageLimit,
  parseInstant,
  TaskId,
  text,
} from "../wire.ts";
import { DstPolicyParam } from "./schedules.ts";

/** The largest `inputs` or `result`, serialized. */
export const MAX_JSON_BYTES = 64 * 1024;

/** What the task methods need. */
export interface TaskMethodDeps {
  tasks: TaskService;
  /** `timeout_s` of a task that does not set one (CHRONOLOG_TASK_TIMEOUT_S). */
  defaultTimeoutS: number;
  /** Whether the `command` executor may be used (CHRONOLOG_ALLOW_COMMAND=1). */
  allowCommand: boolean;
}

const TASK_STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled"] as const;
const OVERLAP_POLICIES = ["skip", "allow", "queue", "cancel_previous"] as const;
const CATCHUP_POLICIES = ["latest", "none", "all"] as const;

export { TaskId, text };
const UserId = text(128).pipe(z.string().min(1));
export const boundedJson = (what: string) =>
  z.json()
    .refine(isStorableJson, NOT_STORABLE)
    .refine((value) => JSON.stringify(value).length <= MAX_JSON_BYTES, {
      message: `${what} must serialize to at most ${MAX_JSON_BYTES} bytes`,
    });
/** A stream version: PostgreSQL integer. */
const Version = z.int().min(1).max(2_147_483_647);

const ExecutorParam = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("echo") }),
  z.strictObject({
    type: z.literal("http"),
    url: z.url({ protocol: /^https?$/, error: "Expected an http or https URL" }).max(2048),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST"),
    headers: z.record(text(256).pipe(z.string().min(1)), text(8192))
      .refine((headers) => Object.keys(headers).length <= 64, "At most 64 headers")
      .default({}),
    timeout_s: z.int().min(1).max(86_400).nullish(),
  }),
  z.strictObject({ type: z.literal("queue"), capability: text(128).pipe(z.string().min(1)) }),
  z.strictObject({
    type: z.literal("command"),
    argv: z.array(text(4096)).min(1).max(256),
  }),
  // Runs only in a program that embeds Chronolog and registers a handler under the task's id.
  z.strictObject({ type: z.literal("inprocess") }),
]).describe("What a run does (SPEC §2); echo when absent");

const RetryParam = z.strictObject({
  max_attempts: z.int().min(1).max(100).default(DEFAULT_RUN_SETTINGS.retry.maxAttempts),
  backoff_ms: z.int().min(0).max(3_600_000).default(DEFAULT_RUN_SETTINGS.retry.backoffMs),
  backoff_factor: z.number().min(1).max(10).default(DEFAULT_RUN_SETTINGS.retry.backoffFactor),
  max_backoff_ms: z.int().min(0).max(86_400_000)
    .default(DEFAULT_RUN_SETTINGS.retry.maxBackoffMs),
});

const DependencyParam = z.strictObject({ id: TaskId, required: z.boolean().default(true) });

/** The fields tasks.create and tasks.update share; `.optional()` everywhere, defaults below. */
const SettingsShape = {
  name: text(256).pipe(z.string().trim().min(1)),
  user_id: UserId.nullish(),
  parent_id: TaskId.nullish(),
  inputs: boundedJson("inputs"),
  executor: ExecutorParam,
  priority: z.int().min(0).max(1000).describe("Lower runs first among ready siblings"),
  dependencies: z.array(DependencyParam).max(100),
  overlap_policy: z.enum(OVERLAP_POLICIES),
  catchup_policy: z.enum(CATCHUP_POLICIES),
  catchup_window_s: z.int().min(0).max(31_536_000),
  jitter_ms: z.int().min(0).max(3_600_000),
  retry: RetryParam,
  timeout_s: z.int().min(1).max(604_800),
};

const ScheduleShape = {
  schedule_type: z.enum(SCHEDULE_TYPES),
  schedule_expression: text(16_384).pipe(z.string().min(1)),
  schedule_timezone: text(64).pipe(z.string().min(1)),
  schedule_enabled: z.boolean(),
  schedule_start_at: isoInstant.nullish(),
  schedule_end_at: isoInstant.nullish(),
  max_runs: z.int().min(1).max(1_000_000_000).nullish(),
  dst_policy: DstPolicyParam.nullish(),
};

const CreateParams = z.strictObject({
  id: TaskId.optional().describe("The task id; a UUID is assigned when absent"),
  ...SettingsShape,
  inputs: SettingsShape.inputs.default({}),
  executor: SettingsShape.executor.default({ type: "echo" }),
  priority: SettingsShape.priority.default(DEFAULT_RUN_SETTINGS.priority),
  dependencies: SettingsShape.dependencies.default([]),
  overlap_policy: SettingsShape.overlap_policy.default(DEFAULT_RUN_SETTINGS.overlapPolicy),
  catchup_policy: SettingsShape.catchup_policy.default(DEFAULT_RUN_SETTINGS.catchupPolicy),
  catchup_window_s: SettingsShape.catchup_window_s.default(DEFAULT_RUN_SETTINGS.catchupWindowS),
  jitter_ms: SettingsShape.jitter_ms.default(DEFAULT_RUN_SETTINGS.jitterMs),
  retry: RetryParam.default(RetryParam.parse({})),
  timeout_s: SettingsShape.timeout_s.optional(),
  ...ScheduleShape,
  schedule_type: ScheduleShape.schedule_type.optional(),
  schedule_expression: ScheduleShape.schedule_expression.optional(),
  schedule_timezone: ScheduleShape.schedule_timezone.optional().describe("Default UTC"),
  schedule_enabled: ScheduleShape.schedule_enabled.optional().describe("Default true"),
});

const UpdateParams = z.strictObject({
  task_id: TaskId,
  version: Version.optional()
    .describe("Refuse the update with a conflict unless the task is at this version"),
  name: SettingsShape.name.optional(),
  parent_id: SettingsShape.parent_id,
  inputs: SettingsShape.inputs.optional(),
  executor: SettingsShape.executor.optional(),
  priority: SettingsShape.priority.optional(),
  dependencies: SettingsShape.dependencies.optional(),
  overlap_policy: SettingsShape.overlap_policy.optional(),
  catchup_policy: SettingsShape.catchup_policy.optional(),
  catchup_window_s: SettingsShape.catchup_window_s.optional(),
  jitter_ms: SettingsShape.jitter_ms.optional(),
  retry: RetryParam.optional(),
  timeout_s: SettingsShape.timeout_s.optional(),
  schedule_type: ScheduleShape.schedule_type.nullish()
    .describe("null removes the schedule"),
  schedule_expression: ScheduleShape.schedule_expression.optional(),
  schedule_timezone: ScheduleShape.schedule_timezone.optional(),
  schedule_enabled: ScheduleShape.schedule_enabled.optional(),
  schedule_start_at: ScheduleShape.schedule_start_at,
  schedule_end_at: ScheduleShape.schedule_end_at,
  max_runs: ScheduleShape.max_runs,
  dst_policy: ScheduleShape.dst_policy,
});

const TaskIdParams = z.strictObject({ task_id: TaskId });
const Offset = z.int().min(0).max(10_000_000).default(0);

const ListParams = z.strictObject({
  user_id: UserId.nullish(),
  status: z.enum(TASK_STATUSES).nullish(),
  parent_id: TaskId.nullish(),
  limit: PageLimit,
  offset: Offset,
});

const ScheduledListParams = z.strictObject({
  enabled_only: z.boolean().default(true),
  user_id: UserId.nullish(),
  schedule_type: z.enum(SCHEDULE_TYPES).nullish(),
  status: z.enum(TASK_STATUSES).nullish(),
  limit: PageLimit,
  offset: Offset,
});

const DueParams = z.strictObject({
  before: isoInstant.optional().describe("Due at or before this instant (default: now)"),
  user_id: UserId.nullish(),
  limit: PageLimit,
});

const InitParams = z.strictObject({
  task_id: TaskId,
  from_time: isoInstant.optional().describe("Compute the next run after this (default: now)"),
});

const CompleteParams = z.strictObject({
  task_id: TaskId,
  success: z.boolean().default(true),
  result: boundedJson("result").optional(),
  error: text(8192).nullish(),
  calculate_next_run: z.boolean().default(true),
  scheduled_for: isoInstant.optional()
    .describe("The occurrence that ran (default: the task's next_run_at); each runs once"),
});

const EventsParams = z.strictObject({
  task_id: TaskId,
  from_version: Version.default(1),
  limit: PageLimit,
});

const ReplayParams = z.strictObject({
  task_id: TaskId,
  as_of: z.union([isoInstant, Version])
    .describe("An ISO instant, or a stream version (an integer)"),
});

const Instant = isoInstant.nullable();

/** A task on the wire. */
export const TaskResult = z.strictObject({
  id: z.string(),
  name: z.string(),
  user_id: z.string().nullable(),
  parent_id: z.string().nullable(),
  status: z.enum(TASK_STATUSES),
  inputs: z.json(),
  result: z.json(),
  error: z.string().nullable(),
  executor: z.record(z.string(), z.unknown()),
  priority: z.int(),
  dependencies: z.array(z.strictObject({ id: z.string(), required: z.boolean() })),
  schedule_type: z.enum(SCHEDULE_TYPES).nullable(),
  schedule_expression: z.string().nullable(),
  schedule_timezone: z.string().nullable(),
  schedule_enabled: z.boolean(),
  schedule_start_at: Instant,
  schedule_end_at: Instant,
  max_runs: z.int().nullable(),
  dst_policy: z.record(z.string(), z.string()).nullable(),
  schedule_description: z.string().nullable(),
  next_run_at: Instant,
  last_run_at: Instant,
  run_count: z.int(),
  failed_runs: z.int(),
  overlap_policy: z.enum(OVERLAP_POLICIES),
  catchup_policy: z.enum(CATCHUP_POLICIES),
  catchup_window_s: z.int(),
  jitter_ms: z.int(),
  retry: z.strictObject({
    max_attempts: z.int(),
    backoff_ms: z.int(),
    backoff_factor: z.number(),
    max_backoff_ms: z.int(),
  }),
  timeout_s: z.int(),
  created_at: isoInstant,
  updated_at: isoInstant,
  version: z.int(),
});

const PageResult = z.strictObject({
  tasks: z.array(TaskResult),
  total: z.int(),
  limit: z.int(),
  offset: z.int(),
});

const EventResult = z.strictObject({
  position: z.int(),
  version: z.int(),
  type: z.string(),
  data: z.json(),
  metadata: z.strictObject({
    actor: z.string().nullable(),
    request_id: z.string().nullable(),
    causation: z.string().nullable(),
  }),
  recorded_at: isoInstant,
});

/** Registers the task methods of SPEC §3 (runs and triggers come with the runtime). */
export function registerTaskMethods(registry: MethodRegistry, deps: TaskMethodDeps): void {
  const { tasks } = deps;

  registry.register({
    name: "tasks.create",
    summary: "Creates a task; a schedule is validated and its first run computed",
    params: CreateParams,
    result: TaskResult,
    async handler(params, ctx) {
      const task = readNewTask(params, ctx.caller, deps);
      if (isDomainError(task)) return task;
      return taskOrError(await tasks.create(task, metadata(ctx, "tasks.create")));
    },
  });

  registry.register({
    name: "tasks.get",
    summary: "Returns a task",
    params: TaskIdParams,
    result: TaskResult,
    async handler(params) {
      return taskOrError(await tasks.get(params.task_id));
    },
  });

  registry.register({
    name: "tasks.update",
    summary: "Changes a task; a changed or re-enabled schedule gets a new next run",
    params: UpdateParams,
    result: TaskResult,
    async handler(params, ctx) {
      const changes = readChanges(params, deps);
      if (isDomainError(changes)) return changes;
      return taskOrError(
        await tasks.update(params.task_id, changes, metadata(ctx, "tasks.update")),
      );
    },
  });

  registry.register({
    name: "tasks.delete",
    summary: "Deletes a task; its events stay in the log",
    params: TaskIdParams,
    result: z.strictObject({ task_id: z.string(), deleted: z.literal(true) }),
    async handler(params, ctx) {
      const outcome = await tasks.delete(params.task_id, metadata(ctx, "tasks.delete"));
      return isDomainError(outcome) ? outcome : { task_id: outcome.id, deleted: true as const };
    },
  });

  registry.register({
    name: "tasks.list",
    summary: "Lists tasks, newest first, with the total that match",
    params: ListParams,
    result: PageResult,
    async handler(params, ctx) {
      const userId = ownerFilter(ctx.caller, params.user_id);
      if (userId === undefined) return pageWire([], 0, params);
      const page = await tasks.list({
        userId,
        status: params.status,
        parentId: params.parent_id,
        limit: params.limit,
        offset: params.offset,
      });
      return pageWire(page.tasks, page.total, params);
    },
  });

  registry.register({
    name: "tasks.events",
    summary: "The audit log of one task, in version order",
    params: EventsParams,
    result: z.strictObject({
      events: z.array(EventResult),
      next_from_version: z.int().nullable(),
    }),
    async handler(params) {
      const events = await tasks.events(params.task_id, {
        fromVersion: params.from_version,
        limit: params.limit,
      });
      if (isDomainError(events)) return events;
      const last = events.at(-1);
      return {
        events: events.map(eventWire),
        next_from_version: events.length === params.limit && last ? last.version + 1 : null,
      };
    },
  });

  registry.register({
    name: "tasks.replay",
    summary: "The task rebuilt from its log as of an instant or a stream version",
    params: ReplayParams,
    result: z.strictObject({ task: TaskResult, version: z.int() }),
    async handler(params) {
      let asOf: { version: number } | { time: number };
      if (typeof params.as_of === "number") {
        asOf = { version: params.as_of };
      } else {
        const time = parseInstant(params.as_of, "as_of");
        if (isDomainError(time)) return time;
        asOf = { time };
      }
      const replayed = await tasks.replay(params.task_id, asOf);
      if (isDomainError(replayed)) return replayed;
      return { task: taskWire(replayed.state), version: replayed.version };
    },
  });

  registry.register({
    name: "tasks.scheduled.list",
    summary: "Lists tasks that have a schedule",
    params: ScheduledListParams,
    result: PageResult,
    async handler(params, ctx) {
      const userId = ownerFilter(ctx.caller, params.user_id);
      if (userId === undefined) return pageWire([], 0, params);
      const page = await tasks.list({
        userId,
        status: params.status,
        scheduleType: params.schedule_type,
        scheduledOnly: true,
        enabledOnly: params.enabled_only,
        limit: params.limit,
        offset: params.offset,
      });
      return pageWire(page.tasks, page.total, params);
    },
  });

  registry.register({
    name: "tasks.scheduled.due",
    summary: "Enabled tasks whose next run is at or before `before`, soonest first",
    params: DueParams,
    result: z.strictObject({ tasks: z.array(TaskResult), before: isoInstant }),
    async handler(params, ctx) {
      const before = params.before === undefined
        ? ctx.receivedAt
        : parseInstant(params.before, "before");
      if (isDomainError(before)) return before;
      const userId = ownerFilter(ctx.caller, params.user_id);
      const due = userId === undefined ? [] : await tasks.due({
        before,
        userId,
        limit: params.limit,
      });
      return { tasks: due.map(taskWire), before: formatInstant(before) };
    },
  });

  registry.register({
    name: "tasks.scheduled.init",
    summary: "Recomputes a task's next run after from_time (create and update already do)",
    params: InitParams,
    result: TaskResult,
    async handler(params, ctx) {
      const from = params.from_time === undefined
        ? null
        : parseInstant(params.from_time, "from_time");
      if (isDomainError(from)) return from;
      return taskOrError(
        await tasks.initSchedule(params.task_id, from, metadata(ctx, "tasks.scheduled.init")),
      );
    },
  });

  registry.register({
    name: "tasks.scheduled.complete",
    summary: "Records the run of an occurrence executed elsewhere and moves to the next one",
    params: CompleteParams,
    result: TaskResult,
    async handler(params, ctx) {
      const scheduledFor = params.scheduled_for === undefined
        ? null
        : parseInstant(params.scheduled_for, "scheduled_for");
      if (isDomainError(scheduledFor)) return scheduledFor;
      return taskOrError(
        await tasks.completeOccurrence(params.task_id, {
          scheduledFor,
          success: params.success,
          result: (params.result ?? null) as JsonValue,
          error: params.error ?? null,
          calculateNextRun: params.calculate_next_run,
        }, metadata(ctx, "tasks.scheduled.complete")),
      );
    },
  });
}

/** The longest request id kept in the log. */
const MAX_REQUEST_ID = 256;

/** Who asked, for the log: the caller's user, the request id when storable, and the method. */
export function metadata(ctx: RpcContext, causation: string): EventMetadata {
  const id = ctx.callId === undefined || ctx.callId === null ? null : String(ctx.callId);
  // The id is the client's; only an id the log can hold verbatim is kept.
  const requestId = id !== null && id.length <= MAX_REQUEST_ID && isStorableText(id) ? id : null;
  return { actor: ctx.caller.user, requestId, causation };
}

/**
 * The owner of a new task: the caller's own user unless an admin names another; a user naming
 * someone else is refused (they could not see the task afterwards).
 */
function newOwner(
  caller: Caller,
  requested: string | null | undefined,
): string | null | DomainError {
  if (requested == null) return caller.user;
  if (caller.admin || requested === caller.user) return requested;
  return new DomainError("forbidden", "Only admins create tasks for other users", "user_id");
}

function readNewTask(
  params: z.output<typeof CreateParams>,
  caller: Caller,
  deps: TaskMethodDeps,
): { id: string | null; settings: TaskSettings; schedule: ScheduleFields | null } | DomainError {
  const userId = newOwner(caller, params.user_id);
  if (isDomainError(userId)) return userId;
  const executor = readExecutor(params.executor, deps);
  if (isDomainError(executor)) return executor;
  const schedule = readSchedule(params);
  if (isDomainError(schedule)) return schedule;
  return {
    id: params.id ?? null,
    settings: {
      name: params.name,
      userId,
      parentId: params.parent_id ?? null,
      inputs: params.inputs as JsonValue,
      executor,
      priority: params.priority,
      dependencies: params.dependencies,
      overlapPolicy: params.overlap_policy,
      catchupPolicy: params.catchup_policy,
      catchupWindowS: params.catchup_window_s,
      jitterMs: params.jitter_ms,
      retry: readRetry(params.retry),
      timeoutS: params.timeout_s ?? deps.defaultTimeoutS,
    },
    schedule,
  };
}

/** Schedule fields that mean nothing without a schedule_type. */
const SCHEDULE_DETAILS = [
  "schedule_timezone",
  "schedule_enabled",
  "schedule_start_at",
  "schedule_end_at",
  "max_runs",
  "dst_policy",
] as const;

function readSchedule(params: z.output<typeof CreateParams>): ScheduleFields | null | DomainError {
  if (params.schedule_type === undefined && params.schedule_expression === undefined) {
    for (const field of SCHEDULE_DETAILS) {
      if (params[field] != null) {
        return new DomainError("invalid_params", `${field} needs a schedule_type`, field);
      }
    }
    return null;
  }
  if (params.schedule_type === undefined) {
    return new DomainError(
      "invalid_params",
      "schedule_type is required with a schedule_expression",
      "schedule_type",
    );
  }
  if (params.schedule_expression === undefined) {
    return new DomainError(
      "invalid_params",
      "schedule_expression is required with a schedule_type",
      "schedule_expression",
    );
  }
  const startAt = optionalInstant(params.schedule_start_at, "schedule_start_at");
  if (isDomainError(startAt)) return startAt;
  const endAt = optionalInstant(params.schedule_end_at, "schedule_end_at");
  if (isDomainError(endAt)) return endAt;
  return {
    type: params.schedule_type,
    expression: params.schedule_expression,
    timezone: params.schedule_timezone ?? "UTC",
    enabled: params.schedule_enabled ?? true,
    startAt,
    endAt,
    maxRuns: params.max_runs ?? null,
    dstPolicy: params.dst_policy ?? null,
  };
}

function readChanges(
  params: z.output<typeof UpdateParams>,
  deps: TaskMethodDeps,
): {
  settings: Partial<TaskSettings>;
  schedule: SchedulePatch | null;
  expectedVersion: number | null;
} | DomainError {
  const executor = params.executor === undefined ? undefined : readExecutor(params.executor, deps);
  if (isDomainError(executor)) return executor;
  const settings: Partial<TaskSettings> = {
    name: params.name,
    parentId: params.parent_id,
    inputs: params.inputs as JsonValue | undefined,
    executor,
    priority: params.priority,
    dependencies: params.dependencies,
    overlapPolicy: params.overlap_policy,
    catchupPolicy: params.catchup_policy,
    catchupWindowS: params.catchup_window_s,
    jitterMs: params.jitter_ms,
    retry: params.retry === undefined ? undefined : readRetry(params.retry),
    timeoutS: params.timeout_s,
  };
  const startAt = params.schedule_start_at === undefined
    ? undefined
    : optionalInstant(params.schedule_start_at, "schedule_start_at");
  if (isDomainError(startAt)) return startAt;
  const endAt = params.schedule_end_at === undefined
    ? undefined
    : optionalInstant(params.schedule_end_at, "schedule_end_at");
  if (isDomainError(endAt)) return endAt;
  const patch: SchedulePatch = {
    type: params.schedule_type,
    expression: params.schedule_expression,
    timezone: params.schedule_timezone,
    enabled: params.schedule_enabled,
    startAt,
    endAt,
    maxRuns: params.max_runs,
    dstPolicy: params.dst_policy,
  };
  if (params.schedule_type === null) {
    for (const field of ["schedule_expression", ...SCHEDULE_DETAILS] as const) {
      if (params[field] !== undefined) {
        return new DomainError(
          "invalid_params",
          `${field} cannot be set while schedule_type null removes the schedule`,
          field,
        );
      }
    }
  }
  const touched = Object.values(patch).some((value) => value !== undefined);
  return {
    settings,
    schedule: touched ? patch : null,
    expectedVersion: params.version ?? null,
  };
}

function readExecutor(
  executor: z.output<typeof ExecutorParam>,
  deps: TaskMethodDeps,
): Executor | DomainError {
  switch (executor.type) {
    case "echo":
    case "queue":
    case "inprocess":
      return executor;
    case "command":
      if (!deps.allowCommand) {
        return new DomainError(
          "forbidden",
          "The command executor is off; the operator enables it with CHRONOLOG_ALLOW_COMMAND=1",
          "executor.type",
        );
      }
      return executor;
    case "http":
      return {
        type: "http",
        url: executor.url,
        method: executor.method,
        headers: executor.headers,
        timeoutS: executor.timeout_s ?? null,
      };
  }
}

function readRetry(retry: z.output<typeof RetryParam>): TaskSettings["retry"] {
  return {
    maxAttempts: retry.max_attempts,
    backoffMs: retry.backoff_ms,
    backoffFactor: retry.backoff_factor,
    maxBackoffMs: retry.max_backoff_ms,
  };
}

function optionalInstant(
  text: string | null | undefined,
  field: string,
): number | null | DomainError {
  return text == null ? null : parseInstant(text, field);
}

function pageWire(
  tasks: TaskState[],
  total: number,
  params: { limit: number; offset: number },
): z.input<typeof PageResult> {
  return {
    tasks: tasks.map(taskWire),
    total,
    limit: params.limit,
    offset: params.offset,
  };
}

/** A task on the wire, or the error. */
export function taskOrError(
  state: TaskState | DomainError,
): z.input<typeof TaskResult> | DomainError {
  return isDomainError(state) ? state : taskWire(state);
}

function taskWire(state: TaskState): z.input<typeof TaskResult> {
  const schedule = state.schedule;
  return {
    id: state.id,
    name: state.name,
    user_id: state.userId,
    parent_id: state.parentId,
    status: state.status,
    inputs: state.inputs,
    result: state.result,
    error: state.error,
    executor: executorWire(state.executor),
    priority: state.priority,
    dependencies: state.dependencies,
    schedule_type: schedule?.type ?? null,
    schedule_expression: schedule?.expression ?? null,
    schedule_timezone: schedule?.timezone ?? null,
    schedule_enabled: schedule?.enabled ?? false,
    schedule_start_at: instantOrNull(schedule?.startAt),
    schedule_end_at: instantOrNull(schedule?.endAt),
    max_runs: schedule?.maxRuns ?? null,
    dst_policy: (schedule?.dstPolicy ?? null) as Record<string, string> | null,
    schedule_description: describe(schedule, state.anchor),
    next_run_at: instantOrNull(state.nextRunAt),
    last_run_at: instantOrNull(state.lastRunAt),
    run_count: state.runCount,
    failed_runs: state.failedRuns,
    overlap_policy: state.overlapPolicy,
    catchup_policy: state.catchupPolicy,
    catchup_window_s: state.catchupWindowS,
    jitter_ms: state.jitterMs,
    retry: {
      max_attempts: state.retry.maxAttempts,
      backoff_ms: state.retry.backoffMs,
      backoff_factor: state.retry.backoffFactor,
      max_backoff_ms: state.retry.maxBackoffMs,
    },
    timeout_s: state.timeoutS,
    created_at: formatInstant(state.createdAt),
    updated_at: formatInstant(state.updatedAt),
    version: state.version,
  };
}

/** What replaces a header value on the wire: headers carry credentials (SPEC §5). */
export const REDACTED = "<redacted>";

function executorWire(executor: Executor): Record<string, unknown> {
  if (executor.type !== "http") return executor;
  const { timeoutS, headers, ...rest } = executor;
  return { ...rest, headers: redactHeaders(headers), timeout_s: timeoutS };
}

function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED]));
}

/** The keys of event data that hold instants (epoch ms in the log, ISO 8601 on the wire). */
const INSTANT_KEYS = new Set([
  "anchor",
  "nextRunAt",
  "from",
  "scheduledFor",
  "deadlineAt",
  "retryAt",
  "until",
  "to",
  "startAt",
  "endAt",
]);

/**
 * Event data in the wire form of the API: snake_case keys, instants as ISO 8601, and the http
 * executor's header values redacted wherever an executor appears. `inputs` and `result` are the
 * user's own JSON and pass through untouched.
 */
function eventDataWire(data: unknown): unknown {
  if (Array.isArray(data)) return data.map(eventDataWire);
  if (typeof data !== "object" || data === null) return data;
  const wire: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    wire[snakeCase(key)] = key === "inputs" || key === "result"
      ? value
      : INSTANT_KEYS.has(key) && typeof value === "number"
      ? formatInstant(value)
      : key === "executor" && isHttpExecutor(value)
      ? { ...eventDataWire(value) as object, headers: redactHeaders(value.headers ?? {}) }
      : eventDataWire(value);
  }
  return wire;
}

function isHttpExecutor(value: unknown): value is { headers?: Record<string, string> } {
  return typeof value === "object" && value !== null &&
    (value as { type?: unknown }).type === "http";
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Descriptions are cached by schedule: parsing costs microseconds, lists show a thousand. */
const descriptions = new Map<string, string | null>();
const MAX_DESCRIPTIONS = 10_000;

function describe(schedule: ScheduleFields | null, anchor: number | null): string | null {
  if (schedule === null) return null;
  const key = JSON.stringify([schedule, schedule.type === "rrule" ? anchor : null]);
  let description = descriptions.get(key);
  if (description === undefined) {
    const parsed = compileSchedule(schedule, anchor);
    description = isDomainError(parsed) ? null : parsed.description;
    if (descriptions.size >= MAX_DESCRIPTIONS) descriptions.clear();
    descriptions.set(key, description);
  }
  return description;
}

function instantOrNull(epochMs: number | null | undefined): string | null {
  return epochMs == null ? null : formatInstant(epochMs);
}

function eventWire(recorded: RecordedEvent): z.input<typeof EventResult> {
  return {
    position: recorded.position,
    version: recorded.version,
    type: recorded.event.type,
    data: eventDataWire(recorded.event.data) as JsonValue,
    metadata: {
      actor: recorded.metadata.actor,
      request_id: recorded.metadata.requestId,
      causation: recorded.metadata.causation,
    },
    recorded_at: formatInstant(recorded.event.at),
  };
}
