import { isDomainError } from "../../src/domain/errors.ts";
import { evolve, type TaskCommand, type TaskEvent, type TaskState } from "../../src/domain/task.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import type { AppendRequest, EventStore } from "../../src/store/event_store.ts";
import { openStore } from "../../src/store/mod.ts";
import { connectPostgres } from "../../src/store/postgres.ts";
import type { SqlClient } from "../../src/store/sql_client.ts";
import { SqlEventStore } from "../../src/store/sql_event_store.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  createDatabase,
  decideAppend,
  POSTGRES_ADMIN_URL,
  scheduleFields,
  storeTest,
  taskSettings,
  TEST_METADATA,
} from "../_helpers.ts";

const T0 = Date.parse("2026-03-01T00:00:00Z");
const META = TEST_METADATA;

const SETTINGS = taskSettings();

function create(id: string, now = T0, userId = "alice"): AppendRequest {
  return decideAppend(null, {
    type: "CreateTask",
    id,
    settings: { ...SETTINGS, userId },
    schedule: scheduleFields({ startAt: T0 }),
    now,
  });
}

function complete(state: TaskState, scheduledFor: number, runId: string): AppendRequest {
  return decideAppend(state, {
    type: "CompleteOccurrence",
    runId,
    scheduledFor,
    success: true,
    result: { ok: true },
    error: null,
    calculateNextRun: true,
    now: scheduledFor + 5,
  });
}

async function mustAppend(store: EventStore, append: AppendRequest): Promise<number[]> {
  const result = await store.append(append);
  if (isDomainError(result)) throw new Error(`append refused: ${result.message}`);
  return result.positions;
}

storeTest(
  "an append is read back in order with its positions, metadata and time",
  async (store) => {
    const created = create("task-1");
    const [first] = await mustAppend(store, created);
    const completed = complete(created.state, T0, "run-1");
    const positions = await mustAppend(store, completed);
    assertEquals(positions.length, 2);
    assert(first < positions[0] && positions[0] < positions[1]);

    const events = await store.readStream("task-1");
    assertEquals(events.map((e) => [e.version, e.event.type]), [
      [1, "TaskCreated"],
      [2, "RunStarted"],
      [3, "RunSucceeded"],
    ]);
    assertEquals(events.map((e) => e.position), [first, ...positions]);
    assertEquals(events[0].event, created.events[0]);
    assertEquals(events[0].metadata, META);
    assertEquals((await store.readAll(first, 10)).map((e) => e.position), positions);
    assertEquals(await store.loadTask("task-1"), completed.state);
  },
);

storeTest("an append on a stale version is a conflict and writes nothing", async (store) => {
  const created = create("task-1");
  await mustAppend(store, created);
  const first = complete(created.state, T0, "run-1");
  await mustAppend(store, first);
  const stale = decideAppend(created.state, {
    type: "UpdateTask",
    settings: { name: "renamed" },
    schedule: null,
    expectedVersion: null,
    now: T0 + 10,
  });
  const result = await store.append(stale);
  assert(isDomainError(result) && result.code === "conflict", "expected a conflict");
  assertEquals(result.field, undefined);
  assertEquals((await store.readStream("task-1")).length, 3);
  assertEquals((await store.loadTask("task-1"))?.name, "report");
});

storeTest("creating a stream that exists is a conflict naming the id", async (store) => {
  await mustAppend(store, create("task-1"));
  const again = await store.append(create("task-1", T0 + 1));
  assert(isDomainError(again) && again.code === "conflict" && again.field === "id");
  assertEquals((await store.readStream("task-1")).length, 1);
});

storeTest("the same occurrence appended twice is stored once", async (store) => {
  const created = create("task-1");
  await mustAppend(store, created);
  const first = complete(created.state, T0, "run-1");
  await mustAppend(store, first);
  // A retried request decided on the new state but for the same occurrence.
  const second = complete(first.state, T0, "run-2");
  const result = await store.append(second);
  assert(isDomainError(result) && result.field === "scheduled_for", "expected a run conflict");
  assertEquals((await store.counts()).runs, 1);
  assertEquals((await store.readStream("task-1")).length, 3);
  // The next occurrence still runs.
  await mustAppend(store, complete(first.state, T0 + 3_600_000, "run-3"));
  assertEquals((await store.counts()).runs, 2);
});

