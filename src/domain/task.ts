/**
 * A task as an event-sourced actor (SPEC §2): its state, the commands it accepts, the events it
 * records, and the two pure functions that relate them. `decide` turns a command into events or
 * a DomainError; `evolve` folds one event into the state. Every derived value (next_run_at) is
 * computed by `decide` and carried in the event, so replaying the log never needs the schedule
 * engine and always reproduces what was decided then.
 */
import { DomainError, invalidSchedule, isDomainError } from "./errors.ts";
import {
  type DstPolicy,
  nextRuns,
  parseSchedule,
  type Schedule,
  type ScheduleType,
} from "./schedule/mod.ts";

/** Where a task stands (APFlow's statuses). */
export type TaskStatus = "pending" | "in_progress" | "completed" | "failed" | "cancelled";
/** What a due occurrence does while a previous run is still going (SPEC §1). */
export type OverlapPolicy = "skip" | "allow" | "queue" | "cancel_previous";
/** Which missed occurrences run after downtime (SPEC §1). */
export type CatchupPolicy = "latest" | "none" | "all";
/** What started a run. */
export type RunTrigger = "schedule" | "catchup" | "webhook" | "manual";
/** A JSON value as it is stored in the log. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** How failed runs are retried. */
export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  backoffFactor: number;
  maxBackoffMs: number;
}

/** What a run does (SPEC §2). */
export type Executor =
  | { type: "echo" }
  | {
    type: "http";
    url: string;
    method: string;
    headers: Record<string, string>;
    timeoutS: number | null;
  }
  | { type: "queue"; capability: string }
  | { type: "command"; argv: string[] };

/** A dependency on another task of the same tree. */
export interface Dependency {
  id: string;
  required: boolean;
}

/** The schedule fields of SPEC §1, with instants as epoch milliseconds. */
export interface ScheduleFields {
  type: ScheduleType;
  expression: string;
  timezone: string;
  enabled: boolean;
  startAt: number | null;
  endAt: number | null;
  maxRuns: number | null;
  dstPolicy: Partial<DstPolicy> | null;
}

/** The fields a user sets directly. */
export interface TaskSettings {
  name: string;
  userId: string | null;
  parentId: string | null;
  inputs: JsonValue;
  executor: Executor;
  priority: number;
  dependencies: Dependency[];
  overlapPolicy: OverlapPolicy;
  catchupPolicy: CatchupPolicy;
  catchupWindowS: number;
  jitterMs: number;
  retry: RetryPolicy;
  timeoutS: number;
}

/** A run in flight, as the task knows it. */
export interface ActiveRun {
  runId: string;
  scheduledFor: number;
  trigger: RunTrigger;
  attempt: number;
  startedAt: number;
}

/** The state of one task: the fold of its events. */
export interface TaskState extends TaskSettings {
  id: string;
  status: TaskStatus;
  result: JsonValue;
  error: string | null;
  schedule: ScheduleFields | null;
  /** When the schedule was last enabled or changed: the interval anchor without a start. */
  anchor: number | null;
  nextRunAt: number | null;
  lastRunAt: number | null;
  /** The latest occurrence that ran or was skipped: no next run is ever at or before it. */
  lastScheduledFor: number | null;
  runCount: number;
  failedRuns: number;
  activeRun: ActiveRun | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
  /** The task's stream version: how many events it has. */
  version: number;
}

/** Why a schedule stopped producing runs. */
export type CompletionReason = "max_runs" | "end_at" | "no_more_occurrences";

/** The payloads of the events a task records, by event type. */
export interface TaskEventData {
  TaskCreated: {
    id: string;
    settings: TaskSettings;
    schedule: ScheduleFields | null;
    anchor: number | null;
    nextRunAt: number | null;
  };
  TaskUpdated: { changes: Partial<TaskSettings> };
  ScheduleChanged: {
    schedule: ScheduleFields | null;
    anchor: number | null;
    nextRunAt: number | null;
  };
  ScheduleEnabled: { anchor: number; nextRunAt: number | null };
  ScheduleDisabled: { reason: "user" | "error"; error: string | null };
  NextRunComputed: { from: number; nextRunAt: number | null };
  RunStarted: {
    runId: string;
    scheduledFor: number;
    trigger: RunTrigger;
    attempt: number;
    latenessMs: number;
    nextRunAt: number | null;
  };
  RunSucceeded: { runId: string; scheduledFor: number; result: JsonValue };
  RunFailed: { runId: string; scheduledFor: number; error: string };
  RunTimedOut: { runId: string; scheduledFor: number; error: string };
  RunSkipped: {
    runId: string;
    scheduledFor: number;
    reason: string;
    nextRunAt: number | null;
  };
  OccurrenceDecided: {
    scheduledFor: number;
    decision: "fired" | "skipped" | "missed" | "coalesced" | "excluded" | "shifted";
    detail: string | null;
  };
  ScheduleCompleted: { reason: CompletionReason };
  TaskDeleted: Record<string, never>;
}

