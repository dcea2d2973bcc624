import { assertEquals, rejection, runsAfter } from "../../_helpers.ts";

Deno.test("once with Z fires at that instant", () => {
  assertEquals(
    runsAfter({ type: "once", expression: "2026-01-15T09:00:00Z" }, "2026-01-01T00:00:00Z"),
    ["2026-01-15T09:00:00.000Z"],
  );
});

Deno.test("once with an offset fires at that instant whatever the zone", () => {
  assertEquals(
    runsAfter(
      { type: "once", expression: "2026-01-15T09:00:00+01:00", timezone: "Asia/Tokyo" },
      "2026-01-01T00:00:00Z",
    ),
    ["2026-01-15T08:00:00.000Z"],
  );
});

Deno.test("once without an offset is a local time in the schedule's zone", () => {
  assertEquals(
    runsAfter(
      { type: "once", expression: "2026-07-15T09:00", timezone: "Europe/Berlin" },
      "2026-01-01T00:00:00Z",
    ),
    ["2026-07-15T07:00:00.000Z"],
  );
});

Deno.test("once in the past gives nothing", () => {
  assertEquals(
    runsAfter({ type: "once", expression: "2026-01-15T09:00:00Z" }, "2026-01-15T09:00:00Z"),
    [],
  );
});

Deno.test("once rejects impossible dates and other formats", () => {
  for (const expression of ["2026-02-30T09:00", "2026-13-01T00:00", "tomorrow", "2026-01-15"]) {
    assertEquals(rejection({ type: "once", expression }).field, "schedule_expression", expression);
  }
  assertEquals(
    rejection({ type: "once", expression: "1969-12-31T23:00:00Z" }).message,
    "year 1969 is out of range 1970–9999",
  );
});

Deno.test("once rejects an impossible offset and an instant before 1970", () => {
  assertEquals(
    rejection({ type: "once", expression: "2026-03-08T02:30+99:00" }).field,
    "schedule_expression",
  );
  assertEquals(
    rejection({ type: "once", expression: "1970-01-01T00:00+01:00" }).message,
    "the instant is out of range 1970–9999",
  );
});
