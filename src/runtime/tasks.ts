/**
 * The task facade the edge calls: commands in, state out. Writes go through the actors; reads
 * come from the snapshots (one row per task) or, for audit, from the log itself.
 */
import { DomainError, isDomainError } from "../domain/errors.ts";
import {
  evolve,
  type JsonValue,
  type OccurrenceDecision,
  type RunTrigger,
  type ScheduleFields,
  type SchedulePatch,
  type TaskEvent,
  type TaskSettings,
  type TaskState,
  upcomingRuns,
} from "../domain/task.ts";
import type {
  EventMetadata,
  EventStore,
  RecordedEvent,
  RunRecord,
  TaskPage,
  TaskQuery,
} from "../store/event_store.ts";
import type { TaskActors } from "./actors.ts";

/** What tasks.create carries once the edge has validated it. */
export interface NewTask {
  id: string | null;
  settings: TaskSettings;
  schedule: ScheduleFields | null;
}

/** What tasks.update carries: absent fields are left alone. */
export interface TaskChanges {
  settings: Partial<TaskSettings>;
  schedule: SchedulePatch | null;
  expectedVersion: number | null;
}

/** What tasks.scheduled.complete reports. */
export interface OccurrenceOutcome {
  scheduledFor: number | null;
  success: boolean;
  result: JsonValue;
  error: string | null;
  calculateNextRun: boolean;
}

/** A task rebuilt from its log. */
export interface ReplayedTask {
  state: TaskState;
  /** The stream version the state is at. */
  version: number;
}

/** The most tasks a cycle check walks through (a tree or graph is never this large). */
const MAX_GRAPH = 10_000;
/** Events read back from the log this many at a time when rebuilding a task. */
const REPLAY_PAGE = 1000;

/** Task commands and queries over the actors and the log. */
export class TaskService {
  readonly #store: EventStore;
  readonly #actors: TaskActors;
  readonly #newId: () => string;

  constructor(
    store: EventStore,
    actors: TaskActors,
    options: { newId?: () => string } = {},
  ) {
    this.#store = store;
    this.#actors = actors;
    this.#newId = options.newId ?? (() => crypto.randomUUID());
  }