/** The event types, in the order the log documents them. */
export type TaskEventType = keyof TaskEventData;

/** One fact about a task; `at` is when it was decided (epoch ms). */
export type TaskEvent = {
  [K in TaskEventType]: { type: K; at: number; data: TaskEventData[K] };
}[TaskEventType];

/** The names of every event type, for readers that check what they load. */
export const TASK_EVENT_TYPES: readonly TaskEventType[] = [
  "TaskCreated",
  "TaskUpdated",
  "ScheduleChanged",
  "ScheduleEnabled",
  "ScheduleDisabled",
  "NextRunComputed",
  "RunStarted",
  "RunSucceeded",
  "RunFailed",
  "RunTimedOut",
  "RunSkipped",
  "OccurrenceDecided",
  "ScheduleCompleted",
  "TaskDeleted",
];

/** A change to the schedule: absent fields keep their value; `type: null` removes it. */
export type SchedulePatch =
  & Partial<Omit<ScheduleFields, "type" | "expression">>
  & { type?: ScheduleType | null; expression?: string | null };

/** Commands a task accepts; `now` is the decision time. */
export type TaskCommand =
  | {
    type: "CreateTask";
    id: string;
    settings: TaskSettings;
    schedule: ScheduleFields | null;
    now: number;
  }
  | {
    type: "UpdateTask";
    settings: Partial<TaskSettings>;
    schedule: SchedulePatch | null;
    expectedVersion: number | null;
    now: number;
  }
  | { type: "DeleteTask"; now: number }
  | { type: "InitSchedule"; from: number; now: number }
  | {
    type: "CompleteOccurrence";
    runId: string;
    scheduledFor: number | null;
    success: boolean;
    result: JsonValue;
    error: string | null;
    calculateNextRun: boolean;
    now: number;
  };

/** The events a command produces, or why it is refused. `state` is null for a task not yet created. */
export function decide(state: TaskState | null, command: TaskCommand): TaskEvent[] | DomainError {
  if (command.type === "CreateTask") return decideCreate(state, command);
  if (state === null || state.deletedAt !== null) {
    return new DomainError("not_found", "No such task", "task_id");
  }
  switch (command.type) {
    case "UpdateTask":
      return decideUpdate(state, command);
    case "DeleteTask":
      return [{ type: "TaskDeleted", at: command.now, data: {} }];
    case "InitSchedule":
      return decideInit(state, command);
    case "CompleteOccurrence":
      return decideComplete(state, command);
  }
}

