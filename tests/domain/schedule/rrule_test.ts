import { assertEquals, rejection, runsAfter } from "../../_helpers.ts";

const berlin = "Europe/Berlin";

Deno.test("rrule weekly on Monday and Wednesday at 09:00 in Berlin", () => {
  assertEquals(
    runsAfter(
      {
        type: "rrule",
        expression: "DTSTART;TZID=Europe/Berlin:20260302T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE",
        timezone: berlin,
      },
      "2026-03-01T00:00:00Z",
      3,
    ),
    ["2026-03-02T08:00:00.000Z", "2026-03-04T08:00:00.000Z", "2026-03-09T08:00:00.000Z"],
  );
});

Deno.test("rrule EXDATE removes an instance and RDATE adds one", () => {
  assertEquals(
    runsAfter(
      {
        type: "rrule",
        expression: [
          "DTSTART:20260302T090000",
          "RRULE:FREQ=DAILY;COUNT=3",
          "EXDATE:20260303T090000",
          "RDATE:20260310T120000",
        ].join("\n"),
        timezone: berlin,
      },
      "2026-03-01T00:00:00Z",
      5,
    ),
    ["2026-03-02T08:00:00.000Z", "2026-03-04T08:00:00.000Z", "2026-03-10T11:00:00.000Z"],
  );
});

Deno.test("rrule without DTSTART starts at schedule_start_at", () => {
  assertEquals(
    runsAfter(
      {
        type: "rrule",
        expression: "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0;BYSECOND=0",
        startAt: Date.parse("2026-01-01T00:00:00Z"),
      },
      "2025-01-01T00:00:00Z",
      3,
    ),
    ["2026-01-31T18:00:00.000Z", "2026-02-28T18:00:00.000Z", "2026-03-31T18:00:00.000Z"],
  );
});

Deno.test("rrule UNTIL in UTC ends the series", () => {
  assertEquals(
    runsAfter(
      {
        type: "rrule",
        expression: "DTSTART:20260101T100000Z\nRRULE:FREQ=DAILY;UNTIL=20260103T100000Z",
      },
      "2025-12-31T00:00:00Z",
      5,
    ),
    ["2026-01-01T10:00:00.000Z", "2026-01-02T10:00:00.000Z", "2026-01-03T10:00:00.000Z"],
  );
});

Deno.test("rrule accepts a bare FREQ line", () => {
  assertEquals(
    runsAfter(
      {
        type: "rrule",
        expression: "FREQ=HOURLY;INTERVAL=6",
        startAt: Date.parse("2026-01-01T00:00:00Z"),
      },
      "2026-01-01T00:00:00Z",
      2,
    ),
    ["2026-01-01T06:00:00.000Z", "2026-01-01T12:00:00.000Z"],
  );
});

Deno.test("rrule errors say what is wrong in the recurrence", () => {
  const cases: [string, string][] = [
    ["RRULE:FREQ=FOO", "RRULE: FREQ=FOO is not valid"],
    ["RRULE:FREQ=DAILY;BYHOUR=25", "RRULE: BYHOUR value 25 is out of range 0–23"],
    ["RRULE:FREQ=DAILY;FOO=1", 'RRULE: "FOO=1" is not a rule part (RFC 5545 §3.3.10)'],
    ["RRULE:INTERVAL=2", "RRULE: FREQ is required"],
    [
      "RRULE:FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z",
      "RRULE: COUNT and UNTIL must not both be given (RFC 5545)",
    ],
    ["DTSTART:20260230T090000\nRRULE:FREQ=DAILY", '"20260230T090000" is not a valid date'],
    [
      "DTSTART;TZID=Europe/Paris:20260101T090000\nRRULE:FREQ=DAILY",
      "TZID Europe/Paris differs from the schedule's zone Europe/Berlin",
    ],
    ["SUMMARY:party", 'unknown line "SUMMARY" (expected DTSTART, RRULE, EXDATE or RDATE)'],
    ["EXDATE:20260101T090000", "an RRULE or at least one RDATE is needed"],
    ["RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "only one RRULE line is supported"],
  ];
  for (const [expression, message] of cases) {
    assertEquals(
      rejection({ type: "rrule", expression, timezone: berlin, startAt: 0 }),
      { field: "schedule_expression", message },
    );
  }
});

Deno.test("rrule that never fires is refused at parse, not thrown", () => {
  assertEquals(
    rejection({
      type: "rrule",
      expression: "DTSTART:20260101T000000\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    }),
    {
      field: "schedule_expression",
      message: "RRULE: the rule never fires (or too rarely to compute)",
    },
  );
});

Deno.test("rrule whose instances leave the calendar ends there instead of throwing", () => {
  assertEquals(
    runsAfter(
      {
        type: "rrule",
        expression: "DTSTART:20260101T000000\nRRULE:FREQ=YEARLY;INTERVAL=5000;COUNT=60",
      },
      "2025-01-01T00:00:00Z",
      5,
    ),
    ["2026-01-01T00:00:00.000Z", "7026-01-01T00:00:00.000Z"],
  );
});

Deno.test("rrule whose COUNT instances all fall in DST gaps is refused", () => {
  const minutes = Array.from({ length: 60 }, (_, i) => i).join(",");
  assertEquals(
    rejection({
      type: "rrule",
      expression:
        `DTSTART:20260101T000000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU;BYHOUR=2;BYMINUTE=${minutes};COUNT=1000`,
      timezone: "America/New_York",
    }).message,
    "RRULE: too many instances fall in daylight-saving gaps",
  );
});
