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

export { describeError } from "../log.ts";
