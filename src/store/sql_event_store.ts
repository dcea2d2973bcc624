/**
 * The event log in SQL, shared by the postgres.js and PGlite adapters.
 *
 * Appends are serialized by a transaction-level advisory lock taken before any insert, so global
 * positions become visible in the order they were taken: a reader by position never sees 11
 * before 10 commits (the gap problem). Group commit makes that lock cheap: appends that arrive
 * while a transaction is in flight wait in a queue and go together in the next one, one
 * multi-row INSERT per table, so a firing storm costs a few round trips instead of one per event.
 */
import { DomainError, isDomainError } from "../domain/errors.ts";
import { fireTime, type TaskEvent, type TaskState, type TaskStatus } from "../domain/task.ts";
import type { ScheduleType } from "../domain/schedule/mod.ts";
import type {
  AppendRequest,
  AppendResult,
  EventMetadata,
  EventStore,
  LeasedRun,
  ListTotal,
  RecordedEvent,
  RunRecord,
  StreamRange,
  TaskPage,
  TaskQuery,
  TaskSummary,
} from "./event_store.ts";
import {
  type Row,
  type SqlClient,
  type SqlRunner,
  type SqlSession,
  sqlState,
  UNIQUE_VIOLATION,
} from "./sql_client.ts";

/** The advisory lock key that serializes appends across every process on the database. */
const APPEND_LOCK = 7_243_002;
/** Appends per transaction at most; the rest wait for the next one. */
const MAX_BATCH = 1000;
/**
 * Append transactions in flight at once on Postgres. Each writes its runs and snapshots in
 * parallel with the others and queues only for the short section that takes positions.
 */
const MAX_IN_FLIGHT = 3;

/** SQL turning a bigint of epoch milliseconds into a timestamptz, exactly (null stays null). */
function instant(column: string): string {
  return `(timestamptz 'epoch' + (${column}) * interval '1 millisecond')`;
}

interface Pending {
  request: AppendRequest;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** A runs row as one request leaves it: the events of a request folded per run. */
interface RunRow {
  run_id: string;
  task_id: string;
  /** Set when the request claims the occurrence (starts, queues or skips it): a new row. */
  claim: { scheduled_for: number; trigger: string } | null;
  status: string;
  attempt: number | null;
  started_at: number | null;
  finished_at: number | null;
  lateness_ms: number | null;
  result: unknown;
  has_result: boolean;
  error: string | null;
  owner: number | null;
  deadline_at: number | null;
  capability: string | null;
  /** A new attempt drops the previous attempt's worker lease. */
  reset_lease: boolean;
  /** When the run waits for its next attempt; applied when `set_retry`. */
  retry_at: number | null;
  set_retry: boolean;
}

/** The first key of the advisory locks that mark live processes (the second is the process's). */
const INSTANCE_LOCK_CLASS = 7_243_003;

const RUN_COLUMNS = `run_id, task_id, scheduled_for, trigger, attempt, status, started_at,
  finished_at, lateness_ms, result, error, worker_id, lease_expires_at`;

function toRunRecord(row: Row): RunRecord {
  return {
    runId: row.run_id as string,
    taskId: row.task_id as string,
    scheduledFor: toMs(row.scheduled_for)!,
    trigger: row.trigger as RunRecord["trigger"],
    attempt: Number(row.attempt),
    status: row.status as RunRecord["status"],
    startedAt: toMs(row.started_at),
    finishedAt: toMs(row.finished_at),
    latenessMs: row.lateness_ms === null ? null : Number(row.lateness_ms),
    result: (row.result ?? null) as RunRecord["result"],
    error: row.error as string | null,
    workerId: row.worker_id as string | null,
    leaseExpiresAt: toMs(row.lease_expires_at),
  };
}

const EVENT_COLUMNS =
  "global_position, stream_id, stream_version, type, data, metadata, recorded_at";

/** An EventStore over any SqlClient. */
export class SqlEventStore implements EventStore {
  readonly kind: "postgres" | "pglite";
  readonly #client: SqlClient;
  /** The connection holding this process's liveness lock, once registered. */
  #session: SqlSession | null = null;
  readonly #maxInFlight: number;
  #queue: Pending[] = [];
  #scheduled = false;
  #inFlight = 0;
  /** Streams with an append in a transaction now: their next append waits for its outcome. */
  readonly #busy = new Set<string>();
  #idle: PromiseWithResolvers<void> | null = null;
  #appended = 0;

