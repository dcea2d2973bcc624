/** What every CLI command shares: how it reports failures and reads common options. */

/** How a command prints its result. */
export type OutputFormat = "table" | "json";

/** Prints a usage error as one line on stderr and returns exit code 2. */
export function usageError(message: string): number {
  console.error(`chronolog: ${message} (see --help)`);
  return 2;
}

/** Prints a failure as one line on stderr and returns exit code 1. */
export function failure(message: string): number {
  console.error(`chronolog: ${message}`);
  return 1;
}

/** The output format named by `-f`, or null when it is neither table nor json. */
export function readFormat(value: string | undefined): OutputFormat | null {
  return value === "table" || value === "json" ? value : null;
}

/** The message of a thrown value, without a stack and with any URL (it may hold a password) masked. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s]*/gi, "<url>");
}
