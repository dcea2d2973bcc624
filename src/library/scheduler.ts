/**
 * Chronolog embedded in a program: the same store, actors, timer wheel and firing pipeline as the
 * service (main.ts composes them the same way), with the program's own async functions as the
 * `inprocess` executor. Every registration is a task in the log under a stable id, so a
 * restarted program re-attaches to its schedules and their history instead of duplicating them.
 */
import { z } from "zod";
import { DomainError, isDomainError } from "../domain/errors.ts";
import {
  describeSchedule,
  type DstPolicy,
  nextRuns,
  type ScheduleType,
} from "../domain/schedule/mod.ts";
import {
  type CatchupPolicy,
  compileSchedule,
  DEFAULT_RUN_SETTINGS,
  type JsonValue,
  type OverlapPolicy,
  type RunTrigger,
  type ScheduleFields,
  type TaskSettings,
  type TaskState,
} from "../domain/task.ts";
import { isStorableText, MAX_PAGE, NOT_STORABLE, TaskId, text } from "../http/wire.ts";
import { createLogger, describeError, type LogLevel } from "../log.ts";
import { TaskActors } from "../runtime/actors.ts";
import { type Handler, HandlerRegistry } from "../runtime/executors/inprocess.ts";
import { Scheduler as Runtime } from "../runtime/firing.ts";
import { TaskService } from "../runtime/tasks.ts";
import type { EventMetadata, EventStore, RunStatus } from "../store/event_store.ts";
import { openStore } from "../store/mod.ts";
import { type CronFieldsInput, cronFromFields } from "./cron.ts";

/** A job's status, for persistence layers and dashboards. */
export type JobStatus = "pending" | "running" | "completed" | "failed" | "paused" | "disabled";

/** Every job status, in the order a job usually meets them. */
export const JOB_STATUSES: readonly JobStatus[] = [
  "pending",
  "running",
  "completed",
  "failed",
  "paused",
  "disabled",
];

/** How failed runs are retried. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 1: no retry). */
  maxAttempts?: number;
  /** Wait before the second attempt, ms (default 1000). */
  backoffMs?: number;
  /** Each further wait is the previous times this (default 2). */
  backoffFactor?: number;
  /** The longest wait, ms (default 300000). */
  maxBackoffMs?: number;
}

/** Run settings every job starts from (each registration may override them). */
export interface JobDefaults {
  /** A run due while the previous one still runs: skip it (default), allow, queue or cancel the previous. */
  overlap?: OverlapPolicy;
  /** Occurrences missed while the program was down: run the latest (default), none or all. */
  catchup?: CatchupPolicy;
  /** How far back catch-up looks, seconds (default 86400). */
  catchupWindowS?: number;
  /** A random delay of up to this many ms before each run (default 0). */
  jitterMs?: number;
  /** How failed runs are retried (default: not at all). */
  retry?: RetryOptions;
  /** A run longer than this is aborted (its signal fires) and fails, seconds (default 3600). */
  timeoutS?: number;
}

/** createScheduler's options. */
export interface CreateSchedulerOptions {
  /** A PostgreSQL URL; without it the embedded PGlite store in `dataDir` is used. */
  databaseUrl?: string | null;
  /** Where PGlite keeps its files (default "./data"); null keeps the log in memory only. */
  dataDir?: string | null;
  /** The zone schedules are read in unless a registration names one (default "UTC"). */
  timezone?: string;
  /** Runs executing at once (default 10). */
  maxConcurrent?: number;
  /** Run settings every job starts from. */
  defaults?: JobDefaults;
  /** What the scheduler logs to stderr (default "warn"). */
  logLevel?: LogLevel;
}

/** A registration's options. */
export interface JobOptions extends JobDefaults {
  /**
   * The job's stable id (letters, digits and . _ : @ -); default: derived from `name`, else the
   * handler function's name. A registration with an id already in the log re-attaches to it.
   */
  id?: string;
  /** A readable name (default: the id). */
  name?: string;
  /** The zone the schedule is read in (default: the scheduler's). */
  timezone?: string;
  /** Passed to every run (JSON). */
  inputs?: JsonValue;
  /** No run before this instant. */
  startAt?: Date | string | number;
  /** No run after this instant. */
  endAt?: Date | string | number;
  /** The schedule ends after this many runs. */
  maxRuns?: number;
  /** What a local time skipped or repeated by a DST change does (see the README). */
  dstPolicy?: Partial<DstPolicy>;
  /** Register it paused (only when the job is new; a re-attached job keeps its state). */
  paused?: boolean;
  /**
   * When the log already holds this id with another schedule: replace it (the history stays).
   * Without it such a registration throws a `conflict` DomainError. (Other settings — inputs,
   * overlap, retry… — are brought up to date on every registration.)
   */
  replaceExisting?: boolean;
}

