/**
 * The `command` executor (SPEC §2): runs `argv` as a child process, without a shell, with the
 * run's inputs as JSON on stdin and the run in its environment. Off unless the operator sets
 * CHRONOLOG_ALLOW_COMMAND=1.
 */
import type { Executor, JsonValue } from "../../domain/task.ts";
import { describeError } from "../../log.ts";
import {
  fitsResult,
  readCapped,
  type RunContext,
  RunDeadline,
  type RunOutcome,
  truncatedResult,
} from "./mod.ts";

/** What the command executor needs besides the run. */
export interface CommandOptions {
  /** Whether commands may run at all (CHRONOLOG_ALLOW_COMMAND=1). */
  allowed: boolean;
  /** How long the child may run before it is killed (the task's `timeout_s`). */
  timeoutS: number;
}

/** Most characters of stderr kept in the error of a failed command. */
const STDERR_TAIL_CHARS = 500;

/** Runs a command for one run; exit code 0 succeeds with `{exit_code, stdout}` as the result. */
export async function runCommand(
  executor: Extract<Executor, { type: "command" }>,
  context: RunContext,
  options: CommandOptions,
): Promise<RunOutcome> {
  if (!options.allowed) {
    return { ok: false, error: "command executor is disabled (set CHRONOLOG_ALLOW_COMMAND=1)" };
  }
  const [program, ...args] = executor.argv;
  if (program === undefined) return { ok: false, error: "command executor has an empty argv" };
  using deadline = new RunDeadline(context.signal, options.timeoutS);
  if (deadline.signal.aborted) return deadline.failure("command");

  let child: Deno.ChildProcess;
  try {
    // No `signal` option: Deno would send SIGTERM, which a child may catch and outlive its
    // deadline; the abort listener below sends SIGKILL instead.
    child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // The service's environment holds DATABASE_URL and secrets: a child gets a safe few only.
      clearEnv: true,
      env: {
        ...inheritedEnv(),
        CHRONOLOG_TASK_ID: context.taskId,
        CHRONOLOG_RUN_ID: context.runId,
        CHRONOLOG_SCHEDULED_FOR: new Date(context.scheduledFor).toISOString(),
        CHRONOLOG_ATTEMPT: String(context.attempt),
      },
    }).spawn();
  } catch (error) {
    return { ok: false, error: `cannot start ${program}: ${describeError(error)}` };
  }
  const kill = (): void => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
  };
  deadline.signal.addEventListener("abort", kill, { once: true });
  const signal = deadline.signal;
  // A child that never reads stdin makes the write fail (or wait until the deadline): it is not
  // a failure of the run, only the exit status is.
  const stdin = ReadableStream.from([new TextEncoder().encode(JSON.stringify(context.inputs))])
    .pipeTo(child.stdin, { signal })
    .catch(() => {});
  // Both pipes are drained to the end while only 64 KiB of each is kept, so a chatty child
  // never blocks on a full pipe; the signal stops the reads when a grandchild that outlives a
  // killed child holds them open.
  const stdout = readCapped(child.stdout, { overflow: "drain", signal });
  const stderr = readCapped(child.stderr, { overflow: "drain", keep: "tail", signal });
  try {
    const [status, out, err] = await Promise.all([child.status, stdout, stderr]);
    if (!status.success && signal.aborted) return deadline.failure("command");
    if (!status.success) return { ok: false, error: exitError(status, err.bytes) };
    const result = { exit_code: 0, stdout: out.truncated ? null : output(out.bytes) };
    // Text under the cap can still outgrow it once escaped as a JSON string.
    if (out.truncated || !fitsResult(result)) result.stdout = truncatedResult(out.bytesRead);
    return { ok: true, result };
  } catch (error) {
    if (signal.aborted) return deadline.failure("command");
    kill();
    return { ok: false, error: `command failed: ${describeError(error)}` };
  } finally {
    // Every pipe and the child are settled before returning, so nothing outlives the run.
    await Promise.allSettled([child.status, stdout, stderr, stdin]);
    deadline.signal.removeEventListener("abort", kill);
  }
}

/** Stdout as a result: its JSON value when it is JSON, else the text. */
function output(bytes: Uint8Array): JsonValue {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function exitError(status: Deno.CommandStatus, stderr: Uint8Array): string {
  const how = status.signal === null ? `exit code ${status.code}` : `killed by ${status.signal}`;
  const tail = Array.from(new TextDecoder().decode(stderr).trimEnd()).slice(-STDERR_TAIL_CHARS)
    .join("");
  return tail === "" ? how : `${how}: ${tail}`;
}

/** The variables a command inherits from the service: where programs are, locale and time. */
const INHERITED = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT"];

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
