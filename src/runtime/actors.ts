/**
 * Task actors: every live task has a small in-memory record (its version, next run, whether its
 * schedule is enabled), loaded at start from the snapshots. A command for a task runs in the
 * task's mailbox, one at a time: the actor reads the task's snapshot, `decide`s, folds the
 * events with `evolve`, and appends them with the version it read. When another process moved
 * the task meanwhile the append reports a conflict and the actor decides again on fresh state,
 * so concurrent commands are serialized, never lost.
 */
import { DomainError, isDomainError } from "../domain/errors.ts";
import {
  decide,
  evolve,
  type Executor,
  fireTime,
  type TaskCommand,
  type TaskEvent,
  type TaskState,
  type TaskStatus,
} from "../domain/task.ts";
import type { EventMetadata, EventStore, TaskSummary } from "../store/event_store.ts";

/** How many times a command is decided again after losing a race to another writer. */
const MAX_ATTEMPTS = 8;
/** Snapshots read per query at start. */
const LOAD_PAGE = 10_000;

/** The executor types, so a million records share five strings instead of a million copies. */
const EXECUTOR_TYPES: readonly Executor["type"][] = [
  "echo",
  "http",
  "queue",
  "command",
  "inprocess",
];

/** The hot fields of one live task; a class so a million of them share one shape. */
class ActorRecord {
  version: number;
  nextRunAt: number | null;
  /** The jitter of the next run (a small integer, so no boxed number per task). */
  jitter: number;
  enabled: boolean;
  status: TaskStatus;
  executorType: Executor["type"];
  parentId: string | null;

  constructor(summary: Omit<TaskSummary, "id">) {
    this.version = 0;
    this.nextRunAt = null;
    this.jitter = 0;
    this.enabled = false;
    this.status = "pending";
    this.executorType = "echo";
    this.parentId = null;
    this.update(summary);
  }

  update(summary: Omit<TaskSummary, "id">): void {
    this.version = summary.version;
    this.nextRunAt = summary.nextRunAt;
    this.jitter = summary.nextRunAt === null || summary.fireAt === null
      ? 0
      : summary.fireAt - summary.nextRunAt;
    this.enabled = summary.enabled;
    this.status = summary.status;
    this.executorType = EXECUTOR_TYPES.find((type) => type === summary.executorType) ?? "echo";
    this.parentId = summary.parentId;
  }
}

/** Hears every change of a live task's hot fields (null: the task is gone). */
export type ActorListener = (id: string, summary: TaskSummary | null) => void;

/** What a command did: the task after it and the events it recorded. */
export interface CommandOutcome {
  state: TaskState;
  events: TaskEvent[];
}

/** Options of the actor system. */
export interface ActorOptions {
  /** The clock (epoch ms); tests pass their own. */
  clock?: () => number;
  /** How many recently active tasks' full states stay in memory (default 50,000). */
  cachedStates?: number;
}

/** Every live task's actor, over one event store. */
export class TaskActors {
  readonly #store: EventStore;
  readonly #clock: () => number;
  readonly #records = new Map<string, ActorRecord>();
  /** How many live children each parent has: a task with children runs as a tree. */
  readonly #children = new Map<string, number>();
  #listener: ActorListener | null = null;
  readonly #mailboxes = new Map<string, Promise<unknown>>();
  /**
   * Full states of the tasks that acted last, so a firing task decides without reading its
   * snapshot back. A stale entry (another process appended) costs one refused append and a
   * re-read: the version check, not the cache, keeps decisions correct.
   */
  readonly #states = new Map<string, TaskState>();
  readonly #maxCached: number;
  /** The log position up to which this process has seen every change. */
  #position = 0;

  constructor(store: EventStore, options: ActorOptions = {}) {
    this.#store = store;
    this.#clock = options.clock ?? Date.now;
    this.#maxCached = options.cachedStates ?? 50_000;
  }

