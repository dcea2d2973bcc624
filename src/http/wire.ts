import { z } from "zod";
import { DomainError } from "../domain/errors.ts";
import { MAX_INSTANT, MIN_INSTANT } from "../domain/schedule/mod.ts";

const NOT_AN_INSTANT =
  "Expected an ISO 8601 date-time with Z or an offset, e.g. 2026-01-15T09:00:00Z";

/** An ISO 8601 instant as clients send it: date and time with seconds, and `Z` or an offset. */
export const isoInstant = z.iso.datetime({ offset: true, error: NOT_AN_INSTANT });

/** Epoch milliseconds of an ISO 8601 instant, or an invalid_params error naming `field`. */
export function parseInstant(text: string, field: string): number | DomainError {
  if (!isoInstant.safeParse(text).success) {
    return new DomainError("invalid_params", NOT_AN_INSTANT, field);
  }
  const epochMs = Date.parse(text);
  if (!(epochMs >= MIN_INSTANT && epochMs <= MAX_INSTANT)) {
    return new DomainError("invalid_params", "Must be an instant between 1970 and 9999", field);
  }
  return epochMs;
}

/**
 * True when text can be stored: PostgreSQL text and jsonb hold neither NUL nor an unpaired UTF-16
 * surrogate, so such input is refused at the edge instead of failing in the database.
 */
export function isStorableText(text: string): boolean {
  return text.isWellFormed() && !text.includes("\u0000");
}

/** The same check over every key and string of a JSON value. */
export function isStorableJson(value: unknown): boolean {
  if (typeof value === "string") return isStorableText(value);
  if (Array.isArray(value)) return value.every(isStorableJson);
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).every(([key, item]) =>
      isStorableText(key) && isStorableJson(item)
    );
  }
  return true;
}

/** The most items (tasks, runs, events) one page may hold. */
export const MAX_PAGE = 1000;

/** A page's `limit` param: 1 to MAX_PAGE items, 100 unless given. */
export const PageLimit = z.int().min(1).max(MAX_PAGE).default(100);

/** The message for text that isStorableText refuses. */
export const NOT_STORABLE = "Must not contain NUL characters or unpaired UTF-16 surrogates";

/** Text that is stored: PostgreSQL cannot hold NUL or unpaired surrogates. */
export const text = (max: number) => z.string().max(max).refine(isStorableText, NOT_STORABLE);

/** A task id as clients send it. */
export const TaskId = z.string().min(1).max(128).regex(
  /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/,
  "Use letters, digits and . _ : @ - (starting with a letter or digit)",
);

/** A run id as clients send it (one the service assigned, so plain storable text). */
export const RunId = text(128).pipe(z.string().min(1));

/** The wire form of an instant: ISO 8601 UTC with millisecond precision and `Z`. */
export function formatInstant(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** The deepest nesting of arrays and objects a request may hold. */
export const MAX_JSON_DEPTH = 64;

/**
 * Why a parsed JSON request is refused before any schema sees it, or null: nesting deeper than
 * MAX_JSON_DEPTH (recursive validators would exhaust the stack), or a `__proto__` key (schemas
 * skip it silently, so it could neither be refused as unknown nor stored as given). Iterative,
 * so the check itself cannot overflow.
 */
export function jsonShapeProblem(value: unknown): string | null {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth >= MAX_JSON_DEPTH) return `JSON nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (Array.isArray(item)) {
      for (const element of item) pending.push([element, depth + 1]);
      continue;
    }
    for (const key of Object.keys(item)) {
      if (key === "__proto__") return "the key __proto__ is not accepted";
      pending.push([(item as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return null;
}