  constructor(client: SqlClient, kind: "postgres" | "pglite") {
    this.#client = client;
    this.kind = kind;
    // PGlite is one connection: a second transaction would only queue behind the first.
    this.#maxInFlight = kind === "postgres" ? MAX_IN_FLIGHT : 1;
  }

  get appendedEvents(): number {
    return this.#appended;
  }

  async ping(): Promise<void> {
    await this.#client.query(`select 1`);
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Let the appends of the current tick join the first batch.
        queueMicrotask(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  /** Starts transactions for what is queued, up to the in-flight limit. */
  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch: Pending[] = [];
      const waiting: Pending[] = [];
      for (const pending of this.#queue) {
        // One request per stream at a time: a second one was decided on the first's outcome.
        const stream = pending.request.streamId;
        if (batch.length < MAX_BATCH && !this.#busy.has(stream)) {
          batch.push(pending);
          this.#busy.add(stream);
        } else {
          waiting.push(pending);
        }
      }
      this.#queue = waiting;
      if (batch.length === 0) break;
      this.#inFlight++;
      this.#settle(batch).catch((error) => {
        // #settle answers every append itself; this only guards against a bug leaving one open.
        for (const pending of batch) pending.reject(error);
      }).finally(() => {
        this.#inFlight--;
        for (const pending of batch) this.#busy.delete(pending.request.streamId);
        this.#pump();
        if (this.#inFlight === 0 && this.#queue.length === 0) this.#idle?.resolve();
      });
    }
  }