/** An interval: the sum of the parts given, a whole number of seconds, at least one. */
export interface Every {
  /** Seconds. */
  seconds?: number;
  /** Minutes (60 s). */
  minutes?: number;
  /** Hours (3,600 s: real time, whatever the clocks do). */
  hours?: number;
  /** Days (86,400 s: real time; for "every day at 09:00" use daily()). */
  days?: number;
}

/** A job's schedule, as registered. */
export interface JobSchedule {
  /** once (at), interval, cron, daily, weekly, monthly or rrule. */
  type: ScheduleType;
  /** The schedule's expression ("0 2 * * *", "3600", "1-5 09:00"…). */
  expression: string;
  /** The IANA zone it is read in. */
  timezone: string;
  /** The schedule in words ("at 02:00 every day, UTC"). */
  description: string;
}

/** A job as getJobs() shows it. */
export interface Job {
  /** The stable id the job is registered under. */
  id: string;
  /** Its readable name. */
  name: string;
  /** When it runs. */
  schedule: JobSchedule;
  /** The next run, or null (paused, completed). */
  nextRunAt: Date | null;
  /** When the latest run started, or null. */
  lastRunAt: Date | null;
  /** Where the job stands (JOB_STATUSES). */
  status: JobStatus;
  /** Whether this process has the job's handler: without it the job does not fire here. */
  handlerRegistered: boolean;
  /** Runs so far (over the job's whole life, across restarts). */
  runCount: number;
  /** The latest run's result (its handler's return value). */
  lastResult: JsonValue;
  /** The latest failed run's error, or null. */
  lastError: string | null;
}

/** A run as runNow() reports it. */
export interface JobRun {
  /** The run's id. */
  runId: string;
  /** How it ended, or "started" when runNow did not wait for the end. */
  status: RunStatus | "started";
  /** The handler's return value (when it succeeded). */
  result: JsonValue;
  /** Why it failed, or null. */
  error: string | null;
}

/** One run of a job's history (getRuns). */
export interface JobRunRecord {
  /** The run's id. */
  runId: string;
  /** The occurrence it is for. */
  scheduledFor: Date;
  /** What started it: the schedule, catch-up after downtime, runNow (manual), a webhook. */
  trigger: RunTrigger;
  /** The attempt it is at (1, then 2… on retries). */
  attempt: number;
  /** Where it stands. */
  status: RunStatus;
  /** When it started, or null (still waiting). */
  startedAt: Date | null;
  /** When it ended, or null. */
  finishedAt: Date | null;
  /** How late it started after its occurrence, ms. */
  latenessMs: number | null;
  /** The handler's return value. */
  result: JsonValue;
  /** Why it failed, or null. */
  error: string | null;
}

const LIBRARY: EventMetadata = { actor: "library", requestId: null, causation: null };

const BASE_SETTINGS: Omit<TaskSettings, "name" | "inputs"> = {
  ...DEFAULT_RUN_SETTINGS,
  userId: null,
  parentId: null,
  executor: { type: "inprocess" },
};

/** Opens the log (PostgreSQL or PGlite) and returns a scheduler; call start() to fire. */
export async function createScheduler(
  options: CreateSchedulerOptions = {},
): Promise<ChronologScheduler> {
  const timezone = options.timezone ?? "UTC";
  checkZone(timezone, "timezone");
  const maxConcurrent = options.maxConcurrent ?? 10;
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new DomainError(
      "invalid_params",
      "maxConcurrent must be a positive integer",
      "maxConcurrent",
    );
  }
  const defaults = settingsFrom(BASE_SETTINGS, options.defaults ?? {}, "defaults");
  let store: EventStore;
  try {
    store = await openStore({
      databaseUrl: options.databaseUrl ?? null,
      dataDir: options.dataDir === undefined ? "./data" : options.dataDir,
    });
  } catch (error) {
    // The driver's message may quote the URL: say which store failed and why, not the secret.
    const which = options.databaseUrl ? "PostgreSQL (databaseUrl)" : "PGlite (dataDir)";
    throw new Error(`Chronolog cannot open its event log, ${which}: ${describeError(error)}`);
  }
  const actors = new TaskActors(store);
  await actors.load();
  return new ChronologScheduler({
    store,
    actors,
    timezone,
    maxConcurrent,
    defaults,
    logLevel: options.logLevel ?? "warn",
  });
}

