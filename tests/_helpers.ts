/** The one fixture module: the real service in a subprocess, and ways to talk to it. */
import type { RunContext } from "../src/runtime/executors/mod.ts";
import manifest from "../deno.json" with { type: "json" };
import type { LogFields, Logger } from "../src/log.ts";
import assertModule from "node:assert/strict";
import { type DomainError, isDomainError } from "../src/domain/errors.ts";
import { openStore } from "../src/store/mod.ts";
import type { AppendRequest, EventMetadata, EventStore } from "../src/store/event_store.ts";
import {
  decide,
  DEFAULT_RUN_SETTINGS,
  evolve,
  type ScheduleFields,
  type TaskCommand,
  type TaskSettings,
  type TaskState,
} from "../src/domain/task.ts";
import postgres from "postgres";
import { SignJWT } from "jose";
import {
  nextOccurrences,
  parseSchedule,
  type Schedule,
  type ScheduleSpec,
} from "../src/domain/schedule/mod.ts";

const ROOT = new URL("../", import.meta.url);
const STARTUP_TIMEOUT_MS = 20_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;

// The service runs with exactly the permissions of `deno task start`, so a missing permission
// fails a test rather than production.
const START_ARGS = manifest.tasks.start.split(/\s+/).slice(1);

/** A running service. */
export interface Service {
  /** The base URL, without a trailing slash, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Everything the service wrote to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM (SIGKILL after 10 s) and waits for the process to exit. */
  stop(): Promise<Deno.CommandStatus>;
  /** Sends SIGKILL and waits for the process to die; the data stays for a restart. */
  kill(): Promise<Deno.CommandStatus>;
}

/** Where a started service keeps its log. */
export interface ServiceOptions {
  /** PGlite's folder; a temporary copy of an empty migrated database when absent. */
  dataDir?: string;
  /** A Postgres URL (sets DATABASE_URL). */
  databaseUrl?: string | null;
}

/** What a process that ran to completion left behind. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** A JSON-RPC call; without `id` it is a notification. */
export interface RpcCall {
  method: string;
  params?: unknown;
  id?: string | number | null;
}

