/**
 * The JSON-RPC edge under load over loopback: the real service (main.ts in a child process of its
 * own, via startService, so the load generator never shares its event loop) answers CLIENTS
 * concurrent client loops, each POSTing to /rpc back-to-back with fetch over keep-alive for
 * WINDOW_S after WARMUP_S of unrecorded load. Every reply is checked (HTTP 200, the request's id,
 * a result naming the right task); errors are counted and fail the bench after its figures.
 * Methods: tasks.get over SEED_TASKS tasks created through tasks.create first, and tasks.create
 * itself; on PostgreSQL (a benchDatabase), on the embedded PGlite store, and tasks.get with a JWT
 * (CHRONOLOG_JWT_SECRET set; one HS256 token signed with jose for a plain user who owns the
 * tasks, so the service verifies it once and then finds it in its token cache, and every call
 * passes the owner check). Target: tasks.get ≥ 5,000 requests/s on the 2-core reference machine.
 *
 * The load generator runs on the same two cores as the service and PostgreSQL, so each line also
 * says where the CPU went (Linux /proc): the service, PostgreSQL (this database's backends and
 * the server's own processes), the load generator (this process) and everything else on the
 * machine, each also per request.
 *
 * Concurrency (tasks.get on PostgreSQL, 2026-11-23, runs with other processes under 12 % only):
 * before prepared statements (f557b94), 16 clients gave 2,700 requests/s (p99 17 ms), 32 gave
 * 2,750–2,900 (p99 26–28 ms), 64 gave 2,600–3,400 (p99 41–61 ms), 128 gave 3,200 (p99 79 ms);
 * with them (a scratch copy first, then 68374ad), 32 gave 4,100 (p99 22 ms) and 64 gave
 * 3,800–5,900 (p99 28–39 ms). 64 is where the faster service still gains without a much worse p99.
 *
 * Deno's fetch costs this process 0.11–0.19 ms CPU per request (the service: 0.14–0.37 ms for a
 * plain tasks.get). Running the loops in a subprocess measured no better (prepared-statement copy,
 * one service, alternating runs: one subprocess of 64 loops 4,150–4,930 requests/s, two of 32
 * loops 3,890–4,970, in-process 3,960–4,900), so they stay here, in a process doing nothing else.
 */
import { SignJWT } from "jose";
import { startService } from "../_helpers.ts";
import { benchDatabase, formatNumber, percentile } from "./_seed.ts";

const SEED_TASKS = 1000;
const CLIENTS = 64;
const WARMUP_S = 2;
const WINDOW_S = 10;
const TARGET_GET_PER_S = 5000;
/** The JWT variant's caller: a plain user (no admin role), the owner of every task it reads. */
const JWT_USER = "bench-user";

type Method = "tasks.get" | "tasks.create";

interface Variant {
  method: Method;
  store: "PostgreSQL" | "PGlite";
  jwt: boolean;
}

const VARIANTS: Variant[] = [
  { method: "tasks.get", store: "PostgreSQL", jwt: false },
  { method: "tasks.create", store: "PostgreSQL", jwt: false },
  { method: "tasks.get", store: "PostgreSQL", jwt: true },
  { method: "tasks.get", store: "PGlite", jwt: false },
  { method: "tasks.create", store: "PGlite", jwt: false },
];

/** What one load run came to. */
interface LoadResult {
  /** Requests answered (with or without error). */
  replies: number;
  errors: number;
  /** The first error seen, to say what went wrong. */
  firstError: string | null;
  /** Round-trip times of every reply, ms. */
  latencies: number[];
  /** From the first request sent to the last reply read. */
  seconds: number;
}

/** One request of a load: its body, and what the reply's result must be (null when fine). */
type Call = (
  n: number,
) => { body: string; check: (result: Record<string, unknown>) => string | null };

