import { assertEquals, rejection, runsAfter } from "../../_helpers.ts";

Deno.test("daily 09:00 from exactly 09:00 gives the next day", () => {
  assertEquals(runsAfter({ type: "daily", expression: "09:00" }, "2026-05-04T09:00:00Z", 2), [
    "2026-05-05T09:00:00.000Z",
    "2026-05-06T09:00:00.000Z",
  ]);
});

Deno.test("daily 09:00 one millisecond before 09:00 gives the same day", () => {
  assertEquals(runsAfter({ type: "daily", expression: "09:00" }, "2026-05-04T08:59:59.999Z", 1), [
    "2026-05-04T09:00:00.000Z",
  ]);
});

Deno.test("daily with several times fires at each, in order, whatever order they are listed", () => {
  assertEquals(
    runsAfter({ type: "daily", expression: "17:30, 9:00" }, "2026-05-04T12:00:00Z", 3),
    ["2026-05-04T17:30:00.000Z", "2026-05-05T09:00:00.000Z", "2026-05-05T17:30:00.000Z"],
  );
});

Deno.test("daily reads times on the wall clock of the schedule's zone", () => {
  assertEquals(
    runsAfter(
      { type: "daily", expression: "09:00", timezone: "Asia/Kolkata" },
      "2026-05-04T00:00:00Z",
      2,
    ),
    ["2026-05-04T03:30:00.000Z", "2026-05-05T03:30:00.000Z"],
  );
});

Deno.test("daily rejects malformed times naming the expression", () => {
  for (const expression of ["24:00", "9", "09:60", "09:00,", "nine", "09:00 17:00"]) {
    const { field, message } = rejection({ type: "daily", expression });
    assertEquals(field, "schedule_expression", expression);
    assertEquals(typeof message, "string");
  }
  assertEquals(
    rejection({ type: "daily", expression: "25:00" }).message,
    '"25:00" is not a time of day (expected HH:MM, 00:00 to 23:59)',
  );
});

Deno.test("daily in Samoa fires once for the skipped 2011-12-30 and the day after", () => {
  // Apia moved from -10 to +14 at the end of 2011-12-29: the 30th never existed there. Its 09:00,
  // read with the offset before the gap, is the same instant as 09:00 on the 31st.
  assertEquals(
    runsAfter(
      { type: "daily", expression: "09:00", timezone: "Pacific/Apia" },
      "2011-12-28T00:00:00Z",
      3,
    ),
    ["2011-12-28T19:00:00.000Z", "2011-12-29T19:00:00.000Z", "2011-12-30T19:00:00.000Z"],
  );
  assertEquals(
    runsAfter(
      { type: "daily", expression: "09:00", timezone: "Pacific/Apia" },
      "2011-12-30T19:00:00Z",
      1,
    ),
    ["2011-12-31T19:00:00.000Z"],
  );
});
