import { assertEquals, rejection, runsAfter } from "../../_helpers.ts";

Deno.test("weekly 7 15:00 from a Saturday gives Sunday", () => {
  // 2026-11-21 is a Saturday.
  assertEquals(runsAfter({ type: "weekly", expression: "7 15:00" }, "2026-11-21T16:00:00Z", 2), [
    "2026-11-22T15:00:00.000Z",
    "2026-11-29T15:00:00.000Z",
  ]);
});

Deno.test("weekly 1,3,5 09:00 fires on Monday, Wednesday and Friday", () => {
  assertEquals(
    runsAfter({ type: "weekly", expression: "1,3,5 09:00" }, "2026-11-22T00:00:00Z", 4),
    [
      "2026-11-23T09:00:00.000Z",
      "2026-11-25T09:00:00.000Z",
      "2026-11-27T09:00:00.000Z",
      "2026-11-30T09:00:00.000Z",
    ],
  );
});

Deno.test("weekly accepts a day range and several times", () => {
  assertEquals(
    runsAfter({ type: "weekly", expression: "6-7 08:00,20:00" }, "2026-11-20T00:00:00Z", 4),
    [
      "2026-11-21T08:00:00.000Z",
      "2026-11-21T20:00:00.000Z",
      "2026-11-22T08:00:00.000Z",
      "2026-11-22T20:00:00.000Z",
    ],
  );
});

Deno.test("weekly rejects day 0 and 8, a missing time and a reversed range", () => {
  assertEquals(
    rejection({ type: "weekly", expression: "0 09:00" }).message,
    "weekday 0 is out of range 1–7",
  );
  assertEquals(
    rejection({ type: "weekly", expression: "8 09:00" }).message,
    "weekday 8 is out of range 1–7",
  );
  assertEquals(rejection({ type: "weekly", expression: "1,3" }).field, "schedule_expression");
  assertEquals(
    rejection({ type: "weekly", expression: "5-1 09:00" }).message,
    "weekday range 5-1 is reversed",
  );
});