/** An HTTP reply with its body parsed as JSON (null when the body is empty). */
export interface JsonReply {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A JSON-RPC error object as the service answers it. */
export interface RpcErrorBody {
  code: number;
  message: string;
  data?: { code?: string; field?: string | null; [key: string]: unknown };
}

/** The result of a JSON-RPC reply that must have succeeded; `what` names the call on failure. */
export function resultOf<T>(reply: JsonReply, what = "the call"): T {
  const body = reply.body as { result?: T; error?: unknown } | null;
  if (body?.error !== undefined || body?.result === undefined) {
    throw new Error(`${what} failed: ${JSON.stringify(body).slice(0, 1000)}`);
  }
  return body.result;
}

/** The error of a JSON-RPC reply that must have failed; `what` names the call otherwise. */
export function errorOf<E = RpcErrorBody>(reply: JsonReply, what = "the call"): E {
  const body = reply.body as { result?: unknown; error?: E } | null;
  if (body?.error === undefined) {
    throw new Error(`${what} succeeded: ${JSON.stringify(body).slice(0, 1000)}`);
  }
  return body.error;
}

/**
 * The `X-Webhook-Signature` SPEC §5 asks for: lowercase hex HMAC-SHA256 of `<timestamp>.<body>`.
 * Written here from the SPEC, apart from the service's own signer, so a test can catch it.
 */
export async function webhookSignature(
  secret: string,
  timestamp: string | number,
  body: string | Uint8Array,
): Promise<string> {
  const encoder = new TextEncoder();
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const prefix = encoder.encode(`${timestamp}.`);
  const message = new Uint8Array(prefix.byteLength + bytes.byteLength);
  message.set(prefix);
  message.set(bytes, prefix.byteLength);
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, message);
  return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Starts main.ts on a free port and resolves once GET /health answers. */
export async function startService(
  env: Record<string, string> = {},
  options: ServiceOptions = {},
): Promise<Service> {
  const port = freePort();
  const ownsData = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await pgliteDir();
  const child = spawnMain({
    PORT: String(port),
    CHRONOLOG_DATA_DIR: dataDir,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...env,
  });
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  // Written by the status callback; the assertion keeps TypeScript from narrowing it to null.
  let exited = null as Deno.CommandStatus | null;
  const status = child.status.then((result) => (exited = result));
  const url = `http://127.0.0.1:${port}`;

  async function stop(): Promise<Deno.CommandStatus> {
    if (exited === null) child.kill("SIGTERM");
    const timer = setTimeout(() => exited === null && child.kill("SIGKILL"), SHUTDOWN_TIMEOUT_MS);
    const result = await status;
    clearTimeout(timer);
    await Promise.all([stdout.done, stderr.done]);
    if (ownsData) await Deno.remove(dataDir, { recursive: true });
    return result;
  }

  async function kill(): Promise<Deno.CommandStatus> {
    if (exited === null) child.kill("SIGKILL");
    const result = await status;
    await Promise.all([stdout.done, stderr.done]);
    return result;
  }

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await answersHealth(url))) {
    if (exited !== null || Date.now() > deadline) {
      const why = exited === null
        ? `did not answer GET /health within ${STARTUP_TIMEOUT_MS / 1000} s`
        : `exited with code ${exited.code} before answering GET /health`;
      await stop();
      throw new Error(`The service ${why}.\nstderr:\n${stderr.text()}\nstdout:\n${stdout.text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, output: () => stdout.text() + stderr.text(), stop, kill };
}

/** Runs main.ts until it exits by itself (killing it after 20 s) and returns what it printed. */
export async function runMain(env: Record<string, string>): Promise<Finished> {
  const dataDir = await pgliteDir();
  const child = spawnMain({ PORT: String(freePort()), CHRONOLOG_DATA_DIR: dataDir, ...env });
  const timer = setTimeout(() => child.kill("SIGKILL"), STARTUP_TIMEOUT_MS);
  const [stdout, stderr, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  clearTimeout(timer);
  await Deno.remove(dataDir, { recursive: true });
  return { code: status.code, stdout, stderr };
}

/**
 * POSTs a JSON-RPC call (or a batch, given an array) to /rpc and returns the parsed reply;
 * with `token`, as the bearer of that JWT.
 */
export async function rpc(
  url: string,
  call: RpcCall | RpcCall[],
  token?: string,
): Promise<JsonReply> {
  const calls = Array.isArray(call) ? call : [call];
  const requests = calls.map(({ method, params, id }) => ({
    jsonrpc: "2.0",
    method,
    ...(params === undefined ? {} : { params }),
    ...(id === undefined ? {} : { id }),
  }));
  return await postJson(
    `${url}/rpc`,
    JSON.stringify(Array.isArray(call) ? requests : requests[0]),
    token,
  );
}

/** POSTs a raw body as application/json (with a bearer `token`) and parses the reply. */
export async function postJson(url: string, body: BodyInit, token?: string): Promise<JsonReply> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body,
  });
  return await readJson(response);
}

/** An HS256 JWT for `sub` signed with `secret`, valid for an hour unless `expiresAt` says. */
export async function signToken(
  secret: string,
  sub: string | null,
  options: { roles?: string[]; expiresAt?: number } = {},
): Promise<string> {
  const jwt = new SignJWT(options.roles === undefined ? {} : { roles: options.roles })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600);
  if (sub !== null) jwt.setSubject(sub);
  return await jwt.sign(new TextEncoder().encode(secret));
}

/** Reads a response whose body is JSON or empty; a non-JSON body fails with the text. */
export async function readJson(response: Response): Promise<JsonReply> {
  const text = await response.text();
  let body: unknown = null;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`Expected a JSON body, got HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
  }
  return { status: response.status, headers: response.headers, body };
}

/** A logger that keeps its lines, for in-process tests that assert what was logged. */
export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  function record(level: string): (message: string, fields?: LogFields) => void {
    return (message, fields) => lines.push(`${level} ${message} ${Deno.inspect(fields)}`);
  }
  const logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
  return { logger, lines };
}

function spawnMain(env: Record<string, string>): Deno.ChildProcess {
  return spawnDeno(START_ARGS, env);
}

