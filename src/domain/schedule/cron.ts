/**
 * `cron`: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; names,
 * ranges, steps, lists, `L`, `W`, `#`, `?` and the `@daily`-style macros; day-of-week 0 and 7 are
 * Sunday. When both day fields are restricted a day matching either fires (Vixie cron: a field
 * that starts with `*` or `?` counts as unrestricted, so `*\/2` in day-of-month ANDs with the
 * day of week, as in Vixie and cronie).
 *
 * Why not cron-parser's parser: 5.10.5 rejects `W` and `LW`, keeps one `#` per field, and its
 * errors do not name the field ("Constraint error, got value 61 expected range 0-59"). It remains
 * the test oracle for the grammar both accept (tests/domain/schedule/cron_test.ts).
 */
import type { DomainError } from "../errors.ts";
import {
  calendarPattern,
  type DayFacts,
  type DayRule,
  dayRule,
  type TimeRule,
} from "./calendar.ts";
import { daysFromCivil } from "./civil.ts";
import {
  describeRuns,
  joinWords,
  MONTH_NAMES,
  ordinal,
  WEEKDAY_NAMES,
  zoneLabel,
} from "./describe.ts";
import { HORIZON_DAYS, REAL_TIME_POLICY, WALL_CLOCK_POLICY } from "./dst.ts";
import {
  badExpression,
  clip,
  type CompileContext,
  type Recurrence,
  wallClockRecurrence,
  withDefaults,
} from "./recurrence.ts";

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = Object.fromEntries(
  ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].map(
    (name, i) => [name, i + 1],
  ),
);
const WEEKDAYS: Record<string, number> = Object.fromEntries(
  ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"].map((name, i) => [name, i]),
);

const SECOND: FieldSpec = { name: "second", min: 0, max: 59 };
const MINUTE: FieldSpec = { name: "minute", min: 0, max: 59 };
const HOUR: FieldSpec = { name: "hour", min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: "day-of-month", min: 1, max: 31 };
const MONTH: FieldSpec = { name: "month", min: 1, max: 12, names: MONTHS };
const DAY_OF_WEEK: FieldSpec = { name: "day-of-week", min: 0, max: 7, names: WEEKDAYS };

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A parsed cron expression. */
export interface CronFields {
  seconds: boolean[];
  minutes: boolean[];
  hours: boolean[];
  months: boolean[];
  /** Plain days of the month, 1–31. */
  days: boolean[];
  /** `L` (0) and `L-n` (n): days before the month's last. */
  daysBeforeLast: number[];
  /** `nW`: the weekday nearest to day n. */
  nearestWeekdays: number[];
  /** `LW`: the month's last weekday. */
  lastWeekday: boolean;
  /** Plain weekdays, 0 = Sunday … 6 = Saturday. */
  weekdays: boolean[];
  /** `d#k`: the k-th weekday d of the month. */
  nthWeekdays: [number, number][];
  /** `dL`: the last weekday d of the month. */
  lastWeekdays: boolean[];
  /** The day fields count as restricted (Vixie's rule), and whether the hour field is `*`. */
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
  hourIsStar: boolean;
}

/** Parses a cron expression; the error says which field is wrong and why. */
export function parseCron(expression: string): CronFields | DomainError {
  const text = expression.trim();
  const expanded = text.startsWith("@") ? MACROS[text.toLowerCase()] : text;
  if (expanded === undefined) {
    return badExpression(
      `unknown macro ${clip(text)} (expected one of ${Object.keys(MACROS).join(", ")})`,
    );
  }
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return badExpression(
      `expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${parts.length}`,
    );
  }
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = parts.length === 6
    ? parts
    : ["0", ...parts];
  const fields: CronFields = {
    seconds: [],
    minutes: [],
    hours: [],
    months: [],
    days: new Array(32).fill(false),
    daysBeforeLast: [],
    nearestWeekdays: [],
    lastWeekday: false,
    weekdays: [],
    nthWeekdays: [],
    lastWeekdays: new Array(7).fill(false),
    dayOfMonthRestricted: !/^[*?]/.test(dayOfMonth),
    dayOfWeekRestricted: !/^[*?]/.test(dayOfWeek),
    hourIsStar: hour === "*",
  };
  const simple: [string, FieldSpec, "seconds" | "minutes" | "hours" | "months"][] = [
    [second, SECOND, "seconds"],
    [minute, MINUTE, "minutes"],
    [hour, HOUR, "hours"],
    [month, MONTH, "months"],
  ];
  for (const [field, spec, key] of simple) {
    const values = parseField(field, { spec });
    if (!Array.isArray(values)) return values;
    fields[key] = values;
  }
  const days = parseField(dayOfMonth, {
    spec: DAY_OF_MONTH,
    special: (item) => dayOfMonthSpecial(item, fields),
  });
  if (!Array.isArray(days)) return days;
  fields.days = days;
  const weekdays = parseField(dayOfWeek, {
    spec: DAY_OF_WEEK,
    special: (item) => dayOfWeekSpecial(item, fields),
  });
  if (!Array.isArray(weekdays)) return weekdays;
  weekdays[0] ||= weekdays[7];
  fields.weekdays = weekdays.slice(0, 7);
  if (
    cronDays(fields).nextDay(daysFromCivil(2000, 1, 1), daysFromCivil(2000, 1, 1) + HORIZON_DAYS) <
      0
  ) {
    return badExpression("the expression never fires (no month has a matching day)");
  }
  return fields;
}

