/**
 * Firing under crashes, restarts and several processes (SPEC §1 "Exactly once", catch-up): the
 * service runs as real processes on real Postgres and PGlite, is SIGKILLed mid-flight, and every
 * claim is proven from the log itself, read with SQL, through the JSON-RPC API and by `verify`.
 */
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import manifest from "../../deno.json" with { type: "json" };
import {
  assert,
  assertEquals,
  createDatabase,
  type Finished,
  POSTGRES_ADMIN_URL,
  resultOf,
  rpc,
  type Service,
  startService,
  type TestDatabase,
} from "../_helpers.ts";

/** Every task here fires each second. */
const INTERVAL_MS = 1000;
/** How long the slow target keeps a first attempt waiting in the burst test. */
const SLOW_MS = 3000;
/** The scheduler's sweep for abandoned runs (firing.ts sweepIntervalMs), plus a second of slack. */
const ABANDON_WITHIN_MS = 6000;
/** The CLI runs with exactly the permissions of `deno task cli`. */
const CLI_ARGS = manifest.tasks.cli.split(/\s+/).slice(1);

// ---------------------------------------------------------------------------------------------
// Fixtures

interface TaskWire {
  id: string;
  next_run_at: string | null;
}

interface RunWire {
  run_id: string;
  scheduled_for: string;
  trigger: string;
  attempt: number;
  status: string;
  started_at: string | null;
}

interface OccurrenceWire {
  scheduled_for: string;
  decision: string;
  until: string | null;
  count: number | null;
  trigger: string | null;
  detail: string | null;
  decided_at: string;
}

interface EventWire {
  version: number;
  type: string;
  data: Record<string, unknown>;
}

interface StatusWire {
  state: string;
  instance: number | null;
  tasks_executed: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Polls `probe` until it returns something other than null, or fails after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(100);
  }
}

/** Calls a method that must succeed and returns its result. */
async function call<T>(url: string, method: string, params: unknown = {}): Promise<T> {
  return resultOf<T>(await rpc(url, { id: 1, method, params }), method);
}

/** Creates tasks in one JSON-RPC batch; every one must be accepted. */
async function createTasks(url: string, tasks: Record<string, unknown>[]): Promise<TaskWire[]> {
  const reply = await rpc(
    url,
    tasks.map((params, id) => ({ id, method: "tasks.create", params })),
  );
  const answers = reply.body as { id: number; result?: TaskWire; error?: unknown }[];
  assertEquals(answers.filter((answer) => answer.error !== undefined), []);
  return answers.toSorted((a, b) => a.id - b.id).map((answer) => answer.result!);
}

/** An enabled interval task firing every second. */
function everySecond(id: string, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: id,
    schedule_type: "interval",
    schedule_expression: String(INTERVAL_MS / 1000),
    ...settings,
  };
}

/** One request the slow target received from an http executor. */
interface TargetCall {
  taskId: string;
  runId: string;
  attempt: number;
  answeredAt: number | null;
}

/** A local HTTP endpoint whose first attempts take long and whose retries answer at once. */
interface SlowTarget {
  url: string;
  calls: TargetCall[];
  /** Ends the requests still waiting and stops the server. */
  close(): Promise<void>;
}

