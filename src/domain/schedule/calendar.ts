/**
 * Wall-clock patterns built from a rule over days and a set of times of day: the shape shared by
 * daily, weekly, monthly and cron schedules.
 */
import { civilFromDays, DAY_MS, daysFromCivil, daysInMonth, weekdayOfDays } from "./civil.ts";
import { HORIZON_DAYS, type LocalPattern } from "./dst.ts";

/** Which calendar days a pattern fires on. */
export interface DayRule {
  /** The first matching day (days since 1970-01-01) ≥ `day` and ≤ `lastDay`, or -1. */
  nextDay(day: number, lastDay: number): number;
}

/** Which seconds of a day a pattern fires at. */
export interface TimeRule {
  /** The first matching second of the day ≥ `second`, or -1. */
  nextSecond(second: number): number;
}

/** A day and its calendar facts, as day rules need them. */
export interface DayFacts {
  year: number;
  month: number;
  day: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  monthLength: number;
}

/** A day rule from a month filter and a per-day predicate; skips whole unlisted months. */
export function dayRule(
  months: readonly boolean[] | null,
  matches: (facts: DayFacts) => boolean,
): DayRule {
  return {
    nextDay(day: number, lastDay: number): number {
      let date = civilFromDays(day);
      let current = day;
      while (current <= lastDay) {
        if (months !== null && !months[date.month]) {
          const nextMonth = date.month === 12
            ? { year: date.year + 1, month: 1 }
            : { year: date.year, month: date.month + 1 };
          current = daysFromCivil(nextMonth.year, nextMonth.month, 1);
          date = { ...nextMonth, day: 1 };
          continue;
        }
        const monthLength = daysInMonth(date.year, date.month);
        const facts = { ...date, weekday: weekdayOfDays(current), monthLength };
        if (matches(facts)) return current;
        current += 1;
        date = date.day < monthLength
          ? { year: date.year, month: date.month, day: date.day + 1 }
          : civilFromDays(current);
      }
      return -1;
    },
  };
}

/** A time rule from a sorted list of seconds of the day. */
export function timeList(seconds: readonly number[]): TimeRule {
  return {
    nextSecond(second: number): number {
      for (const candidate of seconds) if (candidate >= second) return candidate;
      return -1;
    },
  };
}

/** A wall-clock pattern: times of day on matching days. */
export function calendarPattern(days: DayRule, times: TimeRule): LocalPattern {
  return {
    nextLocal(local: number, limit: number): number {
      let day = Math.floor(local / DAY_MS);
      let second = Math.ceil((local - day * DAY_MS) / 1000);
      const lastDay = Math.min(
        Math.floor((limit - 1) / DAY_MS),
        day + HORIZON_DAYS,
      );
      while (day <= lastDay) {
        const matching = days.nextDay(day, lastDay);
        if (matching < 0) return -1;
        if (matching !== day) second = 0;
        day = matching;
        const found = second < 86_400 ? times.nextSecond(second) : -1;
        if (found >= 0) {
          const result = day * DAY_MS + found * 1000;
          return result < limit ? result : -1;
        }
        day += 1;
        second = 0;
      }
      return -1;
    },
  };
}

/** Parses "HH:MM" or "H:MM" (optionally ":SS") into a second of the day, or null. */
export function parseTimeOfDay(text: string): number | null {
  const match = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (match === null) return null;
  const [hour, minute, second] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return null;
  return hour * 3600 + minute * 60 + second;
}

/** "09:00" or "09:00:30", the wall-clock form of a second of the day. */
export function formatTimeOfDay(second: number): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const hhmm = `${pad(Math.floor(second / 3600))}:${pad(Math.floor(second / 60) % 60)}`;
  return second % 60 === 0 ? hhmm : `${hhmm}:${pad(second % 60)}`;
}
