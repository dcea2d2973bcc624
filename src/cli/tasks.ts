/** `tasks …`: create, read, change, list, run and delete tasks through the service's JSON-RPC. */
import { runEvents, runReplay } from "./audit.ts";
import { type CallSpec, type CliOptions, PAGE_OPTIONS, runCall, USER_OPTION } from "./command.ts";
import { groupUsage, runGroup, type Subcommand } from "./common.ts";
import {
  printFields,
  printRecord,
  printTable,
  printTaskPage,
  recordsAt,
  RUN_COLUMNS,
} from "./output.ts";
import { isRecord } from "./rpc_client.ts";
import { runScheduled } from "./scheduled.ts";

/** The options that set a task's schedule (tasks create and tasks update). */
const SCHEDULE_OPTIONS: CliOptions = {
  type: {
    param: "schedule_type",
    kind: "text",
    short: "t",
    placeholder: "TYPE",
    help: "once | interval | cron | daily | weekly | monthly | rrule",
  },
  expression: {
    param: "schedule_expression",
    kind: "text",
    short: "e",
    placeholder: "EXPR",
    help: 'e.g. "0 9 * * 1-5", "PT15M", "09:00,17:30"',
  },
  timezone: {
    param: "schedule_timezone",
    kind: "text",
    short: "z",
    placeholder: "ZONE",
    help: "IANA zone the schedule's local times are read in (default UTC)",
  },
  "start-at": {
    param: "schedule_start_at",
    kind: "text",
    placeholder: "ISO",
    help: "no run before this instant",
  },
  "end-at": {
    param: "schedule_end_at",
    kind: "text",
    placeholder: "ISO",
    help: "no run after this instant",
  },
  "max-runs": { param: "max_runs", kind: "int", placeholder: "N", help: "no more runs than this" },
  gap: {
    param: "dst_policy.gap",
    kind: "text",
    placeholder: "shift|skip",
    help: "a local time that a DST gap removes",
  },
  repeat: {
    param: "dst_policy.repeat",
    kind: "text",
    placeholder: "first|both|last",
    help: "a local time that a DST fold repeats",
  },
  enable: {
    param: "schedule_enabled",
    kind: "flag",
    value: true,
    help: "the schedule fires, as it does by default",
  },
  disable: {
    param: "schedule_enabled",
    kind: "flag",
    value: false,
    help: "keep the schedule but do not fire it",
  },
};

/** The options that set what a task does and how (tasks create and tasks update). */
const SETTINGS_OPTIONS: CliOptions = {
  "parent-id": {
    param: "parent_id",
    kind: "text",
    placeholder: "ID",
    help: "make it a child of this task",
  },
  inputs: {
    param: "inputs",
    kind: "json",
    placeholder: "JSON",
    help: "what each run gets, e.g. '{\"a\":1}'",
  },
  executor: {
    param: "executor",
    kind: "json",
    placeholder: "JSON",
    help: 'what a run does, e.g. \'{"type":"http","url":"https://…"}\' (default echo)',
  },
  priority: {
    param: "priority",
    kind: "int",
    placeholder: "N",
    help: "lower runs first among ready siblings",
  },
  dependencies: {
    param: "dependencies",
    kind: "json",
    placeholder: "JSON",
    help: 'sibling tasks to run first, e.g. \'[{"id":"extract","required":true}]\'',
  },
  overlap: {
    param: "overlap_policy",
    kind: "text",
    placeholder: "POLICY",
    help: "skip | allow | queue | cancel_previous: a run due while one is running",
  },
  catchup: {
    param: "catchup_policy",
    kind: "text",
    placeholder: "POLICY",
    help: "latest | none | all: runs missed while the service was down",
  },
  "catchup-window": {
    param: "catchup_window_s",
    kind: "int",
    placeholder: "S",
    help: "how far back missed runs are caught up, in seconds",
  },
  "jitter-ms": {
    param: "jitter_ms",
    kind: "int",
    placeholder: "MS",
    help: "a fixed offset per occurrence, below this",
  },
  retry: {
    param: "retry",
    kind: "json",
    placeholder: "JSON",
    help: 'e.g. \'{"max_attempts":3,"backoff_ms":1000}\'',
  },
  timeout: {
    param: "timeout_s",
    kind: "int",
    placeholder: "S",
    help: "a run's time limit in seconds",
  },
};

const NAME_OPTION: CliOptions = {
  name: { param: "name", kind: "text", placeholder: "NAME", help: "what the task is called" },
};

const CREATE: CallSpec = {
  name: "tasks create",
  method: "tasks.create",
  taskId: false,
  raw: true,
  description: "Creates a task (tasks.create) and prints it, its next run already computed. " +
    "Without a schedule it runs only when triggered.",
  options: {
    ...NAME_OPTION,
    id: { param: "id", kind: "text", placeholder: "ID", help: "the task id (default: a UUID)" },
    "user-id": {
      param: "user_id",
      kind: "text",
      placeholder: "USER",
      help: "the owner (admins only; default: the token's user)",
    },
    ...SCHEDULE_OPTIONS,
    ...SETTINGS_OPTIONS,
  },
  table: printFields,
};

const GET: CallSpec = {
  name: "tasks get",
  method: "tasks.get",
  taskId: true,
  raw: false,
  description: "Prints a task (tasks.get).",
  options: {},
  table: printFields,
};

