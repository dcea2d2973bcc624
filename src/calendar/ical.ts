/**
 * The iCalendar feed (SPEC §3–§4): one VEVENT per scheduled task, built with ical-generator,
 * VTIMEZONE blocks from the engine's own zone data (vtimezone.ts), and a recurrence that is
 * exactly the task's schedule, proven by parsing the feed back with two independent parsers,
 * ical.js and node-ical (tests/calendar/ical_test.ts).
 *
 * How a schedule becomes a recurrence: a compact RRULE from the schedule's own fields where
 * RFC 5545 can say it (ruleFor), then reconciled against the task's real future (calendarSlots:
 * the engine's instants with exceptions, DST policy and max_runs applied) over a window:
 * - an RRULE instance the task does not run (skipped, moved away) → EXDATE;
 * - a run the RRULE does not produce (moved here, a second run in a DST fold) → RDATE (UTC);
 * - a run shifted by a DST gap → an override VEVENT with the same UID, RECURRENCE-ID at the
 *   nominal local time and DTSTART in UTC, because parsers read such local times differently
 *   (DESIGN_NOTES) while each matches a RECURRENCE-ID its own way;
 * - UNTIL at the last run of the window: the feed is exact and rolling (calendars refresh a
 *   subscription; beyond the window a bare RRULE would not know the DST edges and exceptions).
 * When no RRULE fits (cron with both day fields, `W`, a reconciliation that would need more
 * exceptions than runs, a rule instance at a local time a fold repeats, an EXDATE in a gap:
 * parsers read those as different instants), the event lists the window's runs as RDATEs.
 */
import ical, { type ICalEventData } from "ical-generator";
import { isDomainError } from "../domain/errors.ts";
import { parseCron, parseIntervalSeconds } from "../domain/schedule/mod.ts";
import { parseMonthly } from "../domain/schedule/monthly.ts";
import { parseTimes } from "../domain/schedule/recurrence.ts";
import { parseWeekly } from "../domain/schedule/weekly.ts";
import { RRuleTemporal } from "rrule-temporal";
import {
  type CalendarSlot,
  calendarSlots,
  compileSchedule,
  type ScheduleFields,
  type TaskState,
} from "../domain/task.ts";
import { zoneRules } from "../domain/schedule/zone.ts";
import { feedZone, vtimezone } from "./vtimezone.ts";

/** How far ahead the feed shows each task's runs. */
export const FEED_HORIZON_DAYS = 400;
/** The most slots of one task reconciled (an every-minute cron stops here). */
const MAX_SLOTS = 2000;
/** How long each event lasts in calendars unless the feed says (a task has no duration). */
export const DEFAULT_EVENT_MINUTES = 30;
const DAY_MS = 86_400_000;
const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
/** The marker line an override carries until it is rewritten into its RECURRENCE-ID. */
const RID_MARKER = "X-CL-RID";

/** What the feed shows besides the tasks. */
export interface FeedOptions {
  calendarName: string;
  /** The service's public URL: each event links to its task. */
  baseUrl: string | null;
  /** "Now" (epoch ms): the feed's window starts at each task's next run after it. */
  now: number;
  /** How long each event lasts (DTEND − DTSTART), minutes; default DEFAULT_EVENT_MINUTES. */
  eventMinutes?: number;
}

/** A built feed. */
export interface Feed {
  content: string;
  taskCount: number;
}

/** A task's part of the feed: its events and the span of instants they cover. */
interface TaskEvents {
  events: ICalEventData[];
  from: number;
  to: number;
}

/**
 * Each task's events, kept while the task and the day stay the same: a task's part of the feed
 * is a function of its state (version, next run, runs so far), the day the window is counted
 * from and the feed's options, and costs 0.3–10 ms to reconcile (tests/bench/calendar_bench.ts),
 * while calendar apps poll the same feed every few minutes.
 */
export class FeedCache {
  readonly #entries = new Map<string, TaskEvents | null>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  get(key: string, build: () => TaskEvents | null): TaskEvents | null {
    const known = this.#entries.get(key);
    if (known !== undefined) return known;
    const built = build();
    // Stale keys (older versions, past days) are never asked again: start over when full.
    if (this.#entries.size >= this.#capacity) this.#entries.clear();
    this.#entries.set(key, built);
    return built;
  }
}

