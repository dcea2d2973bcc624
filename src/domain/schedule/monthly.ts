/**
 * `monthly`: days of the month 1–31 or `L` (the last day), then times ("1,15 09:00", "L 18:00").
 * A month that lacks a listed day skips it (31 fires in seven months a year).
 */
import type { DomainError } from "../errors.ts";
import { dayRule } from "./calendar.ts";
import { describeTimes, joinWords, ordinal, zoneLabel } from "./describe.ts";
import {
  type CompileContext,
  daysAndTimes,
  parseNumberList,
  parseTimes,
  type Recurrence,
  splitDaysAndTimes,
} from "./recurrence.ts";

/** A monthly expression read: days 1–31, whether `L` (the last day) is listed, seconds of day. */
export interface MonthlyParts {
  days: number[];
  last: boolean;
  times: number[];
}

/** Reads a monthly expression (the compiler and the calendar feed share it). */
export function parseMonthly(expression: string): MonthlyParts | DomainError {
  const parts = splitDaysAndTimes(expression, "1,15 09:00");
  if (!("days" in parts)) return parts;
  let last = false;
  const days = parseNumberList(parts.days, {
    what: "day of the month",
    min: 1,
    max: 31,
    extra: (item) => (item.toUpperCase() === "L" ? (last = true) : false),
  });
  if (!Array.isArray(days)) return days;
  const times = parseTimes(parts.times);
  if (!Array.isArray(times)) return times;
  return { days, last, times };
}

/** Compiles a monthly expression. */
export function compileMonthly(
  expression: string,
  context: CompileContext,
): Recurrence | DomainError {
  const parsed = parseMonthly(expression);
  if (!("days" in parsed)) return parsed;
  const { days, last, times } = parsed;
  const listed = Array.from({ length: 32 }, (_, day) => days.includes(day));
  const rule = dayRule(
    null,
    (facts) => listed[facts.day] || (last && facts.day === facts.monthLength),
  );
  const words = [...days.map((day) => `the ${ordinal(day)}`), ...(last ? ["the last day"] : [])];
  const description = `${describeTimes(times)} on ${joinWords(words)} of every month, ${
    zoneLabel(context.zone.id)
  }`;
  return daysAndTimes(rule, { times, context, description });
}
