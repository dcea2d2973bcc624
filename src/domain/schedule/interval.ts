/**
 * `interval`: every N seconds ("3600") or ISO 8601 duration ("PT15M"), in real time from an
 * anchor: runs fall at anchor + k·N whatever the clock or the run times did, so they never drift.
 */
import type { DomainError } from "../errors.ts";
import { joinWords } from "./describe.ts";
import { badExpression, type CompileContext, type Recurrence } from "./recurrence.ts";

const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i;
const MAX_SECONDS = 100 * 366 * 86_400;

/** Parses an interval expression into whole seconds. */
export function parseIntervalSeconds(expression: string): number | DomainError {
  const text = expression.trim();
  let seconds: number;
  if (/^\d+$/.test(text)) {
    seconds = Number(text);
  } else if (/^-?\d*\.\d+$|^-\d+$/.test(text)) {
    return badExpression(`interval must be a whole number of seconds greater than 0, got ${text}`);
  } else {
    const match = DURATION.exec(text);
    if (match === null || /^PT?$/i.test(text)) {
      if (/^P.*[YM]/i.test(text) && !/T.*M/i.test(text)) {
        return badExpression(
          "years and months have no fixed length; use a monthly, cron or rrule schedule",
        );
      }
      return badExpression(
        `"${text.slice(0, 40)}" is not a number of seconds or an ISO 8601 duration like PT15M`,
      );
    }
    const [weeks, days, hours, minutes, secs] = match.slice(1).map((part) => Number(part ?? 0));
    seconds = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + secs;
  }
  if (seconds <= 0) return badExpression("interval must be greater than 0 seconds");
  if (seconds > MAX_SECONDS) return badExpression("interval must be at most 100 years");
  return seconds;
}

/** Compiles an interval expression. */
export function compileInterval(
  expression: string,
  context: CompileContext,
): Recurrence | DomainError {
  const seconds = parseIntervalSeconds(expression);
  if (typeof seconds !== "number") return seconds;
  const anchor = context.anchor;
  if (anchor === null) {
    return badExpression("an interval needs an anchor: schedule_start_at or the enable time");
  }
  const step = seconds * 1000;
  const first = context.anchorIsStart ? anchor : anchor + step;
  return {
    next(after: number) {
      const k = after < first ? 0 : Math.floor((after - first) / step) + 1;
      const at = first + k * step;
      return { at, local: at + context.zone.offsetAt(at), dst: "none" };
    },
    description: `every ${describeSeconds(seconds)}`,
  };
}

/** "15 minutes", "hour", "1 hour and 30 minutes". */
function describeSeconds(total: number): string {
  const units: [number, string][] = [[86_400, "day"], [3600, "hour"], [60, "minute"], [
    1,
    "second",
  ]];
  const parts: string[] = [];
  let rest = total;
  for (const [size, name] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count} ${name}${count === 1 ? "" : "s"}`);
  }
  return parts.length === 1 && parts[0].startsWith("1 ") ? parts[0].slice(2) : joinWords(parts);
}