/** Builds the feed of the given tasks; tasks without a future run are left out. */
export function buildFeed(tasks: TaskState[], options: FeedOptions, cache?: FeedCache): Feed {
  const calendar = ical({ name: options.calendarName, prodId: "//chronolog//calendar//EN" });
  // The blocks are written last (toString calls the generator), covering every written instant.
  const span = { from: Infinity, to: -Infinity };
  calendar.timezone({
    name: "",
    generator: (zone) => vtimezone(zone, span.from - DAY_MS, span.to + DAY_MS),
  });
  // The window is counted from the day's start, so a task's events stay the same all day.
  const day = Math.floor(options.now / DAY_MS) * DAY_MS;
  const minutes = options.eventMinutes ?? DEFAULT_EVENT_MINUTES;
  let taskCount = 0;
  for (const task of tasks) {
    const build = () => taskEvents(task, day, minutes, options.baseUrl);
    const key = [
      task.id,
      task.version,
      task.nextRunAt,
      task.runCount,
      day,
      minutes,
      options.baseUrl,
    ]
      .join("|");
    const part = cache === undefined ? build() : cache.get(key, build);
    if (part === null) continue;
    for (const event of part.events) calendar.createEvent(event);
    taskCount++;
    span.from = Math.min(span.from, part.from);
    span.to = Math.max(span.to, part.to);
  }
  return { content: rewriteMarkers(calendar.toString()), taskCount };
}

/** A task's events over the window from `day`, or null when it has no future run. */
function taskEvents(
  task: TaskState,
  day: number,
  minutes: number,
  baseUrl: string | null,
): TaskEvents | null {
  const fields = task.schedule;
  if (fields === null) return null;
  const schedule = compileSchedule(fields, task.anchor);
  if (isDomainError(schedule)) return null;
  const until = day + FEED_HORIZON_DAYS * DAY_MS;
  const slots = calendarSlots(task, { until, limit: MAX_SLOTS });
  const runs = slots.filter((slot) => !slot.excluded);
  if (runs.length === 0) return null;
  const zone = feedZone(schedule.timezone);
  const span = { from: slots[0].at, to: slots[slots.length - 1].at + minutes * 60_000 };
  const base: Omit<ICalEventData, "start"> = {
    id: `${task.id}@chronolog`,
    summary: task.name,
    description: [
      `Task: ${task.id}`,
      `Schedule: ${schedule.description}`,
      `Runs: ${task.runCount}${fields.maxRuns === null ? "" : `/${fields.maxRuns}`}`,
    ].join("\n"),
    categories: [{ name: "chronolog" }, { name: fields.type }],
    url: baseUrl === null
      ? undefined
      : `${baseUrl.replace(/\/+$/, "")}/schedules/${encodeURIComponent(task.id)}`,
    stamp: new Date(task.updatedAt),
  };
  const recurrence = reconcile(fields, slots, zone, minutes);
  if (recurrence === null) {
    // A bounded list: every run of the window, the first one also DTSTART (ical.js leaves
    // DTSTART out of a set of RDATEs without a rule; RFC 5545 counts a repeated instant once).
    // DTSTART in the task's zone unless its local time sits at a DST edge.
    const first = runs[0];
    const zoned = zone !== null && first.local !== null && first.dst === "none";
    const start = zoned ? wall(first.local!, zone!) : utc(first.at);
    const event: ICalEventData = {
      ...base,
      start,
      end: zoned
        ? (start as Temporal.ZonedDateTime).add({ minutes })
        : utc(first.at + minutes * 60_000),
      timezone: zoned ? zone : null,
      repeating: runs.length > 1 ? dateLines("RDATE", runs.map((run) => run.at)) : null,
    };
    return { events: [event], ...span };
  }
  const events: ICalEventData[] = [{
    ...base,
    start: recurrence.start,
    end: recurrence.end,
    timezone: recurrence.zone,
    repeating: recurrence.lines,
  }];
  for (const override of recurrence.overrides) {
    events.push({
      ...base,
      start: utc(override.at),
      end: utc(override.at + minutes * 60_000),
      x: [[RID_MARKER, `${recurrence.zone ?? ""}|${compact(override.local)}`]],
    });
  }
  return { events, ...span };
}

interface Recurrence {
  start: Temporal.ZonedDateTime | Date;
  end: Temporal.ZonedDateTime | Date;
  /** The zone DTSTART is written in; null: UTC. */
  zone: string | null;
  lines: string;
  overrides: { local: number; at: number }[];
}