  /**
   * Loads every live task's hot fields from the snapshots, then the log's tail: whatever other
   * processes appended while the snapshots were read. Returns how many live tasks there are.
   */
  async load(): Promise<number> {
    this.#position = await this.#store.headPosition();
    await this.#loadSnapshots();
    await this.catchUp();
    return this.#records.size;
  }

  /**
   * Refreshes the tasks other processes changed since the last look, reading the log after the
   * last position seen; returns how many tasks it refreshed.
   */
  async catchUp(): Promise<number> {
    let refreshed = 0;
    for (;;) {
      const tail = await this.#store.readAll(this.#position, LOAD_PAGE);
      if (tail.length === 0) return refreshed;
      this.#position = tail[tail.length - 1].position;
      const stale = new Set<string>();
      for (const recorded of tail) {
        const record = this.#records.get(recorded.streamId);
        if (record === undefined || record.version < recorded.version) stale.add(recorded.streamId);
      }
      for (const state of await this.#store.loadTasks([...stale])) this.#remember(state);
      refreshed += stale.size;
    }
  }

  async #loadSnapshots(): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const page: TaskSummary[] = await this.#store.scanSummaries(after, LOAD_PAGE);
      for (const summary of page) {
        this.#records.set(summary.id, new ActorRecord(summary));
        this.#countChild(summary.parentId, +1);
      }
      if (page.length < LOAD_PAGE) return;
      after = page[page.length - 1].id;
    }
  }

  /** How many live tasks are in memory. */
  get size(): number {
    return this.#records.size;
  }

  /** A live task's hot fields, as this process last saw them. */
  summary(id: string): TaskSummary | null {
    const record = this.#records.get(id);
    return record === undefined ? null : toSummary(id, record);
  }

  /** Every live task's hot fields. */
  *summaries(): Generator<TaskSummary> {
    for (const [id, record] of this.#records) yield toSummary(id, record);
  }

  /** Enabled live tasks whose fire time (next run + jitter) is at or before `now`. */
  countDue(now: number): number {
    let due = 0;
    for (const record of this.#records.values()) {
      if (record.enabled && record.nextRunAt !== null && record.nextRunAt + record.jitter <= now) {
        due++;
      }
    }
    return due;
  }

  /** True when live tasks name this one as their parent. */
  hasChildren(id: string): boolean {
    return (this.#children.get(id) ?? 0) > 0;
  }

  /** Sets the one listener told of every change (the scheduler's timer wheel). */
  listen(listener: ActorListener | null): void {
    this.#listener = listener;
  }

  #countChild(parentId: string | null, delta: number): void {
    if (parentId === null) return;
    const count = (this.#children.get(parentId) ?? 0) + delta;
    if (count > 0) this.#children.set(parentId, count);
    else this.#children.delete(parentId);
  }

  /**
   * Runs a command in the task's mailbox. `build` receives the decision time and makes the
   * command (so a retried decision gets a fresh `now`); it may refuse with a DomainError.
   */
  execute(
    taskId: string,
    build: (now: number, state: TaskState | null) => TaskCommand | DomainError,
    metadata: EventMetadata,
  ): Promise<CommandOutcome | DomainError> {
    const previous = this.#mailboxes.get(taskId) ?? Promise.resolve();
    const outcome = previous.then(() => this.#run(taskId, build, metadata));
    const settled = outcome.catch(() => {});
    this.#mailboxes.set(taskId, settled);
    // An idle task keeps no mailbox, so a million idle tasks cost no promises.
    settled.then(() => {
      if (this.#mailboxes.get(taskId) === settled) this.#mailboxes.delete(taskId);
    });
    return outcome;
  }

  async #run(
    taskId: string,
    build: (now: number, state: TaskState | null) => TaskCommand | DomainError,
    metadata: EventMetadata,
  ): Promise<CommandOutcome | DomainError> {
    for (let attempt = 1;; attempt++) {
      const cached = attempt === 1 ? this.#cached(taskId) : null;
      const state = cached ?? await this.#store.loadTask(taskId);
      const command = build(this.#clock(), state);
      if (isDomainError(command)) return command;
      const events = decide(state, command);
      if (isDomainError(events)) return events;
      if (events.length === 0) {
        // Nothing to record means no version check: a cached state may be behind another
        // process (a run it started and died with), so only the stored state may say "nothing".
        if (cached !== null) continue;
        if (state === null) return new DomainError("not_found", "No such task", "task_id");
        // The state just read may be newer than this process's record (another process won a
        // race): keep the record, and so the timer wheel, in step with it.
        this.#remember(state);
        return { state, events };
      }
      const next = events.reduce<TaskState | null>(evolve, state)!;
      const result = await this.#store.append({
        streamId: taskId,
        expectedVersion: state?.version ?? 0,
        events,
        metadata,
        state: next,
      });
      if (!isDomainError(result)) {
        this.#remember(next);
        return { state: next, events };
      }
      // A version conflict means another writer won the race: decide again on its result.
      // Other conflicts (an id taken, an occurrence that already ran) are the answer.
      if (result.field !== undefined || attempt >= MAX_ATTEMPTS) return result;
    }
  }

  /**
   * Whether this process is the only one writing to the log (the scheduler says so after it
   * checked the live processes and caught up with the log). Only then do reads come from the
   * state cache: with other writers, a cached state may lag their latest append.
   */
  exclusive = false;

  /** A live task's state from memory, when this process is the only writer and has it. */
  readState(taskId: string): TaskState | null {
    return this.exclusive ? this.#cached(taskId) : null;
  }

  /** Keeps a state read from the store, when it is the version this process knows. */
  cacheRead(state: TaskState): void {
    if (this.#maxCached === 0 || state.deletedAt !== null) return;
    if (this.#records.get(state.id)?.version !== state.version) return;
    if (this.#states.size >= this.#maxCached) {
      this.#states.delete(this.#states.keys().next().value!);
    }
    this.#states.set(state.id, state);
  }

  /** The cached state when it is as new as the task's record. */
  #cached(taskId: string): TaskState | null {
    const state = this.#states.get(taskId);
    if (state === undefined) return null;
    if (this.#records.get(taskId)?.version !== state.version) {
      this.#states.delete(taskId);
      return null;
    }
    return state;
  }

  #remember(state: TaskState): void {
    const record = this.#records.get(state.id);
    // A snapshot older than what this process already knows changes nothing.
    if (record !== undefined && record.version > state.version) return;
    this.#states.delete(state.id);
    if (state.deletedAt === null && this.#maxCached > 0) {
      // Map order is insertion order: the first key is the least recently active task.
      if (this.#states.size >= this.#maxCached) {
        this.#states.delete(this.#states.keys().next().value!);
      }
      this.#states.set(state.id, state);
    }
    if (state.deletedAt !== null) {
      if (record !== undefined) {
        this.#records.delete(state.id);
        this.#countChild(record.parentId, -1);
        this.#listener?.(state.id, null);
      }
      return;
    }
    const summary: Omit<TaskSummary, "id"> = {
      version: state.version,
      nextRunAt: state.nextRunAt,
      fireAt: state.nextRunAt === null ? null : fireTime(state, state.nextRunAt),
      enabled: state.schedule?.enabled ?? false,
      status: state.status,
      executorType: state.executor.type,
      parentId: state.parentId,
    };
    if (record === undefined) {
      this.#records.set(state.id, new ActorRecord(summary));
      this.#countChild(state.parentId, +1);
    } else {
      if (record.parentId !== state.parentId) {
        this.#countChild(record.parentId, -1);
        this.#countChild(state.parentId, +1);
      }
      record.update(summary);
    }
    this.#listener?.(state.id, { id: state.id, ...summary });
  }
}

function toSummary(id: string, record: ActorRecord): TaskSummary {
  return {
    id,
    version: record.version,
    nextRunAt: record.nextRunAt,
    fireAt: record.nextRunAt === null ? null : record.nextRunAt + record.jitter,
    enabled: record.enabled,
    status: record.status,
    executorType: record.executorType,
    parentId: record.parentId,
  };
}