const UPDATE: CallSpec = {
  name: "tasks update",
  method: "tasks.update",
  taskId: true,
  raw: true,
  description: "Changes the fields given (tasks.update) and prints the task; a changed or " +
    "re-enabled schedule gets a new next run.",
  options: {
    ...NAME_OPTION,
    ...SCHEDULE_OPTIONS,
    "remove-schedule": {
      param: "schedule_type",
      kind: "flag",
      value: null,
      help: "the task no longer has a schedule",
    },
    ...SETTINGS_OPTIONS,
    version: {
      param: "version",
      kind: "int",
      placeholder: "N",
      help: "refuse (conflict) unless the task is still at this version",
    },
  },
  table: printFields,
};

const DELETE: CallSpec = {
  name: "tasks delete",
  method: "tasks.delete",
  taskId: true,
  raw: false,
  description: "Deletes a task (tasks.delete): it stops and leaves every query; its log stays.",
  options: {},
  table: (_result, command) => {
    console.log(`deleted task ${command.params.task_id}`);
  },
};

const LIST: CallSpec = {
  name: "tasks list",
  method: "tasks.list",
  taskId: false,
  raw: true,
  description: "Lists tasks, newest first (tasks.list).",
  options: {
    ...USER_OPTION,
    status: {
      param: "status",
      kind: "text",
      placeholder: "STATUS",
      help: "pending | in_progress | completed | failed | cancelled",
    },
    "parent-id": {
      param: "parent_id",
      kind: "text",
      placeholder: "ID",
      help: "the children of this task",
    },
    ...PAGE_OPTIONS,
  },
  table: printTaskPage,
};

const RUNS: CallSpec = {
  name: "tasks runs",
  method: "tasks.runs",
  taskId: true,
  raw: true,
  description: "Prints a task's runs, the latest occurrence first (tasks.runs).",
  options: {
    limit: { param: "limit", kind: "int", placeholder: "N", help: "at most this many (100)" },
    before: {
      param: "before",
      kind: "text",
      placeholder: "ISO",
      help: "only runs of occurrences before this instant (to page on)",
    },
  },
  table(result) {
    const runs = recordsAt(result, "runs");
    if (runs === null) return "the service sent an unexpected tasks.runs reply";
    if (runs.length === 0) {
      console.log("no runs");
      return;
    }
    printTable(runs, RUN_COLUMNS);
    const next = isRecord(result) ? result.next_before : null;
    if (typeof next === "string") console.log(`older runs: --before ${next}`);
  },
};

const TRIGGER: CallSpec = {
  name: "tasks trigger",
  method: "tasks.trigger",
  taskId: true,
  raw: true,
  description: "Runs a task now under its overlap policy (tasks.trigger) and prints the run. " +
    "With --wait it waits for the run to end and exits 1 unless the run succeeded.",
  options: {
    wait: { param: "wait", kind: "flag", help: "wait for the run to finish" },
    "wait-timeout": {
      param: "wait_timeout_s",
      kind: "int",
      placeholder: "S",
      help: "wait at most this long, in seconds (default 60, at most 300)",
    },
  },
  table(result) {
    if (!isRecord(result)) return "the service sent an unexpected tasks.trigger reply";
    printRecord(
      isRecord(result.run)
        ? result.run
        : { run_id: result.run_id, status: result.status, finished: result.finished },
    );
  },
  outcome(result, command) {
    if (!isRecord(result)) return null;
    const { run_id: runId, status, finished } = result;
    const error = isRecord(result.run) && typeof result.run.error === "string"
      ? `: ${result.run.error}`
      : "";
    if (finished === true && status !== "succeeded") return `run ${runId} ended ${status}${error}`;
    if (finished !== true && command.params.wait === true) {
      const waited = command.params.wait_timeout_s ?? 60;
      return `run ${runId} did not finish within ${waited} s (status ${status})`;
    }
    return null;
  },
};

const COMMANDS: readonly Subcommand[] = [
  { name: "create", summary: "create a task", run: (args) => runCall(CREATE, args) },
  { name: "get", summary: "print a task", run: (args) => runCall(GET, args) },
  { name: "update", summary: "change a task", run: (args) => runCall(UPDATE, args) },
  { name: "delete", summary: "delete a task", run: (args) => runCall(DELETE, args) },
  { name: "list", summary: "list tasks", run: (args) => runCall(LIST, args) },
  { name: "runs", summary: "a task's run history", run: (args) => runCall(RUNS, args) },
  { name: "trigger", summary: "run a task now", run: (args) => runCall(TRIGGER, args) },
  { name: "events", summary: "a task's audit log, oldest first", run: runEvents },
  {
    name: "replay",
    summary: "a task rebuilt as of a stream version or an instant",
    run: runReplay,
  },
  {
    name: "scheduled",
    summary: "due tasks; init and complete occurrences run elsewhere",
    run: runScheduled,
  },
];

/** The help of `tasks`. */
export const TASKS_USAGE = groupUsage(
  "tasks",
  "Tasks of a running service, through its JSON-RPC methods (tasks.*).",
  COMMANDS,
);

/** `tasks <command> …`. */
export function runTasks(args: string[]): Promise<number> {
  return runGroup("tasks", args, { usage: TASKS_USAGE, commands: COMMANDS });
}