/**
 * Runs `deno <args>` from the repository root with piped output, the environment cleared of
 * service settings, and `env` on top.
 */
export function spawnDeno(args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    clearEnv: true,
    env: { ...inheritedEnv(), HOST: "127.0.0.1", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

// The developer's own service settings must not leak into the service under test; the rest
// (PATH, HOME, DENO_DIR, proxies) is what deno needs to find its cache.
function inheritedEnv(): Record<string, string> {
  const isServiceSetting = (name: string): boolean =>
    name === "PORT" || name === "HOST" || name === "DATABASE_URL" || name.startsWith("CHRONOLOG_");
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !isServiceSetting(name)),
  );
}

/** True when GET /health answers 2xx at `url`. */
export function answersHealth(url: string): Promise<boolean> {
  return answersOk(`${url}/health`);
}

/** True when a GET of `url` answers 2xx. */
export async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function collect(stream: ReadableStream<Uint8Array>): { text(): string; done: Promise<void> } {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  );
  return { text: () => text, done };
}

/** Asserts a value is truthy. */
export const assert: (value: unknown, message?: string) => asserts value = assertModule.ok;
/** Asserts that a promise rejects with an error whose message matches. */
export const assertRejects: (
  fn: () => Promise<unknown>,
  error: RegExp,
) => Promise<void> = assertModule.rejects;
/** Asserts deep equality. */
export const assertEquals: <T>(actual: unknown, expected: T, message?: string) => void =
  assertModule.deepStrictEqual;

/** Parses a schedule that the test expects to be valid. */
export function mustParse(spec: ScheduleSpec): Schedule {
  const schedule = parseSchedule(spec);
  if (isDomainError(schedule)) throw new Error(`unexpected ${schedule.field}: ${schedule.message}`);
  return schedule;
}

/** The next `count` runs after an ISO instant, as ISO strings. */
export function runsAfter(spec: ScheduleSpec, from: string, count = 5): string[] {
  return nextOccurrences(mustParse(spec), Date.parse(from), { count }).map((occurrence) =>
    new Date(occurrence.at).toISOString()
  );
}

/** The field and message of a schedule the test expects to be rejected. */
export function rejection(spec: ScheduleSpec): { field: string | undefined; message: string } {
  const result = parseSchedule(spec);
  if (!isDomainError(result)) throw new Error(`expected ${spec.expression} to be rejected`);
  return { field: result.field, message: result.message };
}

/** The two stores every store test runs on. */
export type StoreKind = "pglite" | "postgres";

/**
 * The Postgres server the tests use: TEST_DATABASE_URL (CI sets it), else the local server on
 * 127.0.0.1:5432 when one answers. Null when neither: Postgres tests are then skipped, loudly.
 */
export const POSTGRES_ADMIN_URL: string | null = await findPostgres();

async function findPostgres(): Promise<string | null> {
  const configured = Deno.env.get("TEST_DATABASE_URL");
  if (configured) return configured;
  const local = "postgres://postgres@127.0.0.1:5432/postgres";
  const sql = postgres(local, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return local;
  } catch {
    console.warn("No PostgreSQL on 127.0.0.1:5432 and no TEST_DATABASE_URL: Postgres tests skip");
    return null;
  } finally {
    await sql.end();
  }
}

/** A fresh empty database for one test. */
export interface TestDatabase {
  kind: StoreKind;
  /** DATABASE_URL for a service on this database (null for PGlite). */
  databaseUrl: string | null;
  /** CHRONOLOG_DATA_DIR for a service on this database (PGlite). */
  dataDir: string;
  /** Opens a store on it (several may be open on Postgres; one at a time on PGlite). */
  open(): Promise<EventStore>;
  /** Drops the database or removes the folder. */
  drop(): Promise<void>;
}

let template: Promise<string> | null = null;

/** A temporary PGlite folder holding an empty, migrated database (copied from a template). */
export async function pgliteDir(): Promise<string> {
  template ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "chronolog_template_" });
    const store = await openStore({ dataDir: dir });
    await store.close();
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return dir;
  })();
  const source = await template;
  const dir = await Deno.makeTempDir({ prefix: "chronolog_test_" });
  await copyDir(source, dir);
  return dir;
}

