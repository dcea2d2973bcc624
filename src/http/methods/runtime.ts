/**
 * The runtime's JSON-RPC methods: manual runs, run history, occurrence exceptions, backfill,
 * the queue executor's worker protocol, and the scheduler's lifecycle.
 */
import { z } from "zod";
import { DomainError, isDomainError } from "../../domain/errors.ts";
import type { JsonValue } from "../../domain/task.ts";
import type { Scheduler, SchedulerStatus, TriggeredRun } from "../../runtime/firing.ts";
import type { OccurrenceRecord, TaskService } from "../../runtime/tasks.ts";
import type { RunRecord } from "../../store/event_store.ts";
import type { MethodRegistry } from "../jsonrpc.ts";
import { formatInstant, isoInstant, PageLimit, parseInstant, RunId } from "../wire.ts";
import { boundedJson, metadata, TaskId, taskOrError, TaskResult, text } from "./tasks.ts";

/** What the runtime methods need. */
export interface RuntimeMethodDeps {
  tasks: TaskService;
  scheduler: Scheduler;
}

/** The longest a caller may wait for a triggered run (5 minutes). */
export const MAX_WAIT_S = 300;
/** The longest lease a worker may take (1 hour). */
export const MAX_LEASE_S = 3600;

const RUN_STATUSES = [
  "pending",
  "running",
  "succeeded",
  "failed",
  "timed_out",
  "skipped",
  "cancelled",
] as const;
const TRIGGERS = ["schedule", "catchup", "webhook", "manual"] as const;

const RunResult = z.strictObject({
  run_id: z.string(),
  task_id: z.string(),
  scheduled_for: isoInstant,
  trigger: z.enum(TRIGGERS),
  attempt: z.int(),
  status: z.enum(RUN_STATUSES),
  started_at: isoInstant.nullable(),
  finished_at: isoInstant.nullable(),
  result: z.json(),
  error: z.string().nullable(),
  lateness_ms: z.int().nullable(),
  worker_id: z.string().nullable(),
  lease_expires_at: isoInstant.nullable(),
});

const TriggerParams = z.strictObject({
  task_id: TaskId,
  wait: z.boolean().default(false).describe("Wait for the run to finish"),
  wait_timeout_s: z.int().min(1).max(MAX_WAIT_S).default(60)
    .describe("How long to wait at most"),
});
const TriggerResult = z.strictObject({
  run_id: z.string(),
  status: z.enum(RUN_STATUSES).nullable(),
  finished: z.boolean(),
  run: RunResult.nullable(),
});

const WebhookTriggerParams = z.strictObject({
  task_id: TaskId,
  async_execution: z.boolean().default(true)
    .describe("Reply at once with the run id (true) or wait for the result (false)"),
});

const RunsParams = z.strictObject({
  task_id: TaskId,
  limit: PageLimit,
  before: isoInstant.optional().describe("Only runs of occurrences before this instant"),
});

const OccurrencesParams = z.strictObject({
  task_id: TaskId,
  limit: PageLimit,
});
const OccurrenceResult = z.strictObject({
  scheduled_for: isoInstant,
  decision: z.enum(["fired", "skipped", "missed", "coalesced", "excluded", "shifted"]),
  until: isoInstant.nullable(),
  count: z.int().nullable(),
  run_id: z.string().nullable(),
  trigger: z.enum(TRIGGERS).nullable(),
  detail: z.string().nullable(),
  decided_at: isoInstant,
  version: z.int(),
});

const SkipParams = z.strictObject({ task_id: TaskId, scheduled_for: isoInstant });
const MoveParams = z.strictObject({ task_id: TaskId, scheduled_for: isoInstant, to: isoInstant });

const BackfillParams = z.strictObject({
  task_id: TaskId,
  from: isoInstant,
  to: isoInstant,
  max_runs: z.int().min(1).max(1000).default(100),
  dry_run: z.boolean().default(false),
});
const BackfillResult = z.strictObject({
  occurrences: z.array(isoInstant),
  run_ids: z.array(z.string()),
  dry_run: z.boolean(),
});

const WorkerId = text(256).pipe(z.string().min(1));
const ClaimParams = z.strictObject({
  capability: text(128).pipe(z.string().min(1)),
  worker_id: WorkerId,
  lease_s: z.int().min(1).max(MAX_LEASE_S).default(60),
});
const ClaimResult = z.strictObject({
  run: z.strictObject({
    run_id: z.string(),
    task_id: z.string(),
    scheduled_for: isoInstant,
    attempt: z.int(),
    inputs: z.json(),
    lease_expires_at: isoInstant,
  }).nullable(),
});
const HeartbeatParams = z.strictObject({
  run_id: RunId,
  worker_id: WorkerId,
  lease_s: z.int().min(1).max(MAX_LEASE_S).default(60),
});
const CompleteRunParams = z.strictObject({
  run_id: RunId,
  worker_id: WorkerId,
  success: z.boolean().default(true),
  result: boundedJson("result").optional(),
  error: text(8192).optional(),
});

