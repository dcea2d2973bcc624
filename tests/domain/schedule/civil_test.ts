import { assertEquals } from "../../_helpers.ts";
import fc from "fast-check";
import {
  civilFromDays,
  DAY_MS,
  daysFromCivil,
  daysInMonth,
  formatLocal,
  weekdayOfDays,
} from "../../../src/domain/schedule/civil.ts";

const days = fc.integer({ min: -25_567, max: 2_932_896 }); // 1900-01-01 … 9999-12-31

Deno.test("civil dates from day counts agree with Temporal.PlainDate", () => {
  fc.assert(fc.property(days, (count) => {
    const expected = Temporal.PlainDate.from("1970-01-01").add({ days: count });
    const date = civilFromDays(count);
    assertEquals([date.year, date.month, date.day], [
      expected.year,
      expected.month,
      expected.day,
    ]);
    assertEquals(daysFromCivil(date.year, date.month, date.day), count);
    assertEquals(weekdayOfDays(count), expected.dayOfWeek % 7);
    assertEquals(daysInMonth(date.year, date.month), expected.daysInMonth);
  }));
});

Deno.test("wall-clock milliseconds format like Temporal.PlainDateTime", () => {
  fc.assert(fc.property(days, fc.integer({ min: 0, max: 86_399 }), (count, second) => {
    const local = count * DAY_MS + second * 1000;
    const expected = Temporal.Instant.fromEpochMilliseconds(local).toZonedDateTimeISO("UTC")
      .toPlainDateTime().toString();
    assertEquals(formatLocal(local), expected);
  }));
});

Deno.test("2000 and 2400 are leap years, 1900 and 2100 are not", () => {
  assertEquals([1900, 2000, 2100, 2400].map((year) => daysInMonth(year, 2)), [28, 29, 28, 29]);
});
