/**
 * The schedule engine: parses the seven schedule types of SPEC §1 and computes the instants they
 * fire, with the daylight-saving rules and bounds of the SPEC. Pure: time is a parameter.
 */
import { type DomainError, invalidSchedule, isDomainError } from "../errors.ts";
import { compileCron } from "./cron.ts";
import { compileDaily } from "./daily.ts";
import { compileInterval } from "./interval.ts";
import { compileMonthly } from "./monthly.ts";
import { compileOnce } from "./once.ts";
import type { CompileContext, Recurrence } from "./recurrence.ts";
import { compileRrule } from "./rrule.ts";
import {
  type DstPolicy,
  type Occurrence,
  SCHEDULE_TYPES,
  type ScheduleSpec,
  type ScheduleType,
} from "./types.ts";
import { compileWeekly } from "./weekly.ts";
import { zoneRules } from "./zone.ts";

export * from "./types.ts";
export { parseCron } from "./cron.ts";
export { parseIntervalSeconds } from "./interval.ts";

/** The longest expression accepted (an rrule with many EXDATEs is the long case). */
export const MAX_EXPRESSION_LENGTH = 16_384;
/** Instants Chronolog accepts: 1970-01-01 up to the end of 9999. */
export const MIN_INSTANT = 0;
export const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const COMPILERS: Record<
  ScheduleType,
  (expression: string, context: CompileContext) => Recurrence | DomainError
> = {
  once: compileOnce,
  interval: compileInterval,
  cron: compileCron,
  daily: compileDaily,
  weekly: compileWeekly,
  monthly: compileMonthly,
  rrule: compileRrule,
};

/** A parsed, validated schedule, ready to compute instants. */
export interface Schedule {
  /** Which of the seven schedule types. */
  readonly type: ScheduleType;
  /** The expression as given. */
  readonly expression: string;
  /** The canonical IANA zone name. */
  readonly timezone: string;
  /** The user's override as given (the type's default applies to what it leaves out). */
  readonly dstPolicy: Partial<DstPolicy>;
  /** No run before this instant (epoch ms). */
  readonly startAt: number | null;
  /** No run after this instant (epoch ms). */
  readonly endAt: number | null;
  /** The schedule ends after this many runs. */
  readonly maxRuns: number | null;
  /** A human sentence, e.g. "at 09:00 on Monday–Friday, New York time". */
  readonly description: string;
  /** The first occurrence strictly after `after`, ignoring bounds. */
  readonly next: (after: number) => Occurrence | null;
}

/** Options of nextRuns. */
export interface NextRunsOptions {
  /** How many instants at most (default 10). */
  count?: number;
  /** Runs already counted against max_runs (default 0). */
  runsSoFar?: number;
}

/** Parses and validates a schedule; the error names the field at fault. */
export function parseSchedule(spec: ScheduleSpec): Schedule | DomainError {
  if (!(SCHEDULE_TYPES as readonly string[]).includes(spec.type)) {
    return invalidSchedule(
      "schedule_type",
      `unknown schedule type "${String(spec.type).slice(0, 40)}" (expected one of ${
        SCHEDULE_TYPES.join(", ")
      })`,
    );
  }
  const expression = spec.expression;
  if (typeof expression !== "string" || expression.trim() === "") {
    return invalidSchedule("schedule_expression", "expression is empty");
  }
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    return invalidSchedule(
      "schedule_expression",
      `expression is too long (${expression.length} characters, at most ${MAX_EXPRESSION_LENGTH})`,
    );
  }
  const zoneName = spec.timezone ?? "UTC";
  const zone = typeof zoneName === "string" ? zoneRules(zoneName) : null;
  if (zone === null) {
    return invalidSchedule(
      "schedule_timezone",
      `"${String(zoneName).slice(0, 64)}" is not an IANA time zone name (e.g. Europe/Berlin)`,
    );
  }
  const bounds = checkBounds(spec);
  if (bounds !== null) return bounds;
  const startAt = spec.startAt ?? null;
  const anchor = startAt ?? spec.anchor ?? null;
  const dstPolicy = { ...spec.dstPolicy };
  const recurrence = COMPILERS[spec.type](expression, {
    zone,
    dstPolicy,
    anchor,
    anchorIsStart: startAt !== null,
  });
  if (isDomainError(recurrence)) return recurrence;
  return {
    type: spec.type,
    expression,
    timezone: zone.id,
    dstPolicy,
    startAt,
    endAt: spec.endAt ?? null,
    maxRuns: spec.maxRuns ?? null,
    description: recurrence.description,
    next: recurrence.next,
  };
}

function checkBounds(spec: ScheduleSpec): DomainError | null {
  const instants: [string, number | null | undefined][] = [
    ["schedule_start_at", spec.startAt],
    ["schedule_end_at", spec.endAt],
  ];
  for (const [field, value] of instants) {
    if (
      value != null && !(Number.isInteger(value) && value >= MIN_INSTANT && value <= MAX_INSTANT)
    ) {
      return invalidSchedule(field, "must be an instant between 1970 and 9999");
    }
  }
  if (spec.startAt != null && spec.endAt != null && spec.endAt < spec.startAt) {
    return invalidSchedule("schedule_end_at", "schedule_end_at is before schedule_start_at");
  }
  const maxRuns = spec.maxRuns;
  if (maxRuns != null && !(Number.isInteger(maxRuns) && maxRuns >= 1)) {
    return invalidSchedule("max_runs", "max_runs must be a whole number of at least 1");
  }
  for (
    const [key, allowed] of [["gap", ["shift", "skip"]], ["repeat", ["first", "both", "last"]]]
  ) {
    const value = (spec.dstPolicy as Record<string, unknown> | null | undefined)?.[key as string];
    if (value !== undefined && !(allowed as string[]).includes(value as string)) {
      return invalidSchedule(
        `dst_policy.${key}`,
        `must be one of ${(allowed as string[]).join(", ")}`,
      );
    }
  }
  return null;
}

/** The next instants (epoch ms) strictly after `from`, within the schedule's bounds. */
export function nextRuns(schedule: Schedule, from: number, options?: NextRunsOptions): number[] {
  return nextOccurrences(schedule, from, options).map((occurrence) => occurrence.at);
}

/** Like nextRuns, with each instant's nominal local time and DST edge. */
export function nextOccurrences(
  schedule: Schedule,
  from: number,
  options?: NextRunsOptions,
): Occurrence[] {
  const remaining = schedule.maxRuns === null
    ? Infinity
    : schedule.maxRuns - (options?.runsSoFar ?? 0);
  const count = Math.min(options?.count ?? 10, remaining);
  const occurrences: Occurrence[] = [];
  let after = schedule.startAt === null ? from : Math.max(from, schedule.startAt - 1);
  const end = schedule.endAt ?? MAX_INSTANT;
  while (occurrences.length < count) {
    const occurrence = schedule.next(after);
    if (occurrence === null || occurrence.at > end) break;
    occurrences.push(occurrence);
    after = occurrence.at;
  }
  return occurrences;
}

/** A human sentence for the schedule, e.g. "at 09:00 on Monday–Friday, New York time". */
export function describeSchedule(schedule: Schedule): string {
  return schedule.description;
}
