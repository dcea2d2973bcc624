/**
 * Task trees (SPEC §2): a run of a task with children resets every child to pending, runs them
 * in dependency order (the ready ones by priority, lowest value first, then id), skips a child
 * whose required dependency did not complete, and then runs the root's own executor. The root's
 * one run record holds every child's outcome; each child's status and result are recorded in
 * its own stream (TaskReset, TreeStepRecorded), so the tree's progress is in the log.
 */
import { isDomainError } from "../../domain/errors.ts";
import type { JsonValue, TaskCommand, TaskState } from "../../domain/task.ts";
import type { EventMetadata, EventStore } from "../../store/event_store.ts";
import type { TaskActors } from "../actors.ts";
import type { RunContext, RunOutcome } from "./mod.ts";

/** What a tree run needs from the runtime. */
export interface TreeOptions {
  store: EventStore;
  actors: TaskActors;
  /** Runs one task's own executor. */
  execute: (task: TaskState, context: RunContext) => Promise<RunOutcome>;
}

/** One child's outcome in the root's run record. */
interface StepOutcome {
  task_id: string;
  status: "completed" | "failed" | "cancelled";
  result: JsonValue;
  error: string | null;
}

/** The most children a tree runs (one page of the parent index). */
const MAX_CHILDREN = 1000;

/** Runs a tree rooted at `root` and returns the root's outcome. */
export async function runTree(
  root: TaskState,
  context: RunContext,
  options: TreeOptions,
): Promise<RunOutcome> {
  const steps = await runChildren(root, context, options);
  const failed = steps.filter((step) => step.status !== "completed");
  const children = steps as unknown as JsonValue;
  if (failed.length > 0) {
    return {
      ok: false,
      error: `${failed.length} of ${steps.length} children did not complete: ${
        failed.map((step) => `${step.task_id} (${step.error ?? step.status})`).join("; ")
      }`,
    };
  }
  const own = await options.execute(root, context);
  return own.ok ? { ok: true, result: { result: own.result, children } } : own;
}

async function runChildren(
  parent: TaskState,
  context: RunContext,
  options: TreeOptions,
): Promise<StepOutcome[]> {
  const { tasks: children } = await options.store.queryTasks({
    parentId: parent.id,
    limit: MAX_CHILDREN,
    offset: 0,
  });
  const metadata: EventMetadata = {
    actor: "scheduler",
    requestId: null,
    causation: `tree run ${context.runId}`,
  };
  const record = (id: string, build: (now: number) => TaskCommand) =>
    options.actors.execute(id, build, metadata);
  for (const child of children) {
    await record(child.id, (now) => ({ type: "ResetForTree", rootRunId: context.runId, now }));
  }
  const outcomes = new Map<string, StepOutcome>();
  const siblings = new Map(children.map((child) => [child.id, child]));
  const remaining = new Set(siblings.keys());
  while (remaining.size > 0) {
    const ready = [...remaining].map((id) => siblings.get(id)!)
      .filter((child) =>
        child.dependencies.every((dependency) =>
          !siblings.has(dependency.id) || outcomes.has(dependency.id)
        )
      )
      .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : 1));
    // A dependency cycle among siblings (refused at update, possible only in old data).
    const batch = ready.length > 0 ? ready : [siblings.get([...remaining][0])!];
    for (const child of batch) {
      remaining.delete(child.id);
      const step = await runStep(child, { context, outcomes, siblings, options });
      outcomes.set(child.id, step);
      await record(child.id, (now) => ({
        type: "RecordTreeStep",
        rootRunId: context.runId,
        status: step.status,
        result: step.result,
        error: step.error,
        now,
      }));
    }
  }
  return children.map((child) => outcomes.get(child.id)!);
}

async function runStep(
  child: TaskState,
  scope: {
    context: RunContext;
    outcomes: Map<string, StepOutcome>;
    siblings: Map<string, TaskState>;
    options: TreeOptions;
  },
): Promise<StepOutcome> {
  const { context, outcomes, siblings, options } = scope;
  const base = { task_id: child.id, result: null };
  for (const dependency of child.dependencies.filter((d) => d.required)) {
    const sibling = outcomes.get(dependency.id);
    const status = sibling?.status ??
      (siblings.has(dependency.id) ? "cancelled" : await statusOf(dependency.id, options));
    if (status !== "completed") {
      return {
        ...base,
        status: "cancelled",
        error: `required dependency ${dependency.id} did not complete (${status})`,
      };
    }
  }
  if (context.signal.aborted) {
    return { ...base, status: "cancelled", error: "the run was aborted" };
  }
  // Each child's request carries its own idempotency key, the same on every retry of the run.
  const childContext = {
    ...context,
    taskId: child.id,
    runId: `${context.runId}/${child.id}`,
    inputs: child.inputs,
  };
  const hasChildren = options.actors.hasChildren(child.id);
  const outcome = hasChildren
    ? await runTree(child, childContext, options)
    : await options.execute(child, childContext);
  return outcome.ok
    ? { ...base, status: "completed", result: outcome.result, error: null }
    : { ...base, status: "failed", error: outcome.error };
}

async function statusOf(id: string, options: TreeOptions): Promise<string> {
  const task = await options.store.loadTask(id);
  if (task === null || isDomainError(task) || task.deletedAt !== null) return "missing";
  return task.status;
}
