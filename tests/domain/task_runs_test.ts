import fc from "fast-check";
import { isDomainError } from "../../src/domain/errors.ts";
import {
  backoffMs,
  decide,
  evolve,
  jitterOffset,
  replay,
  type RunEnvironment,
  runsClaimed,
  type ScheduleFields,
  type TaskCommand,
  type TaskEvent,
  type TaskSettings,
  type TaskState,
  upcomingRuns,
} from "../../src/domain/task.ts";
import { assert, assertEquals, scheduleFields, taskSettings } from "../_helpers.ts";

const T0 = Date.parse("2026-03-02T12:00:00Z");
const SECOND = 1000;
const HTTP: TaskSettings["executor"] = {
  type: "http",
  url: "http://127.0.0.1:9/",
  method: "POST",
  headers: {},
  timeoutS: null,
};

let runIds = 0;

function env(overrides: Partial<RunEnvironment> = {}): RunEnvironment {
  return { owner: 7, newRunId: () => `run-${++runIds}`, inlineEcho: true, ...overrides };
}

function events(state: TaskState | null, command: TaskCommand): TaskEvent[] {
  const result = decide(state, command);
  if (isDomainError(result)) throw new Error(`refused: ${result.field} ${result.message}`);
  return result;
}

function apply(state: TaskState, command: TaskCommand): [TaskState, TaskEvent[]] {
  const produced = events(state, command);
  return [produced.reduce<TaskState>((s, e) => evolve(s, e), state), produced];
}

/** A task with a 1-second interval from T0 (first run T0 + 1 s). */
function task(
  settings: Partial<TaskSettings> = {},
  fields: Partial<ScheduleFields> = {},
): TaskState {
  const produced = events(null, {
    type: "CreateTask",
    id: "t",
    settings: taskSettings({ inputs: { n: 1 }, ...settings }),
    schedule: scheduleFields({ expression: "1", ...fields }),
    now: T0,
  });
  return replay(produced)!;
}

function fire(state: TaskState, now: number, e = env()): [TaskState, TaskEvent[]] {
  return apply(state, { type: "FireOccurrence", scheduledFor: state.nextRunAt!, now, env: e });
}

function types(list: TaskEvent[]): string[] {
  return list.map((event) => event.type);
}

Deno.test("an echo occurrence starts and succeeds in one decision and moves to the next", () => {
  const [state, produced] = fire(task(), T0 + SECOND + 3);
  assertEquals(types(produced), ["RunStarted", "RunSucceeded"]);
  const started = produced[0];
  assert(started.type === "RunStarted");
  assertEquals(started.data.latenessMs, 3);
  assertEquals(started.data.owner, 7);
  assertEquals(started.data.nextRunAt, T0 + 2 * SECOND);
  assertEquals([state.status, state.result, state.runCount], ["completed", { n: 1 }, 1]);
  assertEquals([state.activeRuns.length, state.nextRunAt], [0, T0 + 2 * SECOND]);
});

Deno.test("a fire for an occurrence that is no longer next changes nothing", () => {
  const state = task();
  assertEquals(
    events(state, {
      type: "FireOccurrence",
      scheduledFor: T0 + 5 * SECOND,
      now: T0 + 5 * SECOND,
      env: env(),
    }),
    [],
  );
});

Deno.test("overlap skip records the due occurrence as skipped while a run is in flight", () => {
  let [state] = fire(task({ executor: HTTP }), T0 + SECOND);
  assertEquals(state.activeRuns.length, 1);
  let produced: TaskEvent[];
  [state, produced] = fire(state, T0 + 2 * SECOND);
  assertEquals(types(produced), ["RunSkipped"]);
  assertEquals(state.nextRunAt, T0 + 3 * SECOND);
  assertEquals([state.runCount, state.activeRuns.length], [1, 1]);
  assertEquals(runsClaimed(produced[0]), 1);
});

Deno.test("overlap allow starts a second run beside the first", () => {
  let [state] = fire(task({ executor: HTTP, overlapPolicy: "allow" }), T0 + SECOND);
  [state] = fire(state, T0 + 2 * SECOND);
  assertEquals(state.activeRuns.map((run) => run.scheduledFor), [T0 + SECOND, T0 + 2 * SECOND]);
});