/** Compiles a cron expression. */
export function compileCron(expression: string, context: CompileContext): Recurrence | DomainError {
  const fields = parseCron(expression);
  if (!("hours" in fields)) return fields;
  // SPEC §1: hour `*` runs in real time (a repeated hour fires twice, a skipped one never).
  const policy = withDefaults(
    fields.hourIsStar ? REAL_TIME_POLICY : WALL_CLOCK_POLICY,
    context.dstPolicy,
  );
  return wallClockRecurrence(calendarPattern(cronDays(fields), cronTimes(fields)), {
    zone: context.zone,
    policy,
    description: `${describeCron(fields)}, ${zoneLabel(context.zone.id)}`,
  });
}

/** The day rule of a cron expression. */
function cronDays(fields: CronFields): DayRule {
  const anyDay = !fields.dayOfMonthRestricted || !fields.dayOfWeekRestricted;
  return dayRule(fields.months, (facts) => {
    const byMonth = matchesDayOfMonth(fields, facts);
    const byWeek = matchesDayOfWeek(fields, facts);
    return anyDay ? byMonth && byWeek : byMonth || byWeek;
  });
}

function matchesDayOfMonth(fields: CronFields, facts: DayFacts): boolean {
  const { day, monthLength, weekday } = facts;
  if (fields.days[day]) return true;
  for (const before of fields.daysBeforeLast) if (day === monthLength - before) return true;
  if (weekday === 0 || weekday === 6) return false;
  for (const target of fields.nearestWeekdays) {
    if (target <= monthLength && nearestWeekday(target, facts) === day) return true;
  }
  return fields.lastWeekday && nearestWeekday(monthLength, facts) === day;
}

/** The weekday (Mon–Fri) nearest to `target` in the same month as `facts` (Quartz `W`). */
function nearestWeekday(target: number, facts: DayFacts): number {
  const weekday = (((facts.weekday + target - facts.day) % 7) + 7) % 7;
  if (weekday === 6) return target === 1 ? 3 : target - 1;
  if (weekday === 0) return target === facts.monthLength ? target - 2 : target + 1;
  return target;
}

function matchesDayOfWeek(fields: CronFields, facts: DayFacts): boolean {
  const { day, weekday, monthLength } = facts;
  if (fields.weekdays[weekday]) return true;
  if (fields.lastWeekdays[weekday] && day + 7 > monthLength) return true;
  for (const [target, nth] of fields.nthWeekdays) {
    if (target === weekday && Math.ceil(day / 7) === nth) return true;
  }
  return false;
}

/** The time rule of a cron expression: next-value tables for hour, minute and second. */
function cronTimes(fields: CronFields): TimeRule {
  const nextHour = nextTable(fields.hours, 24);
  const nextMinute = nextTable(fields.minutes, 60);
  const nextSecond = nextTable(fields.seconds, 60);
  return {
    nextSecond(from: number): number {
      let hour = Math.floor(from / 3600);
      let minute = Math.floor(from / 60) % 60;
      let second = from % 60;
      for (;;) {
        const h = nextHour[hour];
        if (h < 0) return -1;
        if (h !== hour) [hour, minute, second] = [h, 0, 0];
        const m = nextMinute[minute];
        if (m < 0) {
          [hour, minute, second] = [hour + 1, 0, 0];
          continue;
        }
        if (m !== minute) [minute, second] = [m, 0];
        const s = nextSecond[second];
        if (s < 0) {
          [minute, second] = [minute + 1, 0];
          continue;
        }
        return hour * 3600 + minute * 60 + s;
      }
    },
  };
}

/** next[v] = the smallest allowed value ≥ v, or -1; one spare slot past the end. */
function nextTable(allowed: readonly boolean[], size: number): Int8Array {
  const next = new Int8Array(size + 1).fill(-1);
  for (let v = size - 1; v >= 0; v--) next[v] = allowed[v] ? v : next[v + 1];
  return next;
}

