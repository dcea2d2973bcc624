/** The kinds of failure every layer maps from; the edge turns each into a JSON-RPC code and HTTP status. */
export type DomainErrorCode =
  | "invalid_schedule"
  | "invalid_params"
  | "not_found"
  | "conflict"
  | "forbidden"
  | "unauthorized";

/**
 * A failure with a domain reason. Domain functions return it instead of throwing, so callers
 * must handle it; `field` names the input at fault when there is one.
 */
export class DomainError extends Error {
  /** The kind of failure. */
  readonly code: DomainErrorCode;
  /** The input at fault ("schedule_expression", "id", "timezone"…), when there is one. */
  readonly field: string | undefined;

  /** A failure of the given kind, naming the input at fault. */
  constructor(code: DomainErrorCode, message: string, field?: string) {
    super(message);
    this.name = "DomainError";
    this.code = code;
    this.field = field;
  }
}

/** An invalid schedule, blaming one schedule field. */
export function invalidSchedule(field: string, message: string): DomainError {
  return new DomainError("invalid_schedule", message, field);
}

/** True when a domain function returned an error instead of a value. */
export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}