  /**
   * Writes a batch in one transaction and settles each append on its own outcome. When the
   * transaction fails (one request the database refuses, a lost connection), each request is
   * retried alone, so one bad request cannot fail or drop the others; a request whose earlier
   * attempt did commit then meets its own version and is answered with a conflict, never twice.
   */
  async #settle(batch: Pending[]): Promise<void> {
    try {
      const results = await this.#client.transaction((tx) =>
        writeBatch(tx, batch.map((pending) => pending.request))
      );
      for (const result of results) {
        if (!isDomainError(result)) this.#appended += result.positions.length;
      }
      batch.forEach((pending, i) => pending.resolve(results[i]));
      return;
    } catch (error) {
      if (batch.length === 1) {
        // A unique key caught what the version check could not see: a concurrent writer won.
        if (sqlState(error) === UNIQUE_VIOLATION) {
          batch[0].resolve(conflict("The task changed meanwhile"));
        } else {
          batch[0].reject(error);
        }
        return;
      }
    }
    for (const pending of batch) await this.#settle([pending]);
  }

  appendBatch(requests: AppendRequest[]): Promise<AppendResult[]> {
    if (new Set(requests.map((request) => request.streamId)).size !== requests.length) {
      return Promise.reject(new Error("appendBatch takes at most one request per stream"));
    }
    const batch: Pending[] = [];
    const outcomes = requests.map((request) =>
      new Promise<AppendResult>((resolve, reject) => batch.push({ request, resolve, reject }))
    );
    return this.#settle(batch).then(() => Promise.all(outcomes));
  }

  async readStream(streamId: string, range: StreamRange = {}): Promise<RecordedEvent[]> {
    const rows = await this.#client.query(
      `select ${EVENT_COLUMNS} from events
        where stream_id = $1 and stream_version >= $2
          and ($3::int is null or stream_version <= $3)
        order by stream_version limit $4`,
      [streamId, range.fromVersion ?? 1, range.toVersion ?? null, range.limit ?? 1000],
    );
    return rows.map(toRecordedEvent);
  }

  async readAll(after: number, limit: number): Promise<RecordedEvent[]> {
    const rows = await this.#client.query(
      `select ${EVENT_COLUMNS} from events where global_position > $1
        order by global_position limit $2`,
      [after, limit],
    );
    return rows.map(toRecordedEvent);
  }

  async headPosition(): Promise<number> {
    const [row] = await this.#client.query(
      `select coalesce(max(global_position), 0) as head from events`,
    );
    return Number(row.head);
  }

  async taskOwner(id: string): Promise<{ userId: string | null } | null> {
    const rows = await this.#client.query<{ user_id: string | null }>(
      `select user_id from tasks where task_id = $1 and deleted_at is null`,
      [id],
    );
    return rows.length === 0 ? null : { userId: rows[0].user_id };
  }

  async loadTask(id: string): Promise<TaskState | null> {
    const rows = await this.#client.query<{ state: TaskState }>(
      `select state from tasks where task_id = $1`,
      [id],
    );
    return rows[0]?.state ?? null;
  }

  async loadTasks(ids: string[]): Promise<TaskState[]> {
    if (ids.length === 0) return [];
    const rows = await this.#client.query<{ state: TaskState }>(
      `select state from tasks
        where task_id in (select jsonb_array_elements_text($1::text::jsonb))`,
      [JSON.stringify(ids)],
    );
    return rows.map((row) => row.state);
  }

  async scanSnapshots(after: string | null, limit: number): Promise<TaskState[]> {
    const rows = await this.#client.query<{ state: TaskState }>(
      `select state from tasks where ($1::text is null or task_id > $1)
        order by task_id limit $2`,
      [after, limit],
    );
    return rows.map((row) => row.state);
  }

  async scanSummaries(after: string | null, limit: number): Promise<TaskSummary[]> {
    const rows = await this.#client.query(
      `select task_id, version, next_run_at, schedule_enabled, status, executor_type, parent_id,
              (extract(epoch from fire_at - next_run_at) * 1000)::int as jitter
         from tasks
        where ($1::text is null or task_id > $1) and deleted_at is null
        order by task_id limit $2`,
      [after, limit],
    );
    return rows.map((row) => {
      const nextRunAt = toMs(row.next_run_at);
      return {
        id: row.task_id as string,
        version: Number(row.version),
        nextRunAt,
        fireAt: nextRunAt === null ? null : nextRunAt + Number(row.jitter ?? 0),
        enabled: row.schedule_enabled as boolean,
        status: row.status as TaskSummary["status"],
        executorType: row.executor_type as TaskSummary["executorType"],
        parentId: row.parent_id as string | null,
      };
    });
  }

  async readRuns(
    taskId: string,
    options: { before: number | null; limit: number },
  ): Promise<RunRecord[]> {
    const rows = await this.#client.query(
      `select ${RUN_COLUMNS} from runs
        where task_id = $1 and ($2::bigint is null or scheduled_for < ${instant("$2::bigint")})
        order by scheduled_for desc limit $3`,
      [taskId, options.before, options.limit],
    );
    return rows.map(toRunRecord);
  }

  async readRun(runId: string): Promise<RunRecord | null> {
    const [row] = await this.#client.query(
      `select ${RUN_COLUMNS} from runs where run_id = $1`,
      [runId],
    );
    return row === undefined ? null : toRunRecord(row);
  }

  async claimedOccurrences(taskId: string, instants: number[]): Promise<Set<number>> {
    if (instants.length === 0) return new Set();
    const rows = await this.#client.query(
      `select (extract(epoch from scheduled_for) * 1000)::bigint as at from runs
        where task_id = $1 and scheduled_for in (
          select ${instant("x::bigint")} from jsonb_array_elements_text($2::text::jsonb) as x)`,
      [taskId, JSON.stringify(instants)],
    );
    return new Set(rows.map((row) => Number(row.at)));
  }

  async tasksWithOpenRuns(): Promise<string[]> {
    const rows = await this.#client.query(
      `select distinct task_id from runs where status in ('pending', 'running')`,
    );
    return rows.map((row) => row.task_id as string);
  }

  async overdueQueueRuns(now: number): Promise<{ taskId: string; runId: string }[]> {
    const rows = await this.#client.query(
      `select task_id, run_id from runs
        where status in ('pending', 'running') and capability is not null
          and retry_at is null and deadline_at < ${instant("$1::bigint")}`,
      [now],
    );
    return rows.map((row) => ({ taskId: row.task_id as string, runId: row.run_id as string }));
  }

  async leaseRun(
    options: { capability: string; workerId: string; leaseMs: number; userId?: string },
  ): Promise<LeasedRun | null> {
    // SKIP LOCKED: workers polling together each take a different run, none waits on another.
    const [row] = await this.#client.query(
      `update runs set status = 'running', worker_id = $2,
              lease_expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond'
        where run_id = (
          select run_id from runs
           where capability = $1 and status in ('pending', 'running') and attempt >= 1
             and owner is null and retry_at is null
             and (lease_expires_at is null or lease_expires_at < clock_timestamp())
             and ($4::text is null
                  or task_id in (select task_id from tasks where user_id = $4::text))
           order by scheduled_for
           limit 1
             for update skip locked)
        returning run_id, task_id, scheduled_for, attempt, lease_expires_at`,
      [options.capability, options.workerId, options.leaseMs, options.userId ?? null],
    );
    if (row === undefined) return null;
    return {
      runId: row.run_id as string,
      taskId: row.task_id as string,
      scheduledFor: toMs(row.scheduled_for)!,
      attempt: Number(row.attempt),
      leaseExpiresAt: toMs(row.lease_expires_at)!,
    };
  }

  async setFeedToken(
    owner: { userId: string | null; admin: boolean },
    sha256: string,
    expiresAt: number,
  ): Promise<void> {
    await this.#client.query(
      `insert into feed_tokens (owner, token_sha256, admin, expires_at)
       values ($1, $2, $3, to_timestamp($4::bigint / 1000.0))
       on conflict (owner) do update
         set token_sha256 = excluded.token_sha256, admin = excluded.admin,
             expires_at = excluded.expires_at, created_at = now()`,
      [owner.userId ?? "", sha256, owner.admin, expiresAt],
    );
  }

  async feedTokenOwner(
    sha256: string,
  ): Promise<{ userId: string | null; admin: boolean } | null> {
    const [row] = await this.#client.query<{ owner: string; admin: boolean }>(
      `select owner, admin from feed_tokens where token_sha256 = $1 and expires_at > now()`,
      [sha256],
    );
    return row === undefined
      ? null
      : { userId: row.owner === "" ? null : row.owner, admin: row.admin };
  }

  async deleteFeedToken(userId: string | null): Promise<boolean> {
    const rows = await this.#client.query(
      `delete from feed_tokens where owner = $1 returning owner`,
      [userId ?? ""],
    );
    return rows.length > 0;
  }

  async renewLease(
    options: { runId: string; workerId: string; leaseMs: number },
  ): Promise<number | null> {
    const [row] = await this.#client.query(
      `update runs set lease_expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond'
        where run_id = $1 and worker_id = $2 and status = 'running'
          and lease_expires_at >= clock_timestamp()
        returning lease_expires_at`,
      [options.runId, options.workerId, options.leaseMs],
    );
    return row === undefined ? null : toMs(row.lease_expires_at);
  }

  async registerInstance(): Promise<number> {
    if (this.#session === null) this.#session = await this.#client.reserve();
    for (;;) {
      const key = 1 + Math.floor(Math.random() * 0x7ffffffe);
      const [row] = await this.#session.query(
        `select pg_try_advisory_lock(${INSTANCE_LOCK_CLASS}, $1::int) as locked`,
        [key],
      );
      if (row.locked) return key;
    }
  }

  async liveInstances(): Promise<Set<number>> {
    const rows = await this.#client.query(
      `select objid::bigint as key from pg_locks
        where locktype = 'advisory' and classid = ${INSTANCE_LOCK_CLASS} and objsubid = 2
          and granted and database = (select oid from pg_database where datname = current_database())`,
    );
    return new Set(rows.map((row) => Number(row.key)));
  }

  async queryTasks(query: TaskQuery): Promise<TaskPage> {
    const conditions = ["deleted_at is null"];
    const params: unknown[] = [];
    const where = (sql: string, value: unknown) => {
      params.push(value);
      conditions.push(sql.replace("?", `$${params.length}`));
    };
    if (query.userId != null) where("user_id = ?", query.userId);
    if (query.status != null) where("status = ?", query.status);
    if (query.parentId != null) where("parent_id = ?", query.parentId);
    if (query.scheduleType != null) where("schedule_type = ?", query.scheduleType);
    if (query.scheduledOnly) conditions.push("schedule_type is not null");
    if (query.enabledOnly) conditions.push("schedule_enabled");
    const filter = conditions.join(" and ");
    const [page, total] = await Promise.all([
      this.#client.query<{ state: TaskState }>(
        `select state from tasks where ${filter}
          order by created_at desc, task_id desc
          limit $${params.length + 1} offset $${params.length + 2}`,
        [...params, query.limit, query.offset],
      ),
      query.parentId != null
        ? this.#client.query(`select count(*) as total from tasks where ${filter}`, params)
        : this.#countTasks(query),
    ]);
    return { tasks: page.map((row) => row.state), total: Number(total[0].total) };
  }

  /** The number of live tasks matching a filter without parent, from the kept counts. */
  #countTasks(query: TaskQuery): Promise<Row[]> {
    return this.#client.query(
      `select coalesce(sum(tasks), 0) as total from task_counts
        where ($1::text is null or user_id = $1) and ($2::text is null or status = $2)
          and ($3::text is null or schedule_type = $3)
          and (not $4::boolean or schedule_type <> '') and (not $5::boolean or schedule_enabled)`,
      [
        query.userId ?? null,
        query.status ?? null,
        query.scheduleType ?? null,
        query.scheduledOnly ?? false,
        query.enabledOnly ?? false,
      ],
    );
  }

  async dueTasks(
    options: { before: number; userId?: string | null; limit: number },
  ): Promise<TaskState[]> {
    const rows = await this.#client.query<{ state: TaskState }>(
      `select state from tasks
        where deleted_at is null and schedule_enabled and next_run_at is not null
          and next_run_at <= ${instant("$1::bigint")}
          and ($2::text is null or user_id = $2)
        order by next_run_at, task_id limit $3`,
      [options.before, options.userId ?? null, options.limit],
    );
    return rows.map((row) => row.state);
  }

  async listTotals(): Promise<ListTotal[]> {
    const rows = await this.#client.query(
      `select user_id, status, schedule_type, schedule_enabled, tasks from task_counts
        where tasks <> 0`,
    );
    return rows.map((row) => ({
      userId: row.user_id === "" ? null : row.user_id as string,
      status: row.status as TaskStatus,
      scheduleType: row.schedule_type === "" ? null : row.schedule_type as ScheduleType,
      enabled: row.schedule_enabled as boolean,
      tasks: Number(row.tasks),
    }));
  }

  async counts(): Promise<{ events: number; streams: number; snapshots: number; runs: number }> {
    const [row] = await this.#client.query(
      `select (select count(*) from events) as events,
              (select count(distinct stream_id) from events) as streams,
              (select count(*) from tasks) as snapshots,
              (select count(*) from runs) as runs`,
    );
    return {
      events: Number(row.events),
      streams: Number(row.streams),
      snapshots: Number(row.snapshots),
      runs: Number(row.runs),
    };
  }

  async close(): Promise<void> {
    while (this.#inFlight > 0 || this.#queue.length > 0 || this.#scheduled) {
      this.#idle = Promise.withResolvers<void>();
      if (this.#scheduled) await Promise.resolve();
      else await this.#idle.promise;
    }
    await this.#session?.release();
    await this.#client.close();
  }
}