function parseField(
  text: string,
  options: { spec: FieldSpec; special?: (item: string) => boolean | DomainError },
): boolean[] | DomainError {
  const { spec, special } = options;
  const values: boolean[] = new Array(spec.max + 1).fill(false);
  for (const item of text.split(",")) {
    if (item === "") return badExpression(`${spec.name} field has an empty list item`);
    const handled = special?.(item.toUpperCase()) ?? false;
    if (handled !== false) {
      if (handled === true) continue;
      return handled;
    }
    const pieces = item.split("/");
    if (pieces.length > 2) return badExpression(`${spec.name} "${clip(item)}" has two steps`);
    const [range, stepText] = pieces;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d{1,4}$/.test(stepText)) {
        return badExpression(`${spec.name} step "${clip(stepText)}" is not a whole number`);
      }
      step = Number(stepText);
      if (step === 0) return badExpression(`${spec.name} step must be at least 1`);
    }
    let low: number;
    let high: number;
    if (range === "*" || (range === "?" && (spec === DAY_OF_WEEK || spec === DAY_OF_MONTH))) {
      [low, high] = [spec.min, spec === DAY_OF_WEEK ? 6 : spec.max];
    } else {
      const ends = range.split("-");
      if (ends.length > 2 || ends.includes("")) {
        return badExpression(`${spec.name} "${clip(item)}" is not a value, range or step`);
      }
      const first = fieldValue(ends[0], spec);
      if (typeof first !== "number") return first;
      const last = ends.length === 2 ? fieldValue(ends[1], spec) : first;
      if (typeof last !== "number") return last;
      if (last < first) return badExpression(`${spec.name} range ${range} is reversed`);
      [low, high] = [first, ends.length === 1 && stepText !== undefined ? spec.max : last];
    }
    for (let v = low; v <= high; v += step) values[v] = true;
  }
  return values;
}

function fieldValue(token: string, spec: FieldSpec): number | DomainError {
  let value: number | undefined;
  if (/^\d{1,3}$/.test(token)) value = Number(token);
  else value = spec.names?.[token.toUpperCase()];
  if (value === undefined) {
    return badExpression(
      `${spec.name} "${clip(token)}" is not a number${spec.names ? " or a name" : ""}`,
    );
  }
  if (value < spec.min || value > spec.max) {
    return badExpression(`${spec.name} ${value} is out of range ${spec.min}–${spec.max}`);
  }
  return value;
}

/** `L`, `L-n`, `nW`, `LW` in the day-of-month field. */
function dayOfMonthSpecial(item: string, fields: CronFields): boolean | DomainError {
  if (item === "LW") return (fields.lastWeekday = true);
  const last = /^L(?:-(\d{1,2}))?$/.exec(item);
  if (last !== null) {
    const before = Number(last[1] ?? 0);
    if (before > 30) return badExpression(`day-of-month L-${before} is out of range L-0–L-30`);
    fields.daysBeforeLast.push(before);
    return true;
  }
  const nearest = /^(\d{1,2})W$/.exec(item);
  if (nearest !== null) {
    const day = Number(nearest[1]);
    if (day < 1 || day > 31) return badExpression(`day-of-month ${day}W is out of range 1–31`);
    fields.nearestWeekdays.push(day);
    return true;
  }
  if (/[LW]/.test(item)) {
    return badExpression(
      `day-of-month "${clip(item)}" is not a valid L or W form (L, L-3, 15W, LW)`,
    );
  }
  return false;
}

/** `dL` and `d#k` in the day-of-week field. */
function dayOfWeekSpecial(item: string, fields: CronFields): boolean | DomainError {
  const last = /^(\w+)L$/.exec(item);
  if (last !== null) {
    const weekday = fieldValue(last[1], DAY_OF_WEEK);
    if (typeof weekday !== "number") return weekday;
    fields.lastWeekdays[weekday % 7] = true;
    return true;
  }
  if (item === "L") return badExpression('day-of-week "L" needs a weekday, e.g. 5L (last Friday)');
  const nth = /^(\w+)#(\d+)$/.exec(item);
  if (nth !== null) {
    const weekday = fieldValue(nth[1], DAY_OF_WEEK);
    if (typeof weekday !== "number") return weekday;
    const k = Number(nth[2]);
    if (k < 1 || k > 5) return badExpression(`day-of-week #${k} is out of range #1–#5`);
    fields.nthWeekdays.push([weekday % 7, k]);
    return true;
  }
  if (item.includes("#")) {
    return badExpression(`day-of-week "${clip(item)}" is not of the form weekday#n, e.g. 5#3`);
  }
  return false;
}

