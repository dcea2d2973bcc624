/**
 * Cron helpers of the library: validating and parsing an expression with the engine's own cron
 * grammar, and the field form (`{ hour: 2, minute: 0 }`) the registration methods accept.
 */
import { DomainError, isDomainError } from "../domain/errors.ts";
import { parseCron } from "../domain/schedule/mod.ts";

/** What validateCronExpression answers. */
export interface CronValidation {
  /** Whether the expression is valid. */
  valid: boolean;
  /** Why not, naming the field ("minute 61 is out of range 0–59"); null when valid. */
  error: string | null;
}

/** Whether a cron expression (5 fields, or 6 with seconds first) is valid, and why not. */
export function validateCronExpression(expression: string): CronValidation {
  const parsed = parseText(expression);
  return isDomainError(parsed)
    ? { valid: false, error: parsed.message }
    : { valid: true, error: null };
}

/** The engine's reading of an expression; for JavaScript callers, anything else is refused. */
function parseText(expression: unknown) {
  return typeof expression === "string"
    ? parseCron(expression)
    : new DomainError("invalid_schedule", "A cron expression is a string", "schedule_expression");
}

/** The values each field of a cron expression allows, in ascending order. */
export interface ParsedCron {
  /** Seconds, 0–59 (0 alone for a 5-field expression). */
  second: number[];
  /** Minutes, 0–59. */
  minute: number[];
  /** Hours, 0–23. */
  hour: number[];
  /** Plain days of the month, 1–31 (L, W and # parts do not reduce to a list: left out). */
  day: number[];
  /** Months, 1–12. */
  month: number[];
  /** Days of the week, 0 = Sunday … 6 = Saturday (plain ones; # and L parts left out). */
  dayOfWeek: number[];
}

/**
 * The values each field of a cron expression allows; throws a DomainError (`invalid_schedule`)
 * naming the field when the expression is invalid.
 */
export function parseCronExpression(expression: string): ParsedCron {
  const parsed = parseText(expression);
  if (isDomainError(parsed)) throw parsed;
  const list = (flags: boolean[], min: number, max: number) =>
    flags.flatMap((on, value) => on && value >= min && value <= max ? [value] : []);
  return {
    second: list(parsed.seconds, 0, 59),
    minute: list(parsed.minutes, 0, 59),
    hour: list(parsed.hours, 0, 23),
    day: list(parsed.days, 1, 31),
    month: list(parsed.months, 1, 12),
    dayOfWeek: [...new Set(list(parsed.weekdays, 0, 7).map((day) => day % 7))].sort((a, b) =>
      a - b
    ),
  };
}

/** One field of the cron field form: a value, a list, or cron text ("1-5", "mon-fri", "*\/15"). */
export type CronFieldValue = number | string | readonly (number | string)[];

/** The field form of a cron schedule; fields left out follow APScheduler's rule (below). */
export interface CronFieldsInput {
  /** Seconds, 0–59. */
  second?: CronFieldValue;
  /** Minutes, 0–59. */
  minute?: CronFieldValue;
  /** Hours, 0–23. */
  hour?: CronFieldValue;
  /** Days of the month, 1–31, or L (the last). */
  day?: CronFieldValue;
  /** Months, 1–12 or jan–dec. */
  month?: CronFieldValue;
  /** Days of the week, 0–7 (0 and 7 are Sunday) or sun–sat. */
  dayOfWeek?: CronFieldValue;
}

/** The fields in the order of a 6-field expression. */
const FIELD_ORDER = ["second", "minute", "hour", "day", "month", "dayOfWeek"] as const;
/** How significant each field is (APScheduler's order: month, day, day of week, hour, …). */
const RANK: Record<typeof FIELD_ORDER[number], number> = {
  second: 0,
  minute: 1,
  hour: 2,
  dayOfWeek: 3,
  day: 4,
  month: 5,
};
/** What a field left out below the least significant one given becomes. */
const MINIMUM: Record<typeof FIELD_ORDER[number], string> = {
  second: "0",
  minute: "0",
  hour: "0",
  dayOfWeek: "*",
  day: "1",
  month: "1",
};

/**
 * The 6-field expression of the field form, by APScheduler's rule: fields more significant than
 * the least significant one given are `*`, less significant ones their minimum, day of week
 * always `*`. So `{ hour: 2 }` is 02:00:00 every day, `{ day: 1, minute: 20 }` every hour at :20
 * on the 1st, `{ month: 6 }` June 1 at 00:00:00.
 */
export function cronFromFields(fields: CronFieldsInput): string | DomainError {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    return new DomainError(
      "invalid_schedule",
      "Give cron text or an object of fields ({ hour: 2, minute: 0 })",
      "cron",
    );
  }
  for (const name of Object.keys(fields)) {
    if (!(FIELD_ORDER as readonly string[]).includes(name)) {
      return new DomainError(
        "invalid_schedule",
        `Unknown cron field "${name}" (expected ${FIELD_ORDER.join(", ")})`,
        `cron.${name}`,
      );
    }
  }
  const given = FIELD_ORDER.filter((name) => fields[name] !== undefined);
  if (given.length === 0) {
    return new DomainError("invalid_schedule", "Give at least one cron field", "cron");
  }
  const least = Math.min(...given.map((name) => RANK[name]));
  const parts = FIELD_ORDER.map((name) => {
    const value = fields[name];
    if (value !== undefined) return fieldText(value);
    return RANK[name] < least ? MINIMUM[name] : "*";
  });
  for (const [index, part] of parts.entries()) {
    if (part === "" || /\s/.test(part)) {
      return new DomainError(
        "invalid_schedule",
        `Cron field ${FIELD_ORDER[index]} must be a value, a list or cron text without spaces`,
        `cron.${FIELD_ORDER[index]}`,
      );
    }
  }
  // A value the field does not allow is named by its field: each is read alone, `*` elsewhere.
  for (const name of given) {
    const alone = FIELD_ORDER.map((other, index) => other === name ? parts[index] : "*");
    const parsed = parseCron(alone.join(" "));
    if (isDomainError(parsed)) {
      return new DomainError("invalid_schedule", parsed.message, `cron.${name}`);
    }
  }
  return parts.join(" ");
}

function fieldText(value: CronFieldValue): string {
  return Array.isArray(value) ? value.map(String).join(",") : String(value);
}
