// Merged into _helpers.ts once the skeleton lands.
import assertModule from "node:assert/strict";
import {
  nextOccurrences,
  parseSchedule,
  type Schedule,
  type ScheduleSpec,
} from "../src/domain/schedule/mod.ts";
import { isDomainError } from "../src/domain/errors.ts";

/** Asserts a value is truthy. */
export const assert: (value: unknown, message?: string) => asserts value = assertModule.ok;
/** Asserts deep equality. */
export const assertEquals: <T>(actual: unknown, expected: T, message?: string) => void =
  assertModule.deepStrictEqual;

/** Parses a schedule that the test expects to be valid. */
export function mustParse(spec: ScheduleSpec): Schedule {
  const schedule = parseSchedule(spec);
  if (isDomainError(schedule)) throw new Error(`unexpected ${schedule.field}: ${schedule.message}`);
  return schedule;
}

/** The next `count` runs after an ISO instant, as ISO strings. */
export function runsAfter(spec: ScheduleSpec, from: string, count = 5): string[] {
  return nextOccurrences(mustParse(spec), Date.parse(from), { count }).map((occurrence) =>
    new Date(occurrence.at).toISOString()
  );
}

/** The field and message of a schedule the test expects to be rejected. */
export function rejection(spec: ScheduleSpec): { field: string | undefined; message: string } {
  const result = parseSchedule(spec);
  if (!isDomainError(result)) throw new Error(`expected ${spec.expression} to be rejected`);
  return { field: result.field, message: result.message };
}
