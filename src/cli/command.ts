/**
 * The shape of a command that asks the service: its options (most map to one JSON-RPC param),
 * the help generated from them, the params built from them, and the call.
 */
import type { ParseArgsOptionsConfig } from "node:util";
import {
  type OutputFormat,
  parseCommand,
  readFormat,
  UNREACHABLE,
  usageError,
  wrap,
} from "./common.ts";
import { printJson } from "./output.ts";
import {
  bearerToken,
  type CallFailure,
  DEFAULT_SERVICE_URL,
  isRecord,
  ServiceClient,
  serviceUrl,
} from "./rpc_client.ts";

/** An option of a command: it sets a JSON-RPC param, or the command reads it itself. */
export interface CliOption {
  /** The param it sets; a dotted path sets a nested field (`dst_policy.gap`). None: local. */
  param?: string;
  /** text: as given; int: a whole number; json: parsed JSON; flag: present or absent. */
  kind: "text" | "int" | "json" | "flag";
  /** What a flag sets its param to (default true). */
  value?: unknown;
  short?: string;
  /** The value's name in the help: N, ISO, JSON… */
  placeholder?: string;
  help: string;
}

/** A command's own options, by long name. */
export type CliOptions = Readonly<Record<string, CliOption>>;

/** What a command that talks to the service is, for parsing and for its help. */
export interface CommandSpec {
  /** The words after `deno task cli`, e.g. "tasks get". */
  name: string;
  /** Whether it takes one `<task_id>` (the `task_id` param). */
  taskId: boolean;
  /** What it does, for the help: a paragraph, wrapped at 100 columns. */
  description: string;
  options: CliOptions;
  /** Whether --json and --params may pass params the options do not cover. */
  raw: boolean;
  /** Whether it calls the service with a token (false: it only needs the URL). */
  token?: boolean;
  /** The exit codes, when not those of a call (EXIT_CODES). */
  exitCodes?: string;
  /** The JSON-RPC method it calls, when it makes one call. */
  method?: string;
}

/** A parsed command line, ready for the call. */
export interface ServiceCommand {
  client: ServiceClient;
  format: OutputFormat;
  /** The params for the call: raw params, then the options, then the task id. */
  params: Record<string, unknown>;
  /** The command's own (local) option values. */
  values: Record<string, string | boolean | undefined>;
}

/** Options of commands that page through tasks. */
export const PAGE_OPTIONS: CliOptions = {
  limit: { param: "limit", kind: "int", placeholder: "N", help: "at most this many (default 100)" },
  offset: { param: "offset", kind: "int", placeholder: "N", help: "skip this many (default 0)" },
};

/** Filters several listing commands share. */
export const USER_OPTION: CliOptions = {
  "user-id": { param: "user_id", kind: "text", placeholder: "USER", help: "this user's only" },
};
export const SCHEDULE_TYPE_OPTION: CliOptions = {
  "schedule-type": {
    param: "schedule_type",
    kind: "text",
    short: "t",
    placeholder: "TYPE",
    help: "only schedules of this type",
  },
};

/** The exit codes every command that asks the service documents. */
const EXIT_CODES = "Exit codes: 0 success, 1 the service refused the call (or the run " +
  "failed), 2 usage error, 3 the service cannot be reached.";

const RAW_OPTIONS: CliOptions = {
  json: {
    kind: "text",
    placeholder: "JSON",
    help: "more params, as a JSON object (the options above win)",
  },
  params: {
    kind: "text",
    placeholder: "FILE|-",
    help: "more params from a JSON file, or - for stdin",
  },
};

const URL_OPTION: CliOptions = {
  url: {
    kind: "text",
    placeholder: "URL",
    help: `the service (default: CHRONOLOG_URL, else ${DEFAULT_SERVICE_URL})`,
  },
};

const TOKEN_OPTION: CliOptions = {
  token: {
    kind: "text",
    placeholder: "JWT",
    help: "bearer token (default: CHRONOLOG_TOKEN; prefer the variable: a flag shows in ps)",
  },
};

const OUTPUT_OPTIONS: CliOptions = {
  format: {
    kind: "text",
    short: "f",
    placeholder: "table|json",
    help: "output for people (default) or the result as JSON for scripts",
  },
  help: { kind: "flag", short: "h", help: "this text" },
};