/** The state after one more event. */
export function evolve(state: TaskState | null, event: TaskEvent): TaskState {
  if (event.type === "TaskCreated") return created(event.at, event.data);
  if (state === null) throw new Error(`${event.type} before TaskCreated`);
  const next: TaskState = { ...state, version: state.version + 1, updatedAt: event.at };
  switch (event.type) {
    case "TaskUpdated":
      return { ...next, ...event.data.changes };
    case "ScheduleChanged":
      return {
        ...next,
        schedule: event.data.schedule,
        anchor: event.data.anchor,
        nextRunAt: event.data.nextRunAt,
      };
    case "ScheduleEnabled":
      return {
        ...next,
        schedule: next.schedule === null ? null : { ...next.schedule, enabled: true },
        anchor: event.data.anchor,
        nextRunAt: event.data.nextRunAt,
      };
    case "ScheduleDisabled":
      return {
        ...next,
        schedule: next.schedule === null ? null : { ...next.schedule, enabled: false },
        nextRunAt: null,
        error: event.data.error ?? next.error,
      };
    case "NextRunComputed":
      return { ...next, nextRunAt: event.data.nextRunAt };
    case "RunStarted":
      return {
        ...next,
        status: "in_progress",
        nextRunAt: event.data.nextRunAt,
        lastRunAt: event.at,
        lastScheduledFor: Math.max(next.lastScheduledFor ?? -Infinity, event.data.scheduledFor),
        runCount: next.runCount + (event.data.attempt === 1 ? 1 : 0),
        activeRun: {
          runId: event.data.runId,
          scheduledFor: event.data.scheduledFor,
          trigger: event.data.trigger,
          attempt: event.data.attempt,
          startedAt: event.at,
        },
      };
    case "RunSucceeded":
      return {
        ...next,
        status: "completed",
        result: event.data.result,
        error: null,
        activeRun: null,
      };
    case "RunFailed":
    case "RunTimedOut":
      return {
        ...next,
        status: "failed",
        error: event.data.error,
        failedRuns: next.failedRuns + 1,
        activeRun: null,
      };
    case "RunSkipped":
      return {
        ...next,
        nextRunAt: event.data.nextRunAt,
        lastScheduledFor: Math.max(next.lastScheduledFor ?? -Infinity, event.data.scheduledFor),
      };
    case "OccurrenceDecided":
      return next;
    case "ScheduleCompleted":
      return {
        ...next,
        schedule: next.schedule === null ? null : { ...next.schedule, enabled: false },
        nextRunAt: null,
      };
    case "TaskDeleted":
      return {
        ...next,
        status: next.status === "in_progress" ? "cancelled" : next.status,
        nextRunAt: null,
        activeRun: null,
        deletedAt: event.at,
      };
    default:
      // Not a domain refusal: a log holding a type this code does not know is corrupt or newer.
      throw new Error(`Unknown event type ${(event as { type: unknown }).type}`);
  }
}

/** Folds a sequence of events from nothing; null when there are none. */
export function replay(events: Iterable<TaskEvent>): TaskState | null {
  let state: TaskState | null = null;
  for (const event of events) state = evolve(state, event);
  return state;
}

function created(at: number, data: TaskEventData["TaskCreated"]): TaskState {
  return {
    ...data.settings,
    id: data.id,
    status: "pending",
    result: null,
    error: null,
    schedule: data.schedule,
    anchor: data.anchor,
    nextRunAt: data.nextRunAt,
    lastRunAt: null,
    lastScheduledFor: null,
    runCount: 0,
    failedRuns: 0,
    activeRun: null,
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    version: 1,
  };
}

function decideCreate(
  state: TaskState | null,
  command: Extract<TaskCommand, { type: "CreateTask" }>,
): TaskEvent[] | DomainError {
  if (state !== null) {
    return new DomainError("conflict", `A task with id "${command.id}" already exists`, "id");
  }
  const { schedule, now } = command;
  const anchor = schedule === null ? null : now;
  let nextRunAt: number | null = null;
  if (schedule !== null) {
    const valid = compileSchedule(schedule, anchor);
    if (isDomainError(valid)) return valid;
  }
  if (schedule !== null && schedule.enabled) {
    const first = firstRun(schedule, anchor, now, 0);
    if (isDomainError(first)) return first;
    nextRunAt = first;
  }
  return [{
    type: "TaskCreated",
    at: now,
    data: { id: command.id, settings: command.settings, schedule, anchor, nextRunAt },
  }];
}

