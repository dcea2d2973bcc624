/**
 * The audit's proof: every task's snapshot equals the fold of its stream from version 1, and the
 * log's totals (streams, events, runs) agree with the live tables. Snapshots and events commit in
 * one transaction, so on a quiet log any difference is a defect, not a race.
 */
import {
  evolve,
  runsClaimed,
  TASK_EVENT_TYPES,
  type TaskEvent,
  type TaskEventType,
  type TaskState,
} from "../domain/task.ts";
import type { EventStore } from "./event_store.ts";

/** How far a verification has got. */
export interface VerifyProgress {
  /** Snapshots checked so far. */
  tasksChecked: number;
  /** Snapshots in the store when the verification started. */
  tasksTotal: number;
  /** Events folded so far. */
  eventsChecked: number;
}

/** One disagreement between the log and the live state. */
export interface VerifyMismatch {
  /** The task at fault; null for a disagreement in the totals. */
  taskId: string | null;
  /** One line saying what differs. */
  reason: string;
}

/** What a verification checked and found. */
export interface VerifyReport {
  /** Snapshots checked. */
  tasks: number;
  /** Events folded. */
  events: number;
  /** Runs the log records (RunStarted with attempt 1, RunSkipped), checked against the runs table. */
  runs: number;
  /** Every mismatch found. */
  mismatchCount: number;
  /** The first mismatches, in task id order (totals last). */
  mismatches: VerifyMismatch[];
  /**
   * False when the log grew while it was read: each task was still checked against its latest
   * snapshot, but the totals could not be compared and were skipped.
   */
  settled: boolean;
  elapsedMs: number;
}

/** Options of a verification. */
export interface VerifyOptions {
  /** Called after each task. */
  onProgress?: (progress: VerifyProgress) => void;
  /** How many mismatches the report lists (default 10); all are counted. */
  maxMismatches?: number;
  /** Snapshots per scan and events per read (default 500). */
  pageSize?: number;
}

/** Streams read at once; enough to keep a Postgres pool busy, harmless on PGlite's one connection. */
const CONCURRENCY = 4;
/** How often a task that keeps moving under a live writer is read again before giving up. */
const MAX_REREADS = 3;
/** The longest value a mismatch quotes. */
const MAX_QUOTE = 60;

const KNOWN_TYPES: ReadonlySet<string> = new Set<TaskEventType>(TASK_EVENT_TYPES);

interface TaskCheck {
  events: number;
  runs: number;
  mismatch: string | null;
}

