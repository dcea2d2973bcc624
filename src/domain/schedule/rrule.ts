/**
 * `rrule`: an RFC 5545 recurrence set — optional DTSTART (default: the anchor), one RRULE,
 * EXDATE and RDATE lines. rrule-temporal expands the rule on the wall clock (as floating time);
 * each local time is then read in the schedule's zone by dst.ts, so RFC 5545 §3.3.10 (a
 * nonexistent instance is ignored and not counted, a repeated one is its first instant) and any
 * dst_policy override follow the same code as every other wall-clock schedule.
 */
import { RRuleTemporal } from "rrule-temporal";
import { toText } from "rrule-temporal/totext";
import type { DomainError } from "../errors.ts";
import { DAY_MS, daysFromCivil, formatLocal } from "./civil.ts";
import { zoneLabel } from "./describe.ts";
import { localTimeExists, RRULE_POLICY, toLocal } from "./dst.ts";
import {
  badExpression,
  clip,
  type CompileContext,
  type Recurrence,
  wallClockRecurrence,
  withDefaults,
} from "./recurrence.ts";
import { zoneRules } from "./zone.ts";

const MAX_COUNT = 1_000;
/** Instances a COUNT rule may drop in DST gaps before it is refused as never reaching COUNT. */
const MAX_DROPPED = 100;
const MAX_DATES = 1_000;

/** RFC 5545 §3.3.10 rule parts and their allowed values. */
const PARTS: Record<string, RegExp | [number, number]> = {
  FREQ: /^(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)$/,
  INTERVAL: [1, 100_000],
  COUNT: [1, MAX_COUNT],
  UNTIL: /^\d{8}(T\d{6}Z?)?$/,
  BYSECOND: [0, 60],
  BYMINUTE: [0, 59],
  BYHOUR: [0, 23],
  BYDAY:
    /^([+-]?([1-9]|[1-4]\d|5[0-3])?(MO|TU|WE|TH|FR|SA|SU))(,[+-]?([1-9]|[1-4]\d|5[0-3])?(MO|TU|WE|TH|FR|SA|SU))*$/,
  BYMONTHDAY: [-31, 31],
  BYYEARDAY: [-366, 366],
  BYWEEKNO: [-53, 53],
  BYMONTH: [1, 12],
  BYSETPOS: [-366, 366],
  WKST: /^(MO|TU|WE|TH|FR|SA|SU)$/,
};

interface Lines {
  start: number | null;
  rule: Map<string, string> | null;
  exdates: number[];
  rdates: number[];
}

/** Compiles an rrule expression. */
export function compileRrule(
  expression: string,
  context: CompileContext,
): Recurrence | DomainError {
  const lines = parseLines(expression, context);
  if (!("rule" in lines)) return lines;
  const start = lines.start ??
    (context.anchor === null
      ? null
      : Math.floor(toLocal(context.zone, context.anchor) / 1000) * 1000);
  if (start === null) {
    return badExpression("DTSTART is missing and there is no anchor (schedule_start_at)");
  }
  const policy = withDefaults(RRULE_POLICY, context.dstPolicy);
  const rdates = [...new Set(lines.rdates)].sort((a, b) => a - b);
  const exdates = new Set(lines.exdates);
  let ruleNext: (local: number) => number = () => -1;
  let description = "";
  if (lines.rule !== null) {
    const rule = lines.rule;
    const until = rule.has("UNTIL") ? dateValue(rule.get("UNTIL")!, context, {}) : null;
    if (typeof until === "object" && until !== null) return until;
    const count = rule.has("COUNT") ? Number(rule.get("COUNT")) : null;
    if (count !== null && until !== null) {
      return badExpression("RRULE: COUNT and UNTIL must not both be given (RFC 5545)");
    }
    rule.delete("COUNT");
    rule.delete("UNTIL");
    const text = [...rule].map(([key, value]) => `${key}=${value}`).join(";");
    let expander: RRuleTemporal;
    try {
      expander = new RRuleTemporal({
        rruleString: `DTSTART:${compact(start)}\nRRULE:${text}`,
        tzid: "UTC",
        strict: true,
      });
    } catch (error) {
      return badExpression(`RRULE: ${(error as Error).message}`);
    }
    // rrule-temporal throws when its iteration cap is hit (a rule that never or too rarely
    // matches) or a date leaves Temporal's range; either ends the series here.
    const expand = (local: number): number => {
      try {
        return expander.next(new Date(local), true)?.epochMilliseconds ?? -1;
      } catch {
        return -1;
      }
    };
    if (expand(start) < 0) {
      return badExpression("RRULE: the rule never fires (or too rarely to compute)");
    }
    if (count !== null) {
      // COUNT counts the instances that exist in the zone when gaps skip (RFC 5545 §3.3.10).
      const instances: number[] = [];
      let dropped = 0;
      for (let local = expand(start); local >= 0 && instances.length < count;) {
        if (policy.gap === "shift" || localTimeExists(context.zone, local)) instances.push(local);
        else if (++dropped > MAX_DROPPED) {
          return badExpression("RRULE: too many instances fall in daylight-saving gaps");
        }
        local = expand(local + 1000);
      }
      ruleNext = (local) => instances[firstAtOrAfter(instances, local)] ?? -1;
    } else {
      ruleNext = (local) => {
        const found = expand(local);
        return until !== null && found > until ? -1 : found;
      };
    }
    description = toText(expander).replace(/ UTC$/, "") +
      (count !== null ? `, ${count} times` : "") +
      (until !== null ? `, until ${formatLocal(until).replace("T", " ")}` : "");
  }
  if (rdates.length > 0) {
    description += `${description ? " plus" : "on"} ${rdates.length} extra date${
      rdates.length === 1 ? "" : "s"
    }`;
  }
  const pattern = {
    nextLocal(local: number, limit: number): number {
      let from = Math.ceil(local / 1000) * 1000;
      while (from < limit) {
        const byRule = ruleNext(from);
        const byDate = rdates[firstAtOrAfter(rdates, from)] ?? -1;
        const found = byRule < 0 ? byDate : byDate < 0 ? byRule : Math.min(byRule, byDate);
        if (found < 0 || found >= limit) return -1;
        if (!exdates.has(found)) return found;
        from = found + 1000;
      }
      return -1;
    },
  };
  return wallClockRecurrence(pattern, {
    zone: context.zone,
    policy,
    description: `${description}, ${zoneLabel(context.zone.id)}`,
  });
}

