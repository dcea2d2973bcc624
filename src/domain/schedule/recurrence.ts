/** What every schedule type compiles to, and the helpers the type parsers share. */
import { type DomainError, invalidSchedule } from "../errors.ts";
import { calendarPattern, type DayRule, parseTimeOfDay, timeList } from "./calendar.ts";
import { type LocalPattern, nextWallClock, WALL_CLOCK_POLICY } from "./dst.ts";
import type { DstPolicy, Occurrence } from "./types.ts";
import type { ZoneRules } from "./zone.ts";

/** A compiled schedule expression: its occurrences, without bounds, and its description. */
export interface Recurrence {
  /** The first occurrence strictly after instant `after`, or null when there is none. */
  next(after: number): Occurrence | null;
  /** A human sentence, e.g. "at 09:00 on Monday–Friday, New York time". */
  readonly description: string;
}

/** What a type parser needs besides the expression. */
export interface CompileContext {
  zone: ZoneRules;
  /** The user's dst_policy override, merged by the parser over its type's default. */
  dstPolicy: Partial<DstPolicy>;
  /** The interval anchor and rrule DTSTART default (ms), or null when unknown. */
  anchor: number | null;
  /** True when the anchor is schedule_start_at (itself a run), false when it is the enable time. */
  anchorIsStart: boolean;
}

const FIELD = "schedule_expression";

/** An invalid expression error. */
export function badExpression(message: string): DomainError {
  return invalidSchedule(FIELD, message);
}

/** Merges a user override over a type's default DST policy. */
export function withDefaults(defaults: DstPolicy, override: Partial<DstPolicy>): DstPolicy {
  return { gap: override.gap ?? defaults.gap, repeat: override.repeat ?? defaults.repeat };
}

/** A recurrence over a wall-clock pattern read in a zone under a DST policy. */
export function wallClockRecurrence(
  pattern: LocalPattern,
  options: { zone: ZoneRules; policy: DstPolicy; description: string },
): Recurrence {
  const { zone, policy, description } = options;
  return {
    next: (after) => nextWallClock(zone, pattern, { policy, after }),
    description,
  };
}

/** Every day. */
export const EVERY_DAY: DayRule = { nextDay: (day) => day };

/** Parses a comma list of times of day ("09:00,17:30") into sorted, distinct seconds. */
export function parseTimes(text: string): number[] | DomainError {
  const items = text.split(",").map((item) => item.trim());
  const seconds: number[] = [];
  for (const item of items) {
    const second = parseTimeOfDay(item);
    if (second === null) {
      return badExpression(
        item === ""
          ? "a time is missing in the list (expected HH:MM)"
          : `"${clip(item)}" is not a time of day (expected HH:MM, 00:00 to 23:59)`,
      );
    }
    seconds.push(second);
  }
  return [...new Set(seconds)].sort((a, b) => a - b);
}

/** Parses a comma list of whole numbers and ranges ("1,3,5", "1-5") within [min, max]. */
export function parseNumberList(
  text: string,
  options: { what: string; min: number; max: number; extra?: (item: string) => boolean },
): number[] | DomainError {
  const { what, min, max, extra } = options;
  const values = new Set<number>();
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (extra?.(item)) continue;
    const match = /^(\d{1,3})(?:-(\d{1,3}))?$/.exec(item);
    if (match === null) {
      return badExpression(
        item === "" ? `a ${what} is missing in the list` : `"${clip(item)}" is not a ${what}`,
      );
    }
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (const value of [first, last]) {
      if (value < min || value > max) {
        return badExpression(`${what} ${value} is out of range ${min}–${max}`);
      }
    }
    if (last < first) return badExpression(`${what} range ${first}-${last} is reversed`);
    for (let value = first; value <= last; value++) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

/** Splits "DAYS TIMES" into its two parts. */
export function splitDaysAndTimes(
  expression: string,
  example: string,
): { days: string; times: string } | DomainError {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 2) {
    return badExpression(`expected days then times, e.g. "${example}"`);
  }
  return { days: parts[0], times: parts[1] };
}

/** A wall-clock recurrence of days and times. */
export function daysAndTimes(
  days: DayRule,
  options: { times: readonly number[]; context: CompileContext; description: string },
): Recurrence {
  const { times, context, description } = options;
  return wallClockRecurrence(calendarPattern(days, timeList(times)), {
    zone: context.zone,
    policy: withDefaults(WALL_CLOCK_POLICY, context.dstPolicy),
    description,
  });
}

/** Shortens user text quoted in an error message. */
export function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
