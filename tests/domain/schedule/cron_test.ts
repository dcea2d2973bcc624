import { assert, assertEquals, mustParse, rejection, runsAfter } from "../../_helpers.ts";
import fc from "fast-check";
import { CronExpressionParser } from "cron-parser";

Deno.test("cron 0 9 * * 1-5 fires at 09:00 on weekdays", () => {
  assertEquals(runsAfter({ type: "cron", expression: "0 9 * * 1-5" }, "2026-11-20T10:00:00Z", 3), [
    "2026-11-23T09:00:00.000Z",
    "2026-11-24T09:00:00.000Z",
    "2026-11-25T09:00:00.000Z",
  ]);
});

const table: [string, string, string[]][] = [
  ["*/20 * * * * *", "2026-01-01T00:00:00Z", ["00:00:20", "00:00:40", "00:01:00"]],
  ["0 0 L * *", "2026-01-31T00:00:00Z", ["02-28", "03-31", "04-30"]],
  ["0 0 L-2 * *", "2026-02-01T00:00:00Z", ["02-26", "03-29", "04-28"]],
  // 2026-02-15 is a Sunday, 2026-03-15 a Sunday, 2026-08-15 a Saturday.
  ["0 0 15W * *", "2026-02-01T00:00:00Z", ["02-16", "03-16", "04-15"]],
  ["0 0 15W 8 *", "2026-02-01T00:00:00Z", ["08-14"]],
  // 2026-08-01 is a Saturday: 1W does not leave the month, it moves to Monday the 3rd.
  ["0 0 1W 8 *", "2026-02-01T00:00:00Z", ["08-03"]],
  // 2026-05-31 is a Sunday: the last weekday of May is Friday the 29th.
  ["0 0 LW 5 *", "2026-01-01T00:00:00Z", ["05-29"]],
  ["0 0 * * 5#3", "2026-02-01T00:00:00Z", ["02-20", "03-20", "04-17"]],
  ["0 0 * * FRI#3,MON#1", "2026-02-01T00:00:00Z", ["02-02", "02-20", "03-02"]],
  ["0 0 * * 5L", "2026-02-01T00:00:00Z", ["02-27", "03-27", "04-24"]],
  ["0 0 ? * MON", "2026-11-01T00:00:00Z", ["11-02", "11-09", "11-16"]],
  ["0 0 * * 7", "2026-11-01T00:00:00Z", ["11-08", "11-15", "11-22"]],
  ["0 0 * * 0", "2026-11-01T00:00:00Z", ["11-08", "11-15", "11-22"]],
  // Vixie: both day fields restricted, a day matching either fires.
  ["0 0 13 * 5", "2026-11-01T00:00:00Z", ["11-06", "11-13", "11-20"]],
  // Vixie: a day field starting with * is unrestricted, so the two AND.
  ["0 0 */2 * 5", "2026-11-01T00:00:00Z", ["11-13", "11-27", "12-11"]],
  ["@daily", "2026-11-01T12:00:00Z", ["11-02", "11-03", "11-04"]],
  ["@hourly", "2026-11-01T12:30:00Z", ["13:00:00", "14:00:00", "15:00:00"]],
  ["@yearly", "2026-11-01T12:30:00Z", ["2027-01-01", "2028-01-01", "2029-01-01"]],
  ["30 4 1 jan,jul *", "2026-11-01T00:00:00Z", ["2027-01-01", "2027-07-01", "2028-01-01"]],
  ["0 0 29 2 *", "2026-01-01T00:00:00Z", ["2028-02-29", "2032-02-29", "2036-02-29"]],
  ["0 0 1-31/10 * *", "2026-11-02T00:00:00Z", ["11-11", "11-21", "12-01"]],
  ["5/20 * * * *", "2026-11-01T00:00:00Z", ["00:05:00", "00:25:00", "00:45:00"]],
];

