/**
 * A task as an event-sourced actor (SPEC §2): its state, the commands it accepts, the events it
 * records, and the two pure functions that relate them. `decide` turns a command into events or
 * a DomainError; `evolve` folds one event into the state. Every derived value (next_run_at) is
 * computed by `decide` and carried in the event, so replaying the log never needs the schedule
 * engine and always reproduces what was decided then.
 */
import { DomainError, invalidSchedule, isDomainError } from "./errors.ts";
import {
  type DstEdge,
  type DstPolicy,
  MAX_INSTANT,
  type Occurrence,
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
  | { type: "command"; argv: string[] }
  /** A function of the program embedding Chronolog, registered under the task's id (src/mod.ts). */
  | { type: "inprocess" };

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

/** How a task runs unless it says otherwise (SPEC §1's defaults). */
export const DEFAULT_RUN_SETTINGS: Pick<
  TaskSettings,
  | "priority"
  | "dependencies"
  | "overlapPolicy"
  | "catchupPolicy"
  | "catchupWindowS"
  | "jitterMs"
  | "retry"
  | "timeoutS"
> = {
  priority: 0,
  dependencies: [],
  overlapPolicy: "skip",
  catchupPolicy: "latest",
  catchupWindowS: 86_400,
  jitterMs: 0,
  retry: { maxAttempts: 1, backoffMs: 1000, backoffFactor: 2, maxBackoffMs: 300_000 },
  timeoutS: 3600,
};

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
  /** The liveness key of the process executing it; null when an outside worker does. */
  owner: number | null;
  /** When the attempt must have ended (start + timeout_s). */
  deadlineAt: number;
  /** Set while the run waits out a retry backoff: when its next attempt starts. */
  retryAt: number | null;
}

/** A run claimed for its occurrence that starts when the runs before it end. */
export interface WaitingRun {
  runId: string;
  scheduledFor: number;
  trigger: RunTrigger;
}

/** A future occurrence a user took out of the schedule, or moved to another instant. */
export interface ExcludedOccurrence {
  at: number;
  movedTo: number | null;
}

/** What became of a nominal occurrence that did not simply fire (SPEC §1). */
export type OccurrenceDecision =
  | "fired"
  | "skipped"
  | "missed"
  | "coalesced"
  | "excluded"
  | "shifted";

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
  /** The latest instant a manual or webhook run was recorded at (each takes its own). */
  lastManualAt: number | null;
  runCount: number;
  failedRuns: number;
  /** Runs started and not yet ended (several only with overlap_policy allow). */
  activeRuns: ActiveRun[];
  /** Runs claimed and waiting to start, in order (the queue policy, catch-up all, backfill). */
  waiting: WaitingRun[];
  /** Future occurrences skipped or moved by tasks.occurrences.skip / move. */
  excluded: ExcludedOccurrence[];
  /** Instants occurrences were moved to: extra occurrences of the schedule. */
  extras: number[];
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
    /** Who executes it: a process's liveness key, or null for an outside worker. */
    owner: number | null;
    deadlineAt: number;
    /** The run was claimed earlier by RunsQueued (its runs row exists). */
    queued: boolean;
    /** The queue executor's capability: workers claim the run with it. */
    capability: string | null;
  };
  RunsQueued: { runs: WaitingRun[]; nextRunAt: number | null };
  RunSucceeded: { runId: string; scheduledFor: number; result: JsonValue };
  RunFailed: { runId: string; scheduledFor: number; error: string; retryAt: number | null };
  RunTimedOut: { runId: string; scheduledFor: number; error: string; retryAt: number | null };
  RunCancelled: { runId: string; scheduledFor: number; reason: string };
  RunSkipped: {
    runId: string;
    scheduledFor: number;
    trigger: RunTrigger;
    /** `overlap` (a run was in flight) or `coalesced` (the queue already held one). */
    reason: "overlap" | "coalesced";
    nextRunAt: number | null;
  };
  /** Occurrences that did not run: one, or a range from `scheduledFor` to `until`. */
  OccurrenceDecided: {
    scheduledFor: number;
    decision: OccurrenceDecision;
    detail: string | null;
    until: number | null;
    /** How many occurrences the range holds, when it was counted. */
    count: number | null;
    /**
     * Set when a user's skip or move takes the occurrence: it is claimed (a skipped runs row)
     * like a run, so no backfill or second process can run it later.
     */
    runId: string | null;
  };
  OccurrenceExcluded: { scheduledFor: number; nextRunAt: number | null };
  OccurrenceMoved: { scheduledFor: number; to: number; nextRunAt: number | null };
  ScheduleCompleted: { reason: CompletionReason };
  /** A tree's root started a run: this child is pending again. */
  TaskReset: { rootRunId: string };
  /** How this child ended in a run of its tree (children have no runs of their own). */
  TreeStepRecorded: {
    rootRunId: string;
    status: "completed" | "failed" | "cancelled";
    result: JsonValue;
    error: string | null;
  };
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
  "RunsQueued",
  "RunSucceeded",
  "RunFailed",
  "RunTimedOut",
  "RunCancelled",
  "RunSkipped",
  "OccurrenceDecided",
  "OccurrenceExcluded",
  "OccurrenceMoved",
  "ScheduleCompleted",
  "TaskReset",
  "TreeStepRecorded",
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
  }
  | { type: "FireOccurrence"; scheduledFor: number; now: number; env: RunEnvironment }
  | { type: "CatchUp"; now: number; env: RunEnvironment }
  | { type: "TriggerRun"; trigger: "manual" | "webhook"; now: number; env: RunEnvironment }
  | {
    type: "FinishRun";
    runId: string;
    /** The attempt reported on: a late report of an earlier attempt changes nothing. */
    attempt: number | null;
    outcome: RunResult;
    now: number;
    env: RunEnvironment;
  }
  | { type: "RetryRun"; runId: string; now: number; env: RunEnvironment }
  | {
    type: "AbandonRun";
    runId: string;
    attempt: number;
    reason: string;
    /** Treat it as a failed attempt (the retry policy applies) instead of cancelling it. */
    retry: boolean;
    now: number;
    env: RunEnvironment;
  }
  | { type: "StartWaiting"; now: number; env: RunEnvironment }
  | { type: "PassOccurrence"; scheduledFor: number; reason: string; now: number }
  | { type: "ExcludeOccurrence"; scheduledFor: number; now: number }
  | { type: "MoveOccurrence"; scheduledFor: number; to: number; now: number }
  | { type: "Backfill"; occurrences: number[]; now: number; env: RunEnvironment }
  | { type: "ResetForTree"; rootRunId: string; now: number }
  | {
    type: "RecordTreeStep";
    rootRunId: string;
    status: "completed" | "failed" | "cancelled";
    result: JsonValue;
    error: string | null;
    now: number;
  };