/** Schedules the program's functions, durably; made by createScheduler. */
export class ChronologScheduler {
  readonly #store: EventStore;
  readonly #tasks: TaskService;
  readonly #actors: TaskActors;
  readonly #runtime: Runtime;
  readonly #handlers = new HandlerRegistry();
  readonly #timezone: string;
  readonly #defaults: Omit<TaskSettings, "name" | "inputs">;
  #state: "ready" | "running" | "closed" = "ready";
  #closing: Promise<void> | null = null;

  /** Use createScheduler. */
  constructor(parts: {
    store: EventStore;
    actors: TaskActors;
    timezone: string;
    maxConcurrent: number;
    defaults: Omit<TaskSettings, "name" | "inputs">;
    logLevel: LogLevel;
  }) {
    this.#store = parts.store;
    this.#actors = parts.actors;
    this.#tasks = new TaskService(parts.store, parts.actors);
    this.#timezone = parts.timezone;
    this.#defaults = parts.defaults;
    this.#runtime = new Runtime(parts.store, parts.actors, {
      logger: createLogger(parts.logLevel),
      maxConcurrent: parts.maxConcurrent,
      signingSecret: null,
      allowCommand: false,
      handlers: this.#handlers,
    });
  }

  /** Whether start() has run and shutdown() has not. */
  get running(): boolean {
    return this.#state === "running";
  }

  /** Starts firing: due jobs run, and jobs missed while the program was down meet their catch-up. */
  async start(): Promise<void> {
    this.#open();
    if (this.#state === "running") return;
    this.#state = "running";
    await this.#runtime.start();
  }

  /**
   * Stops firing and closes the log. With `wait` (default true) runs in flight may finish for up
   * to `timeoutS` seconds (default 30); the rest are aborted (their signal fires) and recorded
   * as cancelled. Safe to call twice.
   */
  shutdown(options: { wait?: boolean; timeoutS?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const wasRunning = this.#state === "running";
      this.#state = "closed";
      if (wasRunning) {
        await this.#runtime.stop(options.wait === false ? 0 : (options.timeoutS ?? 30) * 1000);
      }
      await this.#store.close();
    })();
    return this.#closing;
  }

  /** Runs `handler` every interval (real time: a DST change does not bend it). */
  async interval(every: Every, handler: Handler, options: JobOptions = {}): Promise<Job> {
    const seconds = unwrap(intervalSeconds(every));
    return await this.#register("interval", String(seconds), handler, options);
  }

  /** Runs `handler` on a cron schedule: "0 2 * * *" (6 fields: seconds first), or `{ hour: 2 }`. */
  async cron(
    expression: string | CronFieldsInput,
    handler: Handler,
    options: JobOptions = {},
  ): Promise<Job> {
    const text = typeof expression === "string" ? expression : unwrap(cronFromFields(expression));
    return await this.#register("cron", text, handler, options);
  }

  /** Runs `handler` once at an instant (a Date, epoch ms, or ISO text; local text is read in the zone). */
  async at(
    instant: Date | number | string,
    handler: Handler,
    options: JobOptions = {},
  ): Promise<Job> {
    return await this.#register("once", unwrap(onceText(instant)), handler, options);
  }

  /** Runs `handler` every day at the given local times ("09:00" or ["09:00", "17:30"]). */
  async daily(
    times: string | readonly string[],
    handler: Handler,
    options: JobOptions = {},
  ): Promise<Job> {
    return await this.#register("daily", listText(times, "times"), handler, options);
  }

  /** Runs `handler` on weekdays at times: "1-5 09:00" (1 = Monday, 7 = Sunday), or the parts. */
  async weekly(
    spec: string | { days: readonly (number | string)[]; times: string | readonly string[] },
    handler: Handler,
    options: JobOptions = {},
  ): Promise<Job> {
    return await this.#register("weekly", daysAndTimes(spec), handler, options);
  }

  /** Runs `handler` on days of the month at times: "1,15,L 09:00", or the parts (L: last day). */
  async monthly(
    spec: string | { days: readonly (number | "L")[]; times: string | readonly string[] },
    handler: Handler,
    options: JobOptions = {},
  ): Promise<Job> {
    return await this.#register("monthly", daysAndTimes(spec), handler, options);
  }

  /** Runs `handler` on an RFC 5545 recurrence rule ("RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"). */
  async rrule(rule: string, handler: Handler, options: JobOptions = {}): Promise<Job> {
    if (typeof rule !== "string") {
      throw new DomainError("invalid_schedule", "A recurrence rule is a string", "rule");
    }
    return await this.#register("rrule", rule, handler, options);
  }

  /** APScheduler's name for cron(). */
  addCronJob(
    expression: string | CronFieldsInput,
    handler: Handler,
    options: JobOptions = {},
  ): Promise<Job> {
    return this.cron(expression, handler, options);
  }

  /** APScheduler's name for interval(). */
  addIntervalJob(every: Every, handler: Handler, options: JobOptions = {}): Promise<Job> {
    return this.interval(every, handler, options);
  }

  /** Stops a job's schedule until resumeJob (kept in the log: it stays paused across restarts). */
  async pauseJob(id: string): Promise<Job> {
    return await this.#setEnabled(id, false);
  }

  /** Starts a paused job's schedule again from now. */
  async resumeJob(id: string): Promise<Job> {
    return await this.#setEnabled(id, true);
  }

  /**
   * Deletes a job: it stops firing here and everywhere. Its log stays for audit, and with it the
   * id: registering the same id again is a `conflict`.
   */
  async removeJob(id: string): Promise<void> {
    this.#open();
    await this.#job(id);
    unwrap(await this.#tasks.delete(id, LIBRARY));
    this.#handlers.delete(id);
  }

  /** One job, or a `not_found` DomainError. */
  async getJob(id: string): Promise<Job> {
    this.#open();
    return this.#view(await this.#job(id));
  }

  /** Every in-process job in the log (also those whose handler this process lacks). */
  async getJobs(): Promise<Job[]> {
    this.#open();
    const jobs: Job[] = [];
    // Jobs another copy of the program registered since this one last read the log.
    await this.#actors.catchUp();
    for (const summary of this.#actors.summaries()) {
      if (summary.executorType !== "inprocess") continue;
      const state = await this.#tasks.get(summary.id);
      // An unscheduled in-process task (a tree's step made through the API) is not a job.
      if (!isDomainError(state) && state.schedule !== null) jobs.push(this.#view(state));
    }
    return jobs.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /**
   * Runs a job now, outside its schedule (its overlap policy applies). With `waitMs` waits up to
   * that long for the run to end. Needs start() and the job's handler in this process.
   */
  async runNow(id: string, options: { waitMs?: number } = {}): Promise<JobRun> {
    this.#open();
    await this.#job(id);
    if (this.#state !== "running") {
      throw new DomainError("conflict", "Call start() before runNow()", "id");
    }
    const waitMs = options?.waitMs ?? 0;
    if (typeof waitMs !== "number" || !(waitMs >= 0 && waitMs <= 2 ** 31 - 1)) {
      throw new DomainError("invalid_params", "Must be a number of milliseconds ≥ 0", "waitMs");
    }
    const triggered = unwrap(
      await this.#runtime.trigger(id, {
        trigger: "manual",
        waitMs,
        metadata: LIBRARY,
      }),
    );
    const run = triggered.run;
    return {
      runId: triggered.runId,
      status: run === null ? "started" : run.status,
      result: run?.result ?? null,
      error: run?.error ?? null,
    };
  }

  /** The job's runs, newest first (at most `limit`, default 50). */
  async getRuns(id: string, options: { limit?: number } = {}): Promise<JobRunRecord[]> {
    this.#open();
    await this.#job(id);
    const limit = options?.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new DomainError("invalid_params", `Must be an integer from 1 to ${MAX_PAGE}`, "limit");
    }
    const runs = unwrap(await this.#tasks.runs(id, { before: null, limit }));
    const date = (at: number | null) => at === null ? null : new Date(at);
    return runs.map((run) => ({
      runId: run.runId,
      scheduledFor: new Date(run.scheduledFor),
      trigger: run.trigger,
      attempt: run.attempt,
      status: run.status,
      startedAt: date(run.startedAt),
      finishedAt: date(run.finishedAt),
      latenessMs: run.latenessMs,
      result: run.result,
      error: run.error,
    }));
  }

  async #register(
    type: ScheduleType,
    expression: string,
    handler: Handler,
    given: JobOptions | null,
  ): Promise<Job> {
    this.#open();
    if (typeof handler !== "function") {
      throw new DomainError("invalid_params", "The handler must be a function", "handler");
    }
    if (given !== null && (typeof given !== "object" || Array.isArray(given))) {
      throw new DomainError("invalid_params", "The options are an object", "options");
    }
    const options = given ?? {};
    const name = nameOption(options.name);
    const id = jobId(options, handler);
    if (this.#handlers.has(id) && options.replaceExisting !== true) {
      throw new DomainError(
        "conflict",
        `A job "${id}" is already registered in this process (pass replaceExisting: true to replace it)`,
        "id",
      );
    }
    const timezone = options.timezone ?? this.#timezone;
    checkZone(timezone, "timezone");
    const schedule: ScheduleFields = {
      type,
      expression,
      timezone,
      enabled: options.paused !== true,
      startAt: instantOption(options.startAt, "startAt"),
      endAt: instantOption(options.endAt, "endAt"),
      maxRuns: countOption(options.maxRuns, "maxRuns"),
      dstPolicy: options.dstPolicy ?? null,
    };
    // The anchor an interval gets when it is created (the enable time) only matters for validation.
    const compiled = compileSchedule(schedule, Date.now());
    if (isDomainError(compiled)) {
      // The instant of at() is its own argument; the other forms are the schedule's expression.
      throw type === "once" && compiled.field === "schedule_expression"
        ? new DomainError(compiled.code, compiled.message, "at")
        : compiled;
    }
    const settings: TaskSettings = {
      ...settingsFrom(this.#defaults, options, "options"),
      name: name ?? id,
      inputs: jsonOption(options.inputs ?? null, "inputs"),
    };
    // A one-shot in the past never runs: refused when it would be written (a new job, or a
    // replaced schedule), while re-attaching to the same one after it fired is fine.
    const inThePast = type === "once" && nextRuns(compiled, Date.now(), { count: 1 }).length === 0;
    const replace = options.replaceExisting === true;
    let existing = await this.#tasks.get(id);
    if (isDomainError(existing)) {
      if (inThePast) throw pastInstant(expression);
      const created = await this.#tasks.create({ id, settings, schedule }, LIBRARY);
      if (!isDomainError(created)) {
        this.#handlers.set(id, handler);
        return this.#view(created);
      }
      // Another copy of the program created it meanwhile: re-attach to theirs. A conflict with
      // no live job behind it is a removed job's id.
      existing = await this.#tasks.get(id);
      if (created.code !== "conflict") throw created;
      if (isDomainError(existing)) {
        throw new DomainError(
          "conflict",
          `Job "${id}" was removed, and a removed job's id stays in the log for audit: ` +
            "register it under another id",
          "id",
        );
      }
    }
    const state = await this.#reattach(existing, settings, schedule, { replace, inThePast });
    this.#handlers.set(id, handler);
    return this.#view(state);
  }

  /** The job already in the log: the same → as it is; different → replaced, or a conflict. */
  async #reattach(
    existing: TaskState,
    settings: TaskSettings,
    schedule: ScheduleFields,
    { replace, inThePast }: { replace: boolean; inThePast: boolean },
  ): Promise<TaskState> {
    if (existing.executor.type !== "inprocess") {
      throw new DomainError(
        "conflict",
        `Task "${existing.id}" exists and is not an in-process job (executor ${existing.executor.type})`,
        "id",
      );
    }
    const stored = existing.schedule;
    // Whether it is paused is the job's state (pauseJob), not part of the registration.
    const sameSchedule = stored !== null && sameFields(
      { ...stored, enabled: true },
      { ...schedule, enabled: true },
    );
    const changed = (Object.keys(settings) as (keyof TaskSettings)[]).filter((key) =>
      stableJson(existing[key]) !== stableJson(settings[key])
    );
    if (sameSchedule && changed.length === 0) return existing;
    if (!sameSchedule && !replace) {
      const was = stored === null
        ? "none"
        : `${stored.type} ${JSON.stringify(stored.expression)} in ${stored.timezone}`;
      throw new DomainError(
        "conflict",
        `Job "${existing.id}" exists with another schedule (${was}); pass replaceExisting: true ` +
          "to replace it",
        "id",
      );
    }
    if (!sameSchedule && inThePast) throw pastInstant(schedule.expression);
    const update: Partial<TaskSettings> = {};
    for (const key of changed) Object.assign(update, { [key]: settings[key] });
    return unwrap(
      await this.#tasks.update(existing.id, {
        settings: update,
        schedule: sameSchedule ? null : { ...schedule, enabled: stored?.enabled ?? true },
        expectedVersion: null,
      }, LIBRARY),
    );
  }

  async #setEnabled(id: string, enabled: boolean): Promise<Job> {
    this.#open();
    const state = await this.#job(id);
    if (state.schedule === null || state.schedule.enabled === enabled) return this.#view(state);
    return this.#view(unwrap(
      await this.#tasks.update(id, {
        settings: {},
        schedule: { enabled },
        expectedVersion: null,
      }, LIBRARY),
    ));
  }

  async #job(id: string): Promise<TaskState> {
    if (typeof id !== "string" || id === "") {
      throw new DomainError("invalid_params", "A job id is a non-empty string", "id");
    }
    const state = await this.#tasks.get(id);
    if (isDomainError(state) || state.executor.type !== "inprocess" || state.schedule === null) {
      throw new DomainError("not_found", `No job "${id}"`, "id");
    }
    return state;
  }

  /** A scheduled in-process task as a job (#job and getJobs pass only those). */
  #view(state: TaskState): Job {
    const schedule = state.schedule!;
    const compiled = compileSchedule(schedule, state.anchor);
    const registered = this.#handlers.has(state.id);
    return {
      id: state.id,
      name: state.name,
      schedule: {
        type: schedule.type,
        expression: schedule.expression,
        timezone: schedule.timezone,
        description: isDomainError(compiled) ? compiled.message : describeSchedule(compiled),
      },
      nextRunAt: state.nextRunAt === null ? null : new Date(state.nextRunAt),
      lastRunAt: state.lastRunAt === null ? null : new Date(state.lastRunAt),
      status: jobStatus(state, registered),
      handlerRegistered: registered,
      runCount: state.runCount,
      lastResult: state.result,
      lastError: state.error,
    };
  }

  #open(): void {
    if (this.#state === "closed") {
      throw new DomainError("conflict", "The scheduler is shut down");
    }
  }
}

