/** What every CLI command shares: how it reports failures and reads common options. */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

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

/** A command's parsed options and positional arguments. */
export type ParsedCommand<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/**
 * Parses a command's arguments; prints `usage` for `--help` (an option every command declares).
 * Returns the parsed command, or the exit code to end with (0 after help, 2 on bad arguments).
 */
export function parseCommand<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  settings: { usage: string; positionals: boolean },
): ParsedCommand<O> | number {
  let parsed: ParsedCommand<O>;
  try {
    parsed = parseArgs({
      args,
      options,
      allowPositionals: settings.positionals,
      strict: true,
    }) as ParsedCommand<O>;
  } catch (error) {
    return usageError((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(settings.usage);
    return 0;
  }
  return parsed;
}