function startSlowTarget(firstAttemptMs: number): SlowTarget {
  const calls: TargetCall[] = [];
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const body = await request.json() as { task_id: string; run_id: string; attempt: number };
      // The executor's idempotency key is the run id: the retry of a run carries the same one.
      assertEquals(request.headers.get("idempotency-key"), body.run_id);
      const received: TargetCall = {
        taskId: body.task_id,
        runId: body.run_id,
        attempt: body.attempt,
        answeredAt: null,
      };
      calls.push(received);
      if (body.attempt === 1) await abortableSleep(firstAttemptMs, closing.signal);
      received.answeredAt = Date.now();
      return Response.json({ ok: true });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    calls,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** The log's tables, read with SQL: postgres.js on Postgres, PGlite itself on its folder. */
interface LogReader {
  rows<T>(text: string): Promise<T[]>;
  close(): Promise<void>;
}

async function openLog(database: TestDatabase): Promise<LogReader> {
  if (database.databaseUrl !== null) {
    const sql = postgres(database.databaseUrl, { max: 1, onnotice: () => {} });
    return {
      rows: async <T>(text: string) => [...await sql.unsafe(text)] as T[],
      close: () => sql.end(),
    };
  }
  // PGlite is one process per folder: the service must be stopped.
  const db = await PGlite.create(database.dataDir);
  return {
    rows: async <T>(text: string) => (await db.query<T>(text)).rows,
    close: () => db.close(),
  };
}

/** SQL for a timestamptz column as epoch milliseconds. */
function epochMs(column: string): string {
  return `round(extract(epoch from ${column}) * 1000)::float8`;
}

/** One event of the log. */
interface LoggedEvent {
  position: number;
  stream: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  at: number;
}

async function readEvents(log: LogReader): Promise<LoggedEvent[]> {
  const rows = await log.rows<
    { position: number; stream: string; type: string; data: string; metadata: string; at: number }
  >(
    `select global_position::float8 as position, stream_id as stream, type, data::text as data,
            metadata::text as metadata, ${epochMs("recorded_at")} as at
       from events order by global_position`,
  );
  return rows.map((row) => ({
    ...row,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
  }));
}

/** One row of the runs table. */
interface RunRow {
  run_id: string;
  task_id: string;
  scheduled_for: number;
  trigger: string;
  attempt: number;
  status: string;
  owner: number | null;
}

function readRuns(log: LogReader): Promise<RunRow[]> {
  return log.rows<RunRow>(
    `select run_id, task_id, ${epochMs("scheduled_for")} as scheduled_for, trigger, attempt,
            status, owner
       from runs order by task_id, scheduled_for`,
  );
}

/** Proves the two uniqueness claims with SQL: one runs row and one first start per occurrence. */
async function assertNoDuplicateRuns(log: LogReader): Promise<void> {
  assertEquals(
    await log.rows(
      `select task_id, scheduled_for::text, count(*)::int as runs from runs
        group by task_id, scheduled_for having count(*) > 1`,
    ),
    [],
    "an occurrence has two runs rows",
  );
  assertEquals(
    await log.rows(
      `select stream_id, data->>'scheduledFor' as scheduled_for, count(*)::int as starts
         from events
        where type = 'RunStarted' and (data->>'attempt')::int = 1
        group by stream_id, data->>'scheduledFor' having count(*) > 1`,
    ),
    [],
    "an occurrence has two RunStarted events of attempt 1",
  );
}

/** A decision of the log about one occurrence, or about a range of them (`until`, `count`). */
interface Decided {
  scheduledFor: number;
  until: number | null;
  count: number | null;
  /** True when the decision claims the occurrence with a runs row (started, queued, skipped). */
  claims: boolean;
}

/** The decisions recorded in events: claimed runs and OccurrenceDecided ranges. */
function decisionsOf(events: LoggedEvent[]): Decided[] {
  const single = (at: unknown): Decided => ({
    scheduledFor: at as number,
    until: null,
    count: null,
    claims: true,
  });
  return events.flatMap((event): Decided[] => {
    const data = event.data;
    switch (event.type) {
      case "RunStarted":
        return data.attempt === 1 && !data.queued ? [single(data.scheduledFor)] : [];
      case "RunSkipped":
        return [single(data.scheduledFor)];
      case "RunsQueued":
        return (data.runs as { scheduledFor: number }[]).map((run) => single(run.scheduledFor));
      case "OccurrenceDecided":
        return [{
          scheduledFor: data.scheduledFor as number,
          until: data.until as number | null,
          count: data.count as number | null,
          claims: false,
        }];
      default:
        return [];
    }
  });
}

/** The decisions tasks.occurrences reports. */
function decisionsOfWire(occurrences: OccurrenceWire[]): Decided[] {
  return occurrences.map((occurrence) => ({
    scheduledFor: Date.parse(occurrence.scheduled_for),
    until: occurrence.until === null ? null : Date.parse(occurrence.until),
    count: occurrence.count,
    claims: occurrence.decision === "fired" || occurrence.decision === "skipped",
  }));
}

/**
 * Asserts that a task's decisions cover consecutive occurrences of its 1 s interval, each exactly
 * once (a duplicate or a gap fails); returns the instants covered, in order.
 */
function assertEachOccurrenceOnce(taskId: string, decisions: Decided[]): number[] {
  const instants: number[] = [];
  for (const decided of decisions) {
    if (decided.until === null) {
      instants.push(decided.scheduledFor);
      continue;
    }
    const range: number[] = [];
    for (let at = decided.scheduledFor; at <= decided.until; at += INTERVAL_MS) range.push(at);
    if (decided.count !== null) {
      assertEquals(range.length, decided.count, `${taskId}: a range's count disagrees with it`);
      assertEquals(range.at(-1), decided.until, `${taskId}: a range ends off its schedule`);
    }
    instants.push(...range);
  }
  instants.sort((a, b) => a - b);
  assert(instants.length > 0, `${taskId}: no occurrence was decided`);
  for (let i = 1; i < instants.length; i++) {
    const step = instants[i] - instants[i - 1];
    assert(
      step === INTERVAL_MS,
      `${taskId}: ${step === 0 ? "decided twice" : "never decided"} near ` +
        new Date(step === 0 ? instants[i] : instants[i - 1] + INTERVAL_MS).toISOString(),
    );
  }
  return instants;
}

/** Groups a list by a key, keeping the order. */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** Per task: its claims in the log equal its runs rows, and its occurrences tile its schedule. */
function assertLogAgreesWithRuns(events: LoggedEvent[], runs: RunRow[]): Map<string, number[]> {
  const covered = new Map<string, number[]>();
  const runsByTask = groupBy(runs, (run) => run.task_id);
  for (const [taskId, taskEvents] of groupBy(events, (event) => event.stream)) {
    const decisions = decisionsOf(taskEvents);
    const claimed = decisions.filter((decided) => decided.claims)
      .map((decided) => decided.scheduledFor).sort((a, b) => a - b);
    const rows = (runsByTask.get(taskId) ?? []).map((run) => run.scheduled_for);
    assertEquals(
      rows,
      claimed,
      `${taskId}: the runs table and the log claim different occurrences`,
    );
    covered.set(taskId, assertEachOccurrenceOnce(taskId, decisions));
  }
  return covered;
}

const RUN_EVENT_TYPES = new Set([
  "RunStarted",
  "RunSucceeded",
  "RunFailed",
  "RunTimedOut",
  "RunCancelled",
  "RunSkipped",
]);

/** Each run's events in log order, by run id. */
function runHistories(events: LoggedEvent[]): Map<string, LoggedEvent[]> {
  return groupBy(
    events.filter((event) => RUN_EVENT_TYPES.has(event.type)),
    (event) => event.data.runId as string,
  );
}

/** Runs `deno task cli verify` on the database, as an operator would. */
async function verifyWithCli(database: TestDatabase): Promise<Finished> {
  const inherited = Object.entries(Deno.env.toObject()).filter(([name]) =>
    name !== "DATABASE_URL" && !name.startsWith("CHRONOLOG_")
  );
  const location: Record<string, string> = database.databaseUrl !== null
    ? { DATABASE_URL: database.databaseUrl }
    : { CHRONOLOG_DATA_DIR: database.dataDir };
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...CLI_ARGS, "verify", "-f", "json"],
    cwd: new URL("../../", import.meta.url),
    clearEnv: true,
    env: { ...Object.fromEntries(inherited), NO_COLOR: "1", ...location },
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Waits until nothing more is being appended (the runs count holds still for half a second). */
async function waitForQuiet(log: LogReader): Promise<number> {
  let last = -1;
  return await waitFor("the log to hold still", 10_000, async () => {
    const [{ runs }] = await log.rows<{ runs: number }>(`select count(*)::int as runs from runs`);
    if (runs === last) return runs;
    last = runs;
    await sleep(400);
    return null;
  });
}

// ---------------------------------------------------------------------------------------------
// 1. SIGKILL during a firing burst

const ECHO_TASKS = 50;
const HTTP_TASKS = 3;

for (const kind of ["postgres", "pglite"] as const) {
  Deno.test({
    name: `${kind}: a SIGKILL during a firing burst leaves every occurrence decided once, ` +
      "and the restart records the runs in flight as abandoned and retries them",
    ignore: kind === "postgres" && POSTGRES_ADMIN_URL === null,
    async fn() {
      const database = await createDatabase(kind);
      const target = startSlowTarget(SLOW_MS);
      const where = { dataDir: database.dataDir, databaseUrl: database.databaseUrl };
      try {
        const echo = Array.from({ length: ECHO_TASKS }, (_, i) => everySecond(`echo-${i}`));
        const http = Array.from({ length: HTTP_TASKS }, (_, i) =>
          everySecond(`http-${i}`, {
            executor: { type: "http", url: target.url },
            retry: { max_attempts: 2, backoff_ms: 100 },
          }));

        const first = await startService({}, where);
        let killedAt: number;
        let killedInstance: number;
        let inFlightAtKill: TargetCall[];
        try {
          killedInstance = (await call<StatusWire>(first.url, "scheduler.status")).instance!;
          const created = await createTasks(first.url, [...echo, ...http]);
          // The tasks were created one after the other, so each second's burst spans from the
          // first task's occurrence to the last's: the kill lands in the middle of the third.
          const firstRuns = created.map((task) => Date.parse(task.next_run_at!));
          const burst = (Math.min(...firstRuns) + Math.max(...firstRuns)) / 2 + 2 * INTERVAL_MS;
          await waitFor("a first attempt of every http task at the target", 5000, () => {
            const waiting = new Set(
              target.calls.filter((c) => c.answeredAt === null).map((c) => c.taskId),
            );
            return Promise.resolve(waiting.size === HTTP_TASKS ? true : null);
          });
          await sleep(burst - Date.now());
          inFlightAtKill = target.calls.filter((c) => c.answeredAt === null);
          await first.kill();
          killedAt = Date.now();
        } finally {
          await first.kill();
        }
        assertEquals(
          new Set(inFlightAtKill.map((c) => c.taskId)).size,
          HTTP_TASKS,
          "every http task had a run in flight at the kill",
        );

        const restarted = await startService({}, where);
        let restartedInstance: number;
        try {
          restartedInstance = (await call<StatusWire>(restarted.url, "scheduler.status")).instance!;
          await sleep(3000);
          // Every occurrence of an http task due before the kill ends: none stays running.
          await waitFor("the http runs of the killed process to end", 15_000, async () => {
            for (const task of http) {
              const { runs } = await call<{ runs: RunWire[] }>(restarted.url, "tasks.runs", {
                task_id: task.id,
                limit: 1000,
              });
              const open = runs.filter((run) =>
                Date.parse(run.scheduled_for) < killedAt &&
                (run.status === "running" || run.status === "pending")
              );
              if (open.length > 0) return null;
            }
            return true;
          });
        } finally {
          // A graceful stop drains the runs still in flight: afterwards nothing may be open.
          await restarted.stop();
        }

        const log = await openLog(database);
        try {
          await assertNoDuplicateRuns(log);
          const events = await readEvents(log);
          const runs = await readRuns(log);
          assertLogAgreesWithRuns(events, runs);
          assertEquals(
            runs.filter((run) => run.status === "running" || run.status === "pending"),
            [],
            "runs are still open after the service stopped",
          );

          // The runs left in flight by the killed process: its last word on them was RunStarted.
          // Its events are exactly those decided before the kill (recorded_at is decision time).
          const abandoned: string[] = [];
          for (const [runId, history] of runHistories(events)) {
            const before = history.filter((event) => event.at < killedAt);
            const after = history.slice(before.length);
            assert(after.every((event) => event.at > killedAt), `${runId}: events out of order`);
            for (const event of before.filter((event) => event.type === "RunStarted")) {
              assertEquals(event.data.owner, killedInstance, `${runId} started by another owner`);
            }
            const last = before.at(-1);
            if (last?.type !== "RunStarted") continue;
            abandoned.push(runId);
            assert(last.stream.startsWith("http-"), `echo run ${runId} was left running`);
            const [failed, retried, succeeded] = after;
            assertEquals(failed?.type, "RunFailed", `${runId}: not recorded as abandoned`);
            assert(/abandoned/.test(failed.data.error as string), String(failed.data.error));
            assert(failed.data.retryAt !== null, `${runId}: abandoned without its retry`);
            assertEquals(retried?.type, "RunStarted", `${runId}: not retried`);
            assertEquals(retried.data.attempt, (last.data.attempt as number) + 1);
            assertEquals(retried.data.owner, restartedInstance);
            assertEquals(succeeded?.type, "RunSucceeded", `${runId}: the retry did not succeed`);
            assertEquals(after.length, 3, `${runId}: more events after its success`);
            const row = runs.find((run) => run.run_id === runId)!;
            assertEquals([row.status, row.attempt], ["succeeded", 2]);
            // The executor saw the same idempotency key for both attempts.
            assertEquals(
              target.calls.filter((c) => c.runId === runId).map((c) => c.attempt),
              [1, 2],
            );
          }
          for (const waiting of inFlightAtKill) {
            assert(abandoned.includes(waiting.runId), `${waiting.runId} was not abandoned`);
          }
        } finally {
          await log.close();
        }

        const verified = await verifyWithCli(database);
        assertEquals(verified.code, 0, verified.stdout + verified.stderr);
        const report = JSON.parse(verified.stdout);
        assertEquals([report.ok, report.tasks], [true, ECHO_TASKS + HTTP_TASKS]);
      } finally {
        await target.close();
        await database.drop();
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Catch-up after downtime

const DOWNTIME_MS = 8000;

Deno.test("after 8 s of downtime each task catches up as its policy says: latest coalesces, none misses, all replays in order, a 3 s window misses what lies before it", async () => {
  const database = await createDatabase("pglite");
  const where = { dataDir: database.dataDir };
  const policies = {
    latest: { catchup_policy: "latest" },
    none: { catchup_policy: "none" },
    all: { catchup_policy: "all" },
    window: { catchup_policy: "all", catchup_window_s: 3 },
  };
  try {
    const first = await startService({}, where);
    let killedAt: number;
    let created: TaskWire[];
    try {
      created = await createTasks(
        first.url,
        Object.entries(policies).map(([id, settings]) => everySecond(id, settings)),
      );
      await waitFor("two runs of every task", 5000, async () => {
        for (const id of Object.keys(policies)) {
          const { runs } = await call<{ runs: RunWire[] }>(first.url, "tasks.runs", {
            task_id: id,
          });
          if (runs.length < 2) return null;
        }
        return true;
      });
    } finally {
      await first.kill();
      killedAt = Date.now();
    }

    await sleep(DOWNTIME_MS);
    const restartBegan = Date.now();
    const restarted = await startService({}, where);
    const ready = Date.now();
    try {
      for (const id of Object.keys(policies)) {
        const task = created.find((task) => task.id === id)!;
        const occurrences = await waitFor(`the catch-up of ${id}`, 5000, async () => {
          const { occurrences } = await call<{ occurrences: OccurrenceWire[] }>(
            restarted.url,
            "tasks.occurrences",
            { task_id: id, limit: 1000 },
          );
          const caughtUp = occurrences.some((o) =>
            Date.parse(o.decided_at) >= restartBegan && (o.trigger === "catchup" ||
              o.decision === "missed" || o.decision === "coalesced")
          );
          return caughtUp ? occurrences.toReversed() : null;
        });
        const { runs: latestFirst } = await call<{ runs: RunWire[] }>(
          restarted.url,
          "tasks.runs",
          { task_id: id, limit: 1000 },
        );
        const runs = latestFirst.toReversed();

        // The last run before the kill, and the catch-up decision after the restart.
        const before = runs.filter((run) => Date.parse(run.started_at!) < killedAt);
        const lastRun = Date.parse(before.at(-1)!.scheduled_for);
        const decidedAt = Math.min(
          ...occurrences.map((o) => Date.parse(o.decided_at)).filter((at) => at >= restartBegan),
        );
        assert(
          decidedAt <= ready + 2000,
          `${id}: caught up ${decidedAt - ready} ms after the service answered`,
        );
        // Every occurrence after the last run, up to the decision, was missed: about 9 of them
        // (±1 by the test's clock; exact by the decision's own instant).
        const missedCount = Math.floor((decidedAt - lastRun) / INTERVAL_MS);
        assert(missedCount >= DOWNTIME_MS / INTERVAL_MS, `${id}: only ${missedCount} missed`);
        assert(
          missedCount >= Math.floor((restartBegan - lastRun) / INTERVAL_MS) &&
            missedCount <= Math.floor((ready + 2000 - lastRun) / INTERVAL_MS),
          `${id}: ${missedCount} missed does not fit the restart`,
        );
        const missed = Array.from(
          { length: missedCount },
          (_, i) => lastRun + (i + 1) * INTERVAL_MS,
        );
        const caughtUpRuns = runs.filter((run) => run.trigger === "catchup");
        const ranDuringDowntime = runs.filter((run) => {
          const at = Date.parse(run.scheduled_for);
          return at > lastRun && at <= missed.at(-1)! && run.trigger !== "catchup";
        });
        assertEquals(ranDuringDowntime, [], `${id}: a missed occurrence ran on schedule`);
        const iso = (at: number) => new Date(at).toISOString();
        const decidedThen = occurrences.filter((o) => Date.parse(o.decided_at) === decidedAt);
        const ranges = decidedThen.filter((o) => o.decision !== "fired");

        switch (id) {
          case "latest":
            assertEquals(
              caughtUpRuns.map((run) => [run.scheduled_for, run.status]),
              [[iso(missed.at(-1)!), "succeeded"]],
            );
            assertEquals(ranges.map((o) => [o.decision, o.scheduled_for, o.until, o.count]), [[
              "coalesced",
              iso(missed[0]),
              iso(missed.at(-2)!),
              missedCount - 1,
            ]]);
            assert(/catchup_policy latest/.test(ranges[0].detail!), ranges[0].detail!);
            break;
          case "none":
            assertEquals(caughtUpRuns, []);
            assertEquals(ranges.map((o) => [o.decision, o.scheduled_for, o.until, o.count]), [[
              "missed",
              iso(missed[0]),
              iso(missed.at(-1)!),
              missedCount,
            ]]);
            assert(/catchup_policy none/.test(ranges[0].detail!), ranges[0].detail!);
            break;
          case "all": {
            assertEquals(
              caughtUpRuns.map((run) => [run.scheduled_for, run.status, run.attempt]),
              missed.map((at) => [iso(at), "succeeded", 1]),
            );
            assertEquals(ranges, []);
            // In order: the log starts the queued runs oldest first.
            const { events } = await call<{ events: EventWire[] }>(
              restarted.url,
              "tasks.events",
              { task_id: id, limit: 1000 },
            );
            const started = events.filter((event) =>
              event.type === "RunStarted" && event.data.trigger === "catchup"
            ).map((event) => event.data.scheduled_for);
            assertEquals(started, missed.map(iso));
            break;
          }
          case "window": {
            const windowStart = decidedAt - 3000;
            const inWindow = missed.filter((at) => at >= windowStart);
            assert(inWindow.length === 3 || inWindow.length === 4, String(inWindow.length));
            assertEquals(
              caughtUpRuns.map((run) => [run.scheduled_for, run.status]),
              inWindow.map((at) => [iso(at), "succeeded"]),
            );
            assertEquals(ranges.map((o) => [o.decision, o.scheduled_for, o.until, o.count]), [[
              "missed",
              iso(missed[0]),
              iso(windowStart - 1),
              null,
            ]]);
            assert(/catch-up window/.test(ranges[0].detail!), ranges[0].detail!);
            break;
          }
        }
        // From the first occurrence on, every one was decided exactly once.
        const covered = assertEachOccurrenceOnce(id, decisionsOfWire(occurrences));
        assertEquals(covered[0], Date.parse(task.next_run_at!), `${id}: the first occurrence`);
        assert(covered.at(-1)! >= missed.at(-1)!, `${id}: the missed occurrences were not decided`);
      }
    } finally {
      await restarted.stop();
    }
  } finally {
    await database.drop();
  }
});

// ---------------------------------------------------------------------------------------------
// 3. Several processes on one Postgres database

const SHARED_TASKS = 20;

/** Pauses every service, waits until the log holds still, and returns when the pause began. */
async function pauseAll(services: Service[], log: LogReader): Promise<number> {
  const pausedAt = Date.now();
  const states = await Promise.all(
    services.map((service) => call<StatusWire>(service.url, "scheduler.pause")),
  );
  assertEquals(states.map((status) => status.state), services.map(() => "paused"));
  await waitForQuiet(log);
  return pausedAt;
}

/**
 * Every task ran at each of its occurrences from its first to about the pause, once, on
 * schedule: no process fired one twice, and none was lost between them.
 */
function assertFiredEverySecond(
  taskIds: string[],
  created: Map<string, number>,
  covered: Map<string, number[]>,
  pausedAt: number,
): void {
  for (const id of taskIds) {
    const instants = covered.get(id) ?? [];
    assertEquals(instants[0], created.get(id), `${id}: its first occurrence did not run`);
    // The last occurrence before the pause may have been due as the pause began.
    assert(
      instants.at(-1)! >= pausedAt - 2 * INTERVAL_MS,
      `${id}: last decided ${pausedAt - instants.at(-1)!} ms before the pause`,
    );
  }
}

Deno.test({
  name: "three processes on one Postgres database run each occurrence once between them, " +
    "and their counters add up to the runs table",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    const services: Service[] = [];
    try {
      services.push(
        ...await Promise.all(
          [0, 1, 2].map(() => startService({}, { databaseUrl: database.databaseUrl })),
        ),
      );
      const instances = await Promise.all(
        services.map(async (service) =>
          (await call<StatusWire>(service.url, "scheduler.status")).instance!
        ),
      );
      assertEquals(new Set(instances).size, 3);
      // Each process creates a third of the tasks; all of them fire all tasks.
      const ids = Array.from({ length: SHARED_TASKS }, (_, i) => `shared-${i}`);
      const created = new Map<string, number>();
      await Promise.all(services.map(async (service, k) => {
        const own = ids.filter((_, i) => i % services.length === k);
        for (const task of await createTasks(service.url, own.map((id) => everySecond(id)))) {
          created.set(task.id, Date.parse(task.next_run_at!));
        }
      }));
      await sleep(5000);

      const log = await openLog(database);
      try {
        const pausedAt = await pauseAll(services, log);
        const statuses = await Promise.all(
          services.map((service) => call<StatusWire>(service.url, "scheduler.status")),
        );
        await assertNoDuplicateRuns(log);
        const events = await readEvents(log);
        const runs = await readRuns(log);
        const covered = assertLogAgreesWithRuns(events, runs);
        assertFiredEverySecond(ids, created, covered, pausedAt);
        assertEquals(
          runs.filter((run) => run.trigger !== "schedule" || run.status !== "succeeded"),
          [],
        );
        assertEquals(events.filter((event) => event.type === "OccurrenceDecided"), []);
        // What each process says it executed is what the runs table says it owns.
        assertEquals(
          statuses.map((status) => status.tasks_executed),
          instances.map((instance) => runs.filter((run) => run.owner === instance).length),
        );
        assertEquals(
          statuses.reduce((sum, status) => sum + status.tasks_executed, 0),
          runs.length,
        );
        assert(
          statuses.filter((status) => status.tasks_executed > 0).length >= 2,
          `one process won every race: ${statuses.map((s) => s.tasks_executed)}`,
        );
      } finally {
        await log.close();
      }
    } finally {
      await Promise.all(services.map((service) => service.stop()));
      await database.drop();
    }
  },
});

Deno.test({
  name: "when one of three processes is SIGKILLed the others go on firing every task " +
    "and record its run in flight as abandoned within a sweep",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    // The target holds first attempts until the test ends; the executor has no retry.
    const target = startSlowTarget(60_000);
    const services: Service[] = [];
    try {
      services.push(
        ...await Promise.all([0, 1, 2].map(() =>
          startService(
            { CHRONOLOG_SHUTDOWN_TIMEOUT_S: "0" },
            { databaseUrl: database.databaseUrl },
          )
        )),
      );
      const instances = await Promise.all(
        services.map(async (service) =>
          (await call<StatusWire>(service.url, "scheduler.status")).instance!
        ),
      );
      const echoIds = Array.from({ length: SHARED_TASKS }, (_, i) => `shared-${i}`);
      const slowIds = Array.from({ length: HTTP_TASKS }, (_, i) => `slow-${i}`);
      const created = new Map<string, number>();
      const tasks = await createTasks(services[0].url, [
        ...echoIds.map((id) => everySecond(id)),
        ...slowIds.map((id) => everySecond(id, { executor: { type: "http", url: target.url } })),
      ]);
      for (const task of tasks) created.set(task.id, Date.parse(task.next_run_at!));

      const log = await openLog(database);
      try {
        // Kill a process that is executing a slow run.
        const owner = await waitFor("a slow run in flight", 5000, async () => {
          const [run] = await log.rows<{ owner: number }>(
            `select owner from runs where status = 'running' and task_id like 'slow-%' limit 1`,
          );
          return run?.owner ?? null;
        });
        const victim = instances.indexOf(owner);
        assert(victim >= 0, `run owned by ${owner}, not one of ${instances}`);
        await services[victim].kill();
        const killedAt = Date.now();
        const survivors = services.filter((_, i) => i !== victim);
        const inFlight = await log.rows<{ run_id: string }>(
          `select run_id from runs where status = 'running' and owner = ${owner}`,
        );
        assert(inFlight.length > 0);
        const ids = inFlight.map((run) => `'${run.run_id}'`).join(", ");
        await waitFor(
          "a survivor to record the abandoned runs",
          ABANDON_WITHIN_MS + 4000,
          async () => {
            const [{ open }] = await log.rows<{ open: number }>(
              `select count(*)::int as open from runs where run_id in (${ids}) and status = 'running'`,
            );
            return open === 0 ? true : null;
          },
        );
        const abandonedEvents = (await readEvents(log)).filter((event) =>
          inFlight.some((run) => run.run_id === event.data.runId) && event.at > killedAt
        );
        assertEquals(abandonedEvents.length, inFlight.length, "one ending event per run");
        for (const event of abandonedEvents) {
          assertEquals(event.type, "RunFailed");
          assert(/abandoned/.test(event.data.error as string), String(event.data.error));
          assert(
            event.at - killedAt <= ABANDON_WITHIN_MS,
            `recorded abandoned ${event.at - killedAt} ms after the kill`,
          );
          assert(
            survivors.some((service) => service.output().includes(event.data.runId as string)),
            "no survivor logged the abandoned run",
          );
        }

        // Firing went on through the kill: every task, every second, once.
        await sleep(2000);
        const pausedAt = await pauseAll(survivors, log);
        assert(pausedAt - killedAt > 3 * INTERVAL_MS);
        await assertNoDuplicateRuns(log);
        const events = await readEvents(log);
        const runs = await readRuns(log);
        const covered = assertLogAgreesWithRuns(events, runs);
        assertFiredEverySecond(echoIds, created, covered, pausedAt);
        assertEquals(
          runs.filter((run) => run.status === "running" && run.owner === owner),
          [],
          "a run of the killed process is still running",
        );
      } finally {
        await log.close();
      }
    } finally {
      await Promise.all(services.map((service) => service.stop()));
      await target.close();
      await database.drop();
    }
  },
});

Deno.test({
  name: "a survivor records the run of a SIGKILLed process as abandoned even when it last saw " +
    "the task before that run started",
  // The survivor's cached state of the task predates the victim's run: a decision of "nothing
  // to do" on it must be re-made on the stored state (actors.ts #run).
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    const target = startSlowTarget(60_000);
    const services: Service[] = [];
    const start = () =>
      startService({ CHRONOLOG_SHUTDOWN_TIMEOUT_S: "0" }, { databaseUrl: database.databaseUrl });
    try {
      services.push(await start());
      const [survivor] = services;
      const survivorStarted = await call<{ started_at: string }>(survivor.url, "scheduler.status");
      services.push(await start());
      const victim = services[1];
      // The survivor creates the task (and so caches it); the victim runs it.
      await createTasks(survivor.url, [{
        id: "on-demand",
        name: "on demand",
        executor: { type: "http", url: target.url },
      }]);
      const { run_id: runId } = await call<{ run_id: string }>(victim.url, "tasks.trigger", {
        task_id: "on-demand",
      });
      await waitFor(
        "the run at the target",
        5000,
        () => Promise.resolve(target.calls.some((c) => c.runId === runId) ? true : null),
      );
      await victim.kill();
      const killedAt = Date.now();
      assert(
        killedAt < Date.parse(survivorStarted.started_at) + 5000,
        "the victim must die before the survivor's first periodic sweep",
      );

      const log = await openLog(database);
      try {
        const status = await waitFor("the run to end", ABANDON_WITHIN_MS + 4000, async () => {
          const [run] = await log.rows<{ status: string }>(
            `select status from runs where run_id = '${runId}'`,
          );
          return run.status === "running" ? null : run.status;
        }).catch(() => "running");
        assertEquals(status, "failed", "the run of the killed process is still running");
        const [ended] = (await readEvents(log)).filter((event) =>
          event.data.runId === runId && event.type === "RunFailed"
        );
        assert(/abandoned/.test(ended.data.error as string), String(ended.data.error));
        assert(
          ended.at - killedAt <= ABANDON_WITHIN_MS,
          `${ended.at - killedAt} ms after the kill`,
        );
      } finally {
        await log.close();
      }
    } finally {
      await Promise.all(services.map((service) => service.stop()));
      await target.close();
      await database.drop();
    }
  },
});
