import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { isDomainError } from "../../src/domain/errors.ts";
import { replay, type TaskCommand, type TaskState } from "../../src/domain/task.ts";
import type { AppendRequest, EventStore } from "../../src/store/event_store.ts";
import { verifyLog, type VerifyProgress } from "../../src/store/verify.ts";
import {
  assert,
  assertEquals,
  createDatabase,
  decideAppend,
  POSTGRES_ADMIN_URL,
  scheduleFields,
  storeTest,
  taskSettings,
  TEST_METADATA,
  type TestDatabase,
} from "../_helpers.ts";

const T0 = Date.parse("2026-03-01T00:00:00Z");
const HOUR = 3_600_000;
const META = TEST_METADATA;

const SETTINGS = taskSettings({
  inputs: { n: 1, nested: { b: [1, 2], a: "x" } },
  executor: {
    type: "http",
    url: "https://example.com/hook",
    method: "POST",
    headers: {},
    timeoutS: null,
  },
});

/** Decides a command on the task's current snapshot and appends the events with their fold. */
async function execute(
  store: EventStore,
  id: string,
  command: TaskCommand,
  options: { snapshot?: (state: TaskState) => TaskState } = {},
): Promise<TaskState> {
  const append = decideAppend(await store.loadTask(id), command, META);
  const next = append.state;
  const request: AppendRequest = { ...append, state: options.snapshot?.(next) ?? next };
  const result = await store.append(request);
  if (isDomainError(result)) throw new Error(`append refused: ${result.message}`);
  return next;
}

function create(id: string, now = T0): TaskCommand {
  return {
    type: "CreateTask",
    id,
    settings: SETTINGS,
    schedule: scheduleFields({ startAt: T0 }),
    now,
  };
}

function complete(scheduledFor: number, runId: string): TaskCommand {
  return {
    type: "CompleteOccurrence",
    runId,
    scheduledFor,
    success: true,
    result: { ok: true },
    error: null,
    calculateNextRun: true,
    now: scheduledFor + 5,
  };
}

/** Three tasks: one with two runs, one renamed then deleted, one just created. */
async function seed(store: EventStore): Promise<void> {
  await execute(store, "task-a", create("task-a"));
  await execute(store, "task-a", complete(T0, "run-1"));
  await execute(store, "task-a", complete(T0 + HOUR, "run-2"));
  await execute(store, "task-b", create("task-b"));
  await execute(store, "task-b", {
    type: "UpdateTask",
    settings: { name: "renamed", inputs: { z: 1, a: 2 } },
    schedule: { enabled: false },
    expectedVersion: null,
    now: T0 + 10,
  });
  await execute(store, "task-b", { type: "DeleteTask", now: T0 + 20 });
  await execute(store, "task-c", create("task-c"));
}

storeTest("verifyLog finds an empty log in agreement", async (store) => {
  const report = await verifyLog(store);
  assertEquals(
    [report.tasks, report.events, report.runs, report.mismatchCount, report.settled],
    [0, 0, 0, 0, true],
  );
});

storeTest(
  "verifyLog replays every stream page by page and agrees with the snapshots",
  async (store) => {
    await seed(store);
    const progress: VerifyProgress[] = [];
    // Pages of two snapshots and two events make both the keyset scan and the stream reads page.
    const report = await verifyLog(store, { pageSize: 2, onProgress: (p) => progress.push(p) });
    assertEquals(report.mismatches, []);
    // task-a: created + 2 × (RunStarted, RunSucceeded); task-b: created, updated, schedule
    // disabled, deleted; task-c: created.
    assertEquals([report.tasks, report.events, report.runs, report.settled], [3, 10, 2, true]);
    assertEquals(progress.length, 3);
    assertEquals(progress.at(-1), { tasksChecked: 3, tasksTotal: 3, eventsChecked: 10 });
    assert(report.elapsedMs >= 0);
    // jsonb keeps object keys in an order of its own: equal states, different serializations.
    const folded = replay((await store.readStream("task-c")).map((recorded) => recorded.event));
    assert(JSON.stringify(await store.loadTask("task-c")) !== JSON.stringify(folded));
  },
);

storeTest("verifyLog names a task whose snapshot is not the fold of its events", async (store) => {
  await seed(store);
  await execute(store, "task-c", {
    type: "UpdateTask",
    settings: { priority: 5 },
    schedule: null,
    expectedVersion: null,
    now: T0 + 30,
  }, { snapshot: (state) => ({ ...state, name: "tampered" }) });
  const report = await verifyLog(store);
  assertEquals(report.mismatchCount, 1);
  assertEquals(report.mismatches, [{
    taskId: "task-c",
    reason: 'the snapshot differs from the log at name: log "report", snapshot "tampered"',
  }]);
});

storeTest("verifyLog names a snapshot ahead of its stream", async (store) => {
  await seed(store);
  await execute(store, "task-d", create("task-d"), {
    snapshot: (state) => ({ ...state, version: 3 }),
  });
  const report = await verifyLog(store);
  assertEquals(report.mismatches, [{
    taskId: "task-d",
    reason: "the snapshot is at version 3 but the stream ends at 1",
  }]);
});

storeTest("verifyLog counts every mismatch but lists the first few", async (store) => {
  for (const id of ["t1", "t2", "t3"]) {
    await execute(store, id, create(id), { snapshot: (state) => ({ ...state, runCount: 7 }) });
  }
  const report = await verifyLog(store, { maxMismatches: 2 });
  assertEquals(report.mismatchCount, 3);
  assertEquals(report.mismatches.map((mismatch) => mismatch.taskId), ["t1", "t2"]);
  assertEquals(
    report.mismatches[0].reason,
    "the snapshot differs from the log at runCount: log 0, snapshot 7",
  );
});

/** Runs SQL on the test database behind the store's back; PGlite needs the store closed. */
async function tamper(database: TestDatabase, statements: string): Promise<void> {
  if (database.databaseUrl !== null) {
    const sql = postgres(database.databaseUrl, { max: 1, onnotice: () => {} });
    await sql.unsafe(statements);
    await sql.end();
    return;
  }
  const db = await PGlite.create(database.dataDir);
  await db.exec(statements);
  await db.close();
}

for (const kind of ["pglite", "postgres"] as const) {
  Deno.test({
    name: `${kind}: verifyLog finds a missing run row, a stream without a snapshot and a gap`,
    ignore: kind === "postgres" && POSTGRES_ADMIN_URL === null,
    async fn() {
      const database = await createDatabase(kind);
      try {
        let store = await database.open();
        await seed(store);
        await store.close();
        await tamper(
          database,
          `delete from runs where run_id = 'run-2';
           delete from tasks where task_id = 'task-c';
           insert into task_counts values ('mallory', 'pending', '', false, 5);
           delete from events where stream_id = 'task-b' and stream_version = 2;`,
        );
        store = await database.open();
        const report = await verifyLog(store);
        await store.close();
        assertEquals(report.mismatches, [
          { taskId: "task-b", reason: "stream version 2 is missing (the next one is 3)" },
          { taskId: null, reason: "the log has 3 streams but 2 task snapshots" },
          { taskId: null, reason: "the log holds 9 events but the snapshots' streams hold 8" },
          { taskId: null, reason: "the log records 2 runs but the runs table holds 1" },
          {
            taskId: null,
            reason: "the list total for user alice, status pending, schedule interval enabled " +
              "is 1 but 0 live tasks match",
          },
          {
            taskId: null,
            reason: "the list total for user mallory, status pending, schedule (none) is 5 but " +
              "0 live tasks match",
          },
        ]);
      } finally {
        await database.drop();
      }
    },
  });
}
