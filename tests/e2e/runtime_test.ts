/**
 * The runtime end to end (SPEC §1–§2): the real service process fires real schedules into real
 * executors — an HTTP target served by this test process (tests/e2e/_runtime_target.ts), the
 * queue protocol, task trees — and the tests read what happened back over JSON-RPC. Everything
 * runs on the embedded PGlite log; what the log's exactly-once key or lease SQL decides (interval
 * runs, queue leases, backfill) runs on a fresh Postgres database too. One service per group,
 * one step per behaviour; intervals are 1 s so the whole file stays near a minute.
 */
import {
  assert,
  assertEquals,
  createDatabase,
  errorOf,
  pgliteDir,
  POSTGRES_ADMIN_URL,
  resultOf,
  rpc,
  type Service,
  startService,
  type StoreKind,
} from "../_helpers.ts";
import { type Delivery, Target } from "./_runtime_target.ts";

const SECOND = 1000;
const STORES: StoreKind[] = ["pglite", "postgres"];

/** A task on the wire (the fields these tests read). */
interface Task {
  id: string;
  status: string;
  error: string | null;
  next_run_at: string | null;
  run_count: number;
  failed_runs: number;
  created_at: string;
}

/** A run on the wire. */
interface Run {
  run_id: string;
  task_id: string;
  scheduled_for: string;
  trigger: string;
  attempt: number;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  result: unknown;
  error: string | null;
  lateness_ms: number | null;
  worker_id: string | null;
  lease_expires_at: string | null;
}

interface Triggered {
  run_id: string;
  status: string | null;
  finished: boolean;
  run: Run | null;
}

interface Occurrence {
  scheduled_for: string;
  decision: string;
  run_id: string | null;
  detail: string | null;
}

interface TaskEvent {
  position: number;
  type: string;
  data: Record<string, unknown>;
  recorded_at: string;
}

interface SchedulerStatus {
  state: string;
  tasks_executed: number;
  succeeded: number;
  failed: number;
  skipped: number;
  lateness_p50_ms: number | null;
  lateness_p99_ms: number | null;
}

interface Claimed {
  run: {
    run_id: string;
    task_id: string;
    attempt: number;
    inputs: unknown;
    lease_expires_at: string;
  } | null;
}

interface Backfilled {
  occurrences: string[];
  run_ids: string[];
  dry_run: boolean;
}

interface RpcError {
  code: number;
  message: string;
  data: { code: string; field?: string | null };
}

type Params = Record<string, unknown>;

let callId = 0;

/** The result of a call that must succeed. */
async function call<T>(service: Service, method: string, params: Params = {}): Promise<T> {
  const reply = await rpc(service.url, { id: ++callId, method, params });
  return resultOf<T>(reply, `${method} ${JSON.stringify(params)}`);
}

/** The error of a call that must fail. */
async function refusal(service: Service, method: string, params: Params): Promise<RpcError> {
  const reply = await rpc(service.url, { id: ++callId, method, params });
  return errorOf<RpcError>(reply, `${method} ${JSON.stringify(params)}`);
}

/** The task's runs, oldest occurrence first. */
async function runsOf(service: Service, taskId: string): Promise<Run[]> {
  const { runs } = await call<{ runs: Run[] }>(service, "tasks.runs", { task_id: taskId });
  return runs.toReversed();
}

async function eventsOf(service: Service, taskId: string): Promise<TaskEvent[]> {
  const page = await call<{ events: TaskEvent[] }>(service, "tasks.events", {
    task_id: taskId,
    limit: 1000,
  });
  return page.events;
}