  /** Creates a task and computes its first run. */
  async create(task: NewTask, metadata: EventMetadata): Promise<TaskState | DomainError> {
    const references = await this.#checkReferences(task.id, task.settings, false);
    if (references !== null) return references;
    const id = task.id ?? this.#newId();
    return stateOf(
      await this.#actors.execute(id, (now) => ({
        type: "CreateTask",
        id,
        settings: task.settings,
        schedule: task.schedule,
        now,
      }), metadata),
    );
  }

  /** Changes a task; a changed or re-enabled schedule gets a new next run. */
  async update(
    id: string,
    changes: TaskChanges,
    metadata: EventMetadata,
  ): Promise<TaskState | DomainError> {
    const references = await this.#checkReferences(id, changes.settings, true);
    if (references !== null) return references;
    return stateOf(
      await this.#actors.execute(id, (now) => ({
        type: "UpdateTask",
        settings: changes.settings,
        schedule: changes.schedule,
        expectedVersion: changes.expectedVersion,
        now,
      }), metadata),
    );
  }

  /** Deletes a task: it stops firing and leaves every query; its log stays for audit. */
  async delete(id: string, metadata: EventMetadata): Promise<TaskState | DomainError> {
    return stateOf(
      await this.#actors.execute(id, (now) => ({ type: "DeleteTask", now }), metadata),
    );
  }

  /** Recomputes the next run from `from` (default: now). */
  async initSchedule(
    id: string,
    from: number | null,
    metadata: EventMetadata,
  ): Promise<TaskState | DomainError> {
    return stateOf(
      await this.#actors.execute(
        id,
        (now) => ({ type: "InitSchedule", from: from ?? now, now }),
        metadata,
      ),
    );
  }

  /** Records the outcome of an occurrence run outside Chronolog and moves to the next one. */
  async completeOccurrence(
    id: string,
    outcome: OccurrenceOutcome,
    metadata: EventMetadata,
  ): Promise<TaskState | DomainError> {
    const runId = this.#newId();
    // The occurrence is fixed by the first decision: when a race makes the actor decide again,
    // the unique key must refuse a duplicate report, not let it complete the next occurrence.
    let scheduledFor = outcome.scheduledFor;
    let pinned = false;
    return stateOf(
      await this.#actors.execute(id, (now, state) => {
        if (!pinned) {
          scheduledFor ??= state?.nextRunAt ?? null;
          pinned = true;
        }
        return { type: "CompleteOccurrence", runId, ...outcome, scheduledFor, now };
      }, metadata),
    );
  }

  /** Takes one future occurrence out of the schedule (tasks.occurrences.skip). */
  async excludeOccurrence(
    id: string,
    scheduledFor: number,
    metadata: EventMetadata,
  ): Promise<TaskState | DomainError> {
    return stateOf(
      await this.#actors.execute(
        id,
        (now) => ({ type: "ExcludeOccurrence", scheduledFor, now }),
        metadata,
      ),
    );
  }

  /** Moves one future occurrence to another instant (tasks.occurrences.move). */
  async moveOccurrence(
    id: string,
    move: { scheduledFor: number; to: number },
    metadata: EventMetadata,
  ): Promise<TaskState | DomainError> {
    return stateOf(
      await this.#actors.execute(
        id,
        (now) => ({ type: "MoveOccurrence", ...move, now }),
        metadata,
      ),
    );
  }

  /** The task's next runs with its exceptions and bounds applied (schedules.preview by task). */
  async preview(id: string, count: number): Promise<number[] | DomainError> {
    const state = await this.get(id);
    return isDomainError(state) ? state : upcomingRuns(state, count);
  }

  /** A task's run history, latest occurrence first. */
  async runs(
    id: string,
    options: { before: number | null; limit: number },
  ): Promise<RunRecord[] | DomainError> {
    const state = await this.#store.loadTask(id);
    if (state === null) return notFound();
    return this.#store.readRuns(id, options);
  }

  /**
   * What became of the task's occurrences, from its log: fired, skipped, coalesced, missed,
   * excluded, shifted (latest first, read back from the newest `scan` events).
   */
  async occurrences(
    id: string,
    options: { limit: number; scan: number },
  ): Promise<OccurrenceRecord[] | DomainError> {
    const state = await this.#store.loadTask(id);
    if (state === null) return notFound();
    const fromVersion = Math.max(1, state.version - options.scan + 1);
    const records: OccurrenceRecord[] = [];
    for (let from = fromVersion; from <= state.version; from += REPLAY_PAGE) {
      const page = await this.#store.readStream(id, { fromVersion: from, limit: REPLAY_PAGE });
      for (const { event, version } of page) {
        records.push(...occurrenceRecords(event, version));
      }
      if (page.length < REPLAY_PAGE) break;
    }
    return records.reverse().slice(0, options.limit);
  }

  /** Who owns a live task (`userId` null: nobody); null when there is no such task. */
  owner(id: string): Promise<{ userId: string | null } | null> {
    const cached = this.#actors.readState(id);
    return cached === null ? this.#store.taskOwner(id) : Promise.resolve({ userId: cached.userId });
  }

  /** The task a run belongs to; null when there is no such run. */
  async runTask(runId: string): Promise<string | null> {
    return (await this.#store.readRun(runId))?.taskId ?? null;
  }

  /** A live task. */
  async get(id: string): Promise<TaskState | DomainError> {
    // From memory while this process is the log's only writer (TaskActors.exclusive).
    const cached = this.#actors.readState(id);
    if (cached !== null) return cached;
    const state = await this.#store.loadTask(id);
    if (state === null || state.deletedAt !== null) return notFound();
    this.#actors.cacheRead(state);
    return state;
  }

  /** A filtered page of live tasks, newest first. */
  list(query: TaskQuery): Promise<TaskPage> {
    return this.#store.queryTasks(query);
  }

  /** Enabled tasks due at or before `before`, soonest first. */
  due(options: { before: number; userId: string | null; limit: number }): Promise<TaskState[]> {
    return this.#store.dueTasks(options);
  }

  /** One task's audit log, in version order (deleted tasks included). */
  async events(
    id: string,
    options: { fromVersion: number; limit: number },
  ): Promise<RecordedEvent[] | DomainError> {
    const events = await this.#store.readStream(id, options);
    if (events.length === 0 && await this.#store.loadTask(id) === null) return notFound();
    return events;
  }

  /** The task rebuilt from its log as of a stream version or an instant. */
  async replay(
    id: string,
    asOf: { version: number } | { time: number },
  ): Promise<ReplayedTask | DomainError> {
    let state: TaskState | null = null;
    read: for (let from = 1;; from += REPLAY_PAGE) {
      const page = await this.#store.readStream(id, {
        fromVersion: from,
        limit: REPLAY_PAGE,
        ...("version" in asOf ? { toVersion: asOf.version } : {}),
      });
      for (const recorded of page) {
        // A prefix of the stream, never a selection: with clocks of several instances apart,
        // an event may carry an earlier time than the one before it.
        if ("time" in asOf && recorded.event.at > asOf.time) break read;
        state = evolve(state, recorded.event);
      }
      if (page.length < REPLAY_PAGE) break;
    }
    if (state === null) {
      return await this.#store.loadTask(id) === null
        ? notFound()
        : new DomainError("not_found", "The task did not exist yet at that point", "as_of");
    }
    return { state, version: state.version };
  }

  /**
   * Refuses a parent or dependency that does not exist, the task itself, and (on update) a
   * parent chain or dependency graph that would lead back to the task: a tree runner would loop.
   */
  async #checkReferences(
    id: string | null,
    settings: Partial<TaskSettings>,
    isUpdate: boolean,
  ): Promise<DomainError | null> {
    const references: [string, string][] = [];
    if (settings.parentId != null) references.push(["parent_id", settings.parentId]);
    settings.dependencies?.forEach((dependency, i) =>
      references.push([`dependencies.${i}.id`, dependency.id])
    );
    if (references.length === 0) return null;
    const found = new Map(
      (await this.#store.loadTasks(references.map(([, reference]) => reference)))
        .filter((task) => task.deletedAt === null)
        .map((task) => [task.id, task]),
    );
    for (const [field, reference] of references) {
      if (reference === id) {
        return new DomainError("invalid_params", "A task cannot refer to itself", field);
      }
      if (!found.has(reference)) {
        return new DomainError("not_found", `No task with id "${reference}"`, field);
      }
    }
    // A task that does not exist yet cannot be anyone's parent or dependency.
    if (!isUpdate || id === null) return null;
    if (settings.parentId != null) {
      const ancestors = await this.#reach(
        [settings.parentId],
        (task) => task.parentId === null ? [] : [task.parentId],
      );
      if (ancestors.has(id)) {
        return new DomainError(
          "invalid_params",
          "The parent chain would lead back to the task",
          "parent_id",
        );
      }
    }
    if (settings.dependencies !== undefined && settings.dependencies.length > 0) {
      const upstream = await this.#reach(
        settings.dependencies.map((dependency) => dependency.id),
        (task) => task.dependencies.map((dependency) => dependency.id),
      );
      if (upstream.has(id)) {
        return new DomainError(
          "invalid_params",
          "The dependencies would form a cycle",
          "dependencies",
        );
      }
    }
    return null;
  }

  /** Every task reachable from `start` by `next`, one query per level. */
  async #reach(start: string[], next: (task: TaskState) => string[]): Promise<Set<string>> {
    const seen = new Set<string>(start);
    let frontier = start;
    while (frontier.length > 0 && seen.size < MAX_GRAPH) {
      const tasks = await this.#store.loadTasks(frontier);
      frontier = [];
      for (const task of tasks) {
        for (const id of next(task)) {
          if (!seen.has(id)) {
            seen.add(id);
            frontier.push(id);
          }
        }
      }
    }
    return seen;
  }
}