for (const [expression, from, expected] of table) {
  Deno.test(`cron ${expression} from ${from} fires on ${expected.join(", ")}`, () => {
    const runs = runsAfter({ type: "cron", expression }, from, expected.length);
    assertEquals(runs.length, expected.length);
    runs.forEach((run, i) =>
      assert(run.includes(expected[i]), `${run} should contain ${expected[i]}`)
    );
  });
}

Deno.test("cron errors name the field and the reason", () => {
  const cases: [string, string][] = [
    ["61 * * * *", "minute 61 is out of range 0–59"],
    ["* 24 * * *", "hour 24 is out of range 0–23"],
    ["* * 0 * *", "day-of-month 0 is out of range 1–31"],
    ["* * * 13 *", "month 13 is out of range 1–12"],
    ["* * * * 8", "day-of-week 8 is out of range 0–7"],
    ["60 * * * * *", "second 60 is out of range 0–59"],
    [
      "* * * *",
      "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 4",
    ],
    [
      "* * * * * * *",
      "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 7",
    ],
    ["*/0 * * * *", "minute step must be at least 1"],
    ["30-10 * * * *", "minute range 30-10 is reversed"],
    ["* * * FOO *", 'month "FOO" is not a number or a name'],
    ["x * * * *", 'minute "x" is not a number'],
    ["0 0 30 2 *", "the expression never fires (no month has a matching day)"],
    ["0 0 * * 5#6", "day-of-week #6 is out of range #1–#5"],
    ["0 0 32W * *", "day-of-month 32W is out of range 1–31"],
    [
      "@reboot",
      "unknown macro @reboot (expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)",
    ],
    ["1,,2 * * * *", "minute field has an empty list item"],
  ];
  for (const [expression, message] of cases) {
    assertEquals(rejection({ type: "cron", expression }), {
      field: "schedule_expression",
      message,
    });
  }
});

/** A random cron field in the grammar cron-parser also accepts. */
function field(min: number, max: number): fc.Arbitrary<string> {
  const value = fc.integer({ min, max });
  const range = fc.tuple(value, value).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
  const step = fc.integer({ min: 1, max: Math.max(1, Math.floor((max - min) / 2)) });
  return fc.oneof(
    fc.constant("*"),
    value.map(String),
    range,
    fc.tuple(range, step).map(([r, s]) => `${r}/${s}`),
    step.map((s) => `*/${s}`),
    fc.uniqueArray(value, { minLength: 2, maxLength: 4 }).map((values) => values.join(",")),
  );
}

/** Day fields without a leading `*` unless `*` alone, where implementations agree on Vixie OR. */
function dayField(min: number, max: number): fc.Arbitrary<string> {
  return field(min, max).filter((text) => text === "*" || !text.startsWith("*"));
}

const cronExpression = fc.tuple(
  field(0, 59),
  field(0, 23),
  dayField(1, 28),
  field(1, 12),
  dayField(0, 6),
).map((parts) => parts.join(" "));

Deno.test("cron agrees with cron-parser on random expressions in UTC", () => {
  fc.assert(
    fc.property(
      cronExpression,
      fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }),
      (expression, from) => {
        const oracle = CronExpressionParser.parse(expression, {
          currentDate: new Date(from),
          tz: "UTC",
        });
        const expected = oracle.take(5).map((date) => date.toDate()?.toISOString());
        assertEquals(
          runsAfter({ type: "cron", expression }, new Date(from).toISOString(), 5),
          expected,
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("cron descriptions read as sentences", () => {
  const cases: [string, string][] = [
    ["0 9 * * 1-5", "at 09:00 on Monday–Friday, UTC"],
    ["*/15 * * * *", "every 15 minutes, UTC"],
    ["0 0 L * *", "at 00:00 on the last day of the month, UTC"],
    ["0 0 * * 5#3", "at 00:00 on the 3rd Friday of the month, UTC"],
    ["30 4 1 1,7 *", "at 04:30 on day 1 in January and July, UTC"],
  ];
  for (const [expression, description] of cases) {
    assertEquals(mustParse({ type: "cron", expression }).description, description);
  }
});
