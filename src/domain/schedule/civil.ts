/**
 * Proleptic Gregorian calendar arithmetic on wall-clock milliseconds ("local ms": a local date and
 * time counted as if it were UTC). Temporal owns time zones; these few integer formulas
 * (H. Hinnant, "chrono-compatible low-level date algorithms") keep the hot path free of
 * allocation, and tests/domain/schedule/civil_test.ts proves them equal to Temporal.PlainDateTime.
 */

/** Milliseconds in a calendar day of the wall clock. */
export const DAY_MS = 86_400_000;

/** A calendar date. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** Days since 1970-01-01 of a calendar date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) +
    dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The calendar date of a day count since 1970-01-01. */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra -
    (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Day of week of a day count: 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOfDays(days: number): number {
  return ((days % 7) + 11) % 7;
}

/** True in a Gregorian leap year. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Number of days in a month. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Local ms of a wall-clock date and time. */
export function localMs(date: CivilDate, secondOfDay: number): number {
  return daysFromCivil(date.year, date.month, date.day) * DAY_MS + secondOfDay * 1000;
}

/** "2026-03-08T02:30:00", the ISO form of a wall-clock time (no zone). */
export function formatLocal(local: number): string {
  const days = Math.floor(local / DAY_MS);
  const { year, month, day } = civilFromDays(days);
  const second = Math.floor((local - days * DAY_MS) / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const yyyy = year >= 0 && year <= 9999 ? String(year).padStart(4, "0") : String(year);
  return `${yyyy}-${pad(month)}-${pad(day)}T${pad(Math.floor(second / 3600))}:${
    pad(Math.floor(second / 60) % 60)
  }:${pad(second % 60)}`;
}
