import fc from "fast-check";
import { type DomainError, isDomainError } from "../../src/domain/errors.ts";
import {
  decide,
  evolve,
  replay,
  type ScheduleFields,
  type TaskCommand,
  type TaskEvent,
  type TaskState,
} from "../../src/domain/task.ts";
import { assert, assertEquals, scheduleFields, taskSettings } from "../_helpers.ts";

const T0 = Date.parse("2026-03-02T12:00:00Z");
const HOUR = 3_600_000;

const SETTINGS = taskSettings({ name: "nightly", inputs: {} });

const schedule = scheduleFields;

function events(state: TaskState | null, command: TaskCommand): TaskEvent[] {
  const result = decide(state, command);
  if (isDomainError(result)) throw new Error(`refused: ${result.field} ${result.message}`);
  return result;
}

function refusal(state: TaskState | null, command: TaskCommand): DomainError {
  const result = decide(state, command);
  if (!isDomainError(result)) throw new Error(`expected a refusal, got ${result.length} events`);
  return result;
}

function apply(state: TaskState | null, command: TaskCommand): TaskState {
  return events(state, command).reduce<TaskState | null>(evolve, state)!;
}

function created(fields: Partial<ScheduleFields> | null, now = T0): TaskState {
  return apply(null, {
    type: "CreateTask",
    id: "t",
    settings: SETTINGS,
    schedule: fields === null ? null : schedule(fields),
    now,
  });
}

function complete(state: TaskState, now: number, scheduledFor: number | null = null): TaskState {
  return apply(state, {
    type: "CompleteOccurrence",
    runId: `run-${now}`,
    scheduledFor,
    success: true,
    result: null,
    error: null,
    calculateNextRun: true,
    now,
  });
}

Deno.test("create computes the first run: an interval without start counts from creation", () => {
  const task = created({});
  assertEquals([task.nextRunAt, task.anchor, task.version], [T0 + HOUR, T0, 1]);
  assertEquals(task.status, "pending");
});

Deno.test("create with a disabled schedule validates it and leaves next_run_at null", () => {
  assertEquals(created({ enabled: false }).nextRunAt, null);
  const bad = refusal(null, {
    type: "CreateTask",
    id: "t",
    settings: SETTINGS,
    schedule: schedule({ enabled: false, timezone: "Mars/Olympus" }),
    now: T0,
  });
  assertEquals([bad.code, bad.field], ["invalid_schedule", "schedule_timezone"]);
});

Deno.test("create refuses a schedule that would never run, naming the field at fault", () => {
  const cases: [Partial<ScheduleFields>, string][] = [
    [{ type: "once", expression: "2026-01-01T00:00:00Z" }, "schedule_expression"],
    [{ endAt: T0 - 1 }, "schedule_end_at"],
    [{ type: "cron", expression: "0 9 31 2 *" }, "schedule_expression"],
  ];
  for (const [fields, field] of cases) {
    const error = refusal(null, {
      type: "CreateTask",
      id: "t",
      settings: SETTINGS,
      schedule: schedule(fields),
      now: T0,
    });
    assertEquals(error.field, field, JSON.stringify(fields));
  }
});

Deno.test("an update that changes nothing records nothing", () => {
  const task = created({});
  assertEquals(
    events(task, {
      type: "UpdateTask",
      settings: { name: "nightly", priority: 0 },
      schedule: { expression: "3600" },
      expectedVersion: null,
      now: T0 + 5,
    }),
    [],
  );
});

Deno.test("an update records only the settings that changed", () => {
  const [event] = events(created({}), {
    type: "UpdateTask",
    settings: { name: "hourly", priority: 0 },
    schedule: null,
    expectedVersion: null,
    now: T0 + 5,
  });
  assertEquals(event, { type: "TaskUpdated", at: T0 + 5, data: { changes: { name: "hourly" } } });
});

Deno.test("a changed expression re-anchors and recomputes the next run", () => {
  const task = apply(created({}), {
    type: "UpdateTask",
    settings: {},
    schedule: { expression: "PT15M" },
    expectedVersion: null,
    now: T0 + 100,
  });
  assertEquals([task.anchor, task.nextRunAt], [T0 + 100, T0 + 100 + 15 * 60_000]);
});

