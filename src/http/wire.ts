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

/** The message for text that isStorableText refuses. */
export const NOT_STORABLE = "Must not contain NUL characters or unpaired UTF-16 surrogates";

/** The wire form of an instant: ISO 8601 UTC with millisecond precision and `Z`. */
export function formatInstant(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