/** The RRULE and its exceptions that give exactly the task's runs, or null (use RDATEs). */
function reconcile(
  fields: ScheduleFields,
  slots: CalendarSlot[],
  zone: string | null,
  minutes: number,
): Recurrence | null {
  const rule = ruleFor(fields);
  const nominal = slots.filter((slot) => slot.local !== null);
  if (rule === null || nominal.length === 0) return null;
  const runs = slots.filter((slot) => !slot.excluded);
  const last = slots[slots.length - 1];
  // The rule stops at the window's last run, whether the schedule ends there (max_runs, end)
  // or goes on: past the window no exception or DST edge is written, so the rule would not be
  // exact. (No rule instance sits in a fold, whose local time parsers read as either instant.)
  const untilPart = `;UNTIL=${compactUtc(runs.at(-1)!.at)}`;
  const windowEnd = last.at;
  const exdates: number[] = [];
  const rdates: number[] = [];
  const overrides: { local: number; at: number }[] = [];
  let lines: string[];
  let start: Temporal.ZonedDateTime | Date;
  let end: Temporal.ZonedDateTime | Date;
  let eventZone: string | null;

  if (rule.absolute) {
    // Real-time intervals: DTSTART in UTC, so no wall clock bends the grid.
    const first = nominal[0].at;
    start = utc(first);
    end = utc(first + minutes * 60_000);
    eventZone = null;
    const produced = new Set<number>();
    for (let at = first; at <= windowEnd; at += rule.stepMs) produced.add(at);
    const ran = new Set(runs.map((run) => run.at));
    for (const at of produced) if (!ran.has(at)) exdates.push(at);
    for (const run of runs) if (!produced.has(run.at)) rdates.push(run.at);
    lines = [`RRULE:${rule.text}${untilPart}`];
    if (exdates.length > 0) lines.push(...splitLines("EXDATE", exdates.map(compactUtc)));
  } else {
    // DTSTART is the first occurrence whose local time is plain: one at a DST edge would be
    // written shifted (a gap) or end before it starts (a fold). Runs before it become RDATEs.
    const plain = nominal.find((slot) => slot.dst === "none");
    if (plain === undefined) return null;
    const firstLocal = plain.local!;
    const ruleZone = zone ?? "UTC";
    start = wall(firstLocal, ruleZone);
    end = start.add({ minutes });
    eventZone = zone;
    // The RRULE's own instances over the window, as local wall times.
    const windowLocal = Math.max(...nominal.map((slot) => slot.local!));
    let produced: number[];
    try {
      const expander = new RRuleTemporal({
        rruleString: `DTSTART:${compact(firstLocal)}\nRRULE:${rule.text}`,
        tzid: "UTC",
      });
      // between() expands a window directly: ~2.5 µs an instance, next() or all() 20–50 µs.
      produced = expander.between(new Date(firstLocal), new Date(windowLocal), true)
        .map((next) => next.epochMilliseconds);
    } catch {
      return null;
    }
    if (produced.length > MAX_SLOTS * 4) return null;
    // Local times of the window, read a day wide either side of its instants.
    const edges = dstEdges(ruleZone, nominal[0].at - DAY_MS, last.at + DAY_MS);
    const byLocal = new Map<number, CalendarSlot[]>();
    for (const slot of runs) {
      if (slot.local === null) continue;
      byLocal.set(slot.local, [...byLocal.get(slot.local) ?? [], slot]);
    }
    const matched = new Set<CalendarSlot>();
    for (const local of produced) {
      const [first, ...more] = byLocal.get(local) ?? [];
      // A rule instance at a local time that repeats (a fold) is one instant to ical.js and
      // another to node-ical: no override or EXDATE lands on it in both. List the runs instead.
      if (edges.repeated(local)) return null;
      if (first === undefined) {
        // An EXDATE at a local time a gap removes is read differently by each parser (ical.js
        // reads it an hour early and removes the real run there): list the runs instead.
        if (edges.skipped(local)) return null;
        exdates.push(local);
        continue;
      }
      matched.add(first);
      if (first.dst !== "none") {
        overrides.push({ local, at: first.at });
      }
      for (const other of more) {
        matched.add(other);
        rdates.push(other.at);
      }
    }
    for (const run of runs) if (!matched.has(run)) rdates.push(run.at);
    lines = [`RRULE:${rule.text}${untilPart}`];
    if (exdates.length > 0) {
      lines.push(
        ...(zone === null
          ? splitLines("EXDATE", exdates.map(compactUtc))
          : splitLines(`EXDATE;TZID=${zone}`, exdates.map(compact))),
      );
    }
  }
  if (rdates.length > 0) lines.push(...splitLines("RDATE", rdates.map(compactUtc)));
  // Exceptions outnumbering the runs mean the rule says little: list the runs instead.
  if (exdates.length + rdates.length + overrides.length > Math.max(8, runs.length)) return null;
  return { start, end, zone: eventZone, lines: lines.join("\r\n"), overrides };
}