Deno.test("disabling clears the next run; enabling computes it from the enable time", () => {
  const disabled = apply(created({}), {
    type: "UpdateTask",
    settings: {},
    schedule: { enabled: false },
    expectedVersion: null,
    now: T0 + 10,
  });
  assertEquals([disabled.nextRunAt, disabled.schedule?.enabled], [null, false]);
  const enabled = apply(disabled, {
    type: "UpdateTask",
    settings: {},
    schedule: { enabled: true },
    expectedVersion: null,
    now: T0 + 20 * 60_000,
  });
  assertEquals(enabled.nextRunAt, T0 + 20 * 60_000 + HOUR);
  assertEquals(enabled.version, 3);
});

Deno.test("an update with a stale expected version is a conflict naming version", () => {
  const error = refusal(created({}), {
    type: "UpdateTask",
    settings: { name: "x" },
    schedule: null,
    expectedVersion: 4,
    now: T0,
  });
  assertEquals([error.code, error.field], ["conflict", "version"]);
});

Deno.test("complete computes the next run from the occurrence, so a late worker never drifts", () => {
  const task = created({ startAt: T0 });
  assertEquals(task.nextRunAt, T0 + HOUR);
  // The worker reports 17 minutes late; the next run stays on the hour grid.
  const after = complete(task, T0 + HOUR + 17 * 60_000);
  assertEquals(after.nextRunAt, T0 + 2 * HOUR);
  assertEquals([after.runCount, after.status, after.lastRunAt], [1, "completed", after.updatedAt]);
});

Deno.test("a late report of an old occurrence never moves the schedule backwards", () => {
  const task = complete(created({ startAt: T0 }), T0 + HOUR);
  const late = complete(task, T0 + 2 * HOUR + 5, T0);
  assertEquals(late.nextRunAt, T0 + 2 * HOUR);
});

Deno.test("max_runs, end_at and once complete the schedule after the last run", () => {
  const cases: [Partial<ScheduleFields>, string][] = [
    [{ maxRuns: 1 }, "max_runs"],
    [{ endAt: T0 + HOUR + 1 }, "end_at"],
    [{ type: "once", expression: "2026-03-02T13:00:00Z" }, "no_more_occurrences"],
  ];
  for (const [fields, reason] of cases) {
    const task = created(fields);
    const recorded = events(task, {
      type: "CompleteOccurrence",
      runId: "r",
      scheduledFor: null,
      success: true,
      result: null,
      error: null,
      calculateNextRun: true,
      now: T0 + HOUR,
    });
    assertEquals(recorded.map((event) => event.type), [
      "RunStarted",
      "RunSucceeded",
      "ScheduleCompleted",
    ]);
    assertEquals(recorded[2].data, { reason });
    const after = recorded.reduce<TaskState>(evolve, task);
    assertEquals([after.nextRunAt, after.schedule?.enabled], [null, false]);
  }
});

Deno.test("complete on a finished schedule needs the occurrence it reports", () => {
  const done = complete(created({ maxRuns: 1 }), T0 + HOUR);
  const error = refusal(done, {
    type: "CompleteOccurrence",
    runId: "again",
    scheduledFor: null,
    success: true,
    result: null,
    error: null,
    calculateNextRun: true,
    now: T0 + 2 * HOUR,
  });
  assertEquals([error.code, error.field], ["conflict", "scheduled_for"]);
});

Deno.test("a failed next-run calculation disables the schedule instead of leaving it due", () => {
  // A zone the tz database dropped after the task was created.
  const task: TaskState = { ...created({}), schedule: schedule({ timezone: "Gone/Zone" }) };
  const recorded = events(task, {
    type: "CompleteOccurrence",
    runId: "r",
    scheduledFor: null,
    success: false,
    result: null,
    error: "boom",
    calculateNextRun: true,
    now: T0 + HOUR,
  });
  assertEquals(recorded.map((event) => event.type), [
    "RunStarted",
    "RunFailed",
    "ScheduleDisabled",
  ]);
  const after = recorded.reduce<TaskState>(evolve, task);
  assertEquals([after.nextRunAt, after.status, after.failedRuns], [null, "failed", 1]);
});

Deno.test("every command on a deleted task is not_found", () => {
  const deleted = apply(created({}), { type: "DeleteTask", now: T0 + 1 });
  assertEquals(deleted.nextRunAt, null);
  for (
    const command of [
      { type: "DeleteTask", now: T0 + 2 },
      { type: "InitSchedule", from: T0, now: T0 + 2 },
    ] satisfies TaskCommand[]
  ) {
    assertEquals(refusal(deleted, command).code, "not_found");
  }
  const again: TaskCommand = {
    type: "CreateTask",
    id: "t",
    settings: SETTINGS,
    schedule: null,
    now: T0 + 2,
  };
  const reused = refusal(deleted, again);
  assertEquals([reused.code, reused.field], ["conflict", "id"]);
  assert(/was deleted/.test(reused.message), reused.message);
  assert(/already exists/.test(refusal(created({}), again).message));
});

