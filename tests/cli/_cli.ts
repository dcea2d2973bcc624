/** The CLI tests' one fixture: the real CLI in a subprocess, run as `deno task cli` runs it. */
import manifest from "../../deno.json" with { type: "json" };
import { assert, assertEquals, type Finished, rpc } from "../_helpers.ts";

// The CLI runs with exactly the permissions of `deno task cli`, so a missing permission fails a
// test rather than a user.
const CLI_ARGS = manifest.tasks.cli.split(/\s+/).slice(1);
const ROOT = new URL("../../", import.meta.url);

/** How to run the CLI: extra environment, and what stdin holds (else nothing). */
export interface CliOptions {
  env?: Record<string, string>;
  stdin?: string;
}

/** Runs the real CLI with `args`, without the developer's own service settings. */
export async function cli(args: string[], options: CliOptions = {}): Promise<Finished> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...CLI_ARGS, ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...cleanEnv(), NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Spawns the CLI with piped output, for a command that runs until it is stopped. */
export function spawnCli(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [...CLI_ARGS, ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...cleanEnv(), NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The environment without the service settings (PATH, HOME and DENO_DIR stay). */
export function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) =>
      name !== "DATABASE_URL" && name !== "PORT" && name !== "HOST" &&
      !name.startsWith("CHRONOLOG_")
    ),
  );
}

/** Asserts the exit code and that stderr is one `chronolog: ` line holding `includes`. */
export function assertOneLine(finished: Finished, code: number, includes: string): void {
  assertEquals(finished.code, code, finished.stderr);
  const lines = finished.stderr.trim().split("\n");
  assertEquals(lines.length, 1, finished.stderr);
  assert(lines[0].startsWith("chronolog: ") && lines[0].includes(includes), finished.stderr);
}

/** The stdout of a run that must succeed. */
export function ok(finished: Finished): string {
  assertEquals(finished.code, 0, finished.stderr);
  return finished.stdout;
}

/** Calls a method that must succeed and returns its result (as the bearer of `token`). */
export async function call(
  url: string,
  method: string,
  params: unknown,
  token?: string,
): Promise<unknown> {
  const reply = await rpc(url, { method, params, id: 1 }, token);
  const body = reply.body as { result?: unknown; error?: unknown };
  if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** The JSON-RPC error code a call answers with, or null when it succeeds. */
export async function errorCode(url: string, method: string, params: unknown): Promise<unknown> {
  const reply = await rpc(url, { method, params, id: 1 });
  return (reply.body as { error?: { code: number } }).error?.code ?? null;
}