Deno.test("overlap queue buffers one occurrence, coalesces the next, starts it when the first ends", () => {
  let state = task({ executor: HTTP, overlapPolicy: "queue" });
  let produced: TaskEvent[];
  [state] = fire(state, T0 + SECOND);
  [state, produced] = fire(state, T0 + 2 * SECOND);
  assertEquals(types(produced), ["RunsQueued"]);
  [state, produced] = fire(state, T0 + 3 * SECOND);
  assertEquals(types(produced), ["RunSkipped"]);
  assert(produced[0].type === "RunSkipped" && produced[0].data.reason === "coalesced");
  const first = state.activeRuns[0].runId;
  [state, produced] = apply(state, {
    type: "FinishRun",
    attempt: null,
    runId: first,
    outcome: { ok: true, result: 1 },
    now: T0 + 3500,
    env: env(),
  });
  assertEquals(types(produced), ["RunSucceeded", "RunStarted"]);
  assert(produced[1].type === "RunStarted" && produced[1].data.queued);
  assertEquals(runsClaimed(produced[1]), 0);
  assertEquals(state.activeRuns.map((run) => run.scheduledFor), [T0 + 2 * SECOND]);
  assertEquals(state.waiting, []);
  // Counted once, when it was queued.
  assertEquals(state.runCount, 2);
});

Deno.test("overlap cancel_previous cancels the run in flight and starts the new one", () => {
  let [state] = fire(task({ executor: HTTP, overlapPolicy: "cancel_previous" }), T0 + SECOND);
  const previous = state.activeRuns[0].runId;
  let produced: TaskEvent[];
  [state, produced] = fire(state, T0 + 2 * SECOND, env({ newRunId: () => "next" }));
  assertEquals(types(produced), ["RunCancelled", "RunStarted"]);
  assert(produced[0].type === "RunCancelled" && produced[0].data.runId === previous);
  assertEquals(state.activeRuns.map((run) => run.runId), ["next"]);
  assertEquals(state.status, "in_progress");
});

Deno.test("a failed attempt waits out an exponential backoff, then the next attempt starts", () => {
  const retry = { maxAttempts: 3, backoffMs: 300, backoffFactor: 2, maxBackoffMs: 500 };
  assertEquals([1, 2, 3].map((attempt) => backoffMs(retry, attempt)), [300, 500, 500]);
  let [state] = fire(task({ executor: HTTP, retry }), T0 + SECOND);
  const runId = state.activeRuns[0].runId;
  const fail = (now: number): TaskEvent[] => {
    let produced: TaskEvent[];
    [state, produced] = apply(state, {
      type: "FinishRun",
      attempt: null,
      runId,
      outcome: { ok: false, error: "HTTP 500", timedOut: false },
      now,
      env: env(),
    });
    return produced;
  };
  const first = fail(T0 + 1100);
  assert(first[0].type === "RunFailed" && first[0].data.retryAt === T0 + 1400);
  assertEquals([state.status, state.failedRuns, state.activeRuns[0].retryAt], [
    "in_progress",
    0,
    T0 + 1400,
  ]);
  // A late report for the attempt that already failed changes nothing.
  assertEquals(
    events(state, {
      type: "FinishRun",
      attempt: null,
      runId,
      outcome: { ok: true, result: null },
      now: T0 + 1200,
      env: env(),
    }),
    [],
  );
  let produced: TaskEvent[];
  [state, produced] = apply(state, { type: "RetryRun", runId, now: T0 + 1405, env: env() });
  assert(produced[0].type === "RunStarted" && produced[0].data.attempt === 2);
  assertEquals([produced[0].data.latenessMs, state.runCount], [5, 1]);
  fail(T0 + 1500);
  [state] = apply(state, { type: "RetryRun", runId, now: T0 + 2000, env: env() });
  const last = fail(T0 + 2100);
  assert(last[0].type === "RunFailed" && last[0].data.retryAt === null);
  assertEquals([state.status, state.failedRuns, state.activeRuns], ["failed", 1, []]);
});

Deno.test("a timed-out attempt is a failure the retry policy applies to", () => {
  let [state] = fire(task({ executor: HTTP, timeoutS: 2 }), T0 + SECOND);
  assertEquals(state.activeRuns[0].deadlineAt, T0 + SECOND + 2000);
  let produced: TaskEvent[];
  [state, produced] = apply(state, {
    type: "FinishRun",
    attempt: null,
    runId: state.activeRuns[0].runId,
    outcome: { ok: false, error: "timed out", timedOut: true },
    now: T0 + 3 * SECOND,
    env: env(),
  });
  assertEquals(types(produced), ["RunTimedOut"]);
  assertEquals(state.status, "failed");
});

