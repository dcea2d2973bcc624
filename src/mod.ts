/**
 * Chronolog as a library: schedule the program's own async functions — durably, exactly once,
 * with Chronolog's time semantics — and the schedule engine itself (parse, validate, list the
 * instants a schedule fires, describe it in words).
 *
 * @example
 * ```ts
 * import { createScheduler } from "@chronolog/chronolog";
 *
 * const scheduler = await createScheduler({ dataDir: "./data", timezone: "Europe/Berlin" });
 * await scheduler.cron("0 2 * * *", async ({ scheduledFor, signal }) => {
 *   const rows = await pruneOldRows({ before: scheduledFor, signal });
 *   return { rows }; // the run's result, kept in the log
 * }, { id: "nightly-prune" });
 * await scheduler.start();
 * ```
 *
 * @module
 */
export { DomainError, type DomainErrorCode, isDomainError } from "./domain/errors.ts";
export type { CatchupPolicy, JsonValue, OverlapPolicy, RunTrigger } from "./domain/task.ts";
export { LOG_LEVELS, type LogLevel } from "./log.ts";
export {
  describeSchedule,
  type DstEdge,
  type DstPolicy,
  type GapPolicy,
  nextOccurrences,
  nextRuns,
  type NextRunsOptions,
  type Occurrence,
  parseSchedule,
  type RepeatPolicy,
  type Schedule,
  SCHEDULE_TYPES,
  type ScheduleSpec,
  type ScheduleType,
} from "./domain/schedule/mod.ts";
export type { Handler, HandlerContext } from "./runtime/executors/inprocess.ts";
export type { RunStatus } from "./store/event_store.ts";
export {
  ChronologScheduler,
  createScheduler,
  type CreateSchedulerOptions,
  type Every,
  type Job,
  JOB_STATUSES,
  type JobDefaults,
  type JobOptions,
  type JobRun,
  type JobRunRecord,
  type JobSchedule,
  type JobStatus,
  type RetryOptions,
} from "./library/scheduler.ts";
export {
  type CronFieldsInput,
  type CronFieldValue,
  cronFromFields,
  type CronValidation,
  parseCronExpression,
  type ParsedCron,
  validateCronExpression,
} from "./library/cron.ts";
export {
  type ScheduledServer,
  type SchedulerContext,
  schedulerMiddleware,
  serveWithScheduler,
  type ServeWithSchedulerOptions,
} from "./library/hono.ts";