/** A job's status: what a dashboard shows first, the handler's absence above all. */
function jobStatus(state: TaskState, registered: boolean): JobStatus {
  if (!registered) return "disabled";
  if (state.activeRuns.length > 0) return "running";
  const schedule = state.schedule;
  // A schedule stops by itself when it has no occurrence left (once, max_runs, end): that is
  // completion; stopped with occurrences left, it was paused.
  if (schedule !== null && !schedule.enabled && !exhausted(state, schedule)) return "paused";
  if (state.status === "failed") return "failed";
  if (state.nextRunAt === null) return "completed";
  return "pending";
}

/** Whether a schedule has no occurrence left after the task's last one. */
function exhausted(state: TaskState, fields: ScheduleFields): boolean {
  if (fields.maxRuns !== null && state.runCount >= fields.maxRuns) return true;
  const compiled = compileSchedule(fields, state.anchor ?? state.createdAt);
  if (isDomainError(compiled)) return false;
  const from = state.lastScheduledFor ?? state.createdAt;
  return nextRuns(compiled, from, { count: 1 }).length === 0;
}

function pastInstant(expression: string): DomainError {
  return new DomainError("invalid_params", `${expression} is in the past`, "at");
}

/** A JSON value given as an option, or an `invalid_params` error naming it. */
function jsonOption(value: unknown, field: string): JsonValue {
  const problem = jsonProblem(value, 0);
  if (problem !== null) throw new DomainError("invalid_params", `Must be JSON: ${problem}`, field);
  return value as JsonValue;
}