Deno.test("an abandoned run is a failed attempt (retried) or, at shutdown, cancelled", () => {
  const retry = { maxAttempts: 2, backoffMs: 1000, backoffFactor: 2, maxBackoffMs: 1000 };
  const [running] = fire(task({ executor: HTTP, retry }), T0 + SECOND);
  const runId = running.activeRuns[0].runId;
  const [retried, a] = apply(running, {
    type: "AbandonRun",
    attempt: 1,
    runId,
    reason: "abandoned",
    retry: true,
    now: T0 + 2 * SECOND,
    env: env(),
  });
  assertEquals(types(a), ["RunFailed"]);
  assertEquals(retried.activeRuns[0].retryAt, T0 + 3 * SECOND);
  const [, b] = apply(running, {
    type: "AbandonRun",
    attempt: 1,
    runId,
    reason: "shutdown",
    retry: false,
    now: T0 + 2 * SECOND,
    env: env(),
  });
  assertEquals(types(b), ["RunCancelled"]);
});

Deno.test("a queue executor run has no owner: an outside worker executes it", () => {
  const [state, produced] = fire(
    task({ executor: { type: "queue", capability: "reports" } }),
    T0 + SECOND,
  );
  assert(produced[0].type === "RunStarted");
  assertEquals([produced[0].data.owner, produced[0].data.capability], [null, "reports"]);
  assertEquals(state.activeRuns.length, 1);
});

Deno.test("catch-up latest fires the newest missed occurrence and coalesces the rest", () => {
  const [state, produced] = apply(task(), { type: "CatchUp", now: T0 + 10_500, env: env() });
  assertEquals(types(produced), ["OccurrenceDecided", "RunStarted", "RunSucceeded"]);
  assert(produced[0].type === "OccurrenceDecided");
  assertEquals(produced[0].data, {
    scheduledFor: T0 + SECOND,
    decision: "coalesced",
    detail: "coalesced into the latest missed occurrence (catchup_policy latest)",
    until: T0 + 9 * SECOND,
    count: 9,
    runId: null,
  });
  assert(produced[1].type === "RunStarted");
  assertEquals([produced[1].data.scheduledFor, produced[1].data.trigger], [
    T0 + 10 * SECOND,
    "catchup",
  ]);
  assertEquals(state.nextRunAt, T0 + 11 * SECOND);
});

Deno.test("catch-up none records the missed range and fires nothing", () => {
  const [state, produced] = apply(task({ catchupPolicy: "none" }), {
    type: "CatchUp",
    now: T0 + 5500,
    env: env(),
  });
  assertEquals(types(produced), ["OccurrenceDecided", "NextRunComputed"]);
  assert(produced[0].type === "OccurrenceDecided");
  assertEquals([produced[0].data.decision, produced[0].data.count], ["missed", 5]);
  assertEquals([state.nextRunAt, state.runCount], [T0 + 6 * SECOND, 0]);
});

Deno.test("catch-up all runs every missed occurrence in order, once each", () => {
  const [state, produced] = apply(task({ catchupPolicy: "all", executor: HTTP }), {
    type: "CatchUp",
    now: T0 + 4500,
    env: env(),
  });
  assertEquals(types(produced), ["RunsQueued", "RunStarted"]);
  assertEquals(state.waiting.map((run) => run.scheduledFor), [T0 + 2000, T0 + 3000, T0 + 4000]);
  assertEquals(state.activeRuns.map((run) => run.scheduledFor), [T0 + 1000]);
  assertEquals(produced.reduce((sum, event) => sum + runsClaimed(event), 0), 4);
  // Echo runs complete inside the decision, so all four run at once.
  const [echoed, inline] = apply(task({ catchupPolicy: "all" }), {
    type: "CatchUp",
    now: T0 + 4500,
    env: env(),
  });
  assertEquals(inline.filter((event) => event.type === "RunSucceeded").length, 4);
  assertEquals([echoed.runCount, echoed.waiting.length], [4, 0]);
});

Deno.test("catch-up reports occurrences before the window as missed", () => {
  const [, produced] = apply(task({ catchupWindowS: 3 }), {
    type: "CatchUp",
    now: T0 + 10_500,
    env: env(),
  });
  const missed = produced[0];
  assert(missed.type === "OccurrenceDecided");
  assertEquals([missed.data.decision, missed.data.scheduledFor, missed.data.until], [
    "missed",
    T0 + SECOND,
    T0 + 7500 - 1,
  ]);
  const fired = produced.find((event) => event.type === "RunStarted");
  assert(fired?.type === "RunStarted" && fired.data.scheduledFor === T0 + 10 * SECOND);
});