/** The RRULE of a schedule's fields, when RFC 5545 can express it; absolute: a real-time step. */
function ruleFor(
  fields: ScheduleFields,
): { text: string; absolute: false } | { text: string; absolute: true; stepMs: number } | null {
  const expression = fields.expression.trim();
  switch (fields.type) {
    case "once":
      return null;
    case "interval": {
      const seconds = parseIntervalSeconds(expression);
      if (isDomainError(seconds)) return null;
      const [freq, size] = seconds % 86_400 === 0
        ? ["DAILY", 86_400]
        : seconds % 3600 === 0
        ? ["HOURLY", 3600]
        : seconds % 60 === 0
        ? ["MINUTELY", 60]
        : ["SECONDLY", 1];
      return {
        text: `FREQ=${freq};INTERVAL=${seconds / (size as number)}`,
        absolute: true,
        stepMs: seconds * 1000,
      };
    }
    case "daily": {
      const times = parseTimes(expression);
      const clock = Array.isArray(times) ? timeParts(times) : null;
      return clock === null ? null : { text: `FREQ=DAILY;${clock}`, absolute: false };
    }
    case "weekly": {
      const parsed = parseWeekly(expression);
      if (isDomainError(parsed)) return null;
      const { days, times } = parsed;
      const byDay = days.map((day) => WEEKDAYS[day % 7]).join(",");
      const clock = timeParts(times);
      return clock === null
        ? null
        : { text: `FREQ=WEEKLY;BYDAY=${byDay};${clock}`, absolute: false };
    }
    case "monthly": {
      const parsed = parseMonthly(expression);
      if (isDomainError(parsed)) return null;
      const { days, last, times } = parsed;
      const byMonthDay = [...days, ...(last ? [-1] : [])].join(",");
      const clock = timeParts(times);
      return clock === null
        ? null
        : { text: `FREQ=MONTHLY;BYMONTHDAY=${byMonthDay};${clock}`, absolute: false };
    }
    case "cron":
      return cronRule(expression);
    case "rrule": {
      const line = expression.split(/\r?\n/).map((text) => text.trim())
        .find((text) => text.toUpperCase().startsWith("RRULE:"));
      if (line === undefined) return null;
      const parts = line.slice(6).split(";").map((part) => part.trim().toUpperCase())
        .filter((part) => part !== "" && !/^(COUNT|UNTIL)=/.test(part));
      const freq = parts.find((part) => part.startsWith("FREQ="))?.slice(5);
      // Parts ical.js expands differently from RFC 5545 (and from our engine): list the runs.
      const diverges = parts.some((part) =>
        part.startsWith("BYWEEKNO=") ||
        (part.startsWith("BYSETPOS=") && freq !== "MONTHLY" && freq !== "YEARLY") ||
        (/^BYMONTHDAY=.*-/.test(part) && freq !== "MONTHLY" && freq !== "YEARLY")
      );
      return diverges || freq === undefined ? null : { text: parts.join(";"), absolute: false };
    }
  }
}

/**
 * BYHOUR/BYMINUTE/BYSECOND for a set of times of day, or null when the times are not their
 * product (09:00 and 17:30): BYSETPOS could pick them out, but ical.js ignores it in a DAILY rule.
 */
function timeParts(secondsOfDay: number[]): string | null {
  const times = [...new Set(secondsOfDay)].sort((a, b) => a - b);
  const hours = [...new Set(times.map((t) => Math.floor(t / 3600)))].sort((a, b) => a - b);
  const minutes = [...new Set(times.map((t) => Math.floor(t / 60) % 60))].sort((a, b) => a - b);
  const seconds = [...new Set(times.map((t) => t % 60))].sort((a, b) => a - b);
  const text = `BYHOUR=${hours.join(",")};BYMINUTE=${minutes.join(",")};BYSECOND=${
    seconds.join(",")
  }`;
  const product: number[] = [];
  for (const h of hours) {
    for (const m of minutes) for (const s of seconds) product.push(h * 3600 + m * 60 + s);
  }
  return product.length === times.length ? text : null;
}

