/** What every CLI command shares: how it reports failures and reads common options. */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** How a command prints its result. */
export type OutputFormat = "table" | "json";

/** The exit code of a usage error: the command line itself is wrong. */
export const USAGE_ERROR = 2;
/** The exit code when the service cannot be reached or does not answer in time. */
export const UNREACHABLE = 3;

/** Prints a usage error as one line on stderr and returns exit code 2. */
export function usageError(message: string): number {
  console.error(`chronolog: ${message} (see --help)`);
  return USAGE_ERROR;
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
    // --help wins over anything else on the line, so it works even next to a mistake.
    if (args.includes("--help") || args.includes("-h")) {
      console.log(settings.usage);
      return 0;
    }
    // node:util's messages run on with advice over several lines: keep the first statement.
    const message = (error as Error).message.split("\n")[0].split(". To specify")[0];
    // "--limit -1" reads -1 as an option: say how to give such a value.
    const dashed = /^Option '(-[^']*)' argument is ambiguous/.exec(message);
    if (dashed !== null) {
      const flag = dashed[1].split(", ").at(-1);
      return usageError(`${flag}: a value starting with "-" is written ${flag}=VALUE`);
    }
    return usageError(message.replace(/\.$/, ""));
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(settings.usage);
    return 0;
  }
  return parsed;
}

/** The width help text is wrapped at. */
const HELP_WIDTH = 100;

/** Words of `text` in lines that fit 100 columns after `indent` columns; later lines indented. */
export function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && indent + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((text, row) => (row === 0 ? text : `${" ".repeat(indent)}${text}`));
}

/** A command of a group: its words after the group, a one-line summary, and how it runs. */
export interface Subcommand {
  name: string;
  summary: string;
  run(args: string[]): Promise<number>;
}

/** The help of a group of commands: what it is, then one line per command. */
export function groupUsage(
  group: string,
  description: string,
  commands: readonly Subcommand[],
): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 2;
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`);
  return `Usage: deno task cli ${group} <command> [options]

${wrap(description, 0).join("\n")}

Commands:
${lines.join("\n")}

Each command explains its options: deno task cli ${group} <command> --help`;
}

/** Runs the command of a group that `args[0]` names; `--help` prints the group's help. */
export function runGroup(
  group: string,
  args: string[],
  settings: { usage: string; commands: readonly Subcommand[] },
): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h") {
    console.log(settings.usage);
    return Promise.resolve(0);
  }
  if (name === undefined) return Promise.resolve(usageError(`a ${group} command is required`));
  const command = settings.commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    return Promise.resolve(
      usageError(
        name.startsWith("-")
          ? `a ${group} command must come before options, got "${name}"`
          : `unknown command "${group} ${name}"`,
      ),
    );
  }
  return command.run(rest);
}