async function occurrencesOf(service: Service, taskId: string): Promise<Occurrence[]> {
  const page = await call<{ occurrences: Occurrence[] }>(service, "tasks.occurrences", {
    task_id: taskId,
  });
  return page.occurrences;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function epoch(instant: string | null): number {
  assert(instant !== null, "expected an instant, got null");
  return Date.parse(instant);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Polls `read` until `done` holds of its value (failing after `timeoutMs`) and returns it. */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5 * SECOND,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`still not there after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    }
    await sleep(50);
  }
}

/** Asserts that the runs are the task's occurrences first + k·1 s, k = 0, 1, … without a gap. */
function assertGrid(runs: Run[], first: number): void {
  assertEquals(
    runs.map((run) => run.scheduled_for),
    runs.map((_, k) => iso(first + k * SECOND)),
  );
}

/** A task with an interval of one second (echo unless the params say otherwise). */
function everySecond(service: Service, params: Params): Promise<Task> {
  return call<Task>(service, "tasks.create", {
    schedule_type: "interval",
    schedule_expression: "1",
    ...params,
  });
}

/** An http executor posting to the target. */
function http(target: Target, route: string): Params {
  return { type: "http", url: target.url(route), method: "POST" };
}

/** The service on a fresh database of the given kind; `use` runs, then both go. */
async function withService(
  kind: StoreKind,
  env: Record<string, string>,
  use: (service: Service) => Promise<void>,
): Promise<void> {
  const database = await createDatabase(kind);
  try {
    const service = await startService(env, {
      dataDir: database.dataDir,
      databaseUrl: database.databaseUrl,
    });
    try {
      await use(service);
    } finally {
      await service.stop();
    }
  } finally {
    await database.drop();
  }
}

for (const kind of STORES) {
  Deno.test({
    name: `${kind}: a 1-second interval task fires once a second on its grid`,
    ignore: kind === "postgres" && POSTGRES_ADMIN_URL === null,
    fn: (t) =>
      withService(kind, {}, async (service) => {
        const task = await everySecond(service, { name: "heartbeat", inputs: { beat: true } });
        // The anchor is the creation instant (no schedule_start_at): runs at anchor + k·1 s.
        const anchor = epoch(task.created_at);
        assertEquals(task.next_run_at, iso(anchor + SECOND));

        await t.step(
          "runs 1000 ms apart without drift, on time, counted by the scheduler",
          async () => {
            await sleep(anchor + 4.5 * SECOND - Date.now());
            const before = await call<SchedulerStatus>(service, "scheduler.status");
            const runs = await runsOf(service, task.id);
            const after = await call<SchedulerStatus>(service, "scheduler.status");
            console.log(`${kind} lateness_ms: ${runs.map((run) => run.lateness_ms).join(", ")}`);
            console.log(`${kind} p50 ${after.lateness_p50_ms} ms, p99 ${after.lateness_p99_ms} ms`);

            assert(runs.length >= 4 && runs.length <= 5, `${runs.length} runs in 4.5 s`);
            assertGrid(runs, anchor + SECOND);
            for (const run of runs) {
              assertEquals(
                [run.trigger, run.status, run.attempt, run.result],
                ["schedule", "succeeded", 1, { beat: true }],
              );
              assert(run.lateness_ms !== null && run.lateness_ms >= 0 && run.lateness_ms < SECOND);
              // Lateness is measured from the occurrence to the start (jitter_ms is 0).
              assertEquals(run.lateness_ms, epoch(run.started_at) - epoch(run.scheduled_for));
            }
            assertEquals(new Set(runs.map((run) => run.scheduled_for)).size, runs.length);

            // Only this task runs in the process: the counters bracket the runs read between them.
            assert(before.succeeded <= runs.length && runs.length <= after.succeeded);
            assert(before.tasks_executed <= runs.length && runs.length <= after.tasks_executed);
            assertEquals([after.failed, after.skipped, after.state], [0, 0, "running"]);
            const { lateness_p50_ms: p50, lateness_p99_ms: p99 } = after;
            assert(p50 !== null && p99 !== null && 0 <= p50 && p50 <= p99 && p99 < SECOND);

            const now = await call<Task>(service, "tasks.get", { task_id: task.id });
            assertEquals(now.next_run_at, iso(anchor + (now.run_count + 1) * SECOND));
          },
        );

        if (kind !== "pglite") return;
        await t.step(
          "scheduler.pause stops firing; resume fires what fell due, each once",
          async () => {
            const paused = await call<SchedulerStatus>(service, "scheduler.pause");
            assertEquals(paused.state, "paused");
            const pausedAt = Date.now();
            // A decision already under way when the pause arrived may still land.
            await sleep(200);
            const atPause = await runsOf(service, task.id);
            await sleep(2 * SECOND);
            assertEquals(
              (await call<SchedulerStatus>(service, "scheduler.status")).state,
              "paused",
            );
            const duringPause = await runsOf(service, task.id);
            assertEquals(duringPause.map((run) => run.run_id), atPause.map((run) => run.run_id));

            const resumed = await call<SchedulerStatus>(service, "scheduler.resume");
            assertEquals(resumed.state, "running");
            const resumedAt = Date.now();
            await sleep(1.5 * SECOND);
            const runs = await runsOf(service, task.id);
            // Every occurrence has exactly one run: none lost to the pause, none run twice.
            assertGrid(runs, anchor + SECOND);
            const missed = runs.filter((run) =>
              epoch(run.scheduled_for) > epoch(atPause.at(-1)!.scheduled_for) &&
              epoch(run.scheduled_for) < resumedAt
            );
            console.log(
              `fired after resume: ${
                missed.map((run) => `${run.scheduled_for} +${run.lateness_ms}`)
              }`,
            );
            assert(missed.length >= 1, "a 2-s pause of a 1-s schedule covers an occurrence");
            for (const run of missed) {
              // Within the 5-s catch-up grace: fired late as normal scheduled runs.
              assertEquals([run.trigger, run.status], ["schedule", "succeeded"]);
              assert(
                epoch(run.started_at) >= pausedAt + 2 * SECOND,
                `${run.started_at} ran paused`,
              );
            }
            assert(
              runs.length > missed.length + atPause.length,
              "the schedule fires on after resume",
            );
          },
        );
      }),
  });
}

Deno.test("overlap policies and occurrence exceptions of 1-second interval tasks", async (t) => {
  const target = new Target();
  try {
    await withService("pglite", { CHRONOLOG_SHUTDOWN_TIMEOUT_S: "0" }, async (service) => {
      const policies = ["skip", "allow", "queue", "cancel_previous"] as const;
      // Each run takes 2.5 s, the interval is 1 s: occurrences 2 and 3 fall due during run 1.
      const slow = await Promise.all(policies.map((policy) =>
        everySecond(service, {
          name: `slow ${policy}`,
          executor: http(target, `slow/${policy}?ms=2500`),
          overlap_policy: policy,
        })
      ));
      const byPolicy = Object.fromEntries(policies.map((policy, i) => [policy, slow[i]]));
      const echo = await everySecond(service, { name: "exceptions", inputs: { n: 1 } });
      const next = epoch(echo.next_run_at);
      const skipped = next + 2 * SECOND;
      const moved = next + 3 * SECOND;
      const movedTo = moved + 500;
      const lastCreated = Math.max(...[...slow, echo].map((task) => epoch(task.created_at)));

      await t.step("tasks.occurrences.skip and move take one future occurrence each", async () => {
        const afterSkip = await call<Task>(service, "tasks.occurrences.skip", {
          task_id: echo.id,
          scheduled_for: iso(skipped),
        });
        assertEquals(afterSkip.next_run_at, iso(next));
        const afterMove = await call<Task>(service, "tasks.occurrences.move", {
          task_id: echo.id,
          scheduled_for: iso(moved),
          to: iso(movedTo),
        });
        assertEquals(afterMove.next_run_at, iso(next));
      });

      await t.step("skip and move refuse an instant that is no future occurrence", async () => {
        const skip = (at: number) =>
          ["tasks.occurrences.skip", { scheduled_for: iso(at) }] as const;
        const move = (at: number, to: number) =>
          ["tasks.occurrences.move", { scheduled_for: iso(at), to: iso(to) }] as const;
        const INVALID = [-32602, "invalid_params"];
        const CONFLICT = [-32002, "conflict"];
        const cases = [
          { label: "not an occurrence", call: skip(next + 500), refusal: INVALID },
          { label: "in the past", call: skip(next - 3 * SECOND), refusal: INVALID },
          { label: "skipped twice", call: skip(skipped), refusal: CONFLICT },
          {
            label: "moving a non-occurrence",
            call: move(next + 1500, next + 1600),
            refusal: INVALID,
          },
          {
            label: "moving the past",
            call: move(next - 2 * SECOND, next + 1600),
            refusal: INVALID,
          },
          {
            label: "moving into the past",
            call: move(next + 5 * SECOND, next - 5 * SECOND),
            refusal: INVALID,
            field: "to",
          },
          {
            label: "moving onto another occurrence",
            call: move(next + 5 * SECOND, next + 4 * SECOND),
            refusal: CONFLICT,
            field: "to",
          },
        ];
        for (const { label, call: [method, params], refusal: expected, field } of cases) {
          const error = await refusal(service, method, { task_id: echo.id, ...params });
          assertEquals(
            [error.code, error.data.code, error.data.field],
            [...expected, field ?? "scheduled_for"],
            label,
          );
        }
      });

      await t.step(
        "schedules.preview by task_id lists its future with the exceptions applied",
        async () => {
          const preview = await call<{ runs: string[] }>(service, "schedules.preview", {
            task_id: echo.id,
            count: 5,
          });
          assertEquals(
            preview.runs,
            [next, next + SECOND, movedTo, next + 4 * SECOND, next + 5 * SECOND].map(iso),
          );
        },
      );

      await sleep(lastCreated + 5.6 * SECOND - Date.now());

      await t.step(
        "skip: occurrences due while a run is in flight are recorded as skipped",
        async () => {
          const task = byPolicy.skip;
          const runs = await runsOf(service, task.id);
          console.log(`skip: ${runs.map((run) => run.status).join(", ")}`);
          assertGrid(runs, epoch(task.created_at) + SECOND);
          assertEquals(runs[0].status, "succeeded");
          const firstSkip = runs.findIndex((run) => run.status === "skipped");
          assert(firstSkip === 1, "the occurrence after a 2.5-s run is skipped");
          assert(
            runs.slice(firstSkip).some((run) =>
              run.status === "running" || run.status === "succeeded"
            ),
            "a later occurrence runs again once the first run ended",
          );
          const decisions = new Map(
            (await occurrencesOf(service, task.id)).map((o) => [o.scheduled_for, o]),
          );
          for (const run of runs.filter((run) => run.status === "skipped")) {
            assertEquals(decisions.get(run.scheduled_for)?.decision, "skipped");
            assertEquals(decisions.get(run.scheduled_for)?.run_id, run.run_id);
            assertEquals([run.started_at, run.attempt], [null, 0]);
          }
          const started = runs.filter((run) => run.status !== "skipped");
          assertEquals(
            target.deliveries("slow/skip").map((d) => d.runId),
            started.map((r) => r.run_id),
          );
          assertEquals(target.peakConcurrency("slow/skip"), 1);
        },
      );

      await t.step("allow: runs overlap and the target serves them concurrently", async () => {
        const runs = await runsOf(service, byPolicy.allow.id);
        console.log(
          `allow: ${runs.map((run) => run.status).join(", ")}, peak ${
            target.peakConcurrency("slow/allow")
          }`,
        );
        assertGrid(runs, epoch(byPolicy.allow.created_at) + SECOND);
        assert(runs.length >= 5);
        assert(runs.every((run) => run.status === "running" || run.status === "succeeded"));
        assertEquals(
          target.deliveries("slow/allow").map((d) => d.runId).sort(),
          runs.map((run) => run.run_id).sort(),
        );
        assert(target.peakConcurrency("slow/allow") >= 2, "a 2.5-s run overlaps the next two");
      });

      await t.step(
        "queue: one run waits and starts when the previous ends; more coalesce",
        async () => {
          const task = byPolicy.queue;
          const runs = await runsOf(service, task.id);
          console.log(`queue: ${runs.map((run) => run.status).join(", ")}`);
          assertGrid(runs, epoch(task.created_at) + SECOND);
          assert(runs.filter((run) => run.status === "pending").length <= 1, "at most one waits");
          const coalesced = runs.filter((run) => run.status === "skipped");
          assert(coalesced.length >= 1, "occurrence 3 is due while occurrence 2 already waits");
          const decisions = new Map(
            (await occurrencesOf(service, task.id)).map((o) => [o.scheduled_for, o.decision]),
          );
          for (const run of coalesced) assertEquals(decisions.get(run.scheduled_for), "coalesced");
          const reasons = (await eventsOf(service, task.id))
            .filter((event) => event.type === "RunSkipped")
            .map((event) => event.data.reason);
          assertEquals(reasons, coalesced.map(() => "coalesced"));
          // Occurrence 2 was queued behind run 1 and reached the target only after run 1 ended.
          const deliveries = target.deliveries("slow/queue");
          assert(deliveries.length >= 2, `${deliveries.length} deliveries`);
          assertEquals(deliveries[1].scheduledFor, runs[1].scheduled_for);
          for (let i = 1; i < deliveries.length; i++) {
            const previous = deliveries[i - 1];
            assert(previous.endedAt !== null && deliveries[i].arrivedAt >= previous.endedAt);
          }
          assert(epoch(runs[1].started_at) >= deliveries[0].endedAt! - 5);
          assertEquals(target.peakConcurrency("slow/queue"), 1);
        },
      );

      await t.step(
        "cancel_previous: the next occurrence cancels the run and aborts its request",
        async () => {
          const runs = await runsOf(service, byPolicy.cancel_previous.id);
          console.log(`cancel_previous: ${runs.map((run) => run.status).join(", ")}`);
          assertGrid(runs, epoch(byPolicy.cancel_previous.created_at) + SECOND);
          const cancelled = runs.slice(0, -1);
          assert(cancelled.length >= 3);
          for (const run of cancelled) {
            assertEquals(run.status, "cancelled");
            assert(run.error?.includes("cancel_previous"), run.error ?? "no error");
          }
          assertEquals(runs.at(-1)!.status, "running");
          const deliveries = new Map<string | null, Delivery>(
            target.deliveries("slow/cancel_previous").map((d) => [d.runId, d]),
          );
          for (const run of cancelled) {
            const delivery = deliveries.get(run.run_id);
            assert(delivery !== undefined, `run ${run.scheduled_for} never reached the target`);
            assert(delivery.aborted, `the request of run ${run.scheduled_for} was not aborted`);
          }
        },
      );

      await t.step(
        "a skipped occurrence never runs; a moved one runs at its new instant",
        async () => {
          const runs = (await runsOf(service, echo.id))
            .filter((run) => epoch(run.scheduled_for) <= next + 4 * SECOND);
          // A skipped or moved-away occurrence is claimed by a skipped row: it can never run.
          const expected: [number, string][] = [
            [next, "succeeded"],
            [next + SECOND, "succeeded"],
            [Math.min(skipped, moved), "skipped"],
            [Math.max(skipped, moved), "skipped"],
            [movedTo, "succeeded"],
            [next + 4 * SECOND, "succeeded"],
          ];
          assertEquals(
            runs.map((run) => [run.scheduled_for, run.trigger, run.status]),
            expected.sort(([a], [b]) => a - b).map(([at, status]) => [iso(at), "schedule", status]),
          );
          const decisions = await occurrencesOf(service, echo.id);
          const excluded = decisions.find((o) => o.scheduled_for === iso(skipped));
          assertEquals(excluded?.decision, "excluded");
          const shifted = decisions.find((o) => o.scheduled_for === iso(moved));
          assertEquals(shifted?.decision, "shifted");
          assert(shifted?.detail?.includes(iso(movedTo)), shifted?.detail ?? "no detail");
          const fired = decisions.find((o) => o.scheduled_for === iso(movedTo));
          const movedRun = runs.find((run) => run.scheduled_for === iso(movedTo));
          assertEquals([fired?.decision, fired?.run_id], ["fired", movedRun?.run_id]);
        },
      );

      await t.step({
        name: "tasks.backfill does not replay a skipped or moved occurrence once it has passed",
        fn: async () => {
          const left = await call<Backfilled>(service, "tasks.backfill", {
            task_id: echo.id,
            from: iso(next),
            to: iso(next + 4 * SECOND),
            dry_run: true,
          });
          assertEquals(left.occurrences, []);
        },
      });
    });
  } finally {
    await target.close();
  }
});

Deno.test("the http executor's retries, failures and timeouts, manual triggers and task trees", async (t) => {
  const target = new Target();
  try {
    await withService("pglite", { CHRONOLOG_SHUTDOWN_TIMEOUT_S: "0" }, async (service) => {
      await t.step(
        "a failing run is retried with exponential backoff under one idempotency key",
        async () => {
          const task = await call<Task>(service, "tasks.create", {
            name: "flaky",
            executor: http(target, "flaky/retry?failures=2"),
            retry: { max_attempts: 3, backoff_ms: 300, backoff_factor: 2, max_backoff_ms: 10_000 },
          });
          const triggered = await call<Triggered>(service, "tasks.trigger", {
            task_id: task.id,
            wait: true,
            wait_timeout_s: 10,
          });
          assert(triggered.finished);
          const run = triggered.run!;
          assertEquals(
            [run.run_id, run.status, run.attempt, run.trigger, run.result],
            [triggered.run_id, "succeeded", 3, "manual", { delivery: 3 }],
          );

          const deliveries = target.deliveries("flaky/retry");
          assertEquals(deliveries.map((d) => [d.runId, d.attempt]), [
            [run.run_id, 1],
            [run.run_id, 2],
            [run.run_id, 3],
          ]);
          const gaps = deliveries.slice(1).map((d, i) => d.arrivedAt - deliveries[i].arrivedAt);
          console.log(`retry gaps: ${gaps.join(" ms, ")} ms`);
          assert(gaps[0] >= 300 && gaps[1] >= 600, `gaps ${gaps}`);

          const events = (await eventsOf(service, task.id))
            .filter((event) => event.data.run_id === run.run_id);
          assertEquals(
            events.map((e) => [e.type, e.data.attempt ?? null]),
            [
              ["RunStarted", 1],
              ["RunFailed", null],
              ["RunStarted", 2],
              ["RunFailed", null],
              ["RunStarted", 3],
              ["RunSucceeded", null],
            ],
          );
          const failures = events.filter((event) => event.type === "RunFailed");
          // backoff_ms · backoff_factor^(attempt − 1) after the failure was recorded.
          assertEquals(
            failures.map((event) =>
              epoch(event.data.retry_at as string) - epoch(event.recorded_at)
            ),
            [300, 600],
          );
          assert(String(failures[0].data.error).startsWith("HTTP 500"));
          failures.forEach((event, i) => {
            assert(
              deliveries[i + 1].arrivedAt >= epoch(event.data.retry_at as string),
              "retried early",
            );
          });
          const after = await call<Task>(service, "tasks.get", { task_id: task.id });
          assertEquals([after.status, after.run_count, after.failed_runs], ["completed", 1, 0]);
        },
      );

      await t.step("a run that fails every attempt ends failed with the HTTP status", async () => {
        const task = await call<Task>(service, "tasks.create", {
          name: "broken",
          executor: http(target, "fail/always"),
          retry: { max_attempts: 2, backoff_ms: 100 },
        });
        const { run } = await call<Triggered>(service, "tasks.trigger", {
          task_id: task.id,
          wait: true,
        });
        assertEquals([run?.status, run?.attempt], ["failed", 2]);
        assert(run?.error?.includes("HTTP 500"), run?.error ?? "no error");
        assertEquals(target.deliveries("fail/always").length, 2);
        const after = await call<Task>(service, "tasks.get", { task_id: task.id });
        assertEquals([after.status, after.failed_runs], ["failed", 1]);
        assert(after.error?.includes("HTTP 500"));
      });

      await t.step("a run past its timeout_s ends timed_out and fails the task", async () => {
        // The target either never starts its reply or never finishes its body within 5 s. The
        // executor's own timeout_s is longer, so the task's timeout_s is the one that fires.
        const [silent, slow] = await Promise.all(
          ["silent/stuck", "slow/stuck"].map(async (route) => {
            const task = await call<Task>(service, "tasks.create", {
              name: route,
              executor: { ...http(target, `${route}?ms=5000`), timeout_s: 30 },
              timeout_s: 1,
            });
            const { run } = await call<Triggered>(service, "tasks.trigger", {
              task_id: task.id,
              wait: true,
            });
            assert(run !== null);
            assertEquals(run.status, "timed_out", `${route}: ${run.error}`);
            assert(run.error?.includes("timed out after 1 s"), run.error ?? "no error");
            const took = epoch(run.finished_at) - epoch(run.started_at);
            assert(took >= SECOND && took < 5 * SECOND, `${route}: the run took ${took} ms`);
            const after = await call<Task>(service, "tasks.get", { task_id: task.id });
            assertEquals([after.status, after.failed_runs], ["failed", 1], route);
            return target.deliveries(route);
          }),
        );
        assertEquals(silent.map((delivery) => delivery.endedAt), [null], "answered after all");
        const [delivery] = await eventually(
          () => Promise.resolve(slow),
          (deliveries) => deliveries[0]?.endedAt != null,
        );
        assert(delivery.aborted, "the timed-out request was not aborted");
      });

      await t.step({
        name: "a run whose request outlasts the http executor's timeout_s ends timed_out",
        fn: async () => {
          const task = await call<Task>(service, "tasks.create", {
            name: "executor timeout",
            executor: { ...http(target, "silent/executor-timeout?ms=5000"), timeout_s: 1 },
          });
          const { run } = await call<Triggered>(service, "tasks.trigger", {
            task_id: task.id,
            wait: true,
          });
          assertEquals(run?.status, "timed_out", run?.error ?? "no error");
          assert(run?.error?.includes("timed out after 1 s"), run?.error ?? "no error");
        },
      });

      await t.step(
        "tasks.trigger with wait returns the finished echo run with its inputs",
        async () => {
          const inputs = { greeting: "hello", n: [1, 2] };
          const task = await call<Task>(service, "tasks.create", { name: "echo", inputs });
          const triggered = await call<Triggered>(service, "tasks.trigger", {
            task_id: task.id,
            wait: true,
          });
          assertEquals(
            [triggered.finished, triggered.status, triggered.run?.run_id, triggered.run?.trigger],
            [true, "succeeded", triggered.run_id, "manual"],
          );
          assertEquals(triggered.run?.result, inputs);
        },
      );

      await t.step(
        "tasks.webhook.trigger with async_execution replies before the run ends",
        async () => {
          const task = await call<Task>(service, "tasks.create", {
            name: "hook",
            executor: http(target, "slow/hook?ms=1000"),
          });
          const asked = Date.now();
          const triggered = await call<Triggered>(service, "tasks.webhook.trigger", {
            task_id: task.id,
            async_execution: true,
          });
          assert(Date.now() - asked < SECOND, `the reply took ${Date.now() - asked} ms`);
          assertEquals([triggered.finished, triggered.status], [false, "running"]);
          const [run] = await eventually(
            () => runsOf(service, task.id),
            (runs) => runs[0]?.status === "succeeded",
          );
          assertEquals([run.run_id, run.trigger, run.result], [triggered.run_id, "webhook", {
            waited: 1000,
          }]);
        },
      );

      // root: d (priority 0) and a (priority 5) are ready first; c (1) and b (2) wait for a.
      const tree = [
        { id: "root", name: "nightly", inputs: { build: 7 } },
        {
          id: "a",
          name: "compile",
          parent_id: "root",
          priority: 5,
          executor: http(target, "flaky/compile?failures=1"),
        },
        {
          id: "b",
          name: "package",
          parent_id: "root",
          priority: 2,
          dependencies: [{ id: "a", required: true }],
        },
        {
          id: "c",
          name: "report",
          parent_id: "root",
          priority: 1,
          dependencies: [{ id: "a", required: false }],
        },
        { id: "d", name: "lint", parent_id: "root", priority: 0 },
      ];
      let firstRunId = "";

      await t.step(
        "a tree whose required dependency fails cancels its dependent and fails the root",
        async () => {
          for (const task of tree) await call<Task>(service, "tasks.create", task);
          const { run } = await call<Triggered>(service, "tasks.trigger", {
            task_id: "root",
            wait: true,
          });
          assert(run !== null);
          firstRunId = run.run_id;
          assertEquals(run.status, "failed");
          assert(run.error?.includes("a (HTTP 500"), run.error ?? "no error");
          const statuses = await Promise.all(
            ["a", "b", "c", "d"].map(async (id) =>
              (await call<Task>(service, "tasks.get", { task_id: id })).status
            ),
          );
          assertEquals(statuses, ["failed", "cancelled", "completed", "completed"]);
          const b = await call<Task>(service, "tasks.get", { task_id: "b" });
          assert(b.error?.includes("required dependency a"), b.error ?? "no error");

          const steps = await Promise.all(["a", "b", "c", "d"].map(async (id) => {
            const events = await eventsOf(service, id);
            assertEquals(
              events.slice(1).map((event) => [event.type, event.data.root_run_id]),
              [["TaskReset", run.run_id], ["TreeStepRecorded", run.run_id]],
              id,
            );
            return { id, at: events[2].position };
          }));
          // Ready children by priority (lowest first): d, a; then those waiting for a: c, b.
          assertEquals(steps.toSorted((x, y) => x.at - y.at).map((step) => step.id), [
            "d",
            "a",
            "c",
            "b",
          ]);
        },
      );

      await t.step(
        "the next run of the tree resets every child to pending, then runs them all",
        async () => {
          const { run } = await call<Triggered>(service, "tasks.trigger", {
            task_id: "root",
            wait: true,
          });
          assert(run !== null && run.run_id !== firstRunId);
          assertEquals(run.status, "succeeded");
          const children = (run.result as { children: { task_id: string }[] }).children
            .toSorted((x, y) => x.task_id < y.task_id ? -1 : 1);
          assertEquals(run.result, {
            result: { build: 7 },
            children: (run.result as { children: unknown[] }).children,
          });
          assertEquals(children, [
            { task_id: "a", status: "completed", result: { delivery: 2 }, error: null },
            { task_id: "b", status: "completed", result: {}, error: null },
            { task_id: "c", status: "completed", result: {}, error: null },
            { task_id: "d", status: "completed", result: {}, error: null },
          ]);
          const resets: number[] = [];
          const steps: number[] = [];
          for (const id of ["a", "b", "c", "d"]) {
            const events = (await eventsOf(service, id))
              .filter((event) => event.data.root_run_id === run.run_id);
            assertEquals(events.map((event) => event.type), ["TaskReset", "TreeStepRecorded"], id);
            resets.push(events[0].position);
            steps.push(events[1].position);
            assertEquals(
              (await call<Task>(service, "tasks.get", { task_id: id })).status,
              "completed",
            );
          }
          assert(Math.max(...resets) < Math.min(...steps), "a child ran before all were reset");
        },
      );

      await t.step({
        name: "each http child of a tree gets its own idempotency key",
        fn: async () => {
          await call<Task>(service, "tasks.create", { id: "fanout", name: "fan out" });
          for (const id of ["fanout-1", "fanout-2"]) {
            await call<Task>(service, "tasks.create", {
              id,
              name: id,
              parent_id: "fanout",
              executor: http(target, `flaky/${id}`),
            });
          }
          const { run } = await call<Triggered>(service, "tasks.trigger", {
            task_id: "fanout",
            wait: true,
          });
          assertEquals(run?.status, "succeeded");
          const keys = ["fanout-1", "fanout-2"]
            .map((id) => target.deliveries(`flaky/${id}`)[0]?.runId);
          assert(keys.every((key) => typeof key === "string"), "a child never reached the target");
          assert(keys[0] !== keys[1], `both children sent Idempotency-Key ${keys[0]}`);
        },
      });
    });
  } finally {
    await target.close();
  }
});

for (const kind of STORES) {
  Deno.test({
    name: `${kind}: queue leases and backfill claim each occurrence once`,
    ignore: kind === "postgres" && POSTGRES_ADMIN_URL === null,
    fn: (t) =>
      withService(kind, {}, async (service) => {
        await t.step(
          "a queue run is leased to one worker at a time and offered again on expiry",
          async () => {
            const inputs = { month: "2026-01" };
            const task = await call<Task>(service, "tasks.create", {
              name: "monthly report",
              inputs,
              executor: { type: "queue", capability: "reports" },
            });
            const triggered = await call<Triggered>(service, "tasks.trigger", { task_id: task.id });
            assertEquals([triggered.status, triggered.finished], ["pending", false]);

            const claim = (worker: string, leaseS: number) =>
              call<Claimed>(service, "runs.claim", {
                capability: "reports",
                worker_id: worker,
                lease_s: leaseS,
              });
            const first = (await claim("w1", 1)).run;
            assert(first !== null, "w1 got nothing");
            assertEquals(
              [first.run_id, first.task_id, first.attempt, first.inputs],
              [triggered.run_id, task.id, 1, inputs],
            );
            assertEquals((await claim("w2", 1)).run, null);
            const other = await call<Claimed>(service, "runs.claim", {
              capability: "invoices",
              worker_id: "w2",
            });
            assertEquals(other.run, null);
            const [leased] = await runsOf(service, task.id);
            assertEquals([leased.status, leased.worker_id], ["running", "w1"]);

            const renewed = await call<{ lease_expires_at: string }>(service, "runs.heartbeat", {
              run_id: first.run_id,
              worker_id: "w1",
              lease_s: 1,
            });
            assert(epoch(renewed.lease_expires_at) > epoch(first.lease_expires_at));
            assertEquals((await claim("w2", 1)).run, null);

            await sleep(epoch(renewed.lease_expires_at) - Date.now() + 200);
            const second = (await claim("w2", 30)).run;
            assertEquals(second?.run_id, first.run_id, "the expired lease was not offered again");

            const lostBeat = await refusal(service, "runs.heartbeat", {
              run_id: first.run_id,
              worker_id: "w1",
            });
            assertEquals([lostBeat.code, lostBeat.data.code], [-32002, "conflict"]);
            const lostComplete = await refusal(service, "runs.complete", {
              run_id: first.run_id,
              worker_id: "w1",
              result: { rows: 1 },
            });
            assertEquals([lostComplete.code, lostComplete.data.code], [-32002, "conflict"]);

            const extended = await call<{ lease_expires_at: string }>(service, "runs.heartbeat", {
              run_id: first.run_id,
              worker_id: "w2",
              lease_s: 60,
            });
            assert(epoch(extended.lease_expires_at) > epoch(second!.lease_expires_at));

            const done = await call<Run>(service, "runs.complete", {
              run_id: first.run_id,
              worker_id: "w2",
              result: { rows: 42 },
            });
            assertEquals(
              [done.status, done.result, done.worker_id, done.attempt],
              ["succeeded", { rows: 42 }, "w2", 1],
            );
            const again = await refusal(service, "runs.complete", {
              run_id: first.run_id,
              worker_id: "w2",
            });
            assertEquals(again.data.code, "conflict");
            assertEquals((await claim("w3", 1)).run, null);
            const after = await call<Task>(service, "tasks.get", { task_id: task.id });
            assertEquals([after.status, after.run_count], ["completed", 1]);
          },
        );

        await t.step(
          "a queue run a worker failed is offered again only after its backoff",
          async () => {
            const task = await call<Task>(service, "tasks.create", {
              name: "export",
              executor: { type: "queue", capability: "exports" },
              retry: { max_attempts: 2, backoff_ms: 2000 },
            });
            const { run_id: runId } = await call<Triggered>(service, "tasks.trigger", {
              task_id: task.id,
            });
            const claim = (worker: string) =>
              call<Claimed>(service, "runs.claim", {
                capability: "exports",
                worker_id: worker,
                lease_s: 1,
              });
            const first = (await claim("w1")).run;
            assertEquals([first?.run_id, first?.attempt], [runId, 1]);
            const failed = await call<Run>(service, "runs.complete", {
              run_id: runId,
              worker_id: "w1",
              success: false,
              error: "disk full",
            });
            assertEquals([failed.status, failed.error, failed.attempt], [
              "pending",
              "disk full",
              1,
            ]);
            const [failure] = (await eventsOf(service, task.id))
              .filter((event) => event.type === "RunFailed");
            const retryAt = epoch(failure.data.retry_at as string);
            assertEquals(retryAt - epoch(failure.recorded_at), 2000);

            // w1's lease is over, but the run waits out its backoff: no worker may take it yet.
            await sleep(epoch(first!.lease_expires_at) - Date.now() + 200);
            assert(Date.now() < retryAt - 300, "the test was too slow to claim within the backoff");
            assertEquals((await claim("w2")).run, null);

            const second = await eventually(() => claim("w2"), (claimed) => claimed.run !== null);
            assert(Date.now() >= retryAt, "the next attempt was offered before its backoff ended");
            assertEquals([second.run?.run_id, second.run?.attempt], [runId, 2]);
            const done = await call<Run>(service, "runs.complete", {
              run_id: runId,
              worker_id: "w2",
              result: { exported: true },
            });
            assertEquals([done.status, done.attempt, done.result], ["succeeded", 2, {
              exported: true,
            }]);
          },
        );

        await t.step("tasks.backfill runs the occurrences without a run, once", async () => {
          // An interval anchored on a whole second in the past: runs exist only from creation.
          const start = Math.floor(Date.now() / SECOND) * SECOND - 10 * SECOND;
          const task = await everySecond(service, {
            name: "backfilled",
            inputs: { n: 2 },
            schedule_start_at: iso(start),
          });
          const created = epoch(task.created_at);
          const before = Math.floor((created - start) / SECOND);
          const backfill = (params: Params) =>
            call<Backfilled>(service, "tasks.backfill", { task_id: task.id, ...params });

          const all = await backfill({ from: iso(start), to: iso(created), dry_run: true });
          assertEquals(
            all.occurrences,
            Array.from({ length: before + 1 }, (_, k) => iso(start + k * SECOND)),
          );
          assertEquals(all.run_ids, []);
          const firstThree = [0, 1, 2].map((k) => iso(start + k * SECOND));
          const dry = await backfill({
            from: iso(start),
            to: iso(created),
            max_runs: 3,
            dry_run: true,
          });
          assertEquals([dry.occurrences, dry.run_ids, dry.dry_run], [firstThree, [], true]);
          assertEquals(
            (await runsOf(service, task.id)).filter((run) => run.trigger !== "schedule"),
            [],
          );

          const filled = await backfill({ from: iso(start), to: iso(created), max_runs: 3 });
          assertEquals([filled.occurrences, filled.run_ids.length], [firstThree, 3]);
          const runs = await runsOf(service, task.id);
          const catchups = runs.filter((run) => run.trigger === "catchup");
          assertEquals(
            catchups.map((run) => [run.run_id, run.scheduled_for, run.status, run.result]),
            filled.run_ids.map((id, k) => [id, firstThree[k], "succeeded", { n: 2 }]),
          );

          const none = await backfill({ from: iso(start), to: iso(start + 2 * SECOND) });
          assertEquals([none.occurrences, none.run_ids], [[], []]);
          // The schedule's own runs count too: only the gap before creation is left.
          const scheduled = (await eventually(
            () => runsOf(service, task.id),
            (runs) => runs.some((run) => run.trigger === "schedule"),
          )).filter((run) => run.trigger === "schedule");
          const left = await backfill({
            from: iso(start),
            to: scheduled.at(-1)!.scheduled_for,
            dry_run: true,
          });
          assertEquals(
            left.occurrences,
            Array.from({ length: before - 2 }, (_, k) => iso(start + (k + 3) * SECOND)),
          );
        });
      }),
  });
}

Deno.test("SIGTERM drains runs for CHRONOLOG_SHUTDOWN_TIMEOUT_S, then cancels the hung one", async () => {
  const target = new Target();
  // Made here, not by startService: a service that owns its folder deletes it when it stops.
  const dataDir = await pgliteDir();
  try {
    const service = await startService({ CHRONOLOG_SHUTDOWN_TIMEOUT_S: "1" }, { dataDir });
    // One run ends within the drain, the other would take 20 s.
    const started = await (async () => {
      try {
        const ids: Record<string, { taskId: string; runId: string }> = {};
        for (const [name, ms] of [["hang", 20_000], ["quick", 600]] as const) {
          const task = await call<Task>(service, "tasks.create", {
            name,
            executor: http(target, `slow/${name}?ms=${ms}`),
          });
          const { run_id } = await call<Triggered>(service, "tasks.trigger", { task_id: task.id });
          ids[name] = { taskId: task.id, runId: run_id };
        }
        await eventually(
          () =>
            Promise.resolve([
              ...target.deliveries("slow/quick"),
              ...target.deliveries("slow/hang"),
            ]),
          (deliveries) => deliveries.length === 2,
        );
        return ids;
      } catch (error) {
        await service.stop();
        throw error;
      }
    })();
    const stopping = Date.now();
    const status = await service.stop();
    const took = Date.now() - stopping;
    console.log(`stopped in ${took} ms`);
    assertEquals(status.code, 0, service.output());
    assert(took >= SECOND && took < 5 * SECOND, `stopping took ${took} ms`);
    assert(service.output().includes("Recorded 1 runs abandoned at shutdown"), service.output());
    const [finished] = target.deliveries("slow/quick");
    assert(finished.endedAt! > stopping && !finished.aborted, "the quick run did not drain");
    const [hung] = target.deliveries("slow/hang");
    assert(hung.aborted && hung.endedAt !== null, "the hung request was not aborted");

    const restarted = await startService({}, { dataDir });
    try {
      const [quick] = await runsOf(restarted, started.quick.taskId);
      assertEquals(
        [quick.run_id, quick.status, quick.result],
        [started.quick.runId, "succeeded", { waited: 600 }],
      );
      const [run] = await runsOf(restarted, started.hang.taskId);
      assertEquals([run.run_id, run.status], [started.hang.runId, "cancelled"]);
      assertEquals(run.error, "abandoned: the service shut down before the run finished");
      assert(epoch(run.finished_at) >= stopping + SECOND, "cancelled before the drain ended");
      const after = await call<Task>(restarted, "tasks.get", { task_id: started.hang.taskId });
      assertEquals(after.status, "cancelled");
    } finally {
      await restarted.stop();
    }
  } finally {
    await target.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("jitter_ms delays each occurrence by its own fixed offset, never early", async () => {
  await withService("pglite", {}, async (service) => {
    const task = await everySecond(service, { name: "jittered", jitter_ms: 600 });
    const anchor = epoch(task.created_at);
    await sleep(anchor + 5.8 * SECOND - Date.now());
    const runs = await runsOf(service, task.id);
    assert(runs.length >= 4, `${runs.length} runs`);
    assertGrid(runs, anchor + SECOND);
    // started_at − scheduled_for is the occurrence's jitter plus the recorded lateness.
    const delays = runs.map((run) => epoch(run.started_at) - epoch(run.scheduled_for));
    const jitters = runs.map((run, k) => delays[k] - run.lateness_ms!);
    for (const jitter of jitters) assert(jitter >= 0 && jitter < 600, `jitter ${jitter} ms`);
    assert(new Set(jitters).size > 1, `every occurrence got the same offset: ${jitters}`);
    assert(Math.max(...runs.map((run) => run.lateness_ms!)) < 200, JSON.stringify(delays));
  });
});