/** A cron expression as an RRULE: its fields are a cross product, as BY* parts are. */
function cronRule(expression: string): { text: string; absolute: false } | null {
  const fields = parseCron(expression);
  if (isDomainError(fields)) return null;
  if (fields.nearestWeekdays.length > 0 || fields.lastWeekday) return null;
  // Vixie's OR of two restricted day fields has no RRULE form.
  if (fields.dayOfMonthRestricted && fields.dayOfWeekRestricted) return null;
  const list = (flags: boolean[], offset = 0) =>
    flags.flatMap((on, index) => on ? [index + offset] : []);
  const parts = [
    `BYSECOND=${list(fields.seconds).join(",")}`,
    `BYMINUTE=${list(fields.minutes).join(",")}`,
    `BYHOUR=${list(fields.hours).join(",")}`,
  ];
  const months = list(fields.months).filter((month) => month >= 1 && month <= 12);
  if (months.length < 12) parts.push(`BYMONTH=${months.join(",")}`);
  // Each day field that does not cover every day limits the rule (so `*/2`, which Vixie counts
  // as unrestricted, still does); both together intersect, as cron's AND does then.
  let freq = "DAILY";
  const monthDays = [
    ...list(fields.days).filter((day) => day >= 1 && day <= 31),
    ...fields.daysBeforeLast.map((before) => -(before + 1)),
  ];
  if (monthDays.length < 31 || fields.daysBeforeLast.length > 0) {
    parts.push(`BYMONTHDAY=${monthDays.join(",")}`);
    // ical.js loops on a negative BYMONTHDAY in a DAILY rule, and drops it beside positive ones.
    freq = "MONTHLY";
  }
  const plain = [...new Set(list(fields.weekdays).map((day) => day % 7))].map((day) =>
    WEEKDAYS[day]
  );
  const nth = fields.nthWeekdays.map(([day, k]) => `${k}${WEEKDAYS[day % 7]}`);
  const lastOf = list(fields.lastWeekdays).map((day) => `-1${WEEKDAYS[day]}`);
  if (plain.length < 7 || nth.length + lastOf.length > 0) {
    if (nth.length + lastOf.length > 0) freq = "MONTHLY";
    parts.push(`BYDAY=${[...plain, ...nth, ...lastOf].join(",")}`);
  }
  return { text: `FREQ=${freq};${parts.join(";")}`, absolute: false };
}

function splitLines(name: string, values: string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += 3) {
    lines.push(`${name}:${values.slice(i, i + 3).join(",")}`);
  }
  return lines;
}

function dateLines(name: string, instants: number[]): string {
  return splitLines(name, instants.map(compactUtc)).join("\r\n");
}

/** A local wall time (ms since 1970-01-01T00:00 on the wall) in iCalendar's basic form. */
function compact(local: number): string {
  return new Date(local).toISOString().slice(0, 19).replace(/[-:]/g, "");
}

function compactUtc(at: number): string {
  return `${compact(at)}Z`;
}

function utc(at: number): Date {
  return new Date(at);
}

/** The zoned value of a nominal local time (a gap time reads forward, like the SPEC). */
function wall(local: number, zone: string): Temporal.ZonedDateTime {
  return Temporal.PlainDateTime.from(new Date(local).toISOString().slice(0, 19))
    .toZonedDateTime(zone, { disambiguation: "compatible" });
}

/**
 * The local times a zone's transitions over [from, to] (instants) skip (gaps) or repeat (folds),
 * as half-open wall-time ranges, read from the engine's zone table.
 */
function dstEdges(zone: string, from: number, to: number) {
  const gaps: [number, number][] = [];
  const folds: [number, number][] = [];
  const rules = zoneRules(zone);
  if (rules !== null) {
    for (let index = rules.segmentIndex(from) + 1;; index++) {
      if (!rules.hasSegmentAfter(index - 1)) break;
      const { start, offset, previousOffset } = rules.segment(index);
      if (start > to) break;
      if (offset > previousOffset) gaps.push([start + previousOffset, start + offset]);
      if (offset < previousOffset) folds.push([start + offset, start + previousOffset]);
    }
  }
  const within = (ranges: [number, number][], local: number) =>
    ranges.some(([low, high]) => local >= low && local < high);
  return {
    /** Whether a local wall time does not exist (a gap skips it). */
    skipped: (local: number) => within(gaps, local),
    /** Whether a local wall time happens twice. */
    repeated: (local: number) => within(folds, local),
  };
}

/** Turns each override's marker line into its RECURRENCE-ID at the nominal local time. */
function rewriteMarkers(content: string): string {
  return content.replace(
    new RegExp(`^${RID_MARKER}:([^|\\r\\n]*)\\|(\\d{8}T\\d{6})\\r$`, "gm"),
    (_, zone: string, local: string) =>
      zone === "" ? `RECURRENCE-ID:${local}Z\r` : `RECURRENCE-ID;TZID=${zone}:${local}\r`,
  );
}
