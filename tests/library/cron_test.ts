/**
 * The library's cron helpers: validateCronExpression and parseCronExpression read the engine's
 * own grammar, and the field form ({ hour: 2 }) becomes the expression APScheduler users expect.
 */
import fc from "fast-check";
import {
  type CronFieldsInput,
  cronFromFields,
  DomainError,
  parseCronExpression,
  validateCronExpression,
} from "../../src/mod.ts";
import { assert, assertEquals } from "../_helpers.ts";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("validateCronExpression says which field is wrong", () => {
  for (const valid of ["0 2 * * *", "*/15 9-17 * * mon-fri", "30 0 12 L * ?", "@daily"]) {
    assertEquals(validateCronExpression(valid), { valid: true, error: null }, valid);
  }
  const cases: [string, RegExp][] = [
    ["61 * * * *", /minute 61/],
    ["* 24 * * *", /hour/],
    ["* * * 13 *", /month/],
    ["0 0 31 4 *", /never fires/],
    ["0 0 30,31 2 *", /never fires/],
    ["* * *", /fields?/],
    ["", /./],
  ];
  for (const [expression, message] of cases) {
    const { valid, error } = validateCronExpression(expression);
    assert(!valid && error !== null && message.test(error), `${expression}: ${error}`);
  }
  assertEquals(validateCronExpression(42 as unknown as string).valid, false);
});

Deno.test("parseCronExpression lists each field's values", () => {
  assertEquals(parseCronExpression("0 2 * * *"), {
    second: [0],
    minute: [0],
    hour: [2],
    day: range(1, 31),
    month: range(1, 12),
    dayOfWeek: range(0, 6),
  });
  assertEquals(parseCronExpression("15,45 */20 9-17 1,15 jan-mar mon-fri"), {
    second: [15, 45],
    minute: [0, 20, 40],
    hour: range(9, 17),
    day: [1, 15],
    month: [1, 2, 3],
    dayOfWeek: [1, 2, 3, 4, 5],
  });
  assertEquals(parseCronExpression("0 0 * * 7").dayOfWeek, [0]);
  let refused: unknown = null;
  try {
    parseCronExpression("0 0 32 * *");
  } catch (error) {
    refused = error;
  }
  assert(refused instanceof DomainError && refused.code === "invalid_schedule");
  assert(/day-of-month 32/.test(refused.message), refused.message);
});

Deno.test("the field form fills what it leaves out as APScheduler does", () => {
  const cases: [CronFieldsInput, string][] = [
    [{ hour: 2 }, "0 0 2 * * *"],
    [{ hour: 2, minute: 30 }, "0 30 2 * * *"],
    [{ minute: "*/15" }, "0 */15 * * * *"],
    [{ dayOfWeek: "mon-fri", hour: 9 }, "0 0 9 * * mon-fri"],
    [{ dayOfWeek: ["mon", "wed"] }, "0 0 0 * * mon,wed"],
    [{ month: 6 }, "0 0 0 1 6 *"],
    [{ day: "L", hour: 23, minute: 59 }, "0 59 23 L * *"],
    [{ second: [0, 30] }, "0,30 * * * * *"],
    // Fields above the least significant one given are `*`: these are APScheduler's readings.
    [{ day: 1, minute: 20 }, "0 20 * 1 * *"],
    [{ dayOfWeek: "mon", minute: 30 }, "0 30 * * * mon"],
    [{ month: 6, hour: 9 }, "0 0 9 * 6 *"],
    [{ day: 15 }, "0 0 0 15 * *"],
  ];
  for (const [fields, expression] of cases) {
    assertEquals(cronFromFields(fields), expression, JSON.stringify(fields));
  }
  const bad: [unknown, string, RegExp][] = [
    [{}, "cron", /at least one/],
    [{ hours: 2 }, "cron.hours", /Unknown cron field/],
    [{ hour: "1 2" }, "cron.hour", /without spaces/],
    [{ hour: 25 }, "cron.hour", /hour 25/],
    [{ minute: 0, dayOfWeek: "mon-xyz" }, "cron.dayOfWeek", /./],
    [{ second: [0, 60] }, "cron.second", /60/],
    [null, "cron", /object of fields/],
    ["0 2 * * *", "cron", /object of fields/],
  ];
  for (const [fields, field, message] of bad) {
    const refused = cronFromFields(fields as CronFieldsInput);
    assert(refused instanceof DomainError, JSON.stringify(fields));
    assertEquals([refused.code, refused.field], ["invalid_schedule", field]);
    assert(message.test(refused.message), refused.message);
  }
  // Text that is not a string is refused like any invalid expression, never a TypeError.
  assertEquals(validateCronExpression(null as unknown as string).valid, false);
  const parsed = (() => {
    try {
      return parseCronExpression(42 as unknown as string);
    } catch (error) {
      return error;
    }
  })();
  assert(parsed instanceof DomainError && parsed.field === "schedule_expression");
});

Deno.test("any field form of plain values parses back to exactly those values", () => {
  const values = (min: number, max: number) =>
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(
      fc.record({
        second: values(0, 59),
        minute: values(0, 59),
        hour: values(0, 23),
        day: values(1, 31),
        month: values(1, 12),
        dayOfWeek: values(0, 7),
      }, { requiredKeys: [] }),
      (fields) => {
        fc.pre(Object.keys(fields).length > 0);
        const expression = cronFromFields(fields);
        assert(typeof expression === "string", String(expression));
        // Days no chosen month has (April 31st, February 30th) never fire: the engine refuses
        // such an expression instead of scheduling nothing. A day-of-week list makes the days
        // an OR, which always fires.
        const longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        const fires = fields.day === undefined || fields.dayOfWeek !== undefined ||
          fields.day.some((day) => (fields.month ?? range(1, 12)).some((m) => day <= longest[m]));
        if (!fires) {
          const { valid, error } = validateCronExpression(expression);
          assert(!valid && /never fires/.test(error ?? ""), `${expression}: ${error}`);
          return;
        }
        const parsed = parseCronExpression(expression);
        const sorted = (list: number[]) => [...new Set(list)].sort((a, b) => a - b);
        for (const name of ["second", "minute", "hour", "month"] as const) {
          if (fields[name] !== undefined) assertEquals(parsed[name], sorted(fields[name]!));
        }
        if (fields.day !== undefined) assertEquals(parsed.day, sorted(fields.day));
        if (fields.dayOfWeek !== undefined) {
          assertEquals(parsed.dayOfWeek, sorted(fields.dayOfWeek.map((day) => day % 7)));
        }
      },
    ),
    { numRuns: 500 },
  );
});