Deno.test("max_runs completes the schedule after the last counted run", () => {
  let state = task({}, { maxRuns: 2 });
  [state] = fire(state, T0 + SECOND);
  let produced: TaskEvent[];
  [state, produced] = fire(state, T0 + 2 * SECOND);
  assertEquals(types(produced), ["RunStarted", "RunSucceeded", "ScheduleCompleted"]);
  assertEquals([state.nextRunAt, state.schedule?.enabled, state.runCount], [null, false, 2]);
});

Deno.test("a skipped occurrence is passed over with an excluded decision", () => {
  let state = task();
  let produced: TaskEvent[];
  [state, produced] = apply(state, {
    type: "ExcludeOccurrence",
    scheduledFor: T0 + SECOND,
    now: T0 + 10,
  });
  assertEquals(types(produced), ["OccurrenceExcluded", "OccurrenceDecided"]);
  assertEquals([state.nextRunAt, state.excluded], [T0 + 2 * SECOND, []]);
  // The skipped occurrence is claimed like a run, so nothing (a backfill, say) can run it later.
  assertEquals(runsClaimed(produced[1]), 1);
  [state] = apply(state, { type: "ExcludeOccurrence", scheduledFor: T0 + 4000, now: T0 + 20 });
  assertEquals(upcomingRuns(state, 3), [T0 + 2000, T0 + 3000, T0 + 5000]);
  [state] = fire(state, T0 + 2000);
  [state, produced] = fire(state, T0 + 3000);
  assertEquals(types(produced), ["OccurrenceDecided", "RunStarted", "RunSucceeded"]);
  assertEquals(state.nextRunAt, T0 + 5000);
});

Deno.test("a moved occurrence fires at its new instant instead", () => {
  let state = task();
  [state] = apply(state, {
    type: "MoveOccurrence",
    scheduledFor: T0 + 2000,
    to: T0 + 2500,
    now: T0 + 10,
  });
  assertEquals(upcomingRuns(state, 3), [T0 + 1000, T0 + 2500, T0 + 3000]);
  [state] = fire(state, T0 + 1000);
  let produced: TaskEvent[];
  assertEquals(state.nextRunAt, T0 + 2500);
  [state, produced] = fire(state, T0 + 2500);
  assert(produced[0].type === "RunStarted" && produced[0].data.scheduledFor === T0 + 2500);
  assertEquals([state.nextRunAt, state.extras], [T0 + 3000, []]);
});

Deno.test("skip and move refuse what is not a future occurrence, naming the field", () => {
  const state = task();
  const refusals: [TaskCommand, string][] = [
    [{ type: "ExcludeOccurrence", scheduledFor: T0 + 1500, now: T0 }, "scheduled_for"],
    [{ type: "ExcludeOccurrence", scheduledFor: T0 - 1000, now: T0 }, "scheduled_for"],
    [{ type: "MoveOccurrence", scheduledFor: T0 + 1000, to: T0 - 5, now: T0 }, "to"],
    [{ type: "MoveOccurrence", scheduledFor: T0 + 1000, to: T0 + 3000, now: T0 }, "to"],
  ];
  for (const [command, field] of refusals) {
    const result = decide(state, command);
    assert(isDomainError(result), JSON.stringify(command));
    assertEquals(result.field, field);
  }
});

Deno.test("jitter is a deterministic offset in [0, jitter_ms) per occurrence", () => {
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 0, max: 2 ** 40 }), fc.nat(100_000), (id, at, j) => {
      const offset = jitterOffset(id, at, j);
      assertEquals(offset, jitterOffset(id, at, j));
      assert(offset >= 0 && (j <= 1 ? offset === 0 : offset < j));
    }),
  );
  const spread = new Set(Array.from({ length: 50 }, (_, i) => jitterOffset("t", i * 1000, 1000)));
  assert(spread.size > 30, `only ${spread.size} distinct offsets`);
});

