import { assertEquals, rejection, runsAfter } from "../../_helpers.ts";

const startAt = Date.parse("2026-01-01T00:07:00Z");

Deno.test("interval anchored at start_at fires at start_at, then every N", () => {
  assertEquals(
    runsAfter({ type: "interval", expression: "900", startAt }, "2025-12-01T00:00:00Z", 3),
    ["2026-01-01T00:07:00.000Z", "2026-01-01T00:22:00.000Z", "2026-01-01T00:37:00.000Z"],
  );
});

Deno.test("interval from any instant stays on the anchor's grid (no drift)", () => {
  assertEquals(
    runsAfter({ type: "interval", expression: "PT15M", startAt }, "2026-03-09T10:00:00.123Z", 2),
    ["2026-03-09T10:07:00.000Z", "2026-03-09T10:22:00.000Z"],
  );
});

Deno.test("interval anchored at the enable time first fires one interval later", () => {
  const anchor = Date.parse("2026-01-01T12:00:00Z");
  assertEquals(
    runsAfter({ type: "interval", expression: "PT1H", anchor }, "2026-01-01T12:00:00Z", 2),
    ["2026-01-01T13:00:00.000Z", "2026-01-01T14:00:00.000Z"],
  );
});

Deno.test("interval counts real time across a DST change", () => {
  assertEquals(
    runsAfter(
      {
        type: "interval",
        expression: "P1D",
        timezone: "America/New_York",
        startAt: Date.parse("2026-03-07T14:00:00Z"),
      },
      "2026-03-07T00:00:00Z",
      3,
    ),
    ["2026-03-07T14:00:00.000Z", "2026-03-08T14:00:00.000Z", "2026-03-09T14:00:00.000Z"],
  );
});

Deno.test("interval accepts ISO 8601 durations with weeks, days, hours, minutes and seconds", () => {
  assertEquals(
    runsAfter({ type: "interval", expression: "P1W1DT1H1M1S", startAt }, "2026-01-01T00:07:00Z", 1),
    ["2026-01-09T01:08:01.000Z"],
  );
});

Deno.test("interval rejects zero, negatives, fractions, months and junk", () => {
  const cases: [string, string][] = [
    ["0", "interval must be greater than 0 seconds"],
    ["-5", "interval must be a whole number of seconds greater than 0, got -5"],
    ["1.5", "interval must be a whole number of seconds greater than 0, got 1.5"],
    ["P1M", "years and months have no fixed length; use a monthly, cron or rrule schedule"],
    ["PT0S", "interval must be greater than 0 seconds"],
    ["P", '"P" is not a number of seconds or an ISO 8601 duration like PT15M'],
    ["soon", '"soon" is not a number of seconds or an ISO 8601 duration like PT15M'],
  ];
  for (const [expression, message] of cases) {
    const rejected = rejection({ type: "interval", expression, startAt });
    assertEquals([rejected.field, rejected.message], ["schedule_expression", message]);
  }
});
