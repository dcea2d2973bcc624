/**
 * The event log's interface: what the runtime and the audit tools need from storage. One
 * implementation (sql_event_store.ts) runs the same SQL over two drivers (postgres.ts, pglite.ts).
 */
import type { DomainError } from "../domain/errors.ts";
import type {
  Executor,
  JsonValue,
  RunTrigger,
  TaskEvent,
  TaskState,
  TaskStatus,
} from "../domain/task.ts";
import type { ScheduleType } from "../domain/schedule/mod.ts";

/** Who and what caused an event, kept beside it for auditors. */
export interface EventMetadata {
  /** The user or component that issued the command. */
  actor: string | null;
  /** The request that carried the command (the JSON-RPC id or X-Request-Id). */
  requestId: string | null;
  /** The command or method that produced the event. */
  causation: string | null;
}

/** An event as the log holds it. `event.at` is the recorded time. */
export interface RecordedEvent {
  /** Global position: the log's total order. */
  position: number;
  streamId: string;
  /** The version this event gave its stream (1 for the first). */
  version: number;
  event: TaskEvent;
  metadata: EventMetadata;
}

/** Events to append to one task's stream, with the state they lead to. */
export interface AppendRequest {
  streamId: string;
  /** The stream's version the events were decided on (0 for a new stream). */
  expectedVersion: number;
  events: TaskEvent[];
  metadata: EventMetadata;
  /** The task after these events: written as its snapshot in the same transaction. */
  state: TaskState;
}

/** The positions the events took, or a `conflict` DomainError. */
export type AppendResult = { positions: number[] } | DomainError;

/** The hot fields of a task that start-up loads for every live task. */
export interface TaskSummary {
  id: string;
  version: number;
  nextRunAt: number | null;
  /** The next run plus its jitter: when the timer wheel wakes the task. */
  fireAt: number | null;
  enabled: boolean;
  status: TaskStatus;
  executorType: Executor["type"];
  parentId: string | null;
}

/** One row of a task's run history (tasks.runs). */
export interface RunRecord {
  runId: string;
  taskId: string;
  scheduledFor: number;
  trigger: RunTrigger;
  attempt: number;
  status: RunStatus;
  startedAt: number | null;
  finishedAt: number | null;
  latenessMs: number | null;
  result: JsonValue;
  error: string | null;
  workerId: string | null;
  leaseExpiresAt: number | null;
}

/** Where a run stands (SPEC §2). */
export type RunStatus =
  | "pending"
  | "running"
  | "succeeded"
  | "failed"
  | "timed_out"
  | "skipped"
  | "cancelled";

/** A queue run a worker leased with runs.claim. */
export interface LeasedRun {
  runId: string;
  taskId: string;
  scheduledFor: number;
  attempt: number;
  leaseExpiresAt: number;
}

/** Filters of tasks.list and tasks.scheduled.list; all optional, combined with AND. */
export interface TaskQuery {
  userId?: string | null;
  status?: TaskStatus | null;
  parentId?: string | null;
  scheduleType?: ScheduleType | null;
  /** Only tasks that have a schedule. */
  scheduledOnly?: boolean;
  /** Only tasks whose schedule is enabled. */
  enabledOnly?: boolean;
  limit: number;
  offset: number;
}

/** How many live tasks share a user, status, schedule type and enabled flag. */
export interface ListTotal {
  userId: string | null;
  status: TaskStatus;
  scheduleType: ScheduleType | null;
  enabled: boolean;
  tasks: number;
}

/** One page of tasks and how many match in all. */
export interface TaskPage {
  tasks: TaskState[];
  total: number;
}

/** Options for reading one stream. */
export interface StreamRange {
  /** The first version to read (default 1). */
  fromVersion?: number;
  /** The last version to read (default: the newest). */
  toVersion?: number;
  /** At most this many events (default 1000). */
  limit?: number;
}