for (const variant of VARIANTS) {
  let databaseUrl: string | null = null;
  if (variant.store === "PostgreSQL") {
    databaseUrl = await benchDatabase(
      `http_${variant.method.slice(6)}${variant.jwt ? "_jwt" : ""}`,
    );
    if (databaseUrl === null) continue;
  }
  const name = `HTTP ${variant.method}${variant.jwt ? " with a JWT" : ""}, ${variant.store}, ` +
    `${CLIENTS} clients`;
  // Deno may call a bench function again after its measured call; the figures come from one.
  let measured = false;
  Deno.bench(name, { n: 1, warmup: 0 }, async (b) => {
    if (measured) return;
    measured = true;
    const secret = variant.jwt ? crypto.randomUUID() + crypto.randomUUID() : null;
    const service = await startService({
      // Nothing is logged per request; warn keeps the start-up lines out of the collected output.
      CHRONOLOG_LOG_LEVEL: "warn",
      ...(secret === null ? {} : { CHRONOLOG_JWT_SECRET: secret }),
    }, { databaseUrl });
    try {
      const rpcUrl = `${service.url}/rpc`;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (secret !== null) headers.authorization = `Bearer ${await signToken(secret)}`;
      let notes = "";
      let call: Call;
      if (variant.method === "tasks.get") {
        const ids = await seed(rpcUrl, headers, variant.jwt ? JWT_USER : null);
        call = (n) => {
          const id = ids[n % ids.length];
          return {
            body: rpcBody(n, "tasks.get", { task_id: id }),
            check: (result) => result.id === id ? null : `tasks.get ${id} answered ${result.id}`,
          };
        };
        if (secret !== null && await answersWithoutToken(rpcUrl, ids[0])) {
          // A service that ignores the token would make this line the plain one: say so.
          notes = "; NOTE: /rpc answered without a token too, so this service does not check " +
            "JWTs on /rpc yet and the figure includes no verification";
        }
      } else {
        call = (n) => ({
          body: rpcBody(n, "tasks.create", createParams(`bench create ${n}`, null)),
          check: (result) => typeof result.id === "string" ? null : "tasks.create without an id",
        });
      }
      await load(rpcUrl, headers, call, WARMUP_S, 0);
      const database = databaseUrl === null ? null : new URL(databaseUrl).pathname.slice(1);
      const cpuBefore = sampleCpu(database);
      b.start();
      const result = await load(rpcUrl, headers, call, WINDOW_S, 1_000_000);
      b.end();
      const cpuAfter = sampleCpu(database);
      const rate = result.replies / result.seconds;
      const ms = (p: number) =>
        result.latencies.length === 0 ? "–" : formatNumber(percentile(result.latencies, p), 1);
      const target = variant.method === "tasks.get"
        ? `; target ≥ ${formatNumber(TARGET_GET_PER_S)} requests/s ` +
          (rate >= TARGET_GET_PER_S ? "met" : "NOT met")
        : "";
      console.log(
        `${name} for ${WINDOW_S} s: ${formatNumber(rate)} requests/s ` +
          `(${formatNumber(result.replies)} replies, ${result.errors} errors); latency ` +
          `p50 ${ms(50)} ms, p99 ${ms(99)} ms, max ${ms(100)} ms${target}` +
          describeCpu(cpuBefore, cpuAfter, result) + notes,
      );
      if (result.errors > 0) {
        console.log(
          `!!! ${name}: ${result.errors} requests FAILED (${result.replies} replies in all; ` +
            `first failure: ${result.firstError}); the figures above are not valid`,
        );
        throw new Error(`${result.errors} requests failed: ${result.firstError}`);
      }
    } finally {
      await service.stop();
    }
  });
}

/** A JSON-RPC request body. */
function rpcBody(id: number, method: Method, params: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params });
}

/** tasks.create params: an hourly interval task (it does not fire during the bench). */
function createParams(name: string, userId: string | null): Record<string, unknown> {
  return {
    name,
    ...(userId === null ? {} : { user_id: userId }),
    schedule_type: "interval",
    schedule_expression: "3600",
  };
}

/** Creates SEED_TASKS tasks through tasks.create, 16 at a time, and returns their ids. */
async function seed(
  rpcUrl: string,
  headers: Record<string, string>,
  userId: string | null,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < SEED_TASKS) {
      const n = next++;
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers,
        body: rpcBody(n, "tasks.create", createParams(`bench task ${n}`, userId)),
      });
      const text = await response.text();
      const id = (parseJson(text) as { result?: { id?: unknown } } | null)?.result?.id;
      if (response.status !== 200 || typeof id !== "string") {
        throw new Error(`Seeding failed: HTTP ${response.status} ${text.slice(0, 500)}`);
      }
      ids.push(id);
    }
  }));
  return ids;
}

/** A JSON body's value, or null when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** An HS256 token for JWT_USER, valid for an hour. */
async function signToken(secret: string): Promise<string> {
  return await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(JWT_USER)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret));
}

