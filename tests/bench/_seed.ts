/**
 * Shared set-up of the store benchmarks (issue 3): a fresh PostgreSQL database per bench file,
 * tasks built with the domain's own `decide` and `evolve`, and seeding of up to a million of them
 * with one INSERT … SELECT per table, so the rows are the ones production writes.
 *
 * Run as a program it drops a bench database (`_seed.ts drop <name>`): the bench files call it
 * from their `unload` listener, where nothing asynchronous may run any more.
 */
import postgres from "postgres";
import type { Executor, ScheduleFields, TaskCommand, TaskState } from "../../src/domain/task.ts";
import type { ScheduleType } from "../../src/domain/schedule/mod.ts";
import type { AppendRequest, EventMetadata } from "../../src/store/event_store.ts";
import { openStore } from "../../src/store/mod.ts";
import { decideAppend as decideTestAppend, taskSettings } from "../_helpers.ts";

/** The benchmarks' clock: the day the figures were first recorded. */
export const BENCH_NOW = Date.parse("2026-11-22T00:00:00Z");
/** How many users the tasks are spread over (1,000 tasks each in a million). */
export const BENCH_USERS = 1000;
/** The metadata every benchmark event carries. */
export const BENCH_METADATA: EventMetadata = {
  actor: "bench",
  requestId: null,
  causation: "bench",
};

const DAY_MS = 86_400_000;

/** One of the ten kinds of task the benchmarks cycle through (task i is kind i % 10). */
interface TaskKind {
  schedule: [ScheduleType, string, string] | null;
  /** Whether the task has run once already, and how that run ended. */
  ran: "succeeded" | "failed" | null;
  executor: Executor;
}

const ECHO: Executor = { type: "echo" };
const WEBHOOK: Executor = {
  type: "http",
  url: "https://hooks.example.com/chronolog/run",
  method: "POST",
  headers: { "content-type": "application/json" },
  timeoutS: 30,
};

// Six in ten pending, three completed, one failed; seven schedule types and a one-shot task.
const KINDS: TaskKind[] = [
  { schedule: ["daily", "09:00", "Europe/Berlin"], ran: null, executor: WEBHOOK },
  { schedule: ["cron", "*/15 * * * *", "UTC"], ran: null, executor: ECHO },
  { schedule: ["interval", "PT1H", "UTC"], ran: null, executor: WEBHOOK },
  { schedule: ["weekly", "1,3,5 09:00", "America/New_York"], ran: null, executor: WEBHOOK },
  { schedule: null, ran: null, executor: ECHO },
  { schedule: ["cron", "0 9 * * 1-5", "America/New_York"], ran: null, executor: WEBHOOK },
  { schedule: ["daily", "06:30", "Asia/Tokyo"], ran: "succeeded", executor: WEBHOOK },
  { schedule: ["cron", "0 * * * *", "UTC"], ran: "succeeded", executor: ECHO },
  { schedule: ["monthly", "1,15 09:00", "Europe/London"], ran: "succeeded", executor: WEBHOOK },
  {
    schedule: ["rrule", "RRULE:FREQ=WEEKLY;BYDAY=MO", "Europe/Paris"],
    ran: "failed",
    executor: ECHO,
  },
];

/** The user that owns task `i`: users own tasks of every kind (kind is i % 10). */
export function benchUser(i: number): string {
  return `user-${String(Math.floor(i / 10) % BENCH_USERS).padStart(4, "0")}`;
}

/** The command that creates task `i` of the benchmarks' mix with the given id. */
export function createCommand(id: string, i: number, now: number): TaskCommand {
  const kind = KINDS[i % KINDS.length];
  const settings = taskSettings({
    name: `nightly report ${i}`,
    userId: benchUser(i),
    inputs: {
      report: "sales",
      region: "eu-west-1",
      format: "csv",
      recipients: ["ops@example.com"],
    },
    executor: kind.executor,
    retry: { maxAttempts: 3, backoffMs: 1000, backoffFactor: 2, maxBackoffMs: 300_000 },
    timeoutS: 300,
  });
  const schedule: ScheduleFields | null = kind.schedule === null ? null : {
    type: kind.schedule[0],
    expression: kind.schedule[1],
    timezone: kind.schedule[2],
    enabled: true,
    startAt: null,
    endAt: null,
    maxRuns: null,
    dstPolicy: null,
  };
  return { type: "CreateTask", id, settings, schedule, now };
}

