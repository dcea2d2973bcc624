/**
 * The firing pipeline: timer wheel → actor decides (overlap, bounds, jitter, catch-up) → run
 * events appended (the runs table's unique key refuses a second run of one occurrence) →
 * executor → outcome appended → the next occurrence is armed by the actor's new record.
 *
 * Every process on one database runs this: each arms every task, they race, and the log lets
 * one decision per occurrence through (the loser re-decides on fresh state and finds nothing
 * due). A process executes the runs it started; when it dies, its liveness lock drops and any
 * other process (or its own restart) records the runs it abandoned and retries them per policy.
 */
import { DomainError, isDomainError } from "../domain/errors.ts";
import {
  type ActiveRun,
  type JsonValue,
  occurrencesBetween,
  type RunEnvironment,
  type RunResult,
  type RunTrigger,
  type TaskCommand,
  type TaskEvent,
  type TaskState,
} from "../domain/task.ts";
import type { Logger } from "../log.ts";
import type {
  EventMetadata,
  EventStore,
  LeasedRun,
  RunRecord,
  TaskSummary,
} from "../store/event_store.ts";
import type { CommandOutcome, TaskActors } from "./actors.ts";
import { runCommand } from "./executors/command.ts";
import { runHttp } from "./executors/http.ts";
import type { HandlerRegistry } from "./executors/inprocess.ts";
import { type RunContext, type RunOutcome, storableOutcome } from "./executors/mod.ts";
import { runTree } from "./executors/tree.ts";
import { TimerWheel } from "./timer_wheel.ts";

/** Options of the scheduler. */
export interface SchedulerOptions {
  logger: Logger;
  /** Runs executing at once in this process (CHRONOLOG_MAX_CONCURRENT). */
  maxConcurrent: number;
  /** The secret http executors sign requests with (CHRONOLOG_WEBHOOK_SECRET). */
  signingSecret: string | null;
  /** CHRONOLOG_ALLOW_COMMAND. */
  allowCommand: boolean;
  /** A task due longer ago than this at wake-up (downtime, pause) goes through catch-up. */
  catchupGraceMs?: number;
  /** How often to look for abandoned runs, overdue queue runs and other processes (ms). */
  sweepIntervalMs?: number;
  /** How often to read other processes' changes from the log while there are any (ms). */
  followIntervalMs?: number;
  /**
   * How often to look for other live processes (ms): while there are none, reads are served
   * from memory (TaskActors.exclusive), so a process that joins must be noticed quickly.
   */
  watchIntervalMs?: number;
  /** The clock (epoch ms). */
  clock?: () => number;
  /** Hears what the firing pipeline does (the /metrics counters). */
  observer?: FiringObserver;
  /**
   * The `inprocess` handlers of this process (the embedded library); an inprocess task without
   * one here is not armed here. Without a registry, no inprocess task fires in this process.
   */
  handlers?: HandlerRegistry | null;
}

/** What the firing pipeline reports as it goes; every method must be cheap and never throw. */
export interface FiringObserver {
  /** An occurrence came due and was decided (fired, skipped, coalesced, caught up…). */
  due(): void;
  /** A run started; `latenessMs` for runs of the schedule (schedule, catchup), else null. */
  started(trigger: RunTrigger, latenessMs: number | null): void;
  /** An occurrence was skipped because the previous run was still going (overlap skip). */
  skippedOverlap(): void;
  /** A due occurrence could not be recorded, or a run's executor could not be started. */
  failedLaunch(): void;
}

const SILENT: FiringObserver = {
  due() {},
  started() {},
  skippedOverlap() {},
  failedLaunch() {},
};

/** Where the scheduler stands. */
export type SchedulerState = "stopped" | "running" | "paused" | "stopping";

/** scheduler.status. */
export interface SchedulerStatus {
  state: SchedulerState;
  startedAt: number | null;
  /** This process's liveness key: the `owner` of the runs it executes. */
  instance: number | null;
  tasksLoaded: number;
  timersArmed: number;
  tasksExecuted: number;
  succeeded: number;
  failed: number;
  skipped: number;
  active: number;
  latenessP50Ms: number | null;
  latenessP99Ms: number | null;
  /** Processes alive on the same database (this one included), as of the last sweep. */
  instances: number;
}

/** What a manual trigger started. */
export interface TriggeredRun {
  run: RunRecord | null;
  /** The run's id (also when `run` is not readable yet). */
  runId: string;
  /** True when waiting ended because the run finished. */
  finished: boolean;
}