/** What a snapshot row counted as before this batch (null: not counted, new or deleted). */
type CountKey = [userId: string, status: string, scheduleType: string, enabled: boolean];

async function writeBatch(tx: SqlRunner, requests: AppendRequest[]): Promise<AppendResult[]> {
  // Row locks make writers of one stream in other transactions wait here and then read the
  // version they left; a stream that does not exist yet is guarded by the unique keys instead.
  const rows = await tx.query(
    `select task_id, version, user_id, status, schedule_type, schedule_enabled,
            deleted_at is not null as deleted
       from tasks
      where task_id in (select jsonb_array_elements_text($1::text::jsonb))
      order by task_id
        for update`,
    [JSON.stringify(requests.map((request) => request.streamId).sort())],
  );
  const before = new Map(rows.map((row) => [row.task_id as string, row]));
  const results: (AppendResult | null)[] = requests.map((request) => {
    const current = Number(before.get(request.streamId)?.version ?? 0);
    if (current === request.expectedVersion) {
      return request.events.length === 0 ? { positions: [] } : null;
    }
    return request.expectedVersion === 0
      ? conflict(`A task with id "${request.streamId}" already exists`, "id")
      : conflict(`The task is at version ${current}, not ${request.expectedVersion}`);
  });

  const updates = await claimRuns(tx, requests, results);
  const accepted = requests.map((request, index) => ({ request, index }))
    .filter(({ index }) => results[index] === null);
  if (accepted.length === 0) return results as AppendResult[];
  await updateRuns(tx, updates);
  await writeSnapshots(tx, accepted.map(({ request }) => request.state));

  // Positions are taken last and under a lock held until commit, so they become visible in the
  // order they were taken: a reader by position never sees 11 before 10 commits. The
  // count rows are hot (every task of a user and status shares one), so they are written here
  // too, by one transaction at a time, instead of serializing the parallel work above.
  await tx.query(`select pg_advisory_xact_lock(${APPEND_LOCK})`);
  await writeCounts(
    tx,
    accepted.map(({ request }) => {
      const row = before.get(request.streamId);
      const old: CountKey | null = row === undefined || row.deleted ? null : [
        (row.user_id as string | null) ?? "",
        row.status as string,
        (row.schedule_type as string | null) ?? "",
        row.schedule_enabled as boolean,
      ];
      return [old, countKey(request.state)];
    }),
  );
  const eventRows = accepted.flatMap(({ request }) =>
    request.events.map((event, k) => ({
      stream_id: request.streamId,
      stream_version: request.expectedVersion + k + 1,
      type: event.type,
      data: event.data,
      metadata: request.metadata,
      recorded_at: event.at,
    }))
  ).map((row, ord) => ({ ...row, ord }));
  const inserted = await tx.query(
    `insert into events (stream_id, stream_version, type, data, metadata, recorded_at)
     select stream_id, stream_version, type, data, metadata, ${instant("recorded_at")}
       from json_to_recordset($1::text::json) as x(ord int, stream_id text,
            stream_version int, type text, data jsonb, metadata jsonb, recorded_at bigint)
      order by ord
     returning global_position, stream_id, stream_version`,
    [JSON.stringify(eventRows)],
  );
  const positions = new Map(
    inserted.map((
      row,
    ) => [`${row.stream_id}\u0000${row.stream_version}`, Number(row.global_position)]),
  );
  for (const { request, index } of accepted) {
    results[index] = {
      positions: request.events.map((_, k) =>
        positions.get(`${request.streamId}\u0000${request.expectedVersion + k + 1}`)!
      ),
    };
  }
  return results as AppendResult[];
}