/** Index of the first element ≥ value in a sorted array (length when none). */
function firstAtOrAfter(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** "20260305T023000", the RFC 5545 floating form of a wall-clock time. */
function compact(local: number): string {
  return formatLocal(local).replaceAll("-", "").replaceAll(":", "");
}

function parseLines(expression: string, context: CompileContext): Lines | DomainError {
  const lines: Lines = { start: null, rule: null, exdates: [], rdates: [] };
  const texts = expression.trim().split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  if (texts.length === 0) return badExpression("the recurrence is empty");
  for (const line of texts) {
    const upper = line.toUpperCase();
    const bare = upper.startsWith("FREQ=") ? `RRULE:${line}` : line;
    const colon = bare.indexOf(":");
    if (colon < 0) return badExpression(`line "${clip(line)}" has no ":"`);
    const [head, ...paramTexts] = bare.slice(0, colon).split(";");
    const name = head.toUpperCase();
    const params: Record<string, string> = {};
    for (const param of paramTexts) {
      const eq = param.indexOf("=");
      if (eq < 0) return badExpression(`parameter "${clip(param)}" of ${name} has no "="`);
      params[param.slice(0, eq).toUpperCase()] = param.slice(eq + 1);
    }
    const value = bare.slice(colon + 1).trim();
    if (name === "DTSTART") {
      if (lines.start !== null) return badExpression("DTSTART is given twice");
      const start = dateValue(value, context, params);
      if (typeof start !== "number") return start;
      lines.start = start;
    } else if (name === "RRULE") {
      if (lines.rule !== null) return badExpression("only one RRULE line is supported");
      const rule = parseRule(value);
      if (!(rule instanceof Map)) return rule;
      lines.rule = rule;
    } else if (name === "EXDATE" || name === "RDATE") {
      if (params.VALUE?.toUpperCase() === "PERIOD") {
        return badExpression(`${name} periods are not supported`);
      }
      for (const item of value.split(",")) {
        const date = dateValue(item.trim(), context, params);
        if (typeof date !== "number") return date;
        (name === "EXDATE" ? lines.exdates : lines.rdates).push(date);
      }
      if (lines.exdates.length + lines.rdates.length > MAX_DATES) {
        return badExpression(`at most ${MAX_DATES} EXDATE and RDATE values`);
      }
    } else {
      return badExpression(
        `unknown line "${clip(name)}" (expected DTSTART, RRULE, EXDATE or RDATE)`,
      );
    }
  }
  if (lines.rule === null && lines.rdates.length === 0) {
    return badExpression("an RRULE or at least one RDATE is needed");
  }
  return lines;
}

function parseRule(text: string): Map<string, string> | DomainError {
  const rule = new Map<string, string>();
  for (const part of text.split(";")) {
    const [key, value, extra] = part.toUpperCase().split("=");
    const allowed = PARTS[key];
    if (allowed === undefined || value === undefined || value === "" || extra !== undefined) {
      return badExpression(`RRULE: "${clip(part)}" is not a rule part (RFC 5545 §3.3.10)`);
    }
    if (rule.has(key)) return badExpression(`RRULE: ${key} is given twice`);
    if (allowed instanceof RegExp) {
      if (!allowed.test(value)) return badExpression(`RRULE: ${key}=${clip(value)} is not valid`);
    } else {
      for (const item of value.split(",")) {
        const n = Number(item);
        if (
          !/^[+-]?\d+$/.test(item) || n < allowed[0] || n > allowed[1] ||
          (n === 0 && allowed[0] < 0)
        ) {
          return badExpression(
            `RRULE: ${key} value ${clip(item)} is out of range ${allowed[0]}–${allowed[1]}`,
          );
        }
      }
    }
    rule.set(key, value);
  }
  if (!rule.has("FREQ")) return badExpression("RRULE: FREQ is required");
  return rule;
}

/** An RFC 5545 DATE or DATE-TIME value as a wall-clock time in the schedule's zone. */
function dateValue(
  text: string,
  context: CompileContext,
  params: Record<string, string>,
): number | DomainError {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/i.exec(text);
  if (match === null) return badExpression(`"${clip(text)}" is not an RFC 5545 date or date-time`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((p) => Number(p ?? 0));
  try {
    Temporal.PlainDateTime.from({ year, month, day, hour, minute, second }, { overflow: "reject" });
  } catch {
    return badExpression(`"${text}" is not a valid date`);
  }
  if (year < 1970) return badExpression(`"${text}" is before 1970`);
  if (params.TZID !== undefined && zoneRules(params.TZID)?.id !== context.zone.id) {
    return badExpression(
      `TZID ${clip(params.TZID)} differs from the schedule's zone ${context.zone.id}`,
    );
  }
  const local = daysFromCivil(year, month, day) * DAY_MS + (hour * 3600 + minute * 60 + second) *
      1000;
  return match[7] === undefined ? local : toLocal(context.zone, local);
}