/** The append-only event log with its task snapshots. */
export interface EventStore {
  /** Which driver holds the log. */
  readonly kind: "postgres" | "pglite";
  /** How many events this process has appended since it opened the store. */
  readonly appendedEvents: number;
  /** Resolves when the database answers a trivial query (GET /health). */
  ping(): Promise<void>;
  /**
   * Appends one stream's events; appends that arrive together share one transaction (group
   * commit). Fails with `conflict` when the stream moved past `expectedVersion` or when a run for
   * the same `(task_id, scheduled_for)` already exists.
   */
  append(request: AppendRequest): Promise<AppendResult>;
  /** Appends several streams' events in one transaction; at most one request per stream. */
  appendBatch(requests: AppendRequest[]): Promise<AppendResult[]>;
  /** One task's events in version order. */
  readStream(streamId: string, range?: StreamRange): Promise<RecordedEvent[]>;
  /** Events after a global position, in position order, never skipping a late commit. */
  readAll(after: number, limit: number): Promise<RecordedEvent[]>;
  /** The global position of the newest committed event (0 for an empty log). */
  headPosition(): Promise<number>;
  /** The owner of a live task (`userId` null: nobody's); null when there is no such task. */
  taskOwner(id: string): Promise<{ userId: string | null } | null>;
  /** A task's latest snapshot, deleted ones included; null when it never existed. */
  loadTask(id: string): Promise<TaskState | null>;
  /** The snapshots of the given tasks that exist, deleted ones included, in no order. */
  loadTasks(ids: string[]): Promise<TaskState[]>;
  /** Snapshots ordered by id after `after` (keyset paging), deleted ones included. */
  scanSnapshots(after: string | null, limit: number): Promise<TaskState[]>;
  /** Live tasks' hot fields ordered by id after `after` (keyset paging): start-up's input. */
  scanSummaries(after: string | null, limit: number): Promise<TaskSummary[]>;
  /** A filtered page of live tasks, newest first. */
  queryTasks(query: TaskQuery): Promise<TaskPage>;
  /** Enabled live tasks whose next run is at or before `before`, soonest first. */
  dueTasks(
    options: { before: number; userId?: string | null; limit: number },
  ): Promise<TaskState[]>;
  /** The kept list totals (task_counts), for the audit. */
  listTotals(): Promise<ListTotal[]>;
  /** Counts for the audit: events, distinct streams, snapshots and runs. */
  counts(): Promise<{ events: number; streams: number; snapshots: number; runs: number }>;
  /** A task's runs, latest occurrence first, those before `before` when given. */
  readRuns(taskId: string, options: { before: number | null; limit: number }): Promise<RunRecord[]>;
  /** Which of the given occurrences of a task already have a runs row. */
  claimedOccurrences(taskId: string, instants: number[]): Promise<Set<number>>;
  /** The tasks that have runs not yet ended (pending or running rows). */
  tasksWithOpenRuns(): Promise<string[]>;
  /** Queue runs whose deadline passed while they were still pending or running. */
  overdueQueueRuns(now: number): Promise<{ taskId: string; runId: string }[]>;
  /**
   * Leases the oldest waiting queue run of a capability whose lease is free or expired; with
   * `userId`, only runs of that user's tasks.
   */
  leaseRun(
    options: { capability: string; workerId: string; leaseMs: number; userId?: string },
  ): Promise<LeasedRun | null>;
  /** Extends a lease the worker holds; null when it holds none on that run. */
  renewLease(
    options: { runId: string; workerId: string; leaseMs: number },
  ): Promise<number | null>;
  /** A run's row, or null. */
  readRun(runId: string): Promise<RunRecord | null>;
  /** Sets the owner's calendar feed token (its SHA-256), replacing the one they had. */
  setFeedToken(
    owner: { userId: string | null; admin: boolean },
    sha256: string,
    expiresAt: number,
  ): Promise<void>;
  /** Whose unexpired feed token has this SHA-256, or null. */
  feedTokenOwner(sha256: string): Promise<{ userId: string | null; admin: boolean } | null>;
  /** Deletes the owner's feed token (null: the operator's); false when they had none. */
  deleteFeedToken(userId: string | null): Promise<boolean>;
  /**
   * Takes a liveness key for this process: held on a dedicated connection for as long as the
   * process lives, released by the database the moment the connection drops (kill -9 included).
   */
  registerInstance(): Promise<number>;
  /** The liveness keys of the processes alive on this database. */
  liveInstances(): Promise<Set<number>>;
  /** Closes the connection(s); pending appends finish first. */
  close(): Promise<void>;
}