function jsonProblem(value: unknown, depth: number): string | null {
  if (depth > 64) return "nested more than 64 levels deep";
  if (typeof value === "string") return isStorableText(value) ? null : NOT_STORABLE;
  if (value === null || typeof value === "boolean") return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : `${value} is not a number`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableText(key)) return `key ${JSON.stringify(key)}: ${NOT_STORABLE}`;
      const problem = jsonProblem(item, depth + 1);
      if (problem !== null) return problem;
    }
    return null;
  }
  return `a ${typeof value === "object" ? value.constructor?.name ?? "object" : typeof value}`;
}

function unwrap<T>(value: T | DomainError): T {
  if (isDomainError(value)) throw value;
  return value;
}

/**
 * The job's id: given, else the name's slug, else the handler function's name (which a bundler
 * may rename: give ids in programs that are minified).
 */
function jobId(options: JobOptions, handler: Handler): string {
  const [derived, field] = options.id !== undefined
    ? [options.id, "id"]
    : options.name !== undefined
    ? [slug(options.name), "name"]
    : [/^[A-Za-z0-9][\w.:@-]*$/.test(handler.name) ? handler.name : undefined, "id"];
  if (derived === undefined) {
    throw new DomainError(
      "invalid_params",
      "Give the job an id or a name (an anonymous or bound function has no stable id to " +
        "re-attach to)",
      "id",
    );
  }
  const checked = TaskId.safeParse(derived);
  if (!checked.success) {
    throw new DomainError(
      "invalid_params",
      `"${String(derived).slice(0, 64)}" is not a job id: ${checked.error.issues[0].message}`,
      field,
    );
  }
  return derived;
}