function countKey(state: TaskState): CountKey | null {
  if (state.deletedAt !== null) return null;
  return [
    state.userId ?? "",
    state.status,
    state.schedule?.type ?? "",
    state.schedule?.enabled ?? false,
  ];
}

/** Moves each task from the count it was in to the one it is in now. */
async function writeCounts(
  tx: SqlRunner,
  moves: [from: CountKey | null, to: CountKey | null][],
): Promise<void> {
  const deltas = new Map<string, number>();
  const shift = (key: CountKey | null, delta: number) => {
    if (key === null) return;
    const id = JSON.stringify(key);
    deltas.set(id, (deltas.get(id) ?? 0) + delta);
  };
  for (const [from, to] of moves) {
    shift(from, -1);
    shift(to, +1);
  }
  const rows = [...deltas].filter(([, delta]) => delta !== 0).sort(([a], [b]) => a < b ? -1 : 1)
    .map(([id, delta]) => {
      const [user_id, status, schedule_type, schedule_enabled] = JSON.parse(id) as CountKey;
      return { user_id, status, schedule_type, schedule_enabled, delta };
    });
  if (rows.length === 0) return;
  // Sorted, so concurrent transactions lock count rows in one order and cannot deadlock.
  await tx.query(
    `insert into task_counts (user_id, status, schedule_type, schedule_enabled, tasks)
     select user_id, status, schedule_type, schedule_enabled, delta
       from json_to_recordset($1::text::json) as x(user_id text, status text,
            schedule_type text, schedule_enabled boolean, delta bigint)
     on conflict (user_id, status, schedule_type, schedule_enabled)
     do update set tasks = task_counts.tasks + excluded.tasks`,
    [JSON.stringify(rows)],
  );
}

