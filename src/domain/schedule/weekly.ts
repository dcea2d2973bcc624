/** `weekly`: days 1 = Monday … 7 = Sunday, then times ("1,3,5 09:00", "1-5 09:00,17:00"). */
import type { DomainError } from "../errors.ts";
import { weekdayOfDays } from "./civil.ts";
import { describeRuns, describeTimes, WEEKDAY_NAMES, zoneLabel } from "./describe.ts";
import {
  type CompileContext,
  daysAndTimes,
  parseNumberList,
  parseTimes,
  type Recurrence,
  splitDaysAndTimes,
} from "./recurrence.ts";

/** Reads a weekly expression: ISO weekdays (1 = Monday … 7 = Sunday) and seconds of day. */
export function parseWeekly(
  expression: string,
): { days: number[]; times: number[] } | DomainError {
  const parts = splitDaysAndTimes(expression, "1,3,5 09:00");
  if (!("days" in parts)) return parts;
  const days = parseNumberList(parts.days, { what: "weekday", min: 1, max: 7 });
  if (!Array.isArray(days)) return days;
  const times = parseTimes(parts.times);
  if (!Array.isArray(times)) return times;
  return { days, times };
}

/** Compiles a weekly expression. */
export function compileWeekly(
  expression: string,
  context: CompileContext,
): Recurrence | DomainError {
  const parsed = parseWeekly(expression);
  if (!("days" in parsed)) return parsed;
  const { days, times } = parsed;
  // ISO weekdays (1 = Monday … 7 = Sunday) onto 0 = Sunday … 6 = Saturday.
  const matching = Array.from({ length: 7 }, (_, weekday) => days.includes(weekday || 7));
  const description = `${describeTimes(times)} on ${
    describeRuns(days, (day) => WEEKDAY_NAMES[day])
  }, ${zoneLabel(context.zone.id)}`;
  const rule = {
    nextDay(day: number, lastDay: number): number {
      for (let current = day; current <= lastDay && current < day + 7; current++) {
        if (matching[weekdayOfDays(current)]) return current;
      }
      return -1;
    },
  };
  return daysAndTimes(rule, { times, context, description });
}