/** Every option a spec's command line accepts, its own first. */
function allOptions(spec: CommandSpec): CliOptions {
  return {
    ...spec.options,
    ...(spec.raw ? RAW_OPTIONS : {}),
    ...URL_OPTION,
    ...(spec.token === false ? {} : TOKEN_OPTION),
    ...OUTPUT_OPTIONS,
  };
}

/** The help of a command, generated from its spec so the two cannot disagree. */
function commandUsage(spec: CommandSpec): string {
  const options = Object.entries(allOptions(spec));
  const labels = options.map(([name, option]) =>
    `  ${option.short === undefined ? "    " : `-${option.short}, `}--${name}${
      option.placeholder === undefined ? "" : ` ${option.placeholder}`
    }`
  );
  const width = Math.max(...labels.map((label) => label.length)) + 2;
  const lines = options.map(([name, option], index) => {
    const label = labels[index];
    const help = `${option.help}${paramNote(name, option)}`;
    return wrap(help, width).map((line, row) => `${row === 0 ? label.padEnd(width) : ""}${line}`)
      .join("\n");
  });
  const synopsis = `deno task cli ${spec.name}${spec.taskId ? " <task_id>" : ""} [options]`;
  return [
    `Usage: ${synopsis}`,
    wrap(spec.description, 0).join("\n"),
    `Options:\n${lines.join("\n")}`,
    wrap(spec.exitCodes ?? EXIT_CODES, 0).join("\n"),
  ].join("\n\n");
}

/** Which param an option sets, when its name does not already say so. */
function paramNote(name: string, option: CliOption): string {
  if (option.param === undefined) return "";
  const named = option.param.replaceAll("_", "-") === name;
  if (option.kind !== "flag") return named ? "" : ` (${option.param})`;
  const value = flagValue(option);
  return named && value === true ? "" : ` (${option.param}: ${JSON.stringify(value)})`;
}

/** What a flag sets its param to: its `value`, else true. */
function flagValue(option: CliOption): unknown {
  return "value" in option ? option.value : true;
}

/**
 * Parses a command line against its spec: the task id, the service, the format and the params.
 * Returns the exit code instead after --help (0) or a usage error (2).
 */
export async function parseServiceCommand(
  args: string[],
  spec: CommandSpec,
): Promise<ServiceCommand | number> {
  const options = allOptions(spec);
  const config: ParseArgsOptionsConfig = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] = {
      type: option.kind === "flag" ? "boolean" : "string",
      ...(option.short === undefined ? {} : { short: option.short }),
    };
  }
  const parsed = parseCommand(args, config, { usage: commandUsage(spec), positionals: true });
  if (typeof parsed === "number") return parsed;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const { positionals } = parsed;
  if (spec.taskId && positionals.length === 0) return usageError("a task id is required");
  if (positionals.length > (spec.taskId ? 1 : 0)) {
    return usageError(
      spec.taskId
        ? `one task id is expected, got "${positionals.join(" ")}"`
        : `unexpected argument "${positionals[0]}"`,
    );
  }
  const format = readFormat((values.format as string | undefined) ?? "table");
  if (format === null) return usageError(`--format must be table or json, got "${values.format}"`);
  const url = serviceUrl(values.url as string | undefined);
  if (url === null) {
    return usageError(
      `${values.url === undefined ? "CHRONOLOG_URL" : "--url"} must be an http or https URL`,
    );
  }
  const token = spec.token === false ? null : bearerToken(values.token as string | undefined);
  if (typeof token === "object" && token !== null) return usageError(token.invalid);

  const params = await readParams(values, spec);
  if (typeof params === "string") return usageError(params);
  if (spec.taskId) params.task_id = positionals[0];
  return { client: new ServiceClient(url, token), format, params, values };
}

/** The params the raw options and the param options give, or why they cannot be read. */
async function readParams(
  values: Record<string, string | boolean | undefined>,
  spec: CommandSpec,
): Promise<Record<string, unknown> | string> {
  let params: Record<string, unknown> = {};
  if (spec.raw) {
    if (values.json !== undefined && values.params !== undefined) {
      return "give --json or --params, not both";
    }
    const raw = await readRawParams(
      values.json as string | undefined,
      values.params as string | undefined,
    );
    if (typeof raw === "string") return raw;
    params = raw;
  }
  const setBy = new Map<string, string>();
  for (const [name, option] of Object.entries(spec.options)) {
    const text = values[name];
    if (option.param === undefined || text === undefined || text === false) continue;
    const earlier = setBy.get(option.param);
    if (earlier !== undefined) return `give --${earlier} or --${name}, not both`;
    setBy.set(option.param, name);
    const read = readValue(name, option, text);
    if ("invalid" in read) return read.invalid;
    setPath(params, option.param, read.value);
  }
  return params;
}