/** A name as an id: lower case, accents dropped ("été" → "ete"), other runs as one "-". */
function slug(name: string): string {
  return String(name).normalize("NFKD").replace(/\p{M}+/gu, "").trim().toLowerCase()
    .replace(/[^a-z0-9._:@]+/g, "-").replace(/^-+|-+$/g, "");
}

function intervalSeconds(every: Every): number | DomainError {
  const units: [keyof Every, number][] = [
    ["seconds", 1],
    ["minutes", 60],
    ["hours", 3600],
    ["days", 86_400],
  ];
  let total = 0;
  for (const [unit, size] of units) {
    const value = every?.[unit];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      return new DomainError("invalid_schedule", `${unit} must be a number ≥ 0`, `every.${unit}`);
    }
    total += value * size;
  }
  if (!Number.isInteger(total) || total < 1) {
    return new DomainError(
      "invalid_schedule",
      "An interval is a whole number of seconds, at least 1",
      "every",
    );
  }
  return total;
}

function onceText(instant: Date | number | string): string | DomainError {
  if (instant instanceof Date || typeof instant === "number") {
    const ms = instant instanceof Date ? instant.getTime() : instant;
    if (!Number.isFinite(ms)) {
      return new DomainError("invalid_schedule", "Not a valid instant", "at");
    }
    return new Date(ms).toISOString();
  }
  if (typeof instant === "string") return instant;
  return new DomainError("invalid_schedule", "Give a Date, epoch ms or ISO 8601 text", "at");
}