/** The runs rows a request creates or changes, one per run, its events folded in order. */
function runRows(request: AppendRequest): RunRow[] {
  const runs = new Map<string, RunRow>();
  const change = (runId: string, fields: Partial<RunRow>) => {
    const row = runs.get(runId) ?? {
      run_id: runId,
      task_id: request.streamId,
      claim: null,
      status: "running",
      attempt: null,
      started_at: null,
      finished_at: null,
      lateness_ms: null,
      result: null,
      has_result: false,
      error: null,
      owner: null,
      deadline_at: null,
      capability: null,
      reset_lease: false,
      retry_at: null,
      set_retry: false,
    };
    runs.set(runId, { ...row, ...fields });
  };
  for (const event of request.events) {
    switch (event.type) {
      case "RunStarted": {
        const { runId, attempt, scheduledFor, trigger, latenessMs, queued, capability } =
          event.data;
        change(runId, {
          // A queue run waits for a worker's claim; the claim makes it running.
          status: capability === null ? "running" : "pending",
          attempt,
          started_at: event.at,
          lateness_ms: latenessMs,
          owner: event.data.owner,
          deadline_at: event.data.deadlineAt,
          capability,
          reset_lease: true,
          set_retry: true,
          retry_at: null,
          ...(attempt === 1 && !queued ? { claim: { scheduled_for: scheduledFor, trigger } } : {}),
        });
        break;
      }
      case "RunsQueued":
        for (const run of event.data.runs) {
          change(run.runId, {
            status: "pending",
            attempt: 0,
            claim: { scheduled_for: run.scheduledFor, trigger: run.trigger },
          });
        }
        break;
      case "RunSkipped":
        change(event.data.runId, {
          status: "skipped",
          attempt: 0,
          finished_at: event.at,
          claim: { scheduled_for: event.data.scheduledFor, trigger: event.data.trigger },
        });
        break;
      case "OccurrenceDecided":
        if (event.data.runId !== null) {
          change(event.data.runId, {
            status: "skipped",
            attempt: 0,
            finished_at: event.at,
            error: event.data.detail,
            claim: { scheduled_for: event.data.scheduledFor, trigger: "schedule" },
          });
        }
        break;
      case "RunSucceeded":
        change(event.data.runId, {
          status: "succeeded",
          finished_at: event.at,
          result: event.data.result,
          has_result: true,
        });
        break;
      case "RunFailed":
      case "RunTimedOut":
        change(
          event.data.runId,
          event.data.retryAt !== null
            // Waiting for its next attempt.
            ? {
              status: "pending",
              error: event.data.error,
              set_retry: true,
              retry_at: event.data.retryAt,
            }
            : {
              status: event.type === "RunFailed" ? "failed" : "timed_out",
              finished_at: event.at,
              error: event.data.error,
              set_retry: true,
              retry_at: null,
            },
        );
        break;
      case "RunCancelled":
        change(event.data.runId, {
          status: "cancelled",
          finished_at: event.at,
          error: event.data.reason,
        });
        break;
    }
  }
  return [...runs.values()];
}