const StatusResult = z.strictObject({
  state: z.enum(["stopped", "running", "paused", "stopping"]),
  started_at: isoInstant.nullable(),
  instance: z.int().nullable(),
  instances: z.int(),
  tasks_loaded: z.int(),
  timers_armed: z.int(),
  tasks_executed: z.int(),
  succeeded: z.int(),
  failed: z.int(),
  skipped: z.int(),
  active: z.int(),
  lateness_p50_ms: z.number().nullable(),
  lateness_p99_ms: z.number().nullable(),
});

/** Registers the runtime methods. */
export function registerRuntimeMethods(registry: MethodRegistry, deps: RuntimeMethodDeps): void {
  const { tasks, scheduler } = deps;

  registry.register({
    name: "tasks.trigger",
    summary: "Runs a task now under its overlap policy, optionally waiting for the result",
    params: TriggerParams,
    result: TriggerResult,
    async handler(params, ctx) {
      const triggered = await scheduler.trigger(params.task_id, {
        trigger: "manual",
        waitMs: params.wait ? params.wait_timeout_s * 1000 : 0,
        metadata: metadata(ctx, "tasks.trigger"),
      });
      return isDomainError(triggered) ? triggered : triggerWire(triggered);
    },
  });

  registry.register({
    name: "tasks.webhook.trigger",
    summary: "Runs a task as a webhook does: at once (async) or waiting for the result",
    params: WebhookTriggerParams,
    result: TriggerResult,
    async handler(params, ctx) {
      const triggered = await scheduler.trigger(params.task_id, {
        trigger: "webhook",
        waitMs: params.async_execution ? 0 : MAX_WAIT_S * 1000,
        metadata: metadata(ctx, "tasks.webhook.trigger"),
      });
      return isDomainError(triggered) ? triggered : triggerWire(triggered);
    },
  });

  registry.register({
    name: "tasks.runs",
    summary: "A task's run history, latest occurrence first (page on with before)",
    params: RunsParams,
    result: z.strictObject({ runs: z.array(RunResult), next_before: isoInstant.nullable() }),
    async handler(params) {
      const before = params.before === undefined ? null : parseInstant(params.before, "before");
      if (isDomainError(before)) return before;
      const runs = await tasks.runs(params.task_id, { before, limit: params.limit });
      if (isDomainError(runs)) return runs;
      const last = runs.at(-1);
      return {
        runs: runs.map(runWire),
        next_before: runs.length === params.limit && last !== undefined
          ? formatInstant(last.scheduledFor)
          : null,
      };
    },
  });

  registry.register({
    name: "tasks.occurrences",
    summary: "What became of the task's occurrences: fired, skipped, missed, coalesced, …",
    params: OccurrencesParams,
    result: z.strictObject({ occurrences: z.array(OccurrenceResult) }),
    async handler(params) {
      const records = await tasks.occurrences(params.task_id, {
        limit: params.limit,
        scan: Math.max(1000, params.limit * 4),
      });
      if (isDomainError(records)) return records;
      return { occurrences: records.map(occurrenceWire) };
    },
  });

  registry.register({
    name: "tasks.occurrences.skip",
    summary: "Takes one future occurrence out of the task's schedule",
    params: SkipParams,
    result: TaskResult,
    async handler(params, ctx) {
      const at = parseInstant(params.scheduled_for, "scheduled_for");
      if (isDomainError(at)) return at;
      return taskOrError(
        await tasks.excludeOccurrence(params.task_id, at, metadata(ctx, "tasks.occurrences.skip")),
      );
    },
  });

  registry.register({
    name: "tasks.occurrences.move",
    summary: "Moves one future occurrence of the task to another instant",
    params: MoveParams,
    result: TaskResult,
    async handler(params, ctx) {
      const scheduledFor = parseInstant(params.scheduled_for, "scheduled_for");
      if (isDomainError(scheduledFor)) return scheduledFor;
      const to = parseInstant(params.to, "to");
      if (isDomainError(to)) return to;
      return taskOrError(
        await tasks.moveOccurrence(
          params.task_id,
          { scheduledFor, to },
          metadata(ctx, "tasks.occurrences.move"),
        ),
      );
    },
  });

  registry.register({
    name: "tasks.backfill",
    summary: "Runs the occurrences in [from, to] that have no run, oldest first",
    params: BackfillParams,
    result: BackfillResult,
    async handler(params, ctx) {
      const from = parseInstant(params.from, "from");
      if (isDomainError(from)) return from;
      const to = parseInstant(params.to, "to");
      if (isDomainError(to)) return to;
      if (to < from) return new DomainError("invalid_params", "to is before from", "to");
      const filled = await scheduler.backfill(params.task_id, {
        from,
        to,
        maxRuns: params.max_runs,
        dryRun: params.dry_run,
        metadata: metadata(ctx, "tasks.backfill"),
      });
      if (isDomainError(filled)) return filled;
      return {
        occurrences: filled.occurrences.map(formatInstant),
        run_ids: filled.runIds,
        dry_run: params.dry_run,
      };
    },
  });

  registry.register({
    name: "runs.claim",
    summary: "Leases the oldest waiting run of a queue capability to a worker",
    params: ClaimParams,
    result: ClaimResult,
    async handler(params, ctx) {
      const leased = await scheduler.claim({
        capability: params.capability,
        workerId: params.worker_id,
        leaseMs: params.lease_s * 1000,
        // A user's worker takes only runs of that user's tasks.
        ...(ctx.caller.admin ? {} : { userId: ctx.caller.user ?? "" }),
      });
      return {
        run: leased === null ? null : {
          run_id: leased.runId,
          task_id: leased.taskId,
          scheduled_for: formatInstant(leased.scheduledFor),
          attempt: leased.attempt,
          inputs: leased.inputs,
          lease_expires_at: formatInstant(leased.leaseExpiresAt),
        },
      };
    },
  });

  registry.register({
    name: "runs.heartbeat",
    summary: "Extends the worker's lease on a run",
    params: HeartbeatParams,
    result: z.strictObject({ run_id: z.string(), lease_expires_at: isoInstant }),
    async handler(params) {
      const until = await scheduler.heartbeat({
        runId: params.run_id,
        workerId: params.worker_id,
        leaseMs: params.lease_s * 1000,
      });
      if (isDomainError(until)) return until;
      return { run_id: params.run_id, lease_expires_at: formatInstant(until) };
    },
  });

  registry.register({
    name: "runs.complete",
    summary: "Records the outcome of a leased run (the retry policy applies to a failure)",
    params: CompleteRunParams,
    result: RunResult,
    async handler(params, ctx) {
      const run = await scheduler.complete({
        runId: params.run_id,
        workerId: params.worker_id,
        outcome: params.success
          ? { ok: true, result: (params.result ?? null) as JsonValue }
          : { ok: false, error: params.error ?? "The worker reported a failure", timedOut: false },
        metadata: metadata(ctx, "runs.complete"),
      });
      return isDomainError(run) ? run : runWire(run);
    },
  });

  registry.register({
    name: "scheduler.status",
    summary: "The scheduler's state, counters and firing lateness in this process",
    params: z.strictObject({}),
    result: StatusResult,
    handler: () => statusWire(scheduler.status()),
  });

  registry.register({
    name: "scheduler.pause",
    summary: "Stops firing (runs in flight go on); due occurrences wait for resume",
    params: z.strictObject({}),
    result: StatusResult,
    adminOnly: true,
    handler: () => {
      scheduler.pause();
      return statusWire(scheduler.status());
    },
  });

  registry.register({
    name: "scheduler.resume",
    summary: "Fires again; what fell due while paused meets each task's catch-up policy",
    params: z.strictObject({}),
    result: StatusResult,
    adminOnly: true,
    handler: () => {
      scheduler.resume();
      return statusWire(scheduler.status());
    },
  });
}