/** Whether tasks.get succeeds without an Authorization header. */
async function answersWithoutToken(rpcUrl: string, taskId: string): Promise<boolean> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: rpcBody(0, "tasks.get", { task_id: taskId }),
  });
  const text = await response.text();
  return response.status === 200 && text.includes('"result"');
}

/**
 * CLIENTS loops sending calls back-to-back for `seconds` (each finishes the request it has in
 * flight); call numbers start at `first`, so ids and names never repeat across loads.
 */
async function load(
  rpcUrl: string,
  headers: Record<string, string>,
  call: Call,
  seconds: number,
  first: number,
): Promise<LoadResult> {
  const result: LoadResult = { replies: 0, errors: 0, firstError: null, latencies: [], seconds: 0 };
  const fail = (why: string) => {
    result.errors++;
    result.firstError ??= why;
  };
  let next = first;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < deadline) {
      const n = next++;
      const { body, check } = call(n);
      const sent = performance.now();
      let status: number;
      let text: string;
      try {
        const response = await fetch(rpcUrl, { method: "POST", headers, body });
        text = await response.text();
        status = response.status;
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
        continue;
      }
      result.latencies.push(performance.now() - sent);
      result.replies++;
      if (status !== 200) {
        fail(`HTTP ${status}: ${text.slice(0, 300)}`);
        continue;
      }
      const reply = parseJson(text) as { id?: unknown; result?: Record<string, unknown> } | null;
      const problem = reply === null
        ? `not JSON: ${text.slice(0, 300)}`
        : reply.id !== n
        ? `reply to ${n} carries id ${reply.id}`
        : reply.result === undefined || reply.result === null
        ? text.slice(0, 300)
        : check(reply.result);
      if (problem !== null) fail(problem);
    }
  }));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** CPU seconds used so far, by whom. */
interface CpuSample {
  /** This process: the load generator. */
  generator: number;
  /** The service: this process's child (startService spawns it directly). */
  service: number;
  /** This database's backends and the server's own processes (none for PGlite). */
  postgres: number;
  /** Every process of the machine, kernel included. */
  machine: number;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const TICKS = 100;

/** A CPU sample from /proc; null when there is none (not Linux) or it cannot be read. */
function sampleCpu(database: string | null): CpuSample | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const sample: CpuSample = { generator: 0, service: 0, postgres: 0, machine: 0 };
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    const total = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/)
      .slice(1, 9).map(Number);
    sample.machine = (total.reduce((a, b) => a + b, 0) - total[3] - total[4]) / TICKS;
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      let stat: string;
      let cmdline: string;
      try {
        stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      } catch {
        continue; // The process ended meanwhile.
      }
      // The command name is in parentheses and may hold spaces; fields 4 on follow it.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
      const pid = Number(entry.name);
      if (pid === Deno.pid) sample.generator += seconds;
      else if (Number(fields[1]) === Deno.pid) sample.service += seconds;
      else if (comm === "postgres" && database !== null) {
        // A client backend's title names its database and client address; the server's own
        // processes (checkpointer, WAL writer…) name neither.
        const backend = /\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(cmdline);
        if (!backend || cmdline.includes(` ${database} `)) sample.postgres += seconds;
      }
    }
    return sample;
  } catch {
    return null;
  }
}

/** Where the CPU went during a load: each party's share, and its CPU per request. */
function describeCpu(
  before: CpuSample | null,
  after: CpuSample | null,
  result: LoadResult,
): string {
  if (before === null || after === null) return "";
  const used = (key: keyof CpuSample) => after[key] - before[key];
  const others = used("machine") - used("generator") - used("service") - used("postgres");
  const share = (seconds: number) =>
    `${formatNumber((Math.max(0, seconds) * 100) / result.seconds)}%`;
  const perRequest = (seconds: number) =>
    `${formatNumber((seconds * 1000) / result.replies, 3)} ms`;
  const party = (label: string, key: keyof CpuSample) =>
    `${label} ${share(used(key))} (${perRequest(used(key))} per request)`;
  const busy = others / result.seconds > 0.15
    ? "; WARNING: other processes were busy on this machine, so these figures are understated"
    : "";
  // PGlite runs inside the service: no PostgreSQL processes to count.
  const postgres = after.postgres > 0 ? `${party("PostgreSQL", "postgres")}, ` : "";
  return `; CPU (of ${navigator.hardwareConcurrency * 100}%): ${party("service", "service")}, ` +
    `${postgres}${party("load generator", "generator")}, ` +
    `other processes ${share(others)}${busy}`;
}