/** A random walk of runtime commands over one task. */
const steps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("fire" as const), late: fc.nat(3000) }),
    fc.record({ kind: fc.constant("finish" as const), ok: fc.boolean(), pick: fc.nat(3) }),
    fc.record({ kind: fc.constant("retry" as const), pick: fc.nat(3) }),
    fc.record({ kind: fc.constant("trigger" as const) }),
    fc.record({ kind: fc.constant("catchup" as const), gap: fc.nat(20_000) }),
  ),
  { maxLength: 40 },
);

Deno.test("property: any sequence of runtime commands claims each occurrence at most once", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("skip", "allow", "queue", "cancel_previous"),
      fc.constantFrom("latest", "none", "all"),
      fc.boolean(),
      steps,
      (overlapPolicy, catchupPolicy, echo, walk) => {
        let state = task({
          overlapPolicy: overlapPolicy as TaskSettings["overlapPolicy"],
          catchupPolicy: catchupPolicy as TaskSettings["catchupPolicy"],
          executor: echo ? { type: "echo" } : HTTP,
          retry: { maxAttempts: 2, backoffMs: 100, backoffFactor: 2, maxBackoffMs: 1000 },
        });
        const log: TaskEvent[] = [];
        let now = T0;
        let ids = 0;
        const e = env({ newRunId: () => `r${++ids}` });
        for (const step of walk) {
          let command: TaskCommand | null = null;
          const run = state.activeRuns[("pick" in step ? step.pick : 0) % 4];
          switch (step.kind) {
            case "fire":
              if (state.nextRunAt === null) break;
              now = Math.max(now, state.nextRunAt + step.late);
              command = { type: "FireOccurrence", scheduledFor: state.nextRunAt, now, env: e };
              break;
            case "finish":
              if (run === undefined) break;
              now += 10;
              command = {
                type: "FinishRun",
                attempt: null,
                runId: run.runId,
                outcome: step.ok ? { ok: true, result: null } : {
                  ok: false,
                  error: "x",
                  timedOut: false,
                },
                now,
                env: e,
              };
              break;
            case "retry":
              if (run?.retryAt == null) break;
              now = Math.max(now, run.retryAt);
              command = { type: "RetryRun", runId: run.runId, now, env: e };
              break;
            case "trigger":
              now += 1;
              command = { type: "TriggerRun", trigger: "manual", now, env: e };
              break;
            case "catchup":
              now += step.gap;
              command = { type: "CatchUp", now, env: e };
              break;
          }
          if (command === null) continue;
          const produced = decide(state, command);
          assert(!isDomainError(produced), `refused ${command.type}`);
          for (const event of produced) state = evolve(state, event);
          log.push(...produced);
          // Nothing is ever due at or before an occurrence that was already decided.
          if (state.nextRunAt !== null && state.lastScheduledFor !== null) {
            assert(state.nextRunAt > state.lastScheduledFor);
          }
          if (overlapPolicy !== "allow") assert(state.activeRuns.length <= 1);
          if (overlapPolicy === "queue") {
            assert(state.waiting.length <= 1 || catchupPolicy === "all");
          }
        }
        const claimed = new Map<number, number>();
        for (const event of log) {
          if (event.type === "RunsQueued") {
            for (const run of event.data.runs) {
              claimed.set(run.scheduledFor, (claimed.get(run.scheduledFor) ?? 0) + 1);
            }
          } else if (runsClaimed(event) === 1 && "scheduledFor" in event.data) {
            const at = event.data.scheduledFor as number;
            claimed.set(at, (claimed.get(at) ?? 0) + 1);
          }
        }
        for (const [at, count] of claimed) assertEquals([at, count], [at, 1]);
        const initial = task();
        const replayed = log.reduce<TaskState>((s, event) => evolve(s, event), {
          ...initial,
          ...{
            overlapPolicy: state.overlapPolicy,
            catchupPolicy: state.catchupPolicy,
            executor: state.executor,
            retry: state.retry,
          },
        });
        assertEquals(replayed.activeRuns, state.activeRuns);
        assertEquals(JSON.parse(JSON.stringify(state)), state);
      },
    ),
    {
      numRuns: 300,
      // Found by this property: a manual run on an occurrence's instant, two in one millisecond.
      examples: [
        ["skip", "latest", false, [
          { kind: "fire", late: 2998 },
          { kind: "trigger" },
          { kind: "trigger" },
          { kind: "fire", late: 0 },
          { kind: "fire", late: 0 },
          { kind: "fire", late: 0 },
        ]],
        ["skip", "latest", false, [
          { kind: "trigger" },
          { kind: "catchup", gap: 8014 },
          { kind: "catchup", gap: 2206 },
          { kind: "catchup", gap: 5778 },
          { kind: "trigger" },
          { kind: "trigger" },
        ]],
      ],
    },
  );
});