/** What a command that may start runs needs from the process deciding it. */
export interface RunEnvironment {
  /** The deciding process's liveness key: it executes the runs it starts. */
  owner: number;
  /** A fresh run id. */
  newRunId: () => string;
  /** Echo runs may complete within the decision (the task has no children to run). */
  inlineEcho: boolean;
  /** False while the process shuts down: waiting runs stay waiting. */
  startWaiting?: boolean;
}

/** How an attempt ended, as an executor reports it. */
export type RunResult =
  | { ok: true; result: JsonValue }
  | { ok: false; error: string; timedOut: boolean };

/** The most exclusions and moves a task keeps at once. */
export const MAX_EXCEPTIONS = 1000;
/** The most runs a backfill or a catch-up with policy `all` claims at once. */
export const MAX_WAITING = 1000;
/** The most missed occurrences a catch-up enumerates; older ones are reported as one range. */
const MAX_CATCHUP_SCAN = 100_000;

/** The events a command produces, or why it is refused. `state` is null for a task not yet created. */
export function decide(state: TaskState | null, command: TaskCommand): TaskEvent[] | DomainError {
  if (command.type === "CreateTask") return decideCreate(state, command);
  if (state === null || state.deletedAt !== null) {
    return new DomainError("not_found", "No such task", "task_id");
  }
  switch (command.type) {
    case "UpdateTask":
      return decideUpdate(state, command);
    case "DeleteTask": {
      // Runs in flight or waiting end with the task, so no worker or sweep picks them up later.
      const decision = new Decision(state, command.now);
      for (const run of [...state.activeRuns, ...state.waiting]) {
        decision.emit("RunCancelled", {
          runId: run.runId,
          scheduledFor: run.scheduledFor,
          reason: "the task was deleted",
        });
      }
      decision.emit("TaskDeleted", {});
      return decision.events;
    }
    case "InitSchedule":
      return decideInit(state, command);
    case "CompleteOccurrence":
      return decideComplete(state, command);
    case "FireOccurrence":
      return decideFire(state, command);
    case "CatchUp":
      return decideCatchUp(state, command);
    case "TriggerRun":
      return decideTrigger(state, command);
    case "FinishRun":
      return decideFinish(state, command);
    case "RetryRun":
      return decideRetry(state, command);
    case "AbandonRun":
      return decideAbandon(state, command);
    case "StartWaiting": {
      const decision = new Decision(state, command.now);
      startWaiting(decision, command.env);
      return decision.events;
    }
    case "PassOccurrence":
      return decidePass(state, command);
    case "ExcludeOccurrence":
    case "MoveOccurrence":
      return decideException(state, command);
    case "Backfill":
      return decideBackfill(state, command);
    case "ResetForTree":
      return [{ type: "TaskReset", at: command.now, data: { rootRunId: command.rootRunId } }];
    case "RecordTreeStep": {
      const { rootRunId, status, result, error, now } = command;
      return [{ type: "TreeStepRecorded", at: now, data: { rootRunId, status, result, error } }];
    }
  }
}

/** The state after one more event. */
export function evolve(state: TaskState | null, event: TaskEvent): TaskState {
  if (event.type === "TaskCreated") return created(event.at, event.data);
  if (state === null) throw new Error(`${event.type} before TaskCreated`);
  const next = applied(
    { ...state, version: state.version + 1, updatedAt: event.at },
    event,
  );
  // Exceptions before the next run can no longer apply: drop them so they never pile up.
  if (
    next.nextRunAt !== null && (next.excluded.length > 0 || next.extras.length > 0) &&
    (next.excluded.some((e) => e.at < next.nextRunAt!) ||
      next.extras.some((at) => at < next.nextRunAt!))
  ) {
    const nextRunAt = next.nextRunAt;
    return {
      ...next,
      excluded: next.excluded.filter((e) => e.at >= nextRunAt),
      extras: next.extras.filter((at) => at >= nextRunAt),
    };
  }
  return next;
}

