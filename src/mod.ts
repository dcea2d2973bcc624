/**
 * Chronolog as a library. For now: the schedule engine — parse and validate a schedule, list the
 * instants it fires, describe it in words.
 *
 * @example
 * ```ts
 * import { nextRuns, parseSchedule } from "@chronolog/chronolog";
 * const schedule = parseSchedule({ type: "cron", expression: "0 9 * * 1-5", timezone: "Europe/Berlin" });
 * if (!(schedule instanceof Error)) console.log(nextRuns(schedule, Date.now(), { count: 3 }));
 * ```
 */
export { DomainError, type DomainErrorCode, isDomainError } from "./domain/errors.ts";
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