const commandArbitrary: fc.Arbitrary<(now: number) => TaskCommand> = fc.oneof(
  fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), priority: fc.nat(5) }).map(
    (settings) => (now: number) => ({
      type: "UpdateTask" as const,
      settings,
      schedule: null,
      expectedVersion: null,
      now,
    }),
  ),
  fc.constantFrom("60", "PT1H", "0 9 * * *", "nonsense", "09:00", "1 10:00").map(
    (expression) => (now: number) => ({
      type: "UpdateTask" as const,
      settings: {},
      schedule: {
        type: /^\d+$|^PT/.test(expression)
          ? "interval" as const
          : expression.includes("*")
          ? "cron" as const
          : expression.includes(" ")
          ? "weekly" as const
          : "daily" as const,
        expression,
      },
      expectedVersion: null,
      now,
    }),
  ),
  fc.boolean().map((enabled) => (now: number) => ({
    type: "UpdateTask" as const,
    settings: {},
    schedule: { enabled },
    expectedVersion: null,
    now,
  })),
  fc.record({ success: fc.boolean(), maxRunsHit: fc.boolean() }).map(
    ({ success }) => (now: number) => ({
      type: "CompleteOccurrence" as const,
      runId: `r${now}`,
      scheduledFor: null,
      success,
      result: success ? { now } : null,
      error: success ? null : "failed",
      calculateNextRun: true,
      now,
    }),
  ),
  fc.constant((now: number) => ({ type: "InitSchedule" as const, from: now, now })),
);

Deno.test("any command sequence: decide never throws, the fold counts versions and survives JSON", () => {
  fc.assert(
    fc.property(
      fc.array(commandArbitrary, { maxLength: 25 }),
      fc.integer({ min: 1, max: 10 }),
      (commands, maxRuns) => {
        let state = created({ maxRuns });
        const log: TaskEvent[] = [];
        log.push(...events(null, {
          type: "CreateTask",
          id: "t",
          settings: SETTINGS,
          schedule: schedule({ maxRuns }),
          now: T0,
        }));
        commands.forEach((make, i) => {
          const result = decide(state, make(T0 + (i + 1) * 60_000));
          if (isDomainError(result)) return;
          log.push(...result);
          state = result.reduce<TaskState>(evolve, state);
        });
        assertEquals(state.version, log.length);
        assertEquals(replay(log), state);
        assertEquals(JSON.parse(JSON.stringify(state)), state);
        assert(state.runCount <= maxRuns || state.schedule?.maxRuns !== maxRuns);
        if (state.schedule === null || !state.schedule.enabled) assertEquals(state.nextRunAt, null);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("a new bound or policy keeps the interval's anchor; a new expression moves it", () => {
  const task = created({});
  const bounded = apply(task, {
    type: "UpdateTask",
    settings: {},
    schedule: { maxRuns: 5, dstPolicy: { gap: "skip" } },
    expectedVersion: null,
    now: T0 + 20 * 60_000,
  });
  assertEquals([bounded.anchor, bounded.nextRunAt], [T0, T0 + HOUR]);
  const changed = apply(bounded, {
    type: "UpdateTask",
    settings: {},
    schedule: { expression: "7200" },
    expectedVersion: null,
    now: T0 + 30 * 60_000,
  });
  assertEquals([changed.anchor, changed.nextRunAt], [
    T0 + 30 * 60_000,
    T0 + 30 * 60_000 + 2 * HOUR,
  ]);
});

Deno.test("init never sets the next run at or before an occurrence that already ran", () => {
  const ran = complete(created({ startAt: T0 }), T0 + HOUR + 5);
  const init = apply(ran, { type: "InitSchedule", from: T0, now: T0 + HOUR + 10 });
  assertEquals(init.nextRunAt, T0 + 2 * HOUR);
});

Deno.test("complete without a new calculation leaves nothing due", () => {
  const task = created({ startAt: T0 });
  const done = apply(task, {
    type: "CompleteOccurrence",
    runId: "r",
    scheduledFor: null,
    success: true,
    result: null,
    error: null,
    calculateNextRun: false,
    now: T0 + HOUR,
  });
  assertEquals([done.nextRunAt, done.lastScheduledFor], [null, T0 + HOUR]);
});
