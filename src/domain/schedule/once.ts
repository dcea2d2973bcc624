/**
 * `once`: one instant ("2026-01-15T09:00:00Z", "…+01:00"), or a local time in the schedule's zone
 * when no offset is given ("2026-01-15T09:00"), read with the wall-clock DST rules.
 */
import type { DomainError } from "../errors.ts";
import { formatLocal } from "./civil.ts";
import { zoneLabel } from "./describe.ts";
import {
  badExpression,
  type CompileContext,
  type Recurrence,
  wallClockRecurrence,
  withDefaults,
} from "./recurrence.ts";
import { WALL_CLOCK_POLICY } from "./dst.ts";

const MAX_ONCE_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Compiles a once expression. */
export function compileOnce(expression: string, context: CompileContext): Recurrence | DomainError {
  const text = expression.trim();
  const match = DATE_TIME.exec(text);
  if (match === null) {
    return badExpression(
      `"${text.slice(0, 40)}" is not an ISO 8601 date-time (expected e.g. 2026-01-15T09:00:00Z)`,
    );
  }
  const year = Number(match[1]);
  if (year < 1970 || year > 9999) {
    return badExpression(`year ${year} is out of range 1970–9999`);
  }
  let local: Temporal.PlainDateTime;
  try {
    local = Temporal.PlainDateTime.from(text.slice(0, match[8] ? -match[8].length : undefined), {
      overflow: "reject",
    });
  } catch {
    return badExpression(`"${text}" is not a valid date and time`);
  }
  const localMs = local.toZonedDateTime("UTC").epochMilliseconds;
  if (match[8] !== undefined) {
    let instant: number;
    try {
      instant = Temporal.Instant.from(text).epochMilliseconds;
    } catch {
      return badExpression(`"${text}" has an invalid UTC offset`);
    }
    if (instant < 0 || instant > MAX_ONCE_INSTANT) {
      return badExpression("the instant is out of range 1970–9999");
    }
    const occurrence = { at: instant, local: instant + context.zone.offsetAt(instant) };
    return {
      next: (after) => (instant > after ? { ...occurrence, dst: "none" } : null),
      description: `once at ${new Date(instant).toISOString()}`,
    };
  }
  const pattern = {
    nextLocal: (from: number, limit: number) => (from <= localMs && localMs < limit ? localMs : -1),
  };
  return wallClockRecurrence(pattern, {
    zone: context.zone,
    policy: withDefaults(WALL_CLOCK_POLICY, context.dstPolicy),
    description: `once at ${formatLocal(localMs).replace("T", " ")}, ${zoneLabel(context.zone.id)}`,
  });
}