/**
 * Inserts the runs row of every run a request starts or skips (with its outcome when the same
 * request records it). The unique key on `(task_id, scheduled_for)` refuses a second run of one
 * occurrence; the request that asked for it is refused whole and any other row it inserted is
 * taken back. Returns the rows of the requests still accepted that change existing runs.
 */
async function claimRuns(
  tx: SqlRunner,
  requests: AppendRequest[],
  results: (AppendResult | null)[],
): Promise<RunRow[]> {
  const claims: (RunRow & { index: number })[] = [];
  const updates: (RunRow & { index: number })[] = [];
  requests.forEach((request, index) => {
    if (results[index] !== null) return;
    for (const row of runRows(request)) (row.claim ? claims : updates).push({ ...row, index });
  });
  if (claims.length > 0) {
    const inserted = await tx.query(
      `insert into runs (run_id, task_id, scheduled_for, trigger, attempt, status, started_at,
                         finished_at, lateness_ms, result, error, owner, deadline_at, capability)
       select run_id, task_id, ${instant("scheduled_for")}, trigger, attempt, status,
              ${instant("started_at")}, ${instant("finished_at")}, lateness_ms,
              case when has_result then result end, error, owner, ${instant("deadline_at")},
              capability
         from json_to_recordset($1::text::json) as x(run_id text, task_id text,
              scheduled_for bigint, trigger text, attempt int, status text, started_at bigint,
              finished_at bigint, lateness_ms bigint, result jsonb, has_result boolean,
              error text, owner int, deadline_at bigint, capability text)
       on conflict do nothing
       returning run_id`,
      [JSON.stringify(claims.map((row) => ({ ...row, ...row.claim })))],
    );
    const taken = new Set(inserted.map((row) => row.run_id as string));
    for (const claim of claims) {
      if (!taken.has(claim.run_id)) {
        results[claim.index] = conflict(
          `The occurrence ${
            new Date(claim.claim!.scheduled_for).toISOString()
          } already has a run; each occurrence runs once`,
          "scheduled_for",
        );
      }
    }
    const orphans = claims.filter((claim) =>
      results[claim.index] !== null && taken.has(claim.run_id)
    );
    if (orphans.length > 0) {
      await tx.query(
        `delete from runs where run_id in (select jsonb_array_elements_text($1::text::jsonb))`,
        [JSON.stringify(orphans.map((claim) => claim.run_id))],
      );
    }
  }
  return updates.filter((row) => results[row.index] === null);
}