storeTest(
  "racing appends of one occurrence from two connections store one run",
  async (store, database) => {
    const created = create("task-1");
    await mustAppend(store, created);
    // A second store is a second process: its own connection, its own group commit.
    const other = await (database.kind === "postgres" ? database.open() : Promise.resolve(store));
    try {
      const results = await Promise.all([
        store.append(complete(created.state, T0, "run-a")),
        other.append(complete(created.state, T0, "run-b")),
      ]);
      assertEquals(results.filter((result) => !isDomainError(result)).length, 1);
      assertEquals((await store.counts()).runs, 1);
      assertEquals((await store.readStream("task-1")).length, 3);
    } finally {
      if (other !== store) await other.close();
    }
  },
);

storeTest("appends that arrive together share a transaction and all land", async (store) => {
  const requests = Array.from({ length: 300 }, (_, i) => create(`task-${i}`, T0 + i));
  const results = await Promise.all(requests.map((append) => store.append(append)));
  assert(results.every((result) => !isDomainError(result)));
  const positions = results.flatMap((result) => isDomainError(result) ? [] : result.positions);
  assertEquals(new Set(positions).size, 300);
  assertEquals(await store.counts(), { events: 300, streams: 300, snapshots: 300, runs: 0 });
});

storeTest("a batch with one stale request lands the others", async (store) => {
  const a = create("a");
  const b = create("b");
  await mustAppend(store, a);
  await mustAppend(store, b);
  const results = await store.appendBatch([
    complete(a.state, T0, "run-a"),
    { ...complete(b.state, T0, "run-b"), expectedVersion: 7 },
    create("c"),
  ]);
  assertEquals(results.map(isDomainError), [false, true, false]);
  assertEquals(await store.counts(), { events: 5, streams: 3, snapshots: 3, runs: 1 });
});

storeTest("a reader by position never skips an event committed late", async (store, database) => {
  // Writers on separate connections commit in an order the reader cannot predict; the reader
  // polls the tail all along and must end up with every position, each once, in order. Each
  // writer's driver waits a random moment between its last statement and COMMIT, as a busy
  // server or network does, which is when a later position can become visible first.
  const writers = database.kind === "postgres"
    ? [1, 2, 3].map(() => new SqlEventStore(slowToCommit(database.databaseUrl!), "postgres"))
    : [store];
  const seen: number[] = [];
  let done = false;
  const reader = (async () => {
    let after = 0;
    while (!done || after < Math.max(0, ...seen)) {
      const page = await store.readAll(after, 500);
      for (const recorded of page) seen.push(recorded.position);
      if (page.length > 0) after = page[page.length - 1].position;
      if (done && page.length === 0) break;
    }
  })();
  await Promise.all(writers.map(async (writer, w) => {
    for (let i = 0; i < 40; i++) {
      await Promise.all(
        Array.from(
          { length: 5 },
          (_, k) => writer.append(create(`w${w}-${i}-${k}`, T0, `user-${w}`)),
        ),
      );
    }
  }));
  done = true;
  await reader;
  for (const writer of writers) if (writer !== store) await writer.close();
  const all = (await store.readAll(0, 10_000)).map((recorded) => recorded.position);
  assertEquals(all.length, writers.length * 200);
  assertEquals(seen, all);
});

/** A Postgres client whose transactions pause up to 5 ms before committing. */
function slowToCommit(url: string): SqlClient {
  const client = connectPostgres(url, { max: 4 });
  return {
    ...client,
    transaction: (fn, options) =>
      client.transaction(async (tx) => {
        const result = await fn(tx);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        return result;
      }, options),
  };
}

