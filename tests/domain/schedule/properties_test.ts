/**
 * Properties of every schedule over random expressions, zones, policies and instants: results
 * strictly increase after `from`, each instant is its nominal local time read by the DST rule it
 * reports (checked with Temporal), the local time matches the expression, and the sequence chains.
 */
import { assert, assertEquals, mustParse } from "../../_helpers.ts";
import fc from "fast-check";
import { nextOccurrences, nextRuns, type ScheduleSpec } from "../../../src/domain/schedule/mod.ts";

const zones = Intl.supportedValuesOf("timeZone");
const dstZones = [
  "America/New_York",
  "Europe/Berlin",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "America/Santiago",
  "Asia/Kolkata",
  "America/Havana",
  "Africa/Casablanca",
  "Asia/Tehran",
];
const zone = fc.oneof(fc.constantFrom(...zones), fc.constantFrom(...dstZones));
const instant = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) });
const policy = fc.option(
  fc.record({
    gap: fc.constantFrom("shift" as const, "skip" as const),
    repeat: fc.constantFrom("first" as const, "both" as const, "last" as const),
  }),
  { nil: undefined },
);

/** A schedule with the sets its local times must fall in. */
interface Case {
  spec: ScheduleSpec;
  matches: (local: Temporal.PlainDateTime) => boolean;
}

const sortedUnique = (min: number, max: number, most: number) =>
  fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: most }).map((values) =>
    values.sort((a, b) => a - b)
  );
const pad = (n: number) => String(n).padStart(2, "0");
// Times cluster around 00:00–03:59, where daylight-saving transitions happen.
const times = fc.uniqueArray(
  fc.tuple(
    fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 23 })),
    fc.constantFrom(0, 15, 30, 45, 59),
  ),
  { minLength: 1, maxLength: 3, selector: ([h, m]) => h * 60 + m },
);
const timeText = (list: [number, number][]) =>
  list.map(([h, m]) => `${pad(h)}:${pad(m)}`).join(",");
const atTime = (list: [number, number][], local: Temporal.PlainDateTime) =>
  local.second === 0 && list.some(([h, m]) => local.hour === h && local.minute === m);

const dailyCase: fc.Arbitrary<Case> = times.map((list) => ({
  spec: { type: "daily", expression: timeText(list) },
  matches: (local) => atTime(list, local),
}));

const weeklyCase: fc.Arbitrary<Case> = fc.tuple(sortedUnique(1, 7, 3), times).map((
  [days, list],
) => ({
  spec: { type: "weekly", expression: `${days.join(",")} ${timeText(list)}` },
  matches: (local) => days.includes(local.dayOfWeek) && atTime(list, local),
}));

const monthlyCase: fc.Arbitrary<Case> = fc.tuple(sortedUnique(1, 31, 3), fc.boolean(), times)
  .map(([days, last, list]) => ({
    spec: {
      type: "monthly",
      expression: `${[...days, ...(last ? ["L"] : [])].join(",")} ${timeText(list)}`,
    },
    matches: (local) =>
      (days.includes(local.day) || (last && local.day === local.daysInMonth)) &&
      atTime(list, local),
  }));

const cronCase: fc.Arbitrary<Case> = fc.tuple(
  sortedUnique(0, 59, 3),
  fc.option(sortedUnique(0, 23, 3), { nil: null }),
  fc.option(sortedUnique(0, 6, 3), { nil: null }),
).map(([minutes, hours, weekdays]) => ({
  spec: {
    type: "cron",
    expression: `${minutes.join(",")} ${hours?.join(",") ?? "*"} * * ${weekdays?.join(",") ?? "*"}`,
  },
  matches: (local) =>
    local.second === 0 && minutes.includes(local.minute) &&
    (hours === null || hours.includes(local.hour)) &&
    (weekdays === null || weekdays.includes(local.dayOfWeek % 7)),
}));

const rruleCase: fc.Arbitrary<Case> = fc.tuple(sortedUnique(0, 23, 2), sortedUnique(0, 59, 2)).map((
  [hours, minutes],
) => ({
  spec: {
    type: "rrule",
    expression: `DTSTART:19900101T000000\nRRULE:FREQ=DAILY;BYHOUR=${hours.join(",")};BYMINUTE=${
      minutes.join(",")
    };BYSECOND=0`,
  },
  matches: (local) =>
    hours.includes(local.hour) && minutes.includes(local.minute) && local.second === 0,
}));