/** Replays the whole log from zero and checks it against the snapshots, runs and totals. */
export async function verifyLog(
  store: EventStore,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const started = performance.now();
  const pageSize = options.pageSize ?? 500;
  const maxMismatches = options.maxMismatches ?? 10;
  const before = await store.counts();
  const report: VerifyReport = {
    tasks: 0,
    events: 0,
    runs: 0,
    mismatchCount: 0,
    mismatches: [],
    settled: true,
    elapsedMs: 0,
  };
  const mismatch = (taskId: string | null, reason: string): void => {
    report.mismatchCount++;
    if (report.mismatches.length < maxMismatches) report.mismatches.push({ taskId, reason });
  };

  let tasksChecked = 0;
  let eventsChecked = 0;
  const liveTotals = new Map<string, number>();
  for (let after: string | null = null;;) {
    const snapshots = await store.scanSnapshots(after, pageSize);
    const checks = await mapConcurrently(
      snapshots,
      (snapshot) => checkTask(store, snapshot, pageSize),
      (check) => {
        tasksChecked++;
        eventsChecked += check.events;
        options.onProgress?.({ tasksChecked, tasksTotal: before.snapshots, eventsChecked });
      },
    );
    snapshots.forEach((snapshot, i) => {
      const check = checks[i];
      report.tasks++;
      report.events += check.events;
      report.runs += check.runs;
      if (snapshot.deletedAt === null) {
        const key = totalKey(
          snapshot.userId,
          snapshot.status,
          snapshot.schedule?.type ?? null,
          snapshot.schedule?.enabled ?? false,
        );
        liveTotals.set(key, (liveTotals.get(key) ?? 0) + 1);
      }
      if (check.mismatch !== null) mismatch(snapshot.id, check.mismatch);
    });
    if (snapshots.length < pageSize) break;
    // The scan pages by the state's id, which should be the row's key; a snapshot whose id was
    // changed could send it back to pages it has seen, so it stops once it has seen too many.
    if (report.tasks > before.snapshots && report.tasks > (await store.counts()).snapshots) {
      mismatch(null, "the snapshot scan revisits tasks: some snapshot's id is not its key");
      break;
    }
    after = snapshots[snapshots.length - 1].id;
  }

  const totals = await store.counts();
  // Events, runs and snapshots are only ever added, so equal counts mean nothing was committed
  // while the log was read.
  report.settled = totals.events === before.events && totals.runs === before.runs &&
    totals.snapshots === before.snapshots;
  if (totals.streams !== totals.snapshots) {
    mismatch(null, `the log has ${totals.streams} streams but ${totals.snapshots} task snapshots`);
  }
  if (report.settled) {
    if (report.events !== totals.events) {
      mismatch(
        null,
        `the log holds ${totals.events} events but the snapshots' streams hold ${report.events}`,
      );
    }
    if (report.runs !== totals.runs) {
      mismatch(null, `the log records ${report.runs} runs but the runs table holds ${totals.runs}`);
    }
    const kept = new Map(
      (await store.listTotals()).map((
        total,
      ) => [totalKey(total.userId, total.status, total.scheduleType, total.enabled), total.tasks]),
    );
    for (const key of new Set([...kept.keys(), ...liveTotals.keys()])) {
      if ((kept.get(key) ?? 0) !== (liveTotals.get(key) ?? 0)) {
        mismatch(
          null,
          `the list total for ${key} is ${kept.get(key) ?? 0} but ${
            liveTotals.get(key) ?? 0
          } live tasks match`,
        );
      }
    }
  }
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

/**
 * Folds one task's stream from version 1 and compares the result with its snapshot. After a
 * mismatch the rest of the stream is still counted, so the totals stay comparable.
 */
async function checkTask(
  store: EventStore,
  snapshot: TaskState,
  pageSize: number,
): Promise<TaskCheck> {
  const check: TaskCheck = { events: 0, runs: 0, mismatch: null };
  let state: TaskState | null = null;
  let target = snapshot;
  let fromVersion = 1;
  for (let reread = 0;; reread++) {
    for (;;) {
      const page = await store.readStream(snapshot.id, { fromVersion, limit: pageSize });
      for (const { version, event } of page) {
        check.events++;
        check.runs += runsClaimed(event);
        if (check.mismatch !== null) continue;
        const folded = foldOne(state, version, event, check.events);
        if (typeof folded === "string") check.mismatch = folded;
        else state = folded;
      }
      if (page.length > 0) fromVersion = page[page.length - 1].version + 1;
      if (page.length < pageSize) break;
    }
    if (check.mismatch !== null) return check;
    if (state === null) {
      return {
        ...check,
        mismatch: `the snapshot is at version ${target.version} but the log has no events for it`,
      };
    }
    if (state.version === target.version) break;
    if (state.version < target.version) {
      return {
        ...check,
        mismatch:
          `the snapshot is at version ${target.version} but the stream ends at ${state.version}`,
      };
    }
    // The stream moved on after the snapshot was scanned (a live writer): a snapshot read now is
    // at least as new as the events read, since both commit together.
    const latest = reread < MAX_REREADS ? await store.loadTask(snapshot.id) : null;
    if (latest === null || latest.version < state.version) {
      return {
        ...check,
        mismatch: `the stream ends at ${state.version} but the snapshot is at version ${
          (latest ?? target).version
        }`,
      };
    }
    target = latest;
  }
  const difference = firstDifference(JSON.parse(JSON.stringify(state)), target, "");
  return difference === null
    ? check
    : { ...check, mismatch: `the snapshot differs from the log at ${difference}` };
}

/** The state after the event at `version`, the `expected`-th of its stream; a string says why not. */
function foldOne(
  state: TaskState | null,
  version: number,
  event: TaskEvent,
  expected: number,
): TaskState | string {
  if (version !== expected) {
    return `stream version ${expected} is missing (the next one is ${version})`;
  }
  if (!KNOWN_TYPES.has(event.type)) return `event ${version} has an unknown type "${event.type}"`;
  if (state === null && event.type !== "TaskCreated") {
    return `the stream starts with ${event.type}, not TaskCreated`;
  }
  const next = evolve(state, event);
  return next.version === version
    ? next
    : `event ${version} (${event.type}) folds to version ${next.version}`;
}

/**
 * The first place two JSON values differ, as `path: log X, snapshot Y`; null when they are equal.
 * Object keys are compared as sets: jsonb stores them in its own order.
 */
function firstDifference(log: unknown, snapshot: unknown, path: string): string | null {
  const here = path === "" ? "the root" : path;
  if (isObject(log) && isObject(snapshot)) {
    const keys = [...new Set([...Object.keys(log), ...Object.keys(snapshot)])].sort();
    for (const key of keys) {
      const inner = firstDifference(log[key], snapshot[key], path === "" ? key : `${path}.${key}`);
      if (inner !== null) return inner;
    }
    return null;
  }
  if (Array.isArray(log) && Array.isArray(snapshot)) {
    if (log.length !== snapshot.length) {
      return `${here}: log has ${log.length} items, snapshot ${snapshot.length}`;
    }
    for (let i = 0; i < log.length; i++) {
      const inner = firstDifference(log[i], snapshot[i], `${path}[${i}]`);
      if (inner !== null) return inner;
    }
    return null;
  }
  if (log === snapshot) return null;
  return `${here}: log ${quote(log)}, snapshot ${quote(snapshot)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function quote(value: unknown): string {
  const text = value === undefined ? "absent" : JSON.stringify(value);
  return text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE - 1)}…` : text;
}

/** Maps items with at most CONCURRENCY calls in flight, keeping the order of the results. */
async function mapConcurrently<T, R>(
  items: T[],
  fn: (item: T) => Promise<R>,
  onEach: (result: R) => void,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
      onEach(results[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return results;
}

function totalKey(
  userId: string | null,
  status: string,
  scheduleType: string | null,
  enabled: boolean,
): string {
  return `user ${userId ?? "(none)"}, status ${status}, schedule ${scheduleType ?? "(none)"}${
    enabled ? " enabled" : ""
  }`;
}