storeTest("two writers updating one task concurrently both land", async (store, database) => {
  const other = database.kind === "postgres" ? await database.open() : store;
  try {
    const one = new TaskService(store, new TaskActors(store));
    const two = new TaskService(other, new TaskActors(other));
    const created = await one.create({
      id: "shared",
      settings: SETTINGS,
      schedule: null,
    }, META);
    assert(!isDomainError(created));
    const results = await Promise.all([
      one.update("shared", {
        settings: { name: "renamed" },
        schedule: null,
        expectedVersion: null,
      }, META),
      two.update("shared", {
        settings: { priority: 7 },
        schedule: null,
        expectedVersion: null,
      }, META),
    ]);
    assert(results.every((result) => !isDomainError(result)));
    const final = await one.get("shared");
    assert(!isDomainError(final));
    assertEquals([final.name, final.priority, final.version], ["renamed", 7, 3]);
  } finally {
    if (other !== store) await other.close();
  }
});

storeTest("start-up loads every live task's next run from the snapshots", async (store) => {
  let deleted: TaskState | null = null;
  for (let i = 0; i < 25; i++) {
    const created = create(`task-${String(i).padStart(2, "0")}`, T0 + i);
    await mustAppend(store, created);
    if (i === 3) deleted = created.state;
  }
  await mustAppend(store, decideAppend(deleted, { type: "DeleteTask", now: T0 + 100 }));
  const actors = new TaskActors(store);
  assertEquals(await actors.load(), 24);
  assertEquals(actors.summary("task-03"), null);
  assertEquals(actors.summary("task-07"), {
    id: "task-07",
    version: 1,
    // Created after the start instant: the first run is the next one on the anchor's grid.
    nextRunAt: T0 + 3_600_000,
    fireAt: T0 + 3_600_000,
    enabled: true,
    status: "pending",
    executorType: "echo",
    parentId: null,
  });
});

storeTest("filters and pages come from the snapshots, newest first", async (store) => {
  for (let i = 0; i < 12; i++) {
    await mustAppend(store, create(`t${i}`, T0 + i, i % 3 === 0 ? "bob" : "alice"));
  }
  const page = await store.queryTasks({ userId: "bob", limit: 2, offset: 1 });
  assertEquals(page.total, 4);
  assertEquals(page.tasks.map((task) => task.id), ["t6", "t3"]);
  assertEquals((await store.dueTasks({ before: T0 + 3_599_999, limit: 100 })).length, 0);
  const due = await store.dueTasks({ before: T0 + 3_600_000, userId: "bob", limit: 100 });
  assertEquals(due.map((task) => task.id), ["t0", "t3", "t6", "t9"]);
});

storeTest("replaying every version of a stream reproduces each snapshot", async (store) => {
  const snapshots: TaskState[] = [];
  let append = create("task-1");
  await mustAppend(store, append);
  snapshots.push(append.state);
  const commands: TaskCommand[] = [
    {
      type: "UpdateTask",
      settings: { name: "b" },
      schedule: null,
      expectedVersion: null,
      now: T0 + 1,
    },
    {
      type: "UpdateTask",
      settings: {},
      schedule: { type: "cron", expression: "*/5 * * * *" },
      expectedVersion: null,
      now: T0 + 2,
    },
    { type: "InitSchedule", from: T0 + 3_600_000, now: T0 + 3 },
    {
      type: "UpdateTask",
      settings: {},
      schedule: { enabled: false },
      expectedVersion: null,
      now: T0 + 4,
    },
    { type: "DeleteTask", now: T0 + 5 },
  ];
  for (const command of commands) {
    append = decideAppend(append.state, command);
    await mustAppend(store, append);
    for (const event of append.events) {
      snapshots.push(evolve(snapshots[snapshots.length - 1], event as TaskEvent));
    }
  }
  const service = new TaskService(store, new TaskActors(store));
  for (const snapshot of snapshots) {
    const replayed = await service.replay("task-1", { version: snapshot.version });
    assert(!isDomainError(replayed));
    assertEquals(replayed.state, snapshot);
  }
  assertEquals(await store.loadTask("task-1"), snapshots[snapshots.length - 1]);
});