function listText(list: string | readonly (string | number)[], field: string): string {
  if (typeof list === "string") return list;
  if (Array.isArray(list)) return list.map(String).join(",");
  throw new DomainError("invalid_schedule", "Give text or a list", field);
}

/** A weekly or monthly expression from its parts ("1,3 09:00"), or as given. */
function daysAndTimes(
  spec: string | { days: readonly (number | string)[]; times: string | readonly string[] },
): string {
  if (typeof spec === "string") return spec;
  if (typeof spec !== "object" || spec === null) {
    throw new DomainError(
      "invalid_schedule",
      'Give text ("1-5 09:00") or { days, times }',
      "spec",
    );
  }
  return `${listText(spec.days, "spec.days")} ${listText(spec.times, "spec.times")}`;
}

const JobName = text(256).pipe(z.string().trim().min(1));

/** A job's name as the service takes it: text of 1–256 characters the database can store. */
function nameOption(name: unknown): string | undefined {
  if (name === undefined) return undefined;
  const checked = JobName.safeParse(name);
  if (!checked.success) {
    throw new DomainError("invalid_params", checked.error.issues[0].message, "name");
  }
  return checked.data;
}

function instantOption(value: Date | string | number | undefined, field: string): number | null {
  if (value === undefined) return null;
  const ms = value instanceof Date
    ? value.getTime()
    : typeof value === "number"
    ? value
    : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new DomainError(
      "invalid_params",
      "Not a valid instant (Date, epoch ms or ISO 8601)",
      field,
    );
  }
  return ms;
}

