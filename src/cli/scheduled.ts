/**
 * `tasks scheduled due|init|complete`: for a runner that executes occurrences itself, the APFlow
 * way (tasks.scheduled.due, tasks.scheduled.init, tasks.scheduled.complete).
 */
import { type CallSpec, runCall, USER_OPTION } from "./command.ts";
import { groupUsage, runGroup, type Subcommand } from "./common.ts";
import { printFields, printTable, recordsAt, TASK_COLUMNS } from "./output.ts";
import { isRecord } from "./rpc_client.ts";

const DUE: CallSpec = {
  name: "tasks scheduled due",
  method: "tasks.scheduled.due",
  taskId: false,
  raw: true,
  description: "Lists the enabled tasks whose next run is at or before --before (default: now), " +
    "soonest first (tasks.scheduled.due).",
  options: {
    before: {
      param: "before",
      kind: "text",
      placeholder: "ISO",
      help: "due at or before this instant (default now)",
    },
    ...USER_OPTION,
    limit: { param: "limit", kind: "int", placeholder: "N", help: "at most this many (100)" },
  },
  table(result) {
    const tasks = recordsAt(result, "tasks");
    if (tasks === null || !isRecord(result)) {
      return "the service sent an unexpected tasks.scheduled.due reply";
    }
    if (tasks.length === 0) console.log(`nothing due at or before ${result.before}`);
    else printTable(tasks, TASK_COLUMNS);
  },
};

const INIT: CallSpec = {
  name: "tasks scheduled init",
  method: "tasks.scheduled.init",
  taskId: true,
  raw: true,
  description: "Recomputes a task's next run after --from (default: now) and prints the task " +
    "(tasks.scheduled.init). Create and update already compute it; this is for a reset.",
  options: {
    from: {
      param: "from_time",
      kind: "text",
      placeholder: "ISO",
      help: "the next run comes after this instant (default now)",
    },
  },
  table: printFields,
};

const COMPLETE: CallSpec = {
  name: "tasks scheduled complete",
  method: "tasks.scheduled.complete",
  taskId: true,
  raw: true,
  description: "Records the run of an occurrence executed elsewhere and moves the task to its " +
    "next run (tasks.scheduled.complete); prints the task. Each occurrence completes once.",
  options: {
    failed: { param: "success", kind: "flag", value: false, help: "the run failed" },
    error: { param: "error", kind: "text", placeholder: "TEXT", help: "why it failed" },
    result: { param: "result", kind: "json", placeholder: "JSON", help: "what it produced" },
    "scheduled-for": {
      param: "scheduled_for",
      kind: "text",
      placeholder: "ISO",
      help: "the occurrence that ran (default: the task's next_run_at)",
    },
    "no-next-run": {
      param: "calculate_next_run",
      kind: "flag",
      value: false,
      help: "leave next_run_at as it is",
    },
  },
  table: printFields,
};

const COMMANDS: readonly Subcommand[] = [
  {
    name: "due",
    summary: "tasks due now (or before an instant)",
    run: (args) => runCall(DUE, args),
  },
  {
    name: "init",
    summary: "recompute a task's next run",
    run: (args) => runCall(INIT, args),
  },
  {
    name: "complete",
    summary: "record an occurrence run elsewhere and move to the next",
    run: (args) => runCall(COMPLETE, args),
  },
];

/** The help of `tasks scheduled`. */
export const SCHEDULED_USAGE = groupUsage(
  "tasks scheduled",
  "For a runner that executes occurrences itself: ask what is due, run it, then complete it. " +
    "(The list of scheduled tasks is deno task cli scheduler list.)",
  COMMANDS,
);

/** `tasks scheduled <command> …`. */
export function runScheduled(args: string[]): Promise<number> {
  return runGroup("tasks scheduled", args, { usage: SCHEDULED_USAGE, commands: COMMANDS });
}