/** What a trigger started, on the wire (JSON-RPC and the webhook route). */
export function triggerWire(triggered: TriggeredRun): z.input<typeof TriggerResult> {
  return {
    run_id: triggered.runId,
    status: triggered.run?.status ?? null,
    finished: triggered.finished,
    run: triggered.run === null ? null : runWire(triggered.run),
  };
}

/** A run on the wire. */
export function runWire(run: RunRecord): z.input<typeof RunResult> {
  return {
    run_id: run.runId,
    task_id: run.taskId,
    scheduled_for: formatInstant(run.scheduledFor),
    trigger: run.trigger,
    attempt: run.attempt,
    status: run.status,
    started_at: run.startedAt === null ? null : formatInstant(run.startedAt),
    finished_at: run.finishedAt === null ? null : formatInstant(run.finishedAt),
    result: run.result,
    error: run.error,
    lateness_ms: run.latenessMs,
    worker_id: run.workerId,
    lease_expires_at: run.leaseExpiresAt === null ? null : formatInstant(run.leaseExpiresAt),
  };
}

function occurrenceWire(record: OccurrenceRecord): z.input<typeof OccurrenceResult> {
  return {
    scheduled_for: formatInstant(record.scheduledFor),
    decision: record.decision,
    until: record.until === null ? null : formatInstant(record.until),
    count: record.count,
    run_id: record.runId,
    trigger: record.trigger,
    detail: record.detail,
    decided_at: formatInstant(record.decidedAt),
    version: record.version,
  };
}

function statusWire(status: SchedulerStatus): z.input<typeof StatusResult> {
  return {
    state: status.state,
    started_at: status.startedAt === null ? null : formatInstant(status.startedAt),
    instance: status.instance,
    instances: status.instances,
    tasks_loaded: status.tasksLoaded,
    timers_armed: status.timersArmed,
    tasks_executed: status.tasksExecuted,
    succeeded: status.succeeded,
    failed: status.failed,
    skipped: status.skipped,
    active: status.active,
    lateness_p50_ms: status.latenessP50Ms,
    lateness_p99_ms: status.latenessP99Ms,
  };
}