/** How long past its deadline a run of this process nobody executes is taken as lost. */
const LOST_RUN_GRACE_MS = 30_000;
/** The most occurrences a backfill looks at in its range. */
const BACKFILL_SCAN = 10_000;

const SCHEDULER: EventMetadata = { actor: "scheduler", requestId: null, causation: null };
/** The lateness samples the status percentiles are computed over. */
const LATENESS_SAMPLES = 10_000;

/** Counts free execution slots; waiters are served in arrival order. */
class Slots {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

interface Execution {
  taskId: string;
  attempt: number;
  controller: AbortController;
  done: Promise<void>;
}

/** The scheduler of one process. */
export class Scheduler {
  readonly #store: EventStore;
  readonly #actors: TaskActors;
  readonly #options: Required<SchedulerOptions>;
  readonly #wheel: TimerWheel;
  readonly #slots: Slots;
  readonly #executions = new Map<string, Execution>();
  readonly #retries = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #waiters = new Map<string, (() => void)[]>();
  readonly #lateness: number[] = [];
  #latenessNext = 0;
  #state: SchedulerState = "stopped";
  /** When a shutdown stops waiting for runs in flight (epoch ms); never while running. */
  #drainUntil = Infinity;
  #startedAt: number | null = null;
  #owner = 0;
  #instances = 1;
  #counts = { executed: 0, succeeded: 0, failed: 0, skipped: 0 };
  #sweepTimer: ReturnType<typeof setInterval> | null = null;
  #followTimer: ReturnType<typeof setInterval> | null = null;
  #watchTimer: ReturnType<typeof setInterval> | null = null;
  #watching: Promise<void> | null = null;
  #sweeping: Promise<void> | null = null;
  #following: Promise<unknown> | null = null;
  /** Fires, retries and reports in flight: shutdown waits for them. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(store: EventStore, actors: TaskActors, options: SchedulerOptions) {
    this.#store = store;
    this.#actors = actors;
    this.#options = {
      observer: SILENT,
      catchupGraceMs: 5_000,
      sweepIntervalMs: 5_000,
      followIntervalMs: 500,
      watchIntervalMs: 250,
      clock: Date.now,
      handlers: null,
      ...options,
    };
    this.#slots = new Slots(options.maxConcurrent);
    this.#wheel = new TimerWheel({
      now: this.#options.clock,
      onDue: (id, dueAt) => this.#track(this.#fire(id, dueAt)),
    });
  }

  /**
   * Takes this process's liveness key, arms every enabled task, records what crashed processes
   * abandoned, and starts firing; overdue tasks go through their catch-up policy first.
   */
  async start(): Promise<void> {
    if (this.#state !== "stopped") return;
    this.#owner = await this.#store.registerInstance();
    this.#drainUntil = Infinity;
    this.#actors.listen((id, summary) => this.#arm(id, summary));
    this.#options.handlers?.listen((id) => this.#arm(id, this.#actors.summary(id)));
    for (const summary of this.#actors.summaries()) this.#arm(summary.id, summary);
    this.#state = "running";
    this.#startedAt = this.#options.clock();
    await this.#sweep();
    this.#wheel.start();
    this.#sweepTimer = setInterval(() => this.#sweepInBackground(), this.#options.sweepIntervalMs);
    this.#followTimer = setInterval(() => this.#follow(), this.#options.followIntervalMs);
    this.#watchTimer = setInterval(() => this.#watch(), this.#options.watchIntervalMs);
    this.#watch();
  }

  /** Stops firing; runs in flight go on. Occurrences due meanwhile meet their catch-up policy. */
  pause(): SchedulerState {
    if (this.#state === "running") {
      this.#state = "paused";
      this.#wheel.stop();
    }
    return this.#state;
  }

  /** Fires again, catching up what fell due while paused. */
  resume(): SchedulerState {
    if (this.#state === "paused") {
      this.#state = "running";
      this.#wheel.start();
    }
    return this.#state;
  }

  /**
   * Stops firing and waits up to `drainMs` for runs in flight; the runs still going then are
   * aborted and recorded as cancelled (abandoned at shutdown). Returns how many were abandoned.
   */
  async stop(drainMs: number): Promise<number> {
    if (this.#state === "stopped" || this.#state === "stopping") return 0;
    this.#state = "stopping";
    this.#drainUntil = Date.now() + drainMs;
    this.#wheel.stop();
    this.#actors.listen(null);
    this.#options.handlers?.listen(null);
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    if (this.#followTimer !== null) clearInterval(this.#followTimer);
    if (this.#watchTimer !== null) clearInterval(this.#watchTimer);
    this.#actors.exclusive = false;
    for (const timer of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
    await Promise.allSettled([this.#sweeping, this.#following, this.#watching]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, drainMs));
    await Promise.race([this.#settled(), deadline]);
    clearTimeout(timer);
    const abandoned = [...this.#executions.entries()];
    for (const [, execution] of abandoned) execution.controller.abort("shutdown");
    await Promise.all(
      abandoned.map(([runId, execution]) =>
        this.#command(execution.taskId, (now) => ({
          type: "AbandonRun",
          runId,
          attempt: execution.attempt,
          reason: "abandoned: the service shut down before the run finished",
          retry: false,
          now,
          env: this.#env(false, false),
        }))
      ),
    );
    await Promise.allSettled(abandoned.map(([, execution]) => execution.done));
    await this.#settled();
    // Callers waiting for a run get the run as it stands.
    for (const runId of [...this.#waiters.keys()]) this.#wake(runId);
    this.#state = "stopped";
    return abandoned.length;
  }

  /** The scheduler's counters and lateness percentiles (this process since it started). */
  status(): SchedulerStatus {
    const samples = this.#lateness.toSorted((a, b) => a - b);
    const at = (q: number) =>
      samples.length === 0
        ? null
        : samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
    return {
      state: this.#state,
      startedAt: this.#startedAt,
      instance: this.#state === "stopped" ? null : this.#owner,
      tasksLoaded: this.#actors.size,
      timersArmed: this.#wheel.size,
      tasksExecuted: this.#counts.executed,
      succeeded: this.#counts.succeeded,
      failed: this.#counts.failed,
      skipped: this.#counts.skipped,
      active: this.#executions.size,
      latenessP50Ms: at(0.5),
      latenessP99Ms: at(0.99),
      instances: this.#instances,
    };
  }

  /**
   * Runs a task now (tasks.trigger, webhooks) under its overlap policy; with `waitMs` waits up to
   * that long for the run to finish.
   */
  async trigger(
    taskId: string,
    options: { trigger: "manual" | "webhook"; waitMs: number; metadata: EventMetadata },
  ): Promise<TriggeredRun | DomainError> {
    if (this.#state === "stopping" || this.#state === "stopped") return shuttingDown();
    const elsewhere = this.#elsewhere(taskId);
    if (elsewhere !== null) return elsewhere;
    const outcome = await this.#actors.execute(
      taskId,
      (now) => ({
        type: "TriggerRun",
        trigger: options.trigger,
        now,
        env: this.#env(!this.#actors.hasChildren(taskId), true),
      }),
      options.metadata,
    );
    if (isDomainError(outcome)) return outcome;
    const started = outcome.events.find((event) =>
      event.type === "RunStarted" || event.type === "RunSkipped" || event.type === "RunsQueued"
    );
    const runId = started === undefined
      ? null
      : started.type === "RunsQueued"
      ? started.data.runs[0].runId
      : started.data.runId;
    if (runId === null) {
      return new DomainError("conflict", "The task did not start a run", "task_id");
    }
    const finishedHere = outcome.events.some((event) => endsRun(event, runId));
    const wait = finishedHere || options.waitMs <= 0 ? null : this.#waitFor(runId, options.waitMs);
    this.#handle(taskId, outcome, false);
    const finished = finishedHere || (wait !== null && await wait);
    return { run: await this.#store.readRun(runId), runId, finished };
  }

  /**
   * Runs the occurrences in [from, to] that have no run (missed, or before the task existed
   * in the log's view), oldest first, at most `maxRuns`; `dryRun` only lists them.
   */
  async backfill(
    taskId: string,
    options: {
      from: number;
      to: number;
      maxRuns: number;
      dryRun: boolean;
      metadata: EventMetadata;
    },
  ): Promise<{ occurrences: number[]; runIds: string[] } | DomainError> {
    if (this.#state === "stopping" || this.#state === "stopped") return shuttingDown();
    const state = await this.#store.loadTask(taskId);
    if (state === null || state.deletedAt !== null) {
      return new DomainError("not_found", "No such task", "task_id");
    }
    const elsewhere = this.#elsewhere(taskId);
    if (elsewhere !== null) return elsewhere;
    // Only the past: the pending occurrence (and later ones) belong to the schedule.
    const to = Math.min(options.to, this.#options.clock(), (state.nextRunAt ?? Infinity) - 1);
    const candidates = occurrencesBetween(state, {
      from: options.from,
      to,
      limit: BACKFILL_SCAN,
    });
    if (isDomainError(candidates)) return candidates;
    const claimed = await this.#store.claimedOccurrences(taskId, candidates);
    const occurrences = candidates.filter((at) => !claimed.has(at)).slice(0, options.maxRuns);
    if (options.dryRun || occurrences.length === 0) return { occurrences, runIds: [] };
    const outcome = await this.#actors.execute(taskId, (now) => ({
      type: "Backfill",
      occurrences,
      now,
      env: this.#env(!this.#actors.hasChildren(taskId), true),
    }), options.metadata);
    if (isDomainError(outcome)) return outcome;
    this.#handle(taskId, outcome, false);
    const queued = outcome.events.find((event) => event.type === "RunsQueued");
    return {
      occurrences,
      runIds: queued?.type === "RunsQueued" ? queued.data.runs.map((run) => run.runId) : [],
    };
  }

  /** Leases a waiting queue run to a worker (runs.claim); with `userId`, of that user's tasks. */
  async claim(
    options: { capability: string; workerId: string; leaseMs: number; userId?: string },
  ): Promise<(LeasedRun & { inputs: JsonValue }) | null> {
    const leased = await this.#store.leaseRun(options);
    if (leased === null) return null;
    const task = await this.#store.loadTask(leased.taskId);
    return { ...leased, inputs: task?.inputs ?? null };
  }

  /** Extends a worker's lease (runs.heartbeat); a lost lease is a conflict. */
  async heartbeat(
    options: { runId: string; workerId: string; leaseMs: number },
  ): Promise<number | DomainError> {
    const until = await this.#store.renewLease(options);
    if (until !== null) return until;
    return await this.#store.readRun(options.runId) === null
      ? new DomainError("not_found", "No such run", "run_id")
      : new DomainError(
        "conflict",
        "The worker holds no live lease on this run (it expired, or another worker has it)",
        "worker_id",
      );
  }

  /** Records a queue run's outcome reported by the worker holding it (runs.complete). */
  async complete(
    options: { runId: string; workerId: string; outcome: RunResult; metadata: EventMetadata },
  ): Promise<RunRecord | DomainError> {
    const run = await this.#store.readRun(options.runId);
    if (run === null) return new DomainError("not_found", "No such run", "run_id");
    if (run.workerId !== options.workerId || run.status !== "running") {
      return new DomainError(
        "conflict",
        run.status === "running" || run.status === "pending"
          ? "The worker does not hold this run's lease"
          : `The run already ended (${run.status})`,
        "worker_id",
      );
    }
    const outcome = await this.#actors.execute(run.taskId, (now) => ({
      type: "FinishRun",
      runId: options.runId,
      attempt: run.attempt,
      outcome: options.outcome,
      now,
      env: this.#env(!this.#actors.hasChildren(run.taskId), true),
    }), options.metadata);
    if (isDomainError(outcome)) return outcome;
    this.#handle(run.taskId, outcome, false);
    return await this.#store.readRun(options.runId) ?? run;
  }

  #env(inlineEcho: boolean, startWaiting: boolean): RunEnvironment {
    return {
      owner: this.#owner,
      newRunId: () => crypto.randomUUID(),
      inlineEcho,
      startWaiting: startWaiting && this.#state !== "stopping",
    };
  }

  /** Keeps the wheel in step with a task's next fire time. */
  #arm(id: string, summary: TaskSummary | null): void {
    if (summary === null) {
      this.#wheel.cancel(id);
      for (const execution of this.#executions.values()) {
        if (execution.taskId === id) execution.controller.abort("the task was deleted");
      }
      return;
    }
    if (summary.enabled && summary.fireAt !== null && this.#firesHere(id, summary)) {
      if (this.#wheel.dueAt(id) !== summary.fireAt) this.#wheel.schedule(id, summary.fireAt);
    } else {
      this.#wheel.cancel(id);
    }
  }

  /** Whether this process can execute the task's runs (an inprocess task needs its handler). */
  #firesHere(id: string, summary: TaskSummary): boolean {
    return summary.executorType !== "inprocess" || this.#options.handlers?.has(id) === true;
  }

  /** Why a run of the task cannot start in this process (its handler is elsewhere), or null. */
  #elsewhere(id: string): DomainError | null {
    const summary = this.#actors.summary(id);
    return summary === null || this.#firesHere(id, summary) ? null : new DomainError(
      "conflict",
      "The task runs an in-process handler that is not registered in this process",
      "task_id",
    );
  }

  /** #firesHere by id; a task this process does not know (deleted) is nobody's to run. */
  #runsHere(id: string): boolean {
    const summary = this.#actors.summary(id);
    return summary !== null && this.#firesHere(id, summary);
  }

  #track<T>(promise: Promise<T>): void {
    const tracked = promise.catch((error) => {
      this.#options.logger.error("The scheduler failed to record a decision", { error });
    }).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** One task's timer fell due. */
  async #fire(id: string, dueAt: number): Promise<void> {
    if (this.#state !== "running") return;
    const summary = this.#actors.summary(id);
    // A timer at or after the task's fire time: its own, or a retry of a fire that failed.
    const fireAt = summary?.fireAt ?? null;
    if (summary === null || fireAt === null || summary.nextRunAt === null) return;
    // Its handler was unregistered since the timer was armed; registering it arms it again.
    if (!this.#firesHere(id, summary)) return;
    if (fireAt > dueAt) {
      // A stale timer (a retry of an earlier fire time): the task's own must stay armed.
      if (this.#wheel.dueAt(id) === null) this.#wheel.schedule(id, fireAt);
      return;
    }
    const scheduledFor = summary.nextRunAt;
    const late = this.#options.clock() - fireAt > this.#options.catchupGraceMs;
    const inline = summary.executorType === "echo" && !this.#actors.hasChildren(id);
    // An echo run completes inside the decision; any other holds a slot while it executes.
    if (!inline) {
      await this.#slots.acquire();
      if (this.#state !== "running") {
        this.#slots.release();
        // Paused while it waited for a slot: it fires on resume. Stopping: the next start's.
        if (this.#state === "paused" && this.#wheel.dueAt(id) === null) {
          this.#wheel.schedule(id, fireAt);
        }
        return;
      }
    }
    let outcome: CommandOutcome | DomainError;
    try {
      outcome = await this.#actors.execute(
        id,
        (now): TaskCommand =>
          late
            ? { type: "CatchUp", now, env: this.#env(inline, true) }
            : { type: "FireOccurrence", scheduledFor, now, env: this.#env(inline, true) },
        {
          ...SCHEDULER,
          causation: late ? "catch-up" : "fire",
        },
      );
    } catch (error) {
      if (!inline) this.#slots.release();
      this.#options.observer.failedLaunch();
      // The store is unreachable: try this occurrence again shortly instead of losing it.
      this.#retryFire(id, fireAt);
      throw error;
    }
    if (isDomainError(outcome)) {
      if (!inline) this.#slots.release();
      if (!late && outcome.code === "conflict" && outcome.field === "scheduled_for") {
        // The occurrence's key is taken (a run recorded for that instant by other means):
        // it has had its run, so the schedule moves past it.
        const passed = await this.#command(id, (now) => ({
          type: "PassOccurrence",
          scheduledFor,
          reason: "the occurrence already has a run (its instant was taken by another run)",
          now,
        }));
        if (passed !== null) return;
      }
      // Refused (a race lost eight times, say): unless the task moved on, try again shortly.
      this.#retryFire(id, fireAt);
      return;
    }
    this.#options.observer.due();
    this.#handle(id, outcome, !inline);
  }

  /** Fires the task again in a second, unless it moved on meanwhile (its record re-armed it). */
  #retryFire(id: string, fireAt: number): void {
    const summary = this.#actors.summary(id);
    if (this.#state !== "running" || summary === null || summary.fireAt !== fireAt) return;
    if (this.#wheel.dueAt(id) === null) this.#wheel.schedule(id, this.#options.clock() + 1000);
  }

  /**
   * Acts on a decision's events: counts them, executes the runs this process started (the
   * first one inherits `slotHeld`), arms retries, aborts cancelled runs, wakes waiters.
   */
  #handle(taskId: string, outcome: CommandOutcome, slotHeld: boolean): void {
    let slot = slotHeld;
    const { events, state } = outcome;
    for (const [i, event] of events.entries()) {
      switch (event.type) {
        case "RunStarted": {
          this.#counts.executed++;
          const scheduled = event.data.trigger === "schedule" || event.data.trigger === "catchup";
          if (scheduled) this.#sample(event.data.latenessMs);
          this.#options.observer.started(
            event.data.trigger,
            scheduled ? event.data.latenessMs : null,
          );
          const { runId } = event.data;
          if (event.data.owner !== this.#owner) break;
          if (events.slice(i + 1).some((later) => endsRun(later, runId))) break;
          const run = state.activeRuns.find((active) => active.runId === runId);
          if (run === undefined) break;
          this.#launch(state, run, slot);
          slot = false;
          break;
        }
        case "RunSucceeded":
          this.#counts.succeeded++;
          this.#wake(event.data.runId);
          break;
        case "RunFailed":
        case "RunTimedOut":
          if (event.data.retryAt !== null) {
            this.#armRetry(taskId, event.data.runId, event.data.retryAt);
          } else {
            this.#counts.failed++;
            this.#wake(event.data.runId);
          }
          break;
        case "RunCancelled":
          this.#executions.get(event.data.runId)?.controller.abort(event.data.reason);
          this.#wake(event.data.runId);
          break;
        case "RunSkipped":
          this.#counts.skipped++;
          if (event.data.reason === "overlap") this.#options.observer.skippedOverlap();
          this.#wake(event.data.runId);
          break;
      }
    }
    if (slot) this.#slots.release();
  }

  #sample(latenessMs: number): void {
    if (this.#lateness.length < LATENESS_SAMPLES) this.#lateness.push(latenessMs);
    else this.#lateness[this.#latenessNext] = latenessMs;
    this.#latenessNext = (this.#latenessNext + 1) % LATENESS_SAMPLES;
  }

  /** Executes one run in the background and records its outcome. */
  #launch(state: TaskState, run: ActiveRun, slotHeld: boolean): void {
    const controller = new AbortController();
    const done = (async () => {
      if (!slotHeld) await this.#slots.acquire();
      let outcome: RunOutcome;
      const timeout = setTimeout(
        () => controller.abort("timeout"),
        Math.max(0, run.deadlineAt - this.#options.clock()),
      );
      try {
        outcome = await this.#execute(state, run, controller.signal);
      } catch (error) {
        this.#options.observer.failedLaunch();
        outcome = { ok: false, error: `The executor failed: ${String(error)}` };
      } finally {
        clearTimeout(timeout);
      }
      this.#executions.delete(run.runId);
      this.#slots.release();
      // Shutdown and cancellation record the run themselves.
      if (controller.signal.aborted && controller.signal.reason !== "timeout") return;
      const timedOut = controller.signal.reason === "timeout";
      const result: RunResult = storableOutcome(
        outcome.ok ? outcome : {
          ok: false,
          error: timedOut
            ? `The run timed out after ${state.timeoutS} s (timeout_s)`
            : outcome.error,
          timedOut: timedOut || outcome.timedOut === true,
        },
      );
      const finished = await this.#recordOutcome(state.id, (now) => ({
        type: "FinishRun",
        runId: run.runId,
        attempt: run.attempt,
        outcome: result,
        now,
        env: this.#env(!this.#actors.hasChildren(state.id), true),
      }));
      if (finished !== null) this.#handle(state.id, finished, false);
    })();
    this.#executions.set(run.runId, {
      taskId: state.id,
      attempt: run.attempt,
      controller,
      done,
    });
    this.#track(done);
  }

  /**
   * Records a run's outcome, trying again (1 s, 2 s, … 30 s apart) while the store fails: an
   * outcome that is never recorded would leave the run in flight and block the task's overlap.
   */
  async #recordOutcome(
    taskId: string,
    build: (now: number) => TaskCommand,
  ): Promise<CommandOutcome | null> {
    for (let wait = 1000;; wait = Math.min(wait * 2, 30_000)) {
      try {
        return await this.#command(taskId, build);
      } catch (error) {
        // A shutdown waits for this only until its drain deadline: the run is then left in
        // flight, and recovery ends it once this process's liveness key expires.
        if (this.#state === "stopped" || Date.now() >= this.#drainUntil) throw error;
        this.#options.logger.warn("Cannot record a run's outcome yet; trying again", {
          task_id: taskId,
          error: String(error),
        });
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(wait, this.#drainUntil - Date.now()))
        );
      }
    }
  }

  #execute(state: TaskState, run: ActiveRun, signal: AbortSignal): Promise<RunOutcome> {
    const context: RunContext = {
      taskId: state.id,
      runId: run.runId,
      scheduledFor: run.scheduledFor,
      attempt: run.attempt,
      inputs: state.inputs,
      signal,
    };
    if (this.#actors.hasChildren(state.id)) {
      return runTree(state, context, {
        store: this.#store,
        actors: this.#actors,
        execute: (child, childContext) => this.#executeLeaf(child, childContext),
      });
    }
    return this.#executeLeaf(state, context);
  }

  #executeLeaf(state: TaskState, context: RunContext): Promise<RunOutcome> {
    const executor = state.executor;
    switch (executor.type) {
      case "echo":
        return Promise.resolve({ ok: true, result: state.inputs });
      case "http":
        return runHttp(executor, context, {
          signingSecret: this.#options.signingSecret,
          defaultTimeoutS: state.timeoutS,
        });
      case "command":
        return runCommand(executor, context, {
          allowed: this.#options.allowCommand,
          timeoutS: state.timeoutS,
        });
      case "queue":
        return Promise.resolve({
          ok: false,
          error: "A queue task cannot run inside a tree (its worker claims it with runs.claim)",
        });
      case "inprocess":
        return this.#options.handlers?.run(context) ?? Promise.resolve({
          ok: false,
          error: "No handler is registered for this task in this process",
        });
    }
  }

  #armRetry(taskId: string, runId: string, retryAt: number): void {
    if (this.#retries.has(runId) || this.#state === "stopping") return;
    // An in-process task's retry belongs to a process with its handler (whose sweep arms it).
    if (!this.#runsHere(taskId)) return;
    const timer = setTimeout(() => {
      this.#retries.delete(runId);
      this.#track(this.#retry(taskId, runId));
    }, Math.max(0, retryAt - this.#options.clock()));
    this.#retries.set(runId, timer);
  }

  async #retry(taskId: string, runId: string): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") return;
    if (!this.#runsHere(taskId)) return;
    const inline = !this.#actors.hasChildren(taskId);
    await this.#slots.acquire();
    const outcome = await this.#command(taskId, (now) => ({
      type: "RetryRun",
      runId,
      now,
      env: this.#env(inline, true),
    })).catch((error) => {
      this.#slots.release();
      // The store failed: try the attempt again shortly rather than leave the run waiting.
      this.#armRetry(taskId, runId, this.#options.clock() + 1000);
      throw error;
    });
    if (outcome === null) this.#slots.release();
    else this.#handle(taskId, outcome, true);
  }

  /** Runs a scheduler command; null when it was refused (the task is gone). */
  async #command(
    taskId: string,
    build: (now: number) => TaskCommand,
  ): Promise<CommandOutcome | null> {
    const outcome = await this.#actors.execute(taskId, build, {
      ...SCHEDULER,
      causation: "runtime",
    });
    return isDomainError(outcome) ? null : outcome;
  }

  #waitFor(runId: string, waitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const list = this.#waiters.get(runId)?.filter((w) => w !== wake) ?? [];
        if (list.length === 0) this.#waiters.delete(runId);
        else this.#waiters.set(runId, list);
        resolve(false);
      }, waitMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.set(runId, [...(this.#waiters.get(runId) ?? []), wake]);
    });
  }

  #wake(runId: string): void {
    const list = this.#waiters.get(runId);
    if (list === undefined) return;
    this.#waiters.delete(runId);
    for (const wake of list) wake();
  }

  #sweepInBackground(): void {
    if (this.#sweeping !== null || this.#state === "stopping") return;
    this.#track(this.#sweep());
  }

  /**
   * Looks after runs nobody else will: those whose process died (recorded as failed attempts,
   * so the retry policy applies), retries such a process left waiting, queue runs past their
   * deadline, and waiting runs with nothing in flight ahead of them.
   */
  #sweep(): Promise<void> {
    const sweep = (async () => {
      const now = this.#options.clock();
      for (const { taskId, runId } of await this.#store.overdueQueueRuns(now)) {
        const outcome = await this.#command(taskId, (at) => ({
          type: "FinishRun",
          runId,
          attempt: null,
          outcome: {
            ok: false,
            error: "No worker completed the run before its deadline (timeout_s)",
            timedOut: true,
          },
          now: at,
          env: this.#env(!this.#actors.hasChildren(taskId), true),
        }));
        if (outcome !== null) this.#handle(taskId, outcome, false);
      }
      const open = await this.#store.loadTasks(await this.#store.tasksWithOpenRuns());
      // Read after the runs: a process that started one of them was alive when it did, and so
      // is in this list unless it died since.
      const live = await this.#store.liveInstances();
      this.#instances = Math.max(1, live.size);
      if (this.#instances > 1) this.#actors.exclusive = false;
      for (const state of open) {
        if (state.deletedAt !== null) continue;
        await this.#recover(state, live);
      }
    })().finally(() => this.#sweeping = null);
    this.#sweeping = sweep;
    return sweep;
  }

  async #recover(state: TaskState, live: Set<number>): Promise<void> {
    // Runs this process could not execute (an in-process task without its handler here) are
    // recorded, but not started: a process with the handler starts them on its own sweep.
    const here = state.executor.type !== "inprocess" ||
      this.#options.handlers?.has(state.id) === true;
    const env = this.#env(!this.#actors.hasChildren(state.id), here);
    for (const run of state.activeRuns) {
      if (run.retryAt !== null) {
        // Whoever armed it may be gone (a queue run has no owner): a duplicate timer is
        // harmless, the version check lets one RetryRun through.
        this.#armRetry(state.id, run.runId, run.retryAt);
        continue;
      }
      const orphaned = run.owner !== null && run.owner !== this.#owner && !live.has(run.owner);
      // One of this process's runs that nothing executes (its outcome was lost) past its deadline.
      const lost = run.owner === this.#owner && !this.#executions.has(run.runId) &&
        this.#options.clock() > run.deadlineAt + LOST_RUN_GRACE_MS;
      if (!orphaned && !lost) continue;
      this.#options.logger.warn("Recording an abandoned run", {
        task_id: state.id,
        run_id: run.runId,
      });
      const outcome = await this.#command(state.id, (now) => ({
        type: "AbandonRun",
        runId: run.runId,
        attempt: run.attempt,
        reason: orphaned
          ? "abandoned: the process running it stopped before it finished"
          : "abandoned: nothing was executing it past its deadline",
        retry: true,
        now,
        env,
      }));
      if (outcome !== null) this.#handle(state.id, outcome, false);
    }
    if (here && state.activeRuns.length === 0 && state.waiting.length > 0) {
      const outcome = await this.#command(state.id, (now) => ({ type: "StartWaiting", now, env }));
      if (outcome !== null) this.#handle(state.id, outcome, false);
    }
  }

  /**
   * Counts the live processes. Alone, this process is the log's only writer once it has read
   * what the others appended before they stopped: reads may then come from memory. With others,
   * or when the store does not answer, reads go to the store.
   */
  #watch(): void {
    if (this.#watching !== null || this.#state === "stopping") return;
    this.#watching = (async () => {
      try {
        const live = await this.#store.liveInstances();
        this.#instances = Math.max(1, live.size);
        if (this.#instances > 1) {
          this.#actors.exclusive = false;
        } else if (!this.#actors.exclusive) {
          await this.#actors.catchUp();
          this.#actors.exclusive = this.#state !== "stopping";
        }
      } catch {
        this.#actors.exclusive = false;
      }
    })().finally(() => this.#watching = null);
  }

  /** Reads what other processes appended, while there are any (the wheel follows via #arm). */
  #follow(): void {
    if (this.#following !== null || this.#instances < 2 || this.#state === "stopping") return;
    const following = this.#actors.catchUp().finally(() => this.#following = null);
    this.#following = following;
    this.#track(following);
  }
}

function shuttingDown(): DomainError {
  return new DomainError(
    "conflict",
    "The scheduler is shutting down: no new runs start",
    "task_id",
  );
}

/** True when the event ends the run (for good: a failure with a retry does not). */
function endsRun(event: TaskEvent, runId: string): boolean {
  switch (event.type) {
    case "RunSucceeded":
    case "RunCancelled":
    case "RunSkipped":
      return event.data.runId === runId;
    case "RunFailed":
    case "RunTimedOut":
      return event.data.runId === runId && event.data.retryAt === null;
    default:
      return false;
  }
}