async function readRawParams(
  json: string | undefined,
  file: string | undefined,
): Promise<Record<string, unknown> | string> {
  let text: string;
  let source: string;
  if (json !== undefined) {
    text = json;
    source = "--json";
  } else if (file !== undefined) {
    source = "--params";
    try {
      text = file === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(file);
    } catch (error) {
      return `--params: cannot read ${file === "-" ? "stdin" : file}: ${(error as Error).message}`;
    }
  } else return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `${source} is not valid JSON: ${(error as Error).message}`;
  }
  return isRecord(value) ? value : `${source} must be a JSON object of params`;
}

/** An option's value for its param, or why its text is not one. */
function readValue(
  name: string,
  option: CliOption,
  text: string | boolean,
): { value: unknown } | { invalid: string } {
  switch (option.kind) {
    case "flag":
      return { value: flagValue(option) };
    case "int":
      return /^-?\d+$/.test(String(text)) && Number.isSafeInteger(Number(text))
        ? { value: Number(text) }
        : { invalid: `--${name} must be a whole number, got "${text}"` };
    case "json":
      try {
        return { value: JSON.parse(String(text)) };
      } catch (error) {
        return { invalid: `--${name} is not valid JSON: ${(error as Error).message}` };
      }
    case "text":
      return { value: text };
  }
}

/** Sets `path` (dotted) in `params`, merging into an object a raw param already holds there. */
function setPath(params: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split(".");
  if (rest.length === 0) {
    params[head] = value;
    return;
  }
  const inner = isRecord(params[head]) ? { ...params[head] } : {};
  setPath(inner, rest.join("."), value);
  params[head] = inner;
}

/**
 * Calls the spec's method with the command's params. On failure prints one line naming the
 * option behind the field at fault, and returns the exit code (1 refused, 3 unreachable).
 */
export async function callService(
  command: ServiceCommand,
  spec: CommandSpec & { method: string },
): Promise<{ result: unknown } | number> {
  const outcome = await command.client.call(spec.method, command.params);
  return "failure" in outcome ? reportFailure(outcome, spec) : outcome;
}

/** Prints a failed call as one line and returns its exit code. */
export function reportFailure(outcome: CallFailure, spec: CommandSpec): number {
  const option = outcome.field === null ? null : optionFor(outcome.field, spec);
  const line = option === null
    ? outcome.failure
    : outcome.failure.replace(`${outcome.field}: `, `${outcome.field} (${option}): `);
  console.error(`chronolog: ${line}`);
  return outcome.unreachable ? UNREACHABLE : 1;
}

/** The option that sets a param, for an error about it. */
function optionFor(field: string, spec: CommandSpec): string | null {
  for (const [name, option] of Object.entries(spec.options)) {
    if (option.param === undefined || option.kind === "flag") continue;
    if (field === option.param || field.startsWith(`${option.param}.`)) return `--${name}`;
  }
  return null;
}

/** How a command shows its result for people; a string is a failure line (exit 1). */
export type Presenter = (result: unknown, command: ServiceCommand) => string | null | void;

/** A command that makes one call and presents its result. */
export interface CallSpec extends CommandSpec {
  method: string;
  /** Prints the result for people (-f table). */
  table: Presenter;
  /** A failure the result holds (a run that failed), checked in both formats: exit 1. */
  outcome?: (result: unknown, command: ServiceCommand) => string | null;
}

/** Runs a one-call command: parse, call, print the result (raw JSON with -f json). */
export async function runCall(spec: CallSpec, args: string[]): Promise<number> {
  const command = await parseServiceCommand(args, spec);
  if (typeof command === "number") return command;
  const called = await callService(command, spec);
  if (typeof called === "number") return called;
  let problem: string | null | void;
  if (command.format === "json") printJson(called.result);
  else problem = spec.table(called.result, command);
  problem ??= spec.outcome?.(called.result, command);
  if (typeof problem === "string") {
    console.error(`chronolog: ${problem}`);
    return 1;
  }
  return 0;
}