function countOption(value: number | undefined, field: string): number | null {
  if (value === undefined) return null;
  if (!Number.isInteger(value) || value < 1) {
    throw new DomainError("invalid_params", "Must be a positive integer", field);
  }
  return value;
}

function checkZone(zone: unknown, field: string): void {
  try {
    if (typeof zone !== "string") throw new TypeError();
    new Temporal.ZonedDateTime(0n, zone);
  } catch {
    throw new DomainError("invalid_params", `Unknown time zone ${JSON.stringify(zone)}`, field);
  }
}

const OVERLAP: readonly OverlapPolicy[] = ["skip", "allow", "queue", "cancel_previous"];
const CATCHUP: readonly CatchupPolicy[] = ["latest", "none", "all"];

/** Run settings from defaults and options, each checked (the field says which). */
function settingsFrom(
  base: Omit<TaskSettings, "name" | "inputs">,
  options: JobDefaults,
  prefix: string,
): Omit<TaskSettings, "name" | "inputs"> {
  const integer = (value: number | undefined, fallback: number, field: string, min: number) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min) {
      throw new DomainError("invalid_params", `Must be an integer ≥ ${min}`, `${prefix}.${field}`);
    }
    return value;
  };
  if (options.overlap !== undefined && !OVERLAP.includes(options.overlap)) {
    throw new DomainError(
      "invalid_params",
      `Expected one of ${OVERLAP.join(", ")}`,
      `${prefix}.overlap`,
    );
  }
  if (options.catchup !== undefined && !CATCHUP.includes(options.catchup)) {
    throw new DomainError(
      "invalid_params",
      `Expected one of ${CATCHUP.join(", ")}`,
      `${prefix}.catchup`,
    );
  }
  const retry = options.retry ?? {};
  const factor = retry.backoffFactor ?? base.retry.backoffFactor;
  if (typeof factor !== "number" || !(factor >= 1 && factor <= 10)) {
    throw new DomainError(
      "invalid_params",
      "Must be from 1 to 10",
      `${prefix}.retry.backoffFactor`,
    );
  }
  return {
    ...base,
    overlapPolicy: options.overlap ?? base.overlapPolicy,
    catchupPolicy: options.catchup ?? base.catchupPolicy,
    catchupWindowS: integer(options.catchupWindowS, base.catchupWindowS, "catchupWindowS", 0),
    jitterMs: integer(options.jitterMs, base.jitterMs, "jitterMs", 0),
    timeoutS: integer(options.timeoutS, base.timeoutS, "timeoutS", 1),
    retry: {
      maxAttempts: integer(retry.maxAttempts, base.retry.maxAttempts, "retry.maxAttempts", 1),
      backoffMs: integer(retry.backoffMs, base.retry.backoffMs, "retry.backoffMs", 0),
      backoffFactor: factor,
      maxBackoffMs: integer(retry.maxBackoffMs, base.retry.maxBackoffMs, "retry.maxBackoffMs", 0),
    },
  };
}

/** JSON with object keys sorted: equal values give equal text. */
function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_, inner) =>
      inner !== null && typeof inner === "object" && !Array.isArray(inner)
        ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a < b ? -1 : 1))
        : inner,
  );
}

function sameFields(a: ScheduleFields, b: ScheduleFields): boolean {
  return a.type === b.type && a.expression === b.expression && a.timezone === b.timezone &&
    a.enabled === b.enabled && a.startAt === b.startAt && a.endAt === b.endAt &&
    a.maxRuns === b.maxRuns && JSON.stringify(a.dstPolicy) === JSON.stringify(b.dstPolicy);
}