/** Applies retries and outcomes of runs started by earlier requests. */
async function updateRuns(tx: SqlRunner, updates: RunRow[]): Promise<void> {
  if (updates.length === 0) return;
  await tx.query(
    `update runs set status = x.status,
            attempt = coalesce(x.attempt, runs.attempt),
            started_at = coalesce(${instant("x.started_at")}, runs.started_at),
            finished_at = coalesce(${instant("x.finished_at")}, runs.finished_at),
            lateness_ms = coalesce(x.lateness_ms, runs.lateness_ms),
            result = case when x.has_result then x.result else runs.result end,
            error = coalesce(x.error, runs.error),
            owner = case when x.reset_lease then x.owner else runs.owner end,
            deadline_at = coalesce(${instant("x.deadline_at")}, runs.deadline_at),
            capability = coalesce(x.capability, runs.capability),
            worker_id = case when x.reset_lease then null else runs.worker_id end,
            lease_expires_at = case when x.reset_lease then null else runs.lease_expires_at end,
            retry_at = case when x.set_retry then ${instant("x.retry_at")} else runs.retry_at end
       from json_to_recordset($1::text::json) as x(run_id text, status text, attempt int,
            started_at bigint, finished_at bigint, lateness_ms bigint, result jsonb,
            has_result boolean, error text, owner int, deadline_at bigint, capability text,
            reset_lease boolean, retry_at bigint, set_retry boolean)
      where runs.run_id = x.run_id`,
    [JSON.stringify(updates)],
  );
}

async function writeSnapshots(tx: SqlRunner, states: TaskState[]): Promise<void> {
  const rows = states.map((state) => ({
    task_id: state.id,
    version: state.version,
    name: state.name,
    user_id: state.userId,
    parent_id: state.parentId,
    status: state.status,
    schedule_type: state.schedule?.type ?? null,
    schedule_enabled: state.schedule?.enabled ?? false,
    next_run_at: state.nextRunAt,
    fire_at: state.nextRunAt === null ? null : fireTime(state, state.nextRunAt),
    executor_type: state.executor.type,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
    deleted_at: state.deletedAt,
    state,
  }));
  await tx.query(
    `insert into tasks (task_id, version, name, user_id, parent_id, status, schedule_type,
                        schedule_enabled, next_run_at, fire_at, executor_type, created_at,
                        updated_at, deleted_at, state)
     select task_id, version, name, user_id, parent_id, status, schedule_type, schedule_enabled,
            ${instant("next_run_at")}, ${instant("fire_at")}, executor_type,
            ${instant("created_at")}, ${instant("updated_at")}, ${instant("deleted_at")}, state
       from json_to_recordset($1::text::json) as x(task_id text, version int, name text,
            user_id text, parent_id text, status text, schedule_type text,
            schedule_enabled boolean, next_run_at bigint, fire_at bigint, executor_type text,
            created_at bigint, updated_at bigint, deleted_at bigint, state json)
      order by task_id
     on conflict (task_id) do update set
       version = excluded.version, name = excluded.name, user_id = excluded.user_id,
       parent_id = excluded.parent_id, status = excluded.status,
       schedule_type = excluded.schedule_type, schedule_enabled = excluded.schedule_enabled,
       next_run_at = excluded.next_run_at, fire_at = excluded.fire_at,
       executor_type = excluded.executor_type, updated_at = excluded.updated_at,
       deleted_at = excluded.deleted_at, state = excluded.state`,
    [JSON.stringify(rows)],
  );
}

function conflict(message: string, field?: string): DomainError {
  return new DomainError("conflict", message, field);
}

function toMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.getTime() : new Date(value as string).getTime();
}

function toRecordedEvent(row: Row): RecordedEvent {
  return {
    position: Number(row.global_position),
    streamId: row.stream_id as string,
    version: Number(row.stream_version),
    event: {
      type: row.type,
      at: toMs(row.recorded_at),
      data: row.data,
    } as TaskEvent,
    metadata: row.metadata as EventMetadata,
  };
}