const anyCase = fc.oneof(dailyCase, weeklyCase, monthlyCase, cronCase, rruleCase);

/** The instant a wall-clock time reads as, by the DST edge the engine reported. */
function readLocal(local: Temporal.PlainDateTime, zoneId: string, edge: string): number {
  const disambiguation = edge === "fold_second"
    ? "later"
    : edge === "fold_first"
    ? "earlier"
    : "compatible";
  return local.toZonedDateTime(zoneId, { disambiguation }).epochMilliseconds;
}

Deno.test("runs strictly increase after from, match the expression and read their local time by the DST rule", () => {
  fc.assert(
    fc.property(anyCase, zone, instant, policy, (testCase, zoneId, from, dstPolicy) => {
      const schedule = mustParse({ ...testCase.spec, timezone: zoneId, dstPolicy });
      const occurrences = nextOccurrences(schedule, from, { count: 8 });
      assert(occurrences.length > 0, "a repeating schedule always has a next run");
      let previous = from;
      for (const occurrence of occurrences) {
        assert(occurrence.at > previous, "strictly increasing and after from");
        previous = occurrence.at;
        const local = Temporal.Instant.fromEpochMilliseconds(occurrence.local).toZonedDateTimeISO(
          "UTC",
        )
          .toPlainDateTime();
        assert(testCase.matches(local), `${local} does not match ${testCase.spec.expression}`);
        assertEquals(occurrence.at, readLocal(local, schedule.timezone, occurrence.dst));
        const reading = Temporal.Instant.fromEpochMilliseconds(occurrence.at).toZonedDateTimeISO(
          zoneId,
        )
          .toPlainDateTime();
        if (occurrence.dst !== "gap_shifted") assertEquals(reading.toString(), local.toString());
      }
    }),
    { numRuns: 1500 },
  );
});

Deno.test("the run after r[i] is r[i+1]", () => {
  fc.assert(
    fc.property(anyCase, zone, instant, policy, (testCase, zoneId, from, dstPolicy) => {
      const schedule = mustParse({ ...testCase.spec, timezone: zoneId, dstPolicy });
      const runs = nextRuns(schedule, from, { count: 6 });
      for (let i = 0; i + 1 < runs.length; i++) {
        assertEquals(nextRuns(schedule, runs[i], { count: 1 })[0], runs[i + 1]);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("a daily time fires exactly once on every local day under the default policy", () => {
  fc.assert(
    fc.property(times, zone, instant, (list, zoneId, from) => {
      const [hour, minute] = list[0];
      const schedule = mustParse({
        type: "daily",
        expression: `${pad(hour)}:${pad(minute)}`,
        timezone: zoneId,
      });
      const runs = nextOccurrences(schedule, from, { count: 10 });
      for (let i = 0; i + 1 < runs.length; i++) {
        const day = (ms: number) =>
          Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO("UTC").toPlainDate();
        // A shifted day whose instant equals the next day's is one run (Samoa skipped 2011-12-30).
        const twoDays = runs[i + 1].local - runs[i].local === 2 * 86_400_000;
        const step = runs[i].dst === "gap_shifted" && twoDays ? 2 : 1;
        assertEquals(
          day(runs[i]!.local).add({ days: step }).toString(),
          day(runs[i + 1]!.local).toString(),
        );
        const expected = Temporal.Instant.fromEpochMilliseconds(runs[i].local).toZonedDateTimeISO(
          "UTC",
        )
          .toPlainDateTime().toZonedDateTime(zoneId, { disambiguation: "compatible" });
        assertEquals(runs[i].at, expected.epochMilliseconds);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("bounds hold: nothing before start_at, after end_at or beyond max_runs", () => {
  fc.assert(
    fc.property(
      anyCase,
      zone,
      instant,
      fc.integer({ min: 0, max: 40 * 86_400_000 }),
      fc.integer({ min: 1, max: 5 }),
      (testCase, zoneId, start, span, maxRuns) => {
        const schedule = mustParse({
          ...testCase.spec,
          timezone: zoneId,
          startAt: start,
          endAt: start + span,
          maxRuns,
        });
        const runs = nextRuns(schedule, start - 86_400_000, { count: 10 });
        assert(runs.length <= maxRuns);
        for (const run of runs) assert(run >= start && run <= start + span);
        assertEquals(nextRuns(schedule, start, { count: 10, runsSoFar: maxRuns }), []);
      },
    ),
    { numRuns: 300 },
  );
});