function decideUpdate(
  state: TaskState,
  command: Extract<TaskCommand, { type: "UpdateTask" }>,
): TaskEvent[] | DomainError {
  const { now } = command;
  if (command.expectedVersion !== null && command.expectedVersion !== state.version) {
    return new DomainError(
      "conflict",
      `The task is at version ${state.version}, not ${command.expectedVersion}`,
      "version",
    );
  }
  const events: TaskEvent[] = [];
  const changes = changedSettings(state, command.settings);
  if (changes !== null) events.push({ type: "TaskUpdated", at: now, data: { changes } });
  if (command.schedule === null) return events;

  const patch = command.schedule;
  const current = state.schedule;
  if (patch.type === null) {
    if (current !== null) {
      events.push({
        type: "ScheduleChanged",
        at: now,
        data: { schedule: null, anchor: null, nextRunAt: null },
      });
    }
    return events;
  }
  const merged = mergeSchedule(current, patch);
  if (isDomainError(merged)) return merged;
  const specChanged = current === null || !sameSpec(current, merged);
  const from = notBefore(state, now);
  if (specChanged) {
    // The anchor is the enable moment (SPEC §1): a new bound or policy keeps the grid.
    const anchor = current !== null && current.enabled && merged.enabled &&
        current.type === merged.type && current.expression === merged.expression &&
        current.startAt === merged.startAt && current.timezone === merged.timezone
      ? state.anchor
      : now;
    const valid = compileSchedule(merged, anchor);
    if (isDomainError(valid)) return valid;
    const nextRunAt = merged.enabled ? firstRun(merged, anchor, from, state.runCount) : null;
    if (isDomainError(nextRunAt)) return nextRunAt;
    events.push({
      type: "ScheduleChanged",
      at: now,
      data: { schedule: merged, anchor, nextRunAt },
    });
  } else if (merged.enabled && !current.enabled) {
    const nextRunAt = firstRun(merged, now, from, state.runCount);
    if (isDomainError(nextRunAt)) return nextRunAt;
    events.push({ type: "ScheduleEnabled", at: now, data: { anchor: now, nextRunAt } });
  } else if (!merged.enabled && current.enabled) {
    events.push({ type: "ScheduleDisabled", at: now, data: { reason: "user", error: null } });
  }
  return events;
}

function decideInit(
  state: TaskState,
  command: Extract<TaskCommand, { type: "InitSchedule" }>,
): TaskEvent[] | DomainError {
  const schedule = state.schedule;
  if (schedule === null) {
    return new DomainError("invalid_params", "The task has no schedule", "task_id");
  }
  if (!schedule.enabled) {
    return new DomainError("conflict", "The task's schedule is disabled", "task_id");
  }
  const nextRunAt = firstRun(
    schedule,
    state.anchor,
    notBefore(state, command.from),
    state.runCount,
  );
  if (isDomainError(nextRunAt)) return nextRunAt;
  return [{ type: "NextRunComputed", at: command.now, data: { from: command.from, nextRunAt } }];
}

function decideComplete(
  state: TaskState,
  command: Extract<TaskCommand, { type: "CompleteOccurrence" }>,
): TaskEvent[] | DomainError {
  const { now } = command;
  const schedule = state.schedule;
  if (command.scheduledFor === null && state.nextRunAt === null && schedule !== null) {
    return new DomainError(
      "conflict",
      "The task has no pending occurrence (its schedule is disabled or complete); " +
        "pass scheduled_for to report a specific one",
      "scheduled_for",
    );
  }
  const scheduledFor = command.scheduledFor ?? state.nextRunAt ?? now;
  const trigger: RunTrigger = schedule === null ? "manual" : "schedule";
  const runCount = state.runCount + 1;
  // Without a new calculation the next run stays, unless it is the occurrence just recorded.
  let nextRunAt = state.nextRunAt !== null && state.nextRunAt > scheduledFor
    ? state.nextRunAt
    : null;
  let completion: CompletionReason | null = null;
  let failure: string | null = null;
  if (command.calculateNextRun && schedule !== null && schedule.enabled) {
    const following = followingRun(
      schedule,
      state.anchor,
      notBefore(state, scheduledFor),
      runCount,
    );
    if (isDomainError(following)) {
      failure = following.message;
      nextRunAt = null;
    } else {
      // A late report for an old occurrence never moves the schedule backwards.
      nextRunAt = following.at === null ? null : Math.max(following.at, state.nextRunAt ?? 0);
      completion = following.at === null ? following.reason : null;
    }
  }
  const runId = command.runId;
  const events: TaskEvent[] = [
    {
      type: "RunStarted",
      at: now,
      data: {
        runId,
        scheduledFor,
        trigger,
        attempt: 1,
        latenessMs: Math.max(0, now - scheduledFor),
        nextRunAt,
      },
    },
    command.success
      ? { type: "RunSucceeded", at: now, data: { runId, scheduledFor, result: command.result } }
      : {
        type: "RunFailed",
        at: now,
        data: { runId, scheduledFor, error: command.error ?? "The run failed" },
      },
  ];
  if (failure !== null) {
    events.push({ type: "ScheduleDisabled", at: now, data: { reason: "error", error: failure } });
  } else if (completion !== null) {
    events.push({ type: "ScheduleCompleted", at: now, data: { reason: completion } });
  }
  return events;
}

