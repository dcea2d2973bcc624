import { assertEquals, rejection, runsAfter } from "../../_helpers.ts";

Deno.test("monthly 31 09:00 from Jan 31 10:00 gives Mar 31", () => {
  assertEquals(runsAfter({ type: "monthly", expression: "31 09:00" }, "2026-01-31T10:00:00Z", 3), [
    "2026-03-31T09:00:00.000Z",
    "2026-05-31T09:00:00.000Z",
    "2026-07-31T09:00:00.000Z",
  ]);
});

Deno.test("monthly 29 fires on Feb 29 in a leap year", () => {
  assertEquals(runsAfter({ type: "monthly", expression: "29 09:00" }, "2028-01-30T00:00:00Z", 2), [
    "2028-02-29T09:00:00.000Z",
    "2028-03-29T09:00:00.000Z",
  ]);
});

Deno.test("monthly 29 skips February in a common year", () => {
  assertEquals(runsAfter({ type: "monthly", expression: "29 09:00" }, "2027-01-30T00:00:00Z", 2), [
    "2027-03-29T09:00:00.000Z",
    "2027-04-29T09:00:00.000Z",
  ]);
});

Deno.test("monthly L fires on the last day of each month", () => {
  assertEquals(runsAfter({ type: "monthly", expression: "L 18:00" }, "2027-01-01T00:00:00Z", 4), [
    "2027-01-31T18:00:00.000Z",
    "2027-02-28T18:00:00.000Z",
    "2027-03-31T18:00:00.000Z",
    "2027-04-30T18:00:00.000Z",
  ]);
});

Deno.test("monthly 1,15 fires twice a month", () => {
  assertEquals(
    runsAfter({ type: "monthly", expression: "1,15 09:00" }, "2026-12-02T00:00:00Z", 3),
    ["2026-12-15T09:00:00.000Z", "2027-01-01T09:00:00.000Z", "2027-01-15T09:00:00.000Z"],
  );
});

Deno.test("monthly rejects day 0, day 32 and junk", () => {
  assertEquals(
    rejection({ type: "monthly", expression: "32 09:00" }).message,
    "day of the month 32 is out of range 1–31",
  );
  assertEquals(
    rejection({ type: "monthly", expression: "0 09:00" }).message,
    "day of the month 0 is out of range 1–31",
  );
  assertEquals(rejection({ type: "monthly", expression: "X 09:00" }).field, "schedule_expression");
});
