import { assert, assertEquals, rejection } from "../../_helpers.ts";
import fc from "fast-check";
import { isDomainError } from "../../../src/domain/errors.ts";
import {
  parseSchedule,
  SCHEDULE_TYPES,
  type ScheduleType,
} from "../../../src/domain/schedule/mod.ts";

const type = fc.constantFrom(...SCHEDULE_TYPES);
const fields = new Set(["schedule_expression", "schedule_timezone", "schedule_type"]);

Deno.test("random expressions never throw: each parses or names the field at fault", () => {
  const junk = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({
      unit: fc.constantFrom(..."0123456789*/,-#?LW@: TZPHMSDRULEFQ=\n".split("")),
      maxLength: 40,
    }),
    fc.string({ unit: "binary", maxLength: 40 }),
  );
  fc.assert(
    fc.property(
      type,
      junk,
      fc.constantFrom("UTC", "America/New_York", "Nowhere/Town"),
      (t, expression, timezone) => {
        const result = parseSchedule({ type: t, expression, timezone, anchor: 0 });
        if (isDomainError(result)) {
          assert(result.field !== undefined && fields.has(result.field), result.field);
          assert(result.message.length > 0 && !result.message.endsWith("."));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("an empty expression is rejected for every type", () => {
  for (const t of SCHEDULE_TYPES) {
    assertEquals(rejection({ type: t, expression: "  " }), {
      field: "schedule_expression",
      message: "expression is empty",
    });
  }
});

Deno.test("a huge expression is rejected without being parsed", () => {
  for (const t of SCHEDULE_TYPES) {
    const { field, message } = rejection({ type: t, expression: "1".repeat(100_000) });
    assertEquals(field, "schedule_expression");
    assert(message.startsWith("expression is too long"), message);
  }
});

Deno.test("an unknown zone is rejected naming schedule_timezone", () => {
  for (const timezone of ["Mars/Olympus", "+05:00", "EST5EDTX", ""]) {
    assertEquals(
      rejection({ type: "daily", expression: "09:00", timezone }).field,
      "schedule_timezone",
    );
  }
});

Deno.test("an unknown type, bad bounds and a bad policy name their fields", () => {
  assertEquals(
    rejection({ type: "hourly" as ScheduleType, expression: "5" }).field,
    "schedule_type",
  );
  assertEquals(
    rejection({ type: "daily", expression: "09:00", startAt: 10, endAt: 5 }).field,
    "schedule_end_at",
  );
  assertEquals(rejection({ type: "daily", expression: "09:00", maxRuns: 0 }).field, "max_runs");
  assertEquals(
    rejection({
      type: "daily",
      expression: "09:00",
      dstPolicy: { gap: "later" as "skip" },
    }).field,
    "dst_policy.gap",
  );
});