Deno.test("deleting a task cancels its runs in flight and waiting", () => {
  let state = task({ executor: HTTP, overlapPolicy: "queue" });
  [state] = fire(state, T0 + SECOND);
  [state] = fire(state, T0 + 2 * SECOND);
  const [deleted, produced] = apply(state, { type: "DeleteTask", now: T0 + 2500 });
  assertEquals(types(produced), ["RunCancelled", "RunCancelled", "TaskDeleted"]);
  assertEquals([deleted.activeRuns, deleted.waiting, deleted.deletedAt], [[], [], T0 + 2500]);
});

Deno.test("a manual run never takes the key of an occurrence of the schedule", () => {
  const state = task({ executor: HTTP });
  const [, produced] = apply(state, {
    type: "TriggerRun",
    trigger: "manual",
    now: T0 + 3 * SECOND,
    env: env(),
  });
  assert(produced[0].type === "RunStarted");
  assertEquals(produced[0].data.scheduledFor, T0 + 3 * SECOND + 1);
});

Deno.test("an occurrence whose key is already taken is passed as coalesced", () => {
  const [state, produced] = apply(task(), {
    type: "PassOccurrence",
    scheduledFor: T0 + SECOND,
    reason: "taken",
    now: T0 + SECOND,
  });
  assertEquals(types(produced), ["OccurrenceDecided", "NextRunComputed"]);
  assertEquals([state.nextRunAt, state.lastScheduledFor], [T0 + 2 * SECOND, T0 + SECOND]);
});

Deno.test("max_runs counts manual runs: a due occurrence past it completes the schedule", () => {
  let state = task({}, { maxRuns: 1 });
  [state] = apply(state, { type: "TriggerRun", trigger: "manual", now: T0 + 10, env: env() });
  const [done, produced] = fire(state, T0 + SECOND);
  assertEquals(types(produced), ["ScheduleCompleted"]);
  assertEquals([done.runCount, done.nextRunAt], [1, null]);
});

Deno.test("a skipped next occurrence stays skipped when the schedule is disabled and enabled", () => {
  let state = task();
  [state] = apply(state, { type: "ExcludeOccurrence", scheduledFor: T0 + SECOND, now: T0 + 10 });
  const update = (enabled: boolean, now: number): TaskCommand => ({
    type: "UpdateTask",
    settings: {},
    schedule: { enabled },
    expectedVersion: null,
    now,
  });
  [state] = apply(state, update(false, T0 + 20));
  [state] = apply(state, update(true, T0 + 30));
  assert(state.nextRunAt! > T0 + SECOND, `next run ${state.nextRunAt! - T0}`);
});

Deno.test("a late or duplicate report about another attempt changes nothing", () => {
  const retry = { maxAttempts: 3, backoffMs: 100, backoffFactor: 1, maxBackoffMs: 100 };
  let [state] = fire(task({ executor: HTTP, retry }), T0 + SECOND);
  const runId = state.activeRuns[0].runId;
  const abandon = (attempt: number): TaskCommand => ({
    type: "AbandonRun",
    runId,
    attempt,
    reason: "abandoned",
    retry: true,
    now: T0 + 1500,
    env: env(),
  });
  assertEquals(events(state, abandon(2)), []);
  [state] = apply(state, abandon(1));
  // A second sweep that lost the race finds the run waiting for its retry: not cancelled.
  assertEquals(events(state, abandon(1)), []);
  [state] = apply(state, { type: "RetryRun", runId, now: T0 + 1600, env: env() });
  assertEquals(
    events(state, {
      type: "FinishRun",
      runId,
      attempt: 1,
      outcome: { ok: true, result: null },
      now: T0 + 1700,
      env: env(),
    }),
    [],
  );
});

Deno.test("changing the schedule while its occurrence is due records it as missed", () => {
  const state = task({ jitterMs: 600_000 });
  const produced = events(state, {
    type: "UpdateTask",
    settings: {},
    schedule: { maxRuns: 10 },
    expectedVersion: null,
    now: T0 + 1500,
  });
  const missed = produced.find((event) => event.type === "OccurrenceDecided");
  assert(missed?.type === "OccurrenceDecided");
  assertEquals([missed.data.decision, missed.data.scheduledFor], ["missed", T0 + SECOND]);
});
