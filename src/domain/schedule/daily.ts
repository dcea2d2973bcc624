/** `daily`: one or several wall-clock times every day ("09:00", "09:00,17:30"). */
import type { DomainError } from "../errors.ts";
import { describeTimes, zoneLabel } from "./describe.ts";
import {
  type CompileContext,
  daysAndTimes,
  EVERY_DAY,
  parseTimes,
  type Recurrence,
} from "./recurrence.ts";

/** Compiles a daily expression. */
export function compileDaily(
  expression: string,
  context: CompileContext,
): Recurrence | DomainError {
  const times = parseTimes(expression);
  if (!Array.isArray(times)) return times;
  const description = `${describeTimes(times)} every day, ${zoneLabel(context.zone.id)}`;
  return daysAndTimes(EVERY_DAY, { times, context, description });
}