storeTest(
  "a request the database refuses fails alone; the rest of its batch lands",
  async (store) => {
    const requests = ["a", "b", "c", "d"].map((id) => create(id));
    // PostgreSQL cannot store NUL in jsonb: this request fails inside the shared transaction.
    requests[1] = { ...requests[1], metadata: { ...META, requestId: "bad\u0000id" } };
    const outcomes = await Promise.allSettled(requests.map((append) => store.append(append)));
    assertEquals(outcomes.map((outcome) => outcome.status), [
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    assertEquals((await store.counts()).streams, 3);
    assertEquals(await store.loadTask("b"), null);
  },
);

storeTest(
  "a complete retried after losing a race cannot claim the next occurrence",
  async (store, database) => {
    const other = database.kind === "postgres" ? await database.open() : store;
    try {
      const one = new TaskService(store, new TaskActors(store));
      const two = new TaskService(other, new TaskActors(other));
      const created = await one.create({
        id: "raced",
        settings: SETTINGS,
        schedule: {
          type: "interval",
          expression: "60",
          timezone: "UTC",
          enabled: true,
          startAt: T0,
          endAt: null,
          maxRuns: null,
          dstPolicy: null,
        },
      }, META);
      assert(!isDomainError(created));
      const report = {
        scheduledFor: null,
        success: true,
        result: null,
        error: null,
        calculateNextRun: true,
      };
      const outcomes = await Promise.all([
        one.completeOccurrence("raced", report, META),
        two.completeOccurrence("raced", report, META),
      ]);
      assertEquals(outcomes.filter(isDomainError).length, 1);
      assertEquals((await store.counts()).runs, 1);
      const final = await one.get("raced");
      assert(!isDomainError(final));
      assertEquals(final.runCount, 1);
      assertEquals(final.nextRunAt, created.nextRunAt! + 60_000);
    } finally {
      if (other !== store) await other.close();
    }
  },
);

storeTest(
  "parent chains and dependencies that lead back to the task are refused",
  async (store) => {
    const tasks = new TaskService(store, new TaskActors(store));
    const make = async (id: string, parentId: string | null, dependsOn: string[]) => {
      const task = await tasks.create({
        id,
        settings: {
          ...SETTINGS,
          parentId,
          dependencies: dependsOn.map((dependency) => ({ id: dependency, required: true })),
        },
        schedule: null,
      }, META);
      assert(!isDomainError(task));
    };
    await make("root", null, []);
    await make("child", "root", []);
    await make("grandchild", "child", []);
    await make("a", null, []);
    await make("b", null, ["a"]);
    await make("c", null, ["b"]);
    const noChange = { schedule: null, expectedVersion: null };
    const parentLoop = await tasks.update("root", {
      ...noChange,
      settings: { parentId: "grandchild" },
    }, META);
    assert(isDomainError(parentLoop) && parentLoop.field === "parent_id", String(parentLoop));
    const dependencyLoop = await tasks.update("a", {
      ...noChange,
      settings: { dependencies: [{ id: "c", required: false }] },
    }, META);
    assert(isDomainError(dependencyLoop) && dependencyLoop.field === "dependencies");
    const missing = await tasks.update("a", {
      ...noChange,
      settings: { dependencies: [{ id: "nope", required: true }] },
    }, META);
    assert(isDomainError(missing) && missing.code === "not_found");
    assertEquals((await store.loadTask("a"))?.version, 1);
  },
);

storeTest(
  "replay as of a time folds a prefix of the stream, even when clocks disagree",
  async (store) => {
    const created = create("skewed", T0 + 1000);
    await mustAppend(store, created);
    // Another instance, its clock 500 ms behind, renamed the task after it was created.
    const renamed = decideAppend(created.state, {
      type: "UpdateTask",
      settings: { name: "renamed" },
      schedule: null,
      expectedVersion: null,
      now: T0 + 500,
    });
    await mustAppend(store, renamed);
    const tasks = new TaskService(store, new TaskActors(store));
    // Before the creation's time nothing existed, although the rename's time is earlier still.
    const before = await tasks.replay("skewed", { time: T0 + 700 });
    assert(isDomainError(before) && before.field === "as_of", String(before));
    const after = await tasks.replay("skewed", { time: T0 + 1000 });
    assert(!isDomainError(after));
    assertEquals(after.state, renamed.state);
  },
);

Deno.test({
  name: "an audit opens a database without migrating it, and says when it holds no log",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    try {
      await assertRejects(
        () => openStore({ databaseUrl: database.databaseUrl, migrate: false }),
        /holds no Chronolog event log/,
      );
      await (await database.open()).close();
      await (await openStore({ databaseUrl: database.databaseUrl, migrate: false })).close();
    } finally {
      await database.drop();
    }
  },
});

storeTest(
  "list totals kept beside the snapshots equal a count of the matching tasks",
  async (store) => {
    const tasks = new TaskService(store, new TaskActors(store));
    const schedules = [null, "60", "0 9 * * *"] as const;
    for (let i = 0; i < 30; i++) {
      const expression = schedules[i % 3];
      const task = await tasks.create({
        id: `t${i}`,
        settings: { ...SETTINGS, userId: i % 4 === 0 ? null : `user-${i % 3}` },
        schedule: expression === null
          ? null
          : scheduleFields({ type: expression === "60" ? "interval" : "cron", expression }),
      }, META);
      assert(!isDomainError(task));
      const report = {
        scheduledFor: null,
        success: i % 2 === 0,
        result: null,
        error: i % 2 === 0 ? null : "boom",
        calculateNextRun: true,
      };
      if (i % 5 === 1) {
        assert(
          !isDomainError(await tasks.completeOccurrence(task.id, report, META)),
        );
      }
      if (i % 7 === 2 && expression !== null) {
        const off = { settings: {}, schedule: { enabled: false }, expectedVersion: null };
        assert(!isDomainError(await tasks.update(task.id, off, META)));
      }
      if (i % 6 === 3) assert(!isDomainError(await tasks.delete(task.id, META)));
    }
    const all = (await store.queryTasks({ limit: 1000, offset: 0 })).tasks;
    const filters = [
      {},
      { userId: "user-1" },
      { status: "failed" as const },
      { userId: "user-2", status: "completed" as const },
      { scheduledOnly: true },
      { scheduledOnly: true, enabledOnly: true },
      { scheduleType: "cron" as const, enabledOnly: true },
    ];
    for (const filter of filters) {
      const expected = all.filter((task) =>
        (filter.userId === undefined || task.userId === filter.userId) &&
        (filter.status === undefined || task.status === filter.status) &&
        (filter.scheduleType === undefined || task.schedule?.type === filter.scheduleType) &&
        (!filter.scheduledOnly || task.schedule !== null) &&
        (!filter.enabledOnly || task.schedule?.enabled === true)
      ).length;
      const page = await store.queryTasks({ ...filter, limit: 1, offset: 0 });
      assertEquals(page.total, expected, JSON.stringify(filter));
    }
    assertEquals(all.length, 25);
  },
);

storeTest(
  "an actor system catches up with what another process appended",
  async (store, database) => {
    const other = database.kind === "postgres" ? await database.open() : store;
    try {
      const here = new TaskActors(store);
      await here.load();
      const there = new TaskService(other, new TaskActors(other));
      const created = await there.create({
        id: "remote",
        settings: SETTINGS,
        schedule: scheduleFields(),
      }, META);
      assert(!isDomainError(created));
      const disabled = await there.update("remote", {
        settings: {},
        schedule: { enabled: false },
        expectedVersion: null,
      }, META);
      assert(!isDomainError(disabled));
      assertEquals(here.summary("remote"), null);
      assertEquals(await here.catchUp(), 1);
      assertEquals(here.summary("remote"), {
        id: "remote",
        version: 2,
        nextRunAt: null,
        fireAt: null,
        enabled: false,
        status: "pending",
        executorType: "echo",
        parentId: null,
      });
      assert(!isDomainError(await there.delete("remote", META)));
      await here.catchUp();
      assertEquals([here.summary("remote"), here.size], [null, 0]);
    } finally {
      if (other !== store) await other.close();
    }
  },
);
