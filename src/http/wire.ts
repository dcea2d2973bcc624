import { z } from "zod";
import { DomainError } from "../domain/errors.ts";

const NOT_AN_INSTANT =
  "Expected an ISO 8601 date-time with Z or an offset, e.g. 2026-01-15T09:00:00Z";

/** An ISO 8601 instant as clients send it: date and time with seconds, and `Z` or an offset. */
export const isoInstant = z.iso.datetime({ offset: true, error: NOT_AN_INSTANT });

/** Epoch milliseconds of an ISO 8601 instant, or an invalid_params error naming `field`. */
export function parseInstant(text: string, field: string): number | DomainError {
  if (!isoInstant.safeParse(text).success) {
    return new DomainError("invalid_params", NOT_AN_INSTANT, field);
  }
  return Date.parse(text);
}

/** The wire form of an instant: ISO 8601 UTC with millisecond precision and `Z`. */
export function formatInstant(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
