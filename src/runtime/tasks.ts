/**
 * The task facade the edge calls: commands in, state out. Writes go through the actors; reads
 * come from the snapshots (one row per task) or, for audit, from the log itself.
 */
import { DomainError, isDomainError } from "../domain/errors.ts";
import {
  evolve,
  type JsonValue,
  type ScheduleFields,
  type SchedulePatch,
  type TaskSettings,
  type TaskState,
} from "../domain/task.ts";
import type {
  EventMetadata,
  EventStore,
  RecordedEvent,
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
    const references = await this.#checkReferences(task.id, task.settings);
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
    const references = await this.#checkReferences(id, changes.settings);
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
    return stateOf(
      await this.#actors.execute(id, (now) => ({
        type: "CompleteOccurrence",
        runId,
        ...outcome,
        now,
      }), metadata),
    );
  }

  /** A live task. */
  async get(id: string): Promise<TaskState | DomainError> {
    const state = await this.#store.loadTask(id);
    if (state === null || state.deletedAt !== null) return notFound();
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
    for (let from = 1;; from += REPLAY_PAGE) {
      const page = await this.#store.readStream(id, {
        fromVersion: from,
        limit: REPLAY_PAGE,
        ...("version" in asOf ? { toVersion: asOf.version } : { recordedUntil: asOf.time }),
      });
      for (const recorded of page) state = evolve(state, recorded.event);
      if (page.length < REPLAY_PAGE) break;
    }
    if (state === null) {
      return await this.#store.loadTask(id) === null
        ? notFound()
        : new DomainError("not_found", "The task did not exist yet at that point", "as_of");
    }
    return { state, version: state.version };
  }

  /** Refuses a parent or dependency that does not exist, or the task itself. */
  async #checkReferences(
    id: string | null,
    settings: Partial<TaskSettings>,
  ): Promise<DomainError | null> {
    const references: [string, string][] = [];
    if (settings.parentId != null) references.push(["parent_id", settings.parentId]);
    settings.dependencies?.forEach((dependency, i) =>
      references.push([`dependencies.${i}.id`, dependency.id])
    );
    for (const [field, reference] of references) {
      if (reference === id) {
        return new DomainError("invalid_params", "A task cannot refer to itself", field);
      }
      const target = await this.#store.loadTask(reference);
      if (target === null || target.deletedAt !== null) {
        return new DomainError("not_found", `No task with id "${reference}"`, field);
      }
    }
    return null;
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
