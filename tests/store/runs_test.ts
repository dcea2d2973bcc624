import { isDomainError } from "../../src/domain/errors.ts";
import type { RunEnvironment, TaskCommand, TaskState } from "../../src/domain/task.ts";
import type { EventStore } from "../../src/store/event_store.ts";
import {
  assert,
  assertEquals,
  decideAppend,
  scheduleFields,
  storeTest,
  taskSettings,
} from "../_helpers.ts";

const T0 = Date.now() - 60_000;

async function apply(
  store: EventStore,
  state: TaskState | null,
  command: TaskCommand,
): Promise<TaskState> {
  const request = decideAppend(state, command);
  const result = await store.append(request);
  if (isDomainError(result)) throw result;
  return request.state;
}

function env(runId: string): RunEnvironment {
  return { owner: 1, newRunId: () => runId, inlineEcho: true };
}

/** A queue task whose first occurrence has started and waits for a worker. */
async function queuedRun(store: EventStore, id: string, retry = 1): Promise<TaskState> {
  const created = await apply(store, null, {
    type: "CreateTask",
    id,
    settings: taskSettings({
      executor: { type: "queue", capability: "reports" },
      retry: { maxAttempts: retry, backoffMs: 600_000, backoffFactor: 2, maxBackoffMs: 600_000 },
    }),
    schedule: scheduleFields({ expression: "60" }),
    now: T0,
  });
  return await apply(store, created, {
    type: "FireOccurrence",
    scheduledFor: created.nextRunAt!,
    now: T0 + 60_000,
    env: env(`${id}-run`),
  });
}

storeTest(
  "a queue run is leased to one worker at a time until its lease expires",
  async (store) => {
    await queuedRun(store, "q");
    const first = await store.leaseRun({ capability: "reports", workerId: "w1", leaseMs: 300 });
    assertEquals([first?.runId, first?.taskId, first?.attempt], ["q-run", "q", 1]);
    assertEquals(
      await store.leaseRun({ capability: "reports", workerId: "w2", leaseMs: 300 }),
      null,
    );
    assertEquals(await store.leaseRun({ capability: "other", workerId: "w2", leaseMs: 300 }), null);
    const renewed = await store.renewLease({ runId: "q-run", workerId: "w1", leaseMs: 300 });
    assert(renewed !== null && renewed >= first!.leaseExpiresAt);
    assertEquals(await store.renewLease({ runId: "q-run", workerId: "w2", leaseMs: 300 }), null);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assertEquals(await store.renewLease({ runId: "q-run", workerId: "w1", leaseMs: 300 }), null);
    const second = await store.leaseRun({ capability: "reports", workerId: "w2", leaseMs: 300 });
    assertEquals(second?.runId, "q-run");
    assertEquals((await store.readRun("q-run"))?.workerId, "w2");
    assertEquals((await store.readRun("q-run"))?.status, "running");
  },
);

storeTest("a run waiting out its retry backoff is neither leased nor timed out", async (store) => {
  const running = await queuedRun(store, "r", 3);
  assertEquals((await store.overdueQueueRuns(T0 + 60_000 + 3_600_001)).length, 1);
  await apply(store, running, {
    type: "FinishRun",
    attempt: null,
    runId: "r-run",
    outcome: { ok: false, error: "boom", timedOut: false },
    now: Date.now(),
    env: env("unused"),
  });
  assertEquals((await store.readRun("r-run"))?.status, "pending");
  assertEquals(
    await store.leaseRun({ capability: "reports", workerId: "w1", leaseMs: 1000 }),
    null,
  );
  assertEquals(await store.overdueQueueRuns(Date.now() + 10 * 3_600_000), []);
  assertEquals(await store.tasksWithOpenRuns(), ["r"]);
});

storeTest("a process's liveness key is live until its store closes", async (store, database) => {
  const key = await store.registerInstance();
  assert((await store.liveInstances()).has(key));
  if (database.kind === "pglite") return;
  const other = await database.open();
  try {
    const otherKey = await other.registerInstance();
    assert(otherKey !== key);
    const live = await store.liveInstances();
    assert(live.has(key) && live.has(otherKey));
  } finally {
    await other.close();
  }
  const after = await store.liveInstances();
  assertEquals([...after], [key]);
});

storeTest("tasks.runs history pages by occurrence, latest first", async (store) => {
  let state = await apply(store, null, {
    type: "CreateTask",
    id: "h",
    settings: taskSettings(),
    schedule: scheduleFields({ expression: "60" }),
    now: T0,
  });
  const fired: number[] = [];
  for (let i = 0; i < 5; i++) {
    fired.push(state.nextRunAt!);
    state = await apply(store, state, {
      type: "FireOccurrence",
      scheduledFor: state.nextRunAt!,
      now: state.nextRunAt!,
      env: env(`h-${i}`),
    });
  }
  const page = await store.readRuns("h", { before: null, limit: 3 });
  assertEquals(page.map((run) => run.scheduledFor), fired.toReversed().slice(0, 3));
  assertEquals(page.map((run) => run.status), ["succeeded", "succeeded", "succeeded"]);
  const next = await store.readRuns("h", { before: page[2].scheduledFor, limit: 3 });
  assertEquals(next.map((run) => run.scheduledFor), fired.toReversed().slice(3));
  assertEquals(await store.claimedOccurrences("h", [fired[0], fired[0] + 1]), new Set([fired[0]]));
});