/** One decision about one occurrence (or a range of them), as tasks.occurrences lists it. */
export interface OccurrenceRecord {
  scheduledFor: number;
  decision: OccurrenceDecision;
  /** The last occurrence of a range. */
  until: number | null;
  count: number | null;
  runId: string | null;
  trigger: RunTrigger | null;
  detail: string | null;
  decidedAt: number;
  version: number;
}

function occurrenceRecords(event: TaskEvent, version: number): OccurrenceRecord[] {
  const base = { until: null, count: 1, decidedAt: event.at, version };
  switch (event.type) {
    case "RunStarted":
      if (event.data.attempt !== 1 || event.data.queued) return [];
      return [{
        ...base,
        scheduledFor: event.data.scheduledFor,
        decision: "fired",
        runId: event.data.runId,
        trigger: event.data.trigger,
        detail: null,
      }];
    case "RunsQueued":
      return event.data.runs.map((run) => ({
        ...base,
        scheduledFor: run.scheduledFor,
        decision: "fired",
        runId: run.runId,
        trigger: run.trigger,
        detail: "queued behind the runs in flight",
      }));
    case "RunSkipped":
      return [{
        ...base,
        scheduledFor: event.data.scheduledFor,
        decision: event.data.reason === "overlap" ? "skipped" : "coalesced",
        runId: event.data.runId,
        trigger: event.data.trigger,
        detail: event.data.reason === "overlap"
          ? "a previous run was still in flight (overlap_policy skip)"
          : "one run was already queued (overlap_policy queue)",
      }];
    case "OccurrenceDecided":
      return [{
        ...base,
        scheduledFor: event.data.scheduledFor,
        decision: event.data.decision,
        until: event.data.until,
        count: event.data.count,
        runId: event.data.runId,
        trigger: null,
        detail: event.data.detail,
      }];
    default:
      return [];
  }
}

function stateOf(
  outcome: { state: TaskState } | DomainError,
): TaskState | DomainError {
  return isDomainError(outcome) ? outcome : outcome.state;
}

function notFound(): DomainError {
  return new DomainError("not_found", "No such task", "task_id");
}