/** The command that records one finished run of the task's next occurrence. */
export function completeCommand(runId: string, now: number, success = true): TaskCommand {
  return {
    type: "CompleteOccurrence",
    runId,
    scheduledFor: null,
    success,
    result: success ? { rows: 1204, file: "s3://reports/sales.csv" } : null,
    error: success ? null : "HTTP 503 from hooks.example.com",
    calculateNextRun: true,
    now,
  };
}

/** Decides a command on a task and returns the append that records it, as the bench's writer. */
export function decideAppend(state: TaskState | null, command: TaskCommand): AppendRequest {
  return decideTestAppend(state, command, BENCH_METADATA);
}

let server: Promise<string | null> | null = null;

/**
 * A fresh, migrated database holding `tasks` seeded tasks, or null (said once per file) when no
 * PostgreSQL answers. The server is BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local
 * one. The database is dropped when the bench file unloads, or at once when seeding fails.
 */
export async function benchDatabase(label: string, tasks = 0): Promise<string | null> {
  server ??= findServer();
  const adminUrl = await server;
  if (adminUrl === null) return null;
  const name = `chronolog_bench_${label}_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    const store = await openStore({ databaseUrl: url.toString() });
    await store.close();
    if (tasks > 0) await seedTasks(url.toString(), tasks);
  } catch (error) {
    dropDatabaseSync(adminUrl, name);
    throw error;
  }
  globalThis.addEventListener("unload", () => dropDatabaseSync(adminUrl, name));
  return url.toString();
}

async function findServer(): Promise<string | null> {
  const url = Deno.env.get("BENCH_DATABASE_URL") ?? Deno.env.get("TEST_DATABASE_URL") ??
    "postgres://postgres@127.0.0.1:5432/postgres";
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return url;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.log(`PostgreSQL at ${redact(url)} does not answer (${reason}): store benches skip`);
    return null;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Drops a bench database from a child process: `unload` listeners cannot wait for promises. */
function dropDatabaseSync(adminUrl: string, name: string): void {
  const config = new URL("../../deno.json", import.meta.url);
  const output = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      `--config=${config.pathname}`,
      import.meta.url,
      "drop",
      name,
    ],
    env: { BENCH_ADMIN_URL: adminUrl },
    stdout: "inherit",
    stderr: "inherit",
  }).outputSync();
  if (!output.success) console.log(`could not drop the bench database ${name}`);
}

/** One row of a task kind's template: a snapshot, an event or a runs row. */
interface TemplateRow {
  kind: number;
  /** The row's position among its kind's rows of the same table (events in version order). */
  ord: number;
  doc: unknown;
}

/** A kind's template rows by table, and its task's next run. */
interface Template {
  nextRunAt: number | null;
  tasks: TemplateRow[];
  events: TemplateRow[];
  runs: TemplateRow[];
}

/**
 * Writes `count` tasks as the store would: one snapshot row per task, its events (TaskCreated,
 * and RunStarted with RunSucceeded or RunFailed for the kinds that ran once) and its runs row.
 * Each kind's rows are built once with `decide`/`evolve`; SQL then patches the id, user, name,
 * instants and next run into them per task. Task i is created `count - i` seconds before the
 * template's creation time and its next run falls within the day after BENCH_NOW. Two
 * connections write halves of the range at once; VACUUM ANALYZE (as autovacuum would) and a
 * checkpoint end it.
 */
export async function seedTasks(url: string, count: number): Promise<void> {
  const sql = postgres(url, {
    max: 2,
    onnotice: () => {},
    connection: { synchronous_commit: "off", maintenance_work_mem: "512MB" },
  });
  try {
    const templates = KINDS.map((_, kind) => template(kind));
    const halves = [[1, Math.floor(count / 2)], [Math.floor(count / 2) + 1, count]];
    const tables = ["tasks", "events", "runs"] as const;
    // Unique keys and indexes are dropped and rebuilt from their own definitions: a sorted
    // build beats a million random-order inserts into UUID-keyed B-trees several times over.
    const keys = await sql.unsafe<{ tbl: string; name: string; def: string }[]>(
      `select conrelid::regclass::text as tbl, conname as name, pg_get_constraintdef(oid) as def
         from pg_constraint where conrelid = any($1::text[]::regclass[]) and contype in ('p', 'u')`,
      [tables],
    );
    const indexes = await sql.unsafe<{ name: string; def: string }[]>(
      `select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as def
         from pg_index where indrelid = any($1::text[]::regclass[])
          and not exists (select 1 from pg_constraint where conindid = indexrelid)`,
      [tables],
    );
    for (const index of indexes) await sql.unsafe(`drop index ${index.name}`);
    for (const key of keys) await sql.unsafe(`alter table ${key.tbl} drop constraint ${key.name}`);
    for (const table of tables) {
      await Promise.all(
        halves.map(([from, to]) => sql.unsafe(insertSql(table, templates, { from, to, count }))),
      );
    }
    const builds = [
      ...keys.map((key) => `alter table ${key.tbl} add constraint ${key.name} ${key.def}`),
      ...indexes.map((index) => index.def),
    ];
    await Promise.all([0, 1].map(async (worker) => {
      for (let i = worker; i < builds.length; i += 2) await sql.unsafe(builds[i]);
    }));
    // The list totals the store keeps beside the snapshots (migrations/002_task_counts.sql).
    await sql.unsafe(
      `insert into task_counts (user_id, status, schedule_type, schedule_enabled, tasks)
       select coalesce(user_id, ''), status, coalesce(schedule_type, ''), schedule_enabled,
              count(*)
         from tasks where deleted_at is null group by 1, 2, 3, 4`,
    );
    await sql.unsafe(`vacuum analyze tasks, events, runs, task_counts`);
    // Flush the load now rather than in a checkpoint in the middle of the measurements; a role
    // without pg_checkpoint skips this.
    await sql.unsafe(`checkpoint`).catch(() => {});
  } finally {
    await sql.end();
  }
}

/** A kind's rows for one task: its snapshot, its events and its runs row, with placeholders. */
function template(kind: number): Template {
  const created = BENCH_NOW - 2 * DAY_MS;
  const command = createCommand("@ID@", kind, created);
  if (command.type !== "CreateTask") throw new Error("createCommand must create");
  command.settings = { ...command.settings, name: "@NAME@", userId: "@USER@" };
  const appends = [decideAppend(null, command)];
  const ran = KINDS[kind].ran;
  if (ran !== null) {
    const first = appends[0].state;
    const finished = first.nextRunAt! + 1500;
    appends.push(decideAppend(first, completeCommand("@RUN@", finished, ran === "succeeded")));
  }
  const state = appends[appends.length - 1].state;
  const rows: Template = { nextRunAt: state.nextRunAt, tasks: [], events: [], runs: [] };
  rows.tasks.push({ kind, ord: 1, doc: state });
  for (const append of appends) {
    append.events.forEach((event, k) => {
      const version = append.expectedVersion + k + 1;
      rows.events.push({
        kind,
        ord: version,
        doc: { streamId: append.streamId, version, event, metadata: append.metadata },
      });
      if (event.type !== "RunStarted") return;
      // The runs row as claimRuns inserts it and updateRuns completes it.
      const outcome = append.events[k + 1];
      rows.runs.push({
        kind,
        ord: 1,
        doc: {
          run_id: event.data.runId,
          task_id: append.streamId,
          scheduled_for: event.data.scheduledFor,
          trigger: event.data.trigger,
          attempt: event.data.attempt,
          status: ran,
          started_at: event.at,
          finished_at: outcome.at,
          lateness_ms: event.data.latenessMs,
          result: outcome.type === "RunSucceeded" ? outcome.data.result : null,
          error: outcome.type === "RunFailed" ? outcome.data.error : null,
        },
      });
    });
  }
  return rows;
}

/** What each placeholder of a template becomes for task `g.i`. */
const PLACEHOLDERS = new Map([
  ["@ID@", `md5('task-' || g.i)::uuid::text`],
  ["@RUN@", `md5('run-' || g.i)::uuid::text`],
  ["@USER@", `'user-' || lpad((g.i / 10 % ${BENCH_USERS})::text, 4, '0')`],
  ["@NAME@", `'nightly report ' || g.i`],
]);

/**
 * SQL for `value` (found at `base`) with its placeholders filled: the objects on the way to a
 * placeholder are rebuilt with `||`, everything else stays the template's. Null when `value`
 * holds no placeholder.
 */
function patch(
  value: unknown,
  base: string,
  fill: (leaf: string | number) => string | null,
): string | null {
  if (typeof value === "string" || typeof value === "number") {
    const sql = fill(value);
    return sql === null ? null : `to_jsonb(${sql})`;
  }
  if (value === null || typeof value !== "object") return null;
  if (Array.isArray(value)) {
    if (value.some((item, i) => patch(item, `${base}->${i}`, fill) !== null)) {
      throw new Error("Placeholders inside arrays are not supported");
    }
    return null;
  }
  const fields = Object.entries(value).flatMap(([key, field]) => {
    const sql = patch(field, `${base}->'${key}'`, fill);
    return sql === null ? [] : [`'${key}', ${sql}`];
  });
  return fields.length === 0 ? null : `(${base} || jsonb_build_object(${fields.join(", ")}))`;
}

/** SQL that inserts the template rows of one table for tasks `from`…`to` of `count`. */
function insertSql(
  table: "tasks" | "events" | "runs",
  templates: Template[],
  range: { from: number; to: number; count: number },
): string {
  const rows = templates.flatMap((template) => template[table]);
  const cases = rows.map((row) => {
    // An epoch-ms number is an instant: the task's next run spreads over the day after
    // BENCH_NOW; every other instant is in the past and moves by (i - count) seconds.
    const fill = (leaf: string | number): string | null => {
      if (typeof leaf === "string") return PLACEHOLDERS.get(leaf) ?? null;
      if (leaf < 1e12) return null;
      return leaf === templates[row.kind].nextRunAt
        ? `${BENCH_NOW} + 60000 + g.i * 7919 % 86400 * 1000`
        : `${leaf} + (g.i - ${range.count}) * 1000`;
    };
    const literal = `'${JSON.stringify(row.doc).replaceAll("'", "''")}'::jsonb`;
    return `when ${row.kind * 100 + row.ord} then ${patch(row.doc, literal, fill) ?? literal}`;
  });
  const keys = rows.map((row) => `(${row.kind}, ${row.kind * 100 + row.ord})`).join(", ");
  const docs = `select case t.key ${cases.join(" ")} end as doc
      from generate_series(${range.from}::bigint, ${range.to}) as g(i)
      join (values ${keys}) as t(kind, key) on t.kind = g.i % ${KINDS.length}
      offset 0`;
  const instant = (value: string) =>
    `(timestamptz 'epoch' + (${value})::bigint * interval '1 millisecond')`;
  switch (table) {
    case "tasks":
      // Seeded tasks have no jitter: each fires at its next run.
      return `insert into tasks (task_id, version, name, user_id, parent_id, status,
                schedule_type, schedule_enabled, next_run_at, fire_at, executor_type,
                created_at, updated_at, deleted_at, state)
        select doc->>'id', (doc->>'version')::int, doc->>'name', doc->>'userId',
               doc->>'parentId', doc->>'status', doc->'schedule'->>'type',
               coalesce((doc->'schedule'->>'enabled')::boolean, false),
               ${instant("doc->>'nextRunAt'")}, ${instant("doc->>'nextRunAt'")},
               doc->'executor'->>'type', ${instant("doc->>'createdAt'")},
               ${instant("doc->>'updatedAt'")}, ${instant("doc->>'deletedAt'")}, doc::json
          from (${docs}) as x`;
    case "events":
      return `insert into events (stream_id, stream_version, type, data, metadata, recorded_at)
        select doc->>'streamId', (doc->>'version')::int, doc->'event'->>'type',
               doc->'event'->'data', doc->'metadata', ${instant("doc->'event'->>'at'")}
          from (${docs}) as x`;
    case "runs":
      return `insert into runs (run_id, task_id, scheduled_for, trigger, attempt, status,
                started_at, finished_at, lateness_ms, result, error)
        select r.run_id, r.task_id, ${instant("r.scheduled_for")}, r.trigger, r.attempt,
               r.status, ${instant("r.started_at")}, ${instant("r.finished_at")}, r.lateness_ms,
               r.result, r.error
          from (${docs}) as x,
               jsonb_to_record(doc) as r(run_id text, task_id text, scheduled_for bigint,
                 trigger text, attempt int, status text, started_at bigint, finished_at bigint,
                 lateness_ms bigint, result jsonb, error text)`;
  }
}

/** The p-th percentile (0–100) of samples, nearest rank. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The median of samples. */
export function median(samples: number[]): number {
  return percentile(samples, 50);
}

/** A number with thousands separators and at most `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}

if (import.meta.main && Deno.args[0] === "drop") {
  const adminUrl = Deno.env.get("BENCH_ADMIN_URL")!;
  const name = Deno.args[1];
  if (!/^chronolog_bench_[a-z0-9_]+$/.test(name)) throw new Error(`Not a bench database: ${name}`);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}

/** Memory usage after full collections (with --expose-gc) and a moment to settle. */
export async function settledMemory(): Promise<Deno.MemoryUsage> {
  const { gc } = globalThis as { gc?: () => void };
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Deno.memoryUsage();
}