/** A human sentence for parsed cron fields (without the zone). */
export function describeCron(fields: CronFields): string {
  return [describeCronTime(fields), describeCronDays(fields)].filter((part) => part !== "")
    .join(" ");
}

function listOf(values: readonly boolean[], from = 0): number[] {
  const list: number[] = [];
  for (let v = from; v < values.length; v++) if (values[v]) list.push(v);
  return list;
}

function isEvery(values: readonly boolean[], from: number, to: number): boolean {
  for (let v = from; v <= to; v++) if (!values[v]) return false;
  return true;
}

function describeCronTime(fields: CronFields): string {
  const hours = listOf(fields.hours);
  const minutes = listOf(fields.minutes);
  const seconds = listOf(fields.seconds);
  const pad = (n: number) => String(n).padStart(2, "0");
  const secondPart = seconds.length === 1 && seconds[0] === 0
    ? ""
    : isEvery(fields.seconds, 0, 59)
    ? "every second"
    : `at second ${describeRuns(seconds, String)}`;
  if (seconds.length === 1 && hours.length * minutes.length <= 4 && hours.length < 24) {
    const times = hours.flatMap((h) =>
      minutes.map((m) => `${pad(h)}:${pad(m)}${seconds[0] ? `:${pad(seconds[0])}` : ""}`)
    );
    return `at ${joinWords(times)}`;
  }
  const minutePart = isEvery(fields.minutes, 0, 59)
    ? (secondPart === "" ? "every minute" : "")
    : stepWords(minutes, 60, "minute") ?? `at minute ${describeRuns(minutes, String)}`;
  const hourPart = isEvery(fields.hours, 0, 23)
    ? (minutePart.startsWith("every") || secondPart.startsWith("every") ? "" : "of every hour")
    : stepWords(hours, 24, "hour")?.replace("every", "of every") ??
      `past hour ${describeRuns(hours, String)}`;
  return [secondPart, minutePart, hourPart].filter((part) => part !== "").join(" ");
}

/** "every 15 minutes" when values are 0, n, 2n, … covering the range. */
function stepWords(values: readonly number[], size: number, unit: string): string | null {
  if (values.length < 2 || values[0] !== 0) return null;
  const step = values[1];
  const regular = values.every((v, i) => v === i * step) &&
    values.length === Math.ceil(size / step);
  return regular ? `every ${step} ${unit}s` : null;
}

function describeCronDays(fields: CronFields): string {
  const monthWords: string[] = [];
  if (fields.dayOfMonthRestricted || !isEvery(fields.days, 1, 31)) {
    const days = listOf(fields.days, 1);
    if (days.length > 0) monthWords.push(`day ${describeRuns(days, String)}`);
    for (const before of fields.daysBeforeLast) {
      monthWords.push(
        before === 0
          ? "the last day of the month"
          : `${before} days before the last day of the month`,
      );
    }
    for (const day of fields.nearestWeekdays) {
      monthWords.push(`the weekday nearest the ${ordinal(day)} of the month`);
    }
    if (fields.lastWeekday) monthWords.push("the last weekday of the month");
  }
  const weekWords: string[] = [];
  if (fields.dayOfWeekRestricted || !isEvery(fields.weekdays, 0, 6)) {
    const weekdays = listOf(fields.weekdays);
    // Monday-first order reads naturally ("Monday–Friday", "Saturday and Sunday").
    const mondayFirst = weekdays.map((d) => d || 7).sort((a, b) => a - b);
    if (weekdays.length > 0) weekWords.push(describeRuns(mondayFirst, (d) => WEEKDAY_NAMES[d]));
    for (const [weekday, nth] of fields.nthWeekdays) {
      weekWords.push(`the ${ordinal(nth)} ${WEEKDAY_NAMES[weekday]} of the month`);
    }
    fields.lastWeekdays.forEach((on, weekday) => {
      if (on) weekWords.push(`the last ${WEEKDAY_NAMES[weekday]} of the month`);
    });
  }
  const months = listOf(fields.months, 1);
  const monthPart = months.length === 12 ? "" : `in ${describeRuns(months, (m) => MONTH_NAMES[m])}`;
  const joiner = fields.dayOfMonthRestricted && fields.dayOfWeekRestricted ? " or " : " and ";
  const dayPart = [...monthWords.map((w) => `on ${w}`), ...weekWords.map((w) => `on ${w}`)];
  return [dayPart.length > 0 ? dayPart.join(joiner) : "", monthPart].filter((p) => p !== "")
    .join(" ");
}