function applied(next: TaskState, event: Exclude<TaskEvent, { type: "TaskCreated" }>): TaskState {
  switch (event.type) {
    case "TaskUpdated":
      return { ...next, ...event.data.changes };
    case "ScheduleChanged":
      return {
        ...next,
        schedule: event.data.schedule,
        anchor: event.data.anchor,
        nextRunAt: event.data.nextRunAt,
        excluded: [],
        extras: [],
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
    case "RunStarted": {
      const { runId, scheduledFor, trigger, attempt, owner, deadlineAt, queued } = event.data;
      const run: ActiveRun = {
        runId,
        scheduledFor,
        trigger,
        attempt,
        startedAt: event.at,
        owner,
        deadlineAt,
        retryAt: null,
      };
      const retried = next.activeRuns.some((active) => active.runId === runId);
      return {
        ...occurred(next, scheduledFor, trigger),
        status: "in_progress",
        nextRunAt: event.data.nextRunAt,
        lastRunAt: event.at,
        runCount: next.runCount + (attempt === 1 && !queued ? 1 : 0),
        activeRuns: retried
          ? next.activeRuns.map((active) => active.runId === runId ? run : active)
          : [...next.activeRuns, run],
        waiting: queued ? next.waiting.filter((w) => w.runId !== runId) : next.waiting,
      };
    }
    case "RunsQueued": {
      let queued = next;
      for (const run of event.data.runs) queued = occurred(queued, run.scheduledFor, run.trigger);
      return {
        ...queued,
        nextRunAt: event.data.nextRunAt,
        runCount: next.runCount + event.data.runs.length,
        waiting: [...next.waiting, ...event.data.runs],
      };
    }
    case "RunSucceeded":
      return {
        ...ended(next, event.data.runId, "completed"),
        result: event.data.result,
        error: null,
      };
    case "RunFailed":
    case "RunTimedOut": {
      const { runId, retryAt, error } = event.data;
      if (retryAt !== null) {
        return {
          ...next,
          error,
          activeRuns: next.activeRuns.map((run) => run.runId === runId ? { ...run, retryAt } : run),
        };
      }
      return { ...ended(next, runId, "failed"), error, failedRuns: next.failedRuns + 1 };
    }
    case "RunCancelled":
      return {
        ...ended(next, event.data.runId, "cancelled"),
        waiting: next.waiting.filter((run) => run.runId !== event.data.runId),
      };
    case "RunSkipped":
      return {
        ...occurred(next, event.data.scheduledFor, event.data.trigger),
        nextRunAt: event.data.nextRunAt,
      };
    case "OccurrenceDecided": {
      const passed: TaskState = {
        ...next,
        excluded: next.excluded.filter((e) => e.at !== event.data.scheduledFor),
      };
      // A DST shift is decided ahead of its occurrence, which is still to run; every other
      // decision is about occurrences that are over, so nothing may be due at or before them.
      if (event.data.decision === "shifted" && event.data.runId === null) return passed;
      return {
        ...passed,
        lastScheduledFor: Math.max(
          passed.lastScheduledFor ?? -Infinity,
          event.data.until ?? event.data.scheduledFor,
        ),
      };
    }
    case "OccurrenceExcluded":
      return {
        ...next,
        excluded: [...next.excluded, { at: event.data.scheduledFor, movedTo: null }],
        nextRunAt: event.data.nextRunAt,
      };
    case "OccurrenceMoved":
      return {
        ...next,
        excluded: [...next.excluded, { at: event.data.scheduledFor, movedTo: event.data.to }],
        extras: [...next.extras, event.data.to].sort((a, b) => a - b),
        nextRunAt: event.data.nextRunAt,
      };
    case "ScheduleCompleted":
      return {
        ...next,
        schedule: next.schedule === null ? null : { ...next.schedule, enabled: false },
        nextRunAt: null,
      };
    case "TaskReset":
      return { ...next, status: "pending", result: null, error: null };
    case "TreeStepRecorded":
      return {
        ...next,
        status: event.data.status,
        result: event.data.result,
        error: event.data.error,
        lastRunAt: event.at,
      };
    case "TaskDeleted":
      return {
        ...next,
        status: next.status === "in_progress" ? "cancelled" : next.status,
        nextRunAt: null,
        activeRuns: [],
        waiting: [],
        deletedAt: event.at,
      };
    default:
      // Not a domain refusal: a log holding a type this code does not know is corrupt or newer.
      throw new Error(`Unknown event type ${(event as { type: unknown }).type}`);
  }
}

/** A scheduled occurrence ran, was claimed or was skipped: nothing is ever due at or before it. */
function occurred(state: TaskState, scheduledFor: number, trigger: RunTrigger): TaskState {
  const extras = state.extras.includes(scheduledFor)
    ? state.extras.filter((at) => at !== scheduledFor)
    : state.extras;
  // Manual runs are not occurrences of the schedule: they leave its position alone.
  if (trigger !== "schedule" && trigger !== "catchup") {
    return {
      ...state,
      extras,
      lastManualAt: Math.max(state.lastManualAt ?? -Infinity, scheduledFor),
    };
  }
  return {
    ...state,
    extras,
    lastScheduledFor: Math.max(state.lastScheduledFor ?? -Infinity, scheduledFor),
  };
}

/** A run ended: the task's status is its outcome once no other run is in flight. */
function ended(state: TaskState, runId: string, status: TaskStatus): TaskState {
  const activeRuns = state.activeRuns.filter((run) => run.runId !== runId);
  return { ...state, activeRuns, status: activeRuns.length > 0 ? "in_progress" : status };
}

/** How many runs rows an event claims (the unique key's `(task_id, scheduled_for)`). */
export function runsClaimed(event: TaskEvent): number {
  switch (event.type) {
    case "RunStarted":
      return event.data.attempt === 1 && !event.data.queued ? 1 : 0;
    case "RunsQueued":
      return event.data.runs.length;
    case "RunSkipped":
      return 1;
    case "OccurrenceDecided":
      return event.data.runId === null ? 0 : 1;
    default:
      return 0;
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
    lastManualAt: null,
    runCount: 0,
    failedRuns: 0,
    activeRuns: [],
    waiting: [],
    excluded: [],
    extras: [],
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
    return new DomainError(
      "conflict",
      state.deletedAt === null
        ? `A task with id "${command.id}" already exists`
        : `Task "${command.id}" was deleted; its id stays in the log for audit and cannot be used again`,
      "id",
    );
  }
  const { schedule, now } = command;
  const anchor = schedule === null ? null : now;
  let nextRunAt: number | null = null;
  if (schedule !== null) {
    const valid = compileSchedule(schedule, anchor);
    if (isDomainError(valid)) return valid;
  }
  const data = { id: command.id, settings: command.settings, schedule, anchor, nextRunAt };
  const decisions: TaskEventData["OccurrenceDecided"][] = [];
  if (schedule !== null && schedule.enabled) {
    const first = firstRun(created(now, data), now);
    if (isDomainError(first)) return first;
    nextRunAt = first.nextRunAt;
    decisions.push(...first.decisions);
  }
  return [
    { type: "TaskCreated", at: now, data: { ...data, nextRunAt } },
    ...decisions.map((decided): TaskEvent => ({
      type: "OccurrenceDecided",
      at: now,
      data: decided,
    })),
  ];
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
  if (
    current?.enabled && state.nextRunAt !== null && state.nextRunAt <= now &&
    (specChanged || !merged.enabled)
  ) {
    // The occurrence was due (waiting out its jitter, a slot or a pause) and the new schedule
    // is computed from now: say so instead of dropping it silently.
    events.push({
      type: "OccurrenceDecided",
      at: now,
      data: {
        scheduledFor: state.nextRunAt,
        decision: "missed",
        detail: "the schedule changed while the occurrence was due",
        until: null,
        count: 1,
        runId: null,
      },
    });
  }
  let plan: Plan | null = null;
  if (specChanged) {
    // The anchor is the enable moment (SPEC §1): a new bound or policy keeps the grid.
    const anchor = current !== null && current.enabled && merged.enabled &&
        current.type === merged.type && current.expression === merged.expression &&
        current.startAt === merged.startAt && current.timezone === merged.timezone
      ? state.anchor
      : now;
    const valid = compileSchedule(merged, anchor);
    if (isDomainError(valid)) return valid;
    let nextRunAt: number | null = null;
    if (merged.enabled) {
      const first = firstRun(
        { ...state, schedule: merged, anchor, excluded: [], extras: [] },
        from,
      );
      if (isDomainError(first)) return first;
      plan = first;
      nextRunAt = first.nextRunAt;
    }
    events.push({
      type: "ScheduleChanged",
      at: now,
      data: { schedule: merged, anchor, nextRunAt },
    });
  } else if (merged.enabled && !current.enabled) {
    const first = firstRun({ ...state, schedule: merged, anchor: now }, from);
    if (isDomainError(first)) return first;
    plan = first;
    events.push({
      type: "ScheduleEnabled",
      at: now,
      data: { anchor: now, nextRunAt: first.nextRunAt },
    });
  } else if (!merged.enabled && current.enabled) {
    events.push({ type: "ScheduleDisabled", at: now, data: { reason: "user", error: null } });
  }
  for (const decided of plan?.decisions ?? []) {
    events.push({ type: "OccurrenceDecided", at: now, data: decided });
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
  const first = firstRun(state, notBefore(state, command.from));
  if (isDomainError(first)) return first;
  const decision = new Decision(state, command.now);
  decision.decisions(first);
  decision.emit("NextRunComputed", { from: command.from, nextRunAt: first.nextRunAt });
  return decision.events;
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
  // Without a new calculation the next run stays, unless it is the occurrence just recorded.
  let nextRunAt = state.nextRunAt !== null && state.nextRunAt > scheduledFor
    ? state.nextRunAt
    : null;
  let plan: Plan | null = null;
  if (command.calculateNextRun && schedule !== null && schedule.enabled) {
    plan = planNext(state, notBefore(state, scheduledFor), state.runCount + 1);
    // A late report for an old occurrence never moves the schedule backwards.
    nextRunAt = plan.nextRunAt === null ? null : Math.max(plan.nextRunAt, state.nextRunAt ?? 0);
  }
  const decision = new Decision(state, now);
  if (plan !== null) decision.decisions(plan);
  const runId = command.runId;
  decision.emit("RunStarted", {
    runId,
    scheduledFor,
    trigger,
    attempt: 1,
    latenessMs: Math.max(0, now - scheduledFor),
    nextRunAt,
    owner: null,
    deadlineAt: now,
    queued: false,
    capability: null,
  });
  if (command.success) {
    decision.emit("RunSucceeded", { runId, scheduledFor, result: command.result });
  } else {
    decision.emit("RunFailed", {
      runId,
      scheduledFor,
      error: command.error ?? "The run failed",
      retryAt: null,
    });
  }
  if (plan !== null) decision.conclude(plan);
  return decision.events;
}

/** The instant next runs are computed after: `from`, but never at or before a recorded run. */
function notBefore(state: TaskState, from: number): number {
  return Math.max(from, state.lastScheduledFor ?? -Infinity);
}

/** Compiled schedules by their fields and anchor: firing one occurrence must not re-parse. */
const compiled = new Map<string, Schedule | DomainError>();
const MAX_COMPILED = 10_000;

/** Parses stored schedule fields with the given anchor (memoized: the result depends on nothing else). */
export function compileSchedule(
  fields: ScheduleFields,
  anchor: number | null,
): Schedule | DomainError {
  const key =
    `${anchor}\u0000${fields.type}\u0000${fields.timezone}\u0000${fields.startAt}\u0000${fields.endAt}\u0000${fields.maxRuns}\u0000${
      JSON.stringify(fields.dstPolicy)
    }\u0000${fields.expression}`;
  const known = compiled.get(key);
  if (known !== undefined) return known;
  const schedule = parseSchedule({
    type: fields.type,
    expression: fields.expression,
    timezone: fields.timezone,
    startAt: fields.startAt,
    endAt: fields.endAt,
    maxRuns: fields.maxRuns,
    dstPolicy: fields.dstPolicy,
    anchor,
  });
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(key, schedule);
  return schedule;
}

/** One slot of a task's timeline: a nominal occurrence (maybe excluded or moved) or an extra. */
interface Slot {
  at: number;
  exclusion: ExcludedOccurrence | null;
  dst: DstEdge;
  /** The nominal local wall time (Occurrence.local); null for an extra (moved-to) instant. */
  local: number | null;
}

/** The first nominal occurrence after `after` within the schedule's start and end. */
function nominalAfter(schedule: Schedule, after: number): Occurrence | null {
  const from = schedule.startAt === null ? after : Math.max(after, schedule.startAt - 1);
  const occurrence = schedule.next(from);
  if (occurrence === null || occurrence.at > (schedule.endAt ?? MAX_INSTANT)) return null;
  return occurrence;
}

/** The task's occurrences after `after`: the schedule's, with exclusions marked, plus extras. */
function* timeline(state: TaskState, schedule: Schedule, after: number): Generator<Slot> {
  const extras = state.extras.filter((at) => at > after);
  let nominal = nominalAfter(schedule, after);
  let i = 0;
  for (;;) {
    const extra = extras[i];
    if (nominal === null && extra === undefined) return;
    if (extra !== undefined && (nominal === null || extra < nominal.at)) {
      i++;
      yield { at: extra, exclusion: null, dst: "none", local: null };
      continue;
    }
    const current: Occurrence = nominal!;
    if (extra === current.at) i++;
    const exclusion = state.excluded.find((e) => e.at === current.at) ?? null;
    yield { at: current.at, exclusion, dst: current.dst, local: current.local };
    nominal = nominalAfter(schedule, current.at);
  }
}

/** Where the schedule goes next, and what it decided about the occurrences it passed. */
interface Plan {
  nextRunAt: number | null;
  decisions: TaskEventData["OccurrenceDecided"][];
  completion: CompletionReason | null;
  /** Why computing the next run failed (the schedule is then disabled). */
  failure: string | null;
}

/** The next run after `after` for a task that has had `runsSoFar` runs. */
function planNext(state: TaskState, after: number, runsSoFar: number): Plan {
  const plan: Plan = { nextRunAt: null, decisions: [], completion: null, failure: null };
  const fields = state.schedule;
  if (fields === null || !fields.enabled) return plan;
  const schedule = compileSchedule(fields, state.anchor);
  if (isDomainError(schedule)) return { ...plan, failure: schedule.message };
  if (schedule.maxRuns !== null && runsSoFar >= schedule.maxRuns) {
    return { ...plan, completion: "max_runs" };
  }
  for (const slot of timeline(state, schedule, after)) {
    if (slot.exclusion !== null) {
      plan.decisions.push(exceptionDecision(state.id, slot.exclusion));
      continue;
    }
    if (slot.dst === "gap_shifted") {
      plan.decisions.push({
        scheduledFor: slot.at,
        decision: "shifted",
        detail: "its local time does not exist (daylight-saving gap); read with the offset before",
        until: null,
        count: 1,
        runId: null,
      });
    }
    plan.nextRunAt = slot.at;
    return plan;
  }
  const unbounded = schedule.next(Math.max(after, (schedule.startAt ?? 0) - 1));
  plan.completion = unbounded !== null ? "end_at" : "no_more_occurrences";
  return plan;
}

function exceptionDecision(
  taskId: string,
  exclusion: ExcludedOccurrence,
): TaskEventData["OccurrenceDecided"] {
  const runId = `${taskId}@${new Date(exclusion.at).toISOString()}`;
  return exclusion.movedTo === null
    ? {
      scheduledFor: exclusion.at,
      decision: "excluded",
      detail: "skipped by tasks.occurrences.skip",
      until: null,
      count: 1,
      runId,
    }
    : {
      scheduledFor: exclusion.at,
      decision: "shifted",
      detail: `moved to ${new Date(exclusion.movedTo).toISOString()}`,
      until: null,
      count: 1,
      runId,
    };
}

/** The first run after `from`; a schedule with none is refused, naming the bound at fault. */
function firstRun(state: TaskState, from: number): Plan | DomainError {
  const plan = planNext(state, from, state.runCount);
  if (plan.failure !== null) return invalidSchedule("schedule_expression", plan.failure);
  if (plan.nextRunAt !== null) return plan;
  switch (plan.completion) {
    case "max_runs":
      return invalidSchedule("max_runs", `The task already ran ${state.runCount} times`);
    case "end_at":
      return invalidSchedule("schedule_end_at", "The schedule ends before its next run");
    default:
      return invalidSchedule(
        "schedule_expression",
        state.schedule?.type === "once"
          ? "The instant is in the past"
          : "The schedule has no future run",
      );
  }
}

/** The events of one decision, folded as they are emitted so later steps see earlier ones. */
class Decision {
  state: TaskState;
  readonly events: TaskEvent[] = [];
  readonly now: number;

  constructor(state: TaskState, now: number) {
    this.state = state;
    this.now = now;
  }

  emit<K extends Exclude<TaskEventType, "TaskCreated">>(type: K, data: TaskEventData[K]): void {
    const event = { type, at: this.now, data } as TaskEvent;
    this.events.push(event);
    this.state = evolve(this.state, event);
  }

  /** Records the plan's decisions before the event that carries its next run. */
  decisions(plan: Plan): void {
    for (const decided of plan.decisions) this.emit("OccurrenceDecided", decided);
  }

  /** Ends a plan: a schedule that failed is disabled, an exhausted one completed. */
  conclude(plan: Plan): void {
    if (plan.failure !== null) {
      this.emit("ScheduleDisabled", { reason: "error", error: plan.failure });
    } else if (
      plan.nextRunAt === null && plan.completion !== null && this.state.schedule?.enabled
    ) {
      this.emit("ScheduleCompleted", { reason: plan.completion });
    }
  }
}

/** A deterministic offset in [0, jitterMs) for one occurrence of one task (FNV-1a). */
export function jitterOffset(taskId: string, scheduledFor: number, jitterMs: number): number {
  if (jitterMs <= 1) return 0;
  const key = `${taskId}@${scheduledFor}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % jitterMs;
}

/** The instant an occurrence is meant to fire: the occurrence plus its jitter. */
export function fireTime(state: TaskState, scheduledFor: number): number {
  return scheduledFor + jitterOffset(state.id, scheduledFor, state.jitterMs);
}

/** What an occurrence about to start becomes under the overlap policy (SPEC §1). */
type OverlapOutcome = "start" | "skip" | "queue" | "coalesce" | "cancel_previous";

function overlapOutcome(state: TaskState): OverlapOutcome {
  if (state.activeRuns.length === 0) return "start";
  switch (state.overlapPolicy) {
    case "allow":
      return "start";
    case "skip":
      return "skip";
    case "queue":
      return state.waiting.length === 0 ? "queue" : "coalesce";
    case "cancel_previous":
      return "cancel_previous";
  }
}

/**
 * Starts (or skips, queues, coalesces) one occurrence under the overlap policy. With `advance`
 * the schedule moves past it: the next run is computed after `advanceFrom`.
 */
function startOccurrence(
  decision: Decision,
  occurrence: { scheduledFor: number; trigger: RunTrigger },
  options: { env: RunEnvironment; advanceFrom: number | null },
): void {
  const state = decision.state;
  const outcome = overlapOutcome(state);
  const runs = outcome === "start" || outcome === "cancel_previous" || outcome === "queue";
  const plan = options.advanceFrom === null
    ? null
    : planNext(state, options.advanceFrom, state.runCount + (runs ? 1 : 0));
  const nextRunAt = plan === null ? state.nextRunAt : plan.nextRunAt;
  if (plan !== null) decision.decisions(plan);
  const runId = options.env.newRunId();
  const { scheduledFor, trigger } = occurrence;
  switch (outcome) {
    case "skip":
    case "coalesce":
      decision.emit("RunSkipped", {
        runId,
        scheduledFor,
        trigger,
        reason: outcome === "skip" ? "overlap" : "coalesced",
        nextRunAt,
      });
      break;
    case "queue":
      decision.emit("RunsQueued", { runs: [{ runId, scheduledFor, trigger }], nextRunAt });
      break;
    case "cancel_previous":
      for (const run of state.activeRuns) {
        decision.emit("RunCancelled", {
          runId: run.runId,
          scheduledFor: run.scheduledFor,
          reason: "the next occurrence started (overlap_policy cancel_previous)",
        });
      }
      startRun(decision, { runId, scheduledFor, trigger, attempt: 1, queued: false, nextRunAt }, {
        env: options.env,
        startsAt: null,
      });
      break;
    case "start":
      startRun(decision, { runId, scheduledFor, trigger, attempt: 1, queued: false, nextRunAt }, {
        env: options.env,
        startsAt: null,
      });
      break;
  }
  if (plan !== null) decision.conclude(plan);
}

/**
 * Records a run's start; an echo run completes in the same decision (its result is its inputs,
 * nothing outside is touched), and the waiting runs after it start in turn.
 */
function startRun(
  decision: Decision,
  run: {
    runId: string;
    scheduledFor: number;
    trigger: RunTrigger;
    attempt: number;
    queued: boolean;
    nextRunAt: number | null;
  },
  options: { env: RunEnvironment; startsAt: number | null },
): void {
  const state = decision.state;
  const now = decision.now;
  const executor = state.executor;
  const intended = options.startsAt ??
    (run.trigger === "schedule" || run.trigger === "catchup"
      ? fireTime(state, run.scheduledFor)
      : now);
  decision.emit("RunStarted", {
    ...run,
    latenessMs: Math.max(0, now - intended),
    owner: executor.type === "queue" ? null : options.env.owner,
    deadlineAt: now + state.timeoutS * 1000,
    capability: executor.type === "queue" ? executor.capability : null,
  });
  if (executor.type === "echo" && options.env.inlineEcho) {
    decision.emit("RunSucceeded", {
      runId: run.runId,
      scheduledFor: run.scheduledFor,
      result: state.inputs,
    });
    startWaiting(decision, options.env);
  }
}

/** Starts the first waiting run when nothing else is in flight. */
function startWaiting(decision: Decision, env: RunEnvironment): void {
  const state = decision.state;
  if (env.startWaiting === false || state.activeRuns.length > 0) return;
  const [first] = state.waiting;
  if (first === undefined) return;
  startRun(decision, { ...first, attempt: 1, queued: true, nextRunAt: state.nextRunAt }, {
    env,
    startsAt: null,
  });
}

function decideFire(
  state: TaskState,
  command: Extract<TaskCommand, { type: "FireOccurrence" }>,
): TaskEvent[] {
  // Another decision (another process, a catch-up) already moved the schedule: nothing to do.
  if (!state.schedule?.enabled || state.nextRunAt !== command.scheduledFor) return [];
  const decision = new Decision(state, command.now);
  const maxRuns = state.schedule.maxRuns;
  if (maxRuns !== null && state.runCount >= maxRuns) {
    // Manual runs count too (run_count): the schedule has had all the runs it may.
    decision.emit("ScheduleCompleted", { reason: "max_runs" });
    return decision.events;
  }
  startOccurrence(decision, { scheduledFor: command.scheduledFor, trigger: "schedule" }, {
    env: command.env,
    advanceFrom: command.scheduledFor,
  });
  return decision.events;
}

/** Moves past an occurrence that already has a run (its key was taken): coalesced into it. */
function decidePass(
  state: TaskState,
  command: Extract<TaskCommand, { type: "PassOccurrence" }>,
): TaskEvent[] {
  if (!state.schedule?.enabled || state.nextRunAt !== command.scheduledFor) return [];
  const decision = new Decision(state, command.now);
  decision.emit("OccurrenceDecided", {
    scheduledFor: command.scheduledFor,
    decision: "coalesced",
    detail: command.reason,
    until: null,
    count: 1,
    runId: null,
  });
  const plan = planNext(decision.state, command.scheduledFor, state.runCount);
  decision.decisions(plan);
  decision.emit("NextRunComputed", { from: command.scheduledFor, nextRunAt: plan.nextRunAt });
  decision.conclude(plan);
  return decision.events;
}

function decideCatchUp(
  state: TaskState,
  command: Extract<TaskCommand, { type: "CatchUp" }>,
): TaskEvent[] {
  const { now, env } = command;
  const fields = state.schedule;
  const first = state.nextRunAt;
  if (!fields?.enabled || first === null || first > now) return [];
  const schedule = compileSchedule(fields, state.anchor);
  if (isDomainError(schedule)) return [];
  const decision = new Decision(state, now);
  const windowStart = now - state.catchupWindowS * 1000;
  let after = first - 1;
  if (first < windowStart) {
    decision.emit("OccurrenceDecided", {
      scheduledFor: first,
      decision: "missed",
      detail: "before the catch-up window (catchup_window_s)",
      until: windowStart - 1,
      count: null,
      runId: null,
    });
    after = windowStart - 1;
  }
  const due: number[] = [];
  for (const slot of timeline(state, schedule, after)) {
    if (slot.at > now) break;
    if (slot.exclusion !== null) {
      decision.emit("OccurrenceDecided", exceptionDecision(state.id, slot.exclusion));
    } else due.push(slot.at);
    if (due.length >= MAX_CATCHUP_SCAN) break;
  }
  const remaining = schedule.maxRuns === null ? Infinity : schedule.maxRuns - state.runCount;
  let fire: number[];
  switch (state.catchupPolicy) {
    case "none":
      fire = [];
      break;
    case "latest":
      fire = remaining > 0 ? due.slice(-1) : [];
      break;
    case "all":
      fire = due.slice(-MAX_WAITING).slice(0, Math.max(0, remaining));
      break;
  }
  const passed = due.filter((at) => !fire.includes(at));
  const missedUntil = due.length >= MAX_CATCHUP_SCAN ? due[due.length - 1] : now;
  if (passed.length > 0) {
    decision.emit("OccurrenceDecided", {
      scheduledFor: passed[0],
      decision: state.catchupPolicy === "latest" ? "coalesced" : "missed",
      detail: state.catchupPolicy === "latest"
        ? "coalesced into the latest missed occurrence (catchup_policy latest)"
        : state.catchupPolicy === "none"
        ? "missed while the scheduler was not running (catchup_policy none)"
        : `more than ${MAX_WAITING} missed occurrences or max_runs reached`,
      until: passed[passed.length - 1],
      count: passed.length,
      runId: null,
    });
  }
  const from = Math.max(missedUntil, decision.state.lastScheduledFor ?? -Infinity);
  if (fire.length === 1 && state.catchupPolicy === "latest") {
    startOccurrence(decision, { scheduledFor: fire[0], trigger: "catchup" }, {
      env,
      advanceFrom: from,
    });
    return decision.events;
  }
  const plan = planNext(decision.state, from, state.runCount + fire.length);
  decision.decisions(plan);
  if (fire.length === 0) {
    decision.emit("NextRunComputed", { from, nextRunAt: plan.nextRunAt });
  } else {
    decision.emit("RunsQueued", {
      runs: fire.map((scheduledFor) => ({
        runId: env.newRunId(),
        scheduledFor,
        trigger: "catchup" as const,
      })),
      nextRunAt: plan.nextRunAt,
    });
    startWaiting(decision, env);
  }
  decision.conclude(plan);
  return decision.events;
}

function decideTrigger(
  state: TaskState,
  command: Extract<TaskCommand, { type: "TriggerRun" }>,
): TaskEvent[] {
  const decision = new Decision(state, command.now);
  startOccurrence(decision, {
    scheduledFor: manualInstant(state, command.now),
    trigger: command.trigger,
  }, { env: command.env, advanceFrom: null });
  return decision.events;
}

/**
 * The instant a manual run is recorded at: now, moved on by a millisecond while that key is taken
 * (an earlier manual run, a run in flight or waiting) or is an occurrence of the schedule, whose
 * (task_id, scheduled_for) key the schedule's run will need.
 */
function manualInstant(state: TaskState, now: number): number {
  // Two manual runs in one millisecond would share a key: each takes the next free one.
  let at = Math.max(now, (state.lastManualAt ?? -Infinity) + 1);
  const taken = new Set([...state.activeRuns, ...state.waiting].map((run) => run.scheduledFor));
  const fields = state.schedule;
  const schedule = fields === null ? null : compileSchedule(fields, state.anchor);
  const nominal = (instant: number) =>
    schedule !== null && !isDomainError(schedule) &&
    nominalAfter(schedule, instant - 1)?.at === instant;
  while (at === state.nextRunAt || taken.has(at) || nominal(at)) at++;
  return at;
}

/** The wait before attempt `attempt + 1`: exponential, capped (SPEC §1 `retry`). */
export function backoffMs(retry: RetryPolicy, attempt: number): number {
  return Math.min(retry.backoffMs * retry.backoffFactor ** (attempt - 1), retry.maxBackoffMs);
}

function decideFinish(
  state: TaskState,
  command: Extract<TaskCommand, { type: "FinishRun" }>,
): TaskEvent[] {
  const run = state.activeRuns.find((active) => active.runId === command.runId);
  // A run cancelled, timed out or finished by someone else meanwhile: its late report changes nothing.
  if (run === undefined || run.retryAt !== null) return [];
  if (command.attempt !== null && command.attempt !== run.attempt) return [];
  const decision = new Decision(state, command.now);
  const { outcome } = command;
  if (outcome.ok) {
    decision.emit("RunSucceeded", {
      runId: run.runId,
      scheduledFor: run.scheduledFor,
      result: outcome.result,
    });
  } else {
    failAttempt(decision, run, { error: outcome.error, timedOut: outcome.timedOut });
  }
  startWaiting(decision, command.env);
  return decision.events;
}

function failAttempt(
  decision: Decision,
  run: ActiveRun,
  failure: { error: string; timedOut: boolean },
): void {
  const retry = decision.state.retry;
  const retryAt = run.attempt < retry.maxAttempts
    ? decision.now + backoffMs(retry, run.attempt)
    : null;
  decision.emit(failure.timedOut ? "RunTimedOut" : "RunFailed", {
    runId: run.runId,
    scheduledFor: run.scheduledFor,
    error: failure.error,
    retryAt,
  });
}

function decideRetry(
  state: TaskState,
  command: Extract<TaskCommand, { type: "RetryRun" }>,
): TaskEvent[] {
  const run = state.activeRuns.find((active) => active.runId === command.runId);
  if (run === undefined || run.retryAt === null) return [];
  const decision = new Decision(state, command.now);
  startRun(decision, {
    runId: run.runId,
    scheduledFor: run.scheduledFor,
    trigger: run.trigger,
    attempt: run.attempt + 1,
    queued: false,
    nextRunAt: state.nextRunAt,
  }, { env: command.env, startsAt: run.retryAt });
  return decision.events;
}

function decideAbandon(
  state: TaskState,
  command: Extract<TaskCommand, { type: "AbandonRun" }>,
): TaskEvent[] {
  const run = state.activeRuns.find((active) => active.runId === command.runId);
  // Another process recorded it first, or a later attempt is under way: nothing to abandon.
  if (run === undefined || run.attempt !== command.attempt) return [];
  if (command.retry && run.retryAt !== null) return [];
  const decision = new Decision(state, command.now);
  if (command.retry) {
    failAttempt(decision, run, { error: command.reason, timedOut: false });
  } else {
    decision.emit("RunCancelled", {
      runId: run.runId,
      scheduledFor: run.scheduledFor,
      reason: command.reason,
    });
  }
  startWaiting(decision, command.env);
  return decision.events;
}

function decideException(
  state: TaskState,
  command: Extract<TaskCommand, { type: "ExcludeOccurrence" | "MoveOccurrence" }>,
): TaskEvent[] | DomainError {
  const fields = state.schedule;
  if (fields === null) {
    return new DomainError("invalid_params", "The task has no schedule", "task_id");
  }
  const schedule = compileSchedule(fields, state.anchor);
  if (isDomainError(schedule)) return schedule;
  const { scheduledFor, now } = command;
  if (state.excluded.length >= MAX_EXCEPTIONS) {
    return new DomainError(
      "invalid_params",
      `The task already has ${MAX_EXCEPTIONS} skipped or moved occurrences`,
      "scheduled_for",
    );
  }
  const pending = Math.max(now, state.lastScheduledFor ?? -Infinity);
  if (scheduledFor <= pending || (state.nextRunAt !== null && scheduledFor < state.nextRunAt)) {
    return new DomainError(
      "invalid_params",
      "The occurrence is not in the future (it already ran, was decided, or is past)",
      "scheduled_for",
    );
  }
  const [slot] = timeline(state, schedule, scheduledFor - 1);
  if (slot === undefined || slot.at !== scheduledFor || state.extras.includes(scheduledFor)) {
    return new DomainError(
      "invalid_params",
      "The instant is not an occurrence of the task's schedule",
      "scheduled_for",
    );
  }
  if (slot.exclusion !== null) {
    return new DomainError(
      "conflict",
      "The occurrence is already skipped or moved",
      "scheduled_for",
    );
  }
  let to: number | null = null;
  if (command.type === "MoveOccurrence") {
    to = command.to;
    if (to <= now || to > MAX_INSTANT) {
      return new DomainError("invalid_params", "The new instant must be in the future", "to");
    }
    if (
      (schedule.startAt !== null && to < schedule.startAt) ||
      (schedule.endAt !== null && to > schedule.endAt)
    ) {
      return new DomainError(
        "invalid_params",
        "The new instant is outside schedule_start_at … schedule_end_at",
        "to",
      );
    }
    const [there] = timeline(state, schedule, to - 1);
    if (there !== undefined && there.at === to) {
      return new DomainError(
        "conflict",
        "Another occurrence is already at the new instant",
        "to",
      );
    }
  }
  const changed: TaskState = {
    ...state,
    excluded: [...state.excluded, { at: scheduledFor, movedTo: to }],
    extras: to === null ? state.extras : [...state.extras, to].sort((a, b) => a - b),
  };
  const decision = new Decision(state, now);
  let nextRunAt = state.nextRunAt;
  let plan: Plan | null = null;
  if (fields.enabled && state.nextRunAt !== null) {
    const from = Math.min(state.nextRunAt, to ?? Infinity) - 1;
    plan = planNext(changed, Math.max(from, state.lastScheduledFor ?? -Infinity), state.runCount);
    nextRunAt = plan.nextRunAt;
  }
  if (to === null) decision.emit("OccurrenceExcluded", { scheduledFor, nextRunAt });
  else decision.emit("OccurrenceMoved", { scheduledFor, to, nextRunAt });
  if (plan !== null) {
    // The decisions are already final here only when the occurrence was the next one.
    for (const decided of plan.decisions) {
      if (decided.scheduledFor < (nextRunAt ?? Infinity)) {
        decision.emit("OccurrenceDecided", decided);
      }
    }
    decision.conclude(plan);
  }
  return decision.events;
}

function decideBackfill(
  state: TaskState,
  command: Extract<TaskCommand, { type: "Backfill" }>,
): TaskEvent[] | DomainError {
  const { occurrences, now, env } = command;
  if (occurrences.length === 0) return [];
  if (state.waiting.length + occurrences.length > MAX_WAITING) {
    return new DomainError(
      "invalid_params",
      `At most ${MAX_WAITING} runs can wait at once (${state.waiting.length} already do)`,
      "max_runs",
    );
  }
  const decision = new Decision(state, now);
  decision.emit("RunsQueued", {
    runs: occurrences.map((scheduledFor) => ({
      runId: env.newRunId(),
      scheduledFor,
      trigger: "catchup" as const,
    })),
    nextRunAt: state.nextRunAt,
  });
  startWaiting(decision, env);
  return decision.events;
}

/** The task's own future: its next `count` occurrences, exceptions applied (schedules.preview). */
export function upcomingRuns(state: TaskState, count: number): number[] {
  const fields = state.schedule;
  if (fields === null || !fields.enabled || state.nextRunAt === null) return [];
  const schedule = compileSchedule(fields, state.anchor);
  if (isDomainError(schedule)) return [];
  const runs: number[] = [];
  const left = schedule.maxRuns === null ? Infinity : schedule.maxRuns - state.runCount;
  for (const slot of timeline(state, schedule, state.nextRunAt - 1)) {
    if (runs.length >= Math.min(count, left)) break;
    if (slot.exclusion === null) runs.push(slot.at);
  }
  return runs;
}

/** One slot of a task's future as a calendar draws it. */
export interface CalendarSlot {
  at: number;
  /** The nominal local wall time; null for an instant an occurrence was moved to. */
  local: number | null;
  dst: DstEdge;
  /** Taken out of the schedule (skipped, or moved away): no run. */
  excluded: boolean;
}

/**
 * The task's future from its next run, as upcomingRuns walks it (exceptions applied, max_runs
 * counted) but keeping every slot: runs, excluded occurrences and moved-to instants, each with its
 * local time. Stops after `limit` slots, past `until`, or where the schedule ends.
 */
export function calendarSlots(
  state: TaskState,
  options: { until: number; limit: number },
): CalendarSlot[] {
  const fields = state.schedule;
  if (fields === null || !fields.enabled || state.nextRunAt === null) return [];
  const schedule = compileSchedule(fields, state.anchor);
  if (isDomainError(schedule)) return [];
  const left = schedule.maxRuns === null ? Infinity : schedule.maxRuns - state.runCount;
  const slots: CalendarSlot[] = [];
  let runs = 0;
  if (runs >= left) return slots;
  for (const slot of timeline(state, schedule, state.nextRunAt - 1)) {
    if (slot.at > options.until || slots.length >= options.limit) break;
    slots.push({
      at: slot.at,
      local: slot.local,
      dst: slot.dst,
      excluded: slot.exclusion !== null,
    });
    if (slot.exclusion === null && ++runs >= left) break;
  }
  return slots;
}

/** The nominal occurrences in [from, to] (exceptions applied), at most `limit`: tasks.backfill's candidates. */
export function occurrencesBetween(
  state: TaskState,
  range: { from: number; to: number; limit: number },
): number[] | DomainError {
  const fields = state.schedule;
  if (fields === null) {
    return new DomainError("invalid_params", "The task has no schedule", "task_id");
  }
  const schedule = compileSchedule(fields, state.anchor);
  if (isDomainError(schedule)) return schedule;
  const found: number[] = [];
  for (const slot of timeline(state, schedule, range.from - 1)) {
    if (slot.at > range.to || found.length >= range.limit) break;
    if (slot.exclusion === null) found.push(slot.at);
  }
  return found;
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