async function copyDir(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    const source = `${from}/${entry.name}`;
    const target = `${to}/${entry.name}`;
    if (entry.isDirectory) {
      await Deno.mkdir(target);
      await copyDir(source, target);
    } else {
      await Deno.copyFile(source, target);
    }
  }
}

/** Creates a fresh database of the given kind. */
export async function createDatabase(kind: StoreKind): Promise<TestDatabase> {
  const dataDir = await pgliteDir();
  if (kind === "pglite") {
    return {
      kind,
      databaseUrl: null,
      dataDir,
      open: () => openStore({ dataDir }),
      drop: () => Deno.remove(dataDir, { recursive: true }),
    };
  }
  if (POSTGRES_ADMIN_URL === null) throw new Error("No PostgreSQL server for this test");
  const name = `chronolog_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  return {
    kind,
    databaseUrl,
    dataDir,
    open: () => openStore({ databaseUrl }),
    async drop() {
      await Deno.remove(dataDir, { recursive: true });
      const admin = postgres(POSTGRES_ADMIN_URL!, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Registers one test per store kind, each with a fresh database (the test opens it). */
export function databaseTest(name: string, fn: (database: TestDatabase) => Promise<void>): void {
  for (const kind of ["pglite", "postgres"] as const) {
    Deno.test({
      name: `${kind}: ${name}`,
      ignore: kind === "postgres" && POSTGRES_ADMIN_URL === null,
      async fn() {
        const database = await createDatabase(kind);
        try {
          await fn(database);
        } finally {
          await database.drop();
        }
      },
    });
  }
}

/** The DomainError a promise rejects with; fails when it resolves or rejects otherwise. */
export async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (!isDomainError(error)) throw new Error(`Expected a DomainError, got ${error}`);
    return error;
  }
  throw new Error("Expected a refusal");
}

/** Waits until `check` holds (polling every 20 ms), failing after `timeoutMs` with `what`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Registers one test per store kind, each with a fresh database and an open store. */
export function storeTest(
  name: string,
  fn: (store: EventStore, database: TestDatabase) => Promise<void>,
): void {
  databaseTest(name, async (database) => {
    const store = await database.open();
    try {
      await fn(store, database);
    } finally {
      await store.close();
    }
  });
}

/** A task's settings with the SPEC defaults and an echo executor; overrides win. */
export function taskSettings(overrides: Partial<TaskSettings> = {}): TaskSettings {
  return {
    name: "report",
    userId: "alice",
    parentId: null,
    inputs: { n: 1 },
    executor: { type: "echo" },
    ...DEFAULT_RUN_SETTINGS,
    ...overrides,
  };
}

/** An enabled hourly interval schedule in UTC without bounds; fields win. */
export function scheduleFields(fields: Partial<ScheduleFields> = {}): ScheduleFields {
  return {
    type: "interval",
    expression: "3600",
    timezone: "UTC",
    enabled: true,
    startAt: null,
    endAt: null,
    maxRuns: null,
    dstPolicy: null,
    ...fields,
  };
}

/** The metadata tests record their appends with. */
export const TEST_METADATA: EventMetadata = { actor: "test", requestId: null, causation: "test" };

/** Decides a command on a task and returns the append that records its events and new state. */
export function decideAppend(
  state: TaskState | null,
  command: TaskCommand,
  metadata: EventMetadata = TEST_METADATA,
): AppendRequest {
  const events = decide(state, command);
  if (isDomainError(events)) throw new Error(`refused: ${events.field}: ${events.message}`);
  const next = events.reduce<TaskState | null>(evolve, state)!;
  return {
    streamId: next.id,
    expectedVersion: state?.version ?? 0,
    events,
    metadata,
    state: next,
  };
}

/** An executor's view of run 42 (attempt 2) of task 7, due 2026-11-22T09:00Z; overrides win. */
export function runContext(overrides: Partial<RunContext> = {}): RunContext {
  return {
    taskId: "task-7",
    runId: "run-42",
    scheduledFor: Date.UTC(2026, 10, 22, 9, 0, 0),
    attempt: 2,
    inputs: { report: "daily", rows: [1, 2, 3] },
    signal: new AbortController().signal,
    ...overrides,
  };
}