/** The instant next runs are computed after: `from`, but never at or before a recorded run. */
function notBefore(state: TaskState, from: number): number {
  return Math.max(from, state.lastScheduledFor ?? -Infinity);
}

/** Parses stored schedule fields with the given anchor. */
export function compileSchedule(
  fields: ScheduleFields,
  anchor: number | null,
): Schedule | DomainError {
  return parseSchedule({
    type: fields.type,
    expression: fields.expression,
    timezone: fields.timezone,
    startAt: fields.startAt,
    endAt: fields.endAt,
    maxRuns: fields.maxRuns,
    dstPolicy: fields.dstPolicy,
    anchor,
  });
}

/** The first run after `from`; a schedule with none is refused, naming the bound at fault. */
function firstRun(
  fields: ScheduleFields,
  anchor: number | null,
  from: number,
  runsSoFar: number,
): number | DomainError {
  const following = followingRun(fields, anchor, from, runsSoFar);
  if (isDomainError(following)) return following;
  if (following.at !== null) return following.at;
  switch (following.reason) {
    case "max_runs":
      return invalidSchedule("max_runs", `The task already ran ${runsSoFar} times`);
    case "end_at":
      return invalidSchedule("schedule_end_at", "The schedule ends before its next run");
    case "no_more_occurrences":
      return invalidSchedule(
        "schedule_expression",
        fields.type === "once" ? "The instant is in the past" : "The schedule has no future run",
      );
  }
}

/** The run after `from`, or why there is none. */
function followingRun(
  fields: ScheduleFields,
  anchor: number | null,
  from: number,
  runsSoFar: number,
): { at: number; reason: null } | { at: null; reason: CompletionReason } | DomainError {
  const schedule = compileSchedule(fields, anchor);
  if (isDomainError(schedule)) return schedule;
  if (schedule.maxRuns !== null && runsSoFar >= schedule.maxRuns) {
    return { at: null, reason: "max_runs" };
  }
  const [at] = nextRuns(schedule, from, { count: 1, runsSoFar });
  if (at !== undefined) return { at, reason: null };
  const unbounded = schedule.next(Math.max(from, (schedule.startAt ?? 0) - 1));
  return { at: null, reason: unbounded !== null ? "end_at" : "no_more_occurrences" };
}

function mergeSchedule(
  current: ScheduleFields | null,
  patch: SchedulePatch,
): ScheduleFields | DomainError {
  const type = patch.type ?? current?.type;
  const expression = patch.expression ?? current?.expression;
  if (type === undefined) {
    return new DomainError(
      "invalid_params",
      "schedule_type is required with a schedule",
      "schedule_type",
    );
  }
  if (expression === undefined) {
    return new DomainError(
      "invalid_params",
      "schedule_expression is required with a schedule",
      "schedule_expression",
    );
  }
  return {
    type,
    expression,
    timezone: patch.timezone ?? current?.timezone ?? "UTC",
    enabled: patch.enabled ?? current?.enabled ?? true,
    startAt: patch.startAt !== undefined ? patch.startAt : current?.startAt ?? null,
    endAt: patch.endAt !== undefined ? patch.endAt : current?.endAt ?? null,
    maxRuns: patch.maxRuns !== undefined ? patch.maxRuns : current?.maxRuns ?? null,
    dstPolicy: patch.dstPolicy !== undefined ? patch.dstPolicy : current?.dstPolicy ?? null,
  };
}

function sameSpec(a: ScheduleFields, b: ScheduleFields): boolean {
  return a.type === b.type && a.expression === b.expression && a.timezone === b.timezone &&
    a.startAt === b.startAt && a.endAt === b.endAt && a.maxRuns === b.maxRuns &&
    JSON.stringify(a.dstPolicy) === JSON.stringify(b.dstPolicy);
}

function changedSettings(
  state: TaskState,
  settings: Partial<TaskSettings>,
): Partial<TaskSettings> | null {
  const changes: Record<string, unknown> = {};
  let changed = false;
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    const before = state[key as keyof TaskSettings];
    if (JSON.stringify(before) !== JSON.stringify(value)) {
      changes[key] = value;
      changed = true;
    }
  }
  return changed ? changes as Partial<TaskSettings> : null;
}
