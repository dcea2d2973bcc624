/**
 * `scheduler …`: the service itself (start it in the foreground; its scheduler's status, pause
 * and resume), the list of scheduled tasks, and ways to hand schedules to other systems.
 */
import manifest from "../../deno.json" with { type: "json" };
import {
  type CallSpec,
  PAGE_OPTIONS,
  runCall,
  SCHEDULE_TYPE_OPTION,
  USER_OPTION,
} from "./command.ts";
import {
  describeError,
  failure,
  groupUsage,
  parseCommand,
  runGroup,
  type Subcommand,
} from "./common.ts";
import { runExportIcal, runK8sCronJob } from "./exports.ts";
import { printFields, printTaskPage } from "./output.ts";
import { runWebhookUrl } from "./webhook_url.ts";

/** The project folder: `deno task start` runs there. */
const ROOT = new URL("../../", import.meta.url);

const STATUS: CallSpec = {
  name: "scheduler status",
  method: "scheduler.status",
  taskId: false,
  raw: false,
  description: "Prints the scheduler's state (running, paused…), its counters and the firing " +
    "lateness in the service process that answers (scheduler.status).",
  options: {},
  table: printFields,
};

const PAUSE: CallSpec = {
  ...STATUS,
  name: "scheduler pause",
  method: "scheduler.pause",
  description: "Stops firing (scheduler.pause; admins only): runs in flight go on, due " +
    "occurrences wait for resume. Prints the status.",
};

const RESUME: CallSpec = {
  ...STATUS,
  name: "scheduler resume",
  method: "scheduler.resume",
  description: "Fires again (scheduler.resume; admins only): what fell due while paused meets " +
    "each task's catch-up policy. Prints the status.",
};

const LIST: CallSpec = {
  name: "scheduler list",
  method: "tasks.scheduled.list",
  taskId: false,
  raw: true,
  description: "Lists the tasks that have a schedule, enabled ones unless --include-disabled " +
    "(tasks.scheduled.list).",
  options: {
    "include-disabled": {
      param: "enabled_only",
      kind: "flag",
      value: false,
      help: "disabled schedules too",
    },
    ...USER_OPTION,
    ...SCHEDULE_TYPE_OPTION,
    status: {
      param: "status",
      kind: "text",
      placeholder: "STATUS",
      help: "pending | in_progress | completed | failed | cancelled",
    },
    ...PAGE_OPTIONS,
  },
  table: printTaskPage,
};

/** The help of `scheduler start`. */
const START_USAGE = `Usage: deno task cli scheduler start [options]

Runs the service in the foreground, exactly as deno task start does: main.ts with the
permissions of that task, in the project folder, configured by the environment (PORT, HOST,
DATABASE_URL, CHRONOLOG_…; see README.md). It runs the deno on PATH. SIGINT and SIGTERM are passed
on, so the service drains its runs and stops; the exit code is the service's.

Options:
  -h, --help  this text`;

/** `scheduler start`: the service in the foreground; returns its exit code. */
export async function runStart(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { help: { type: "boolean", short: "h" } }, {
    usage: START_USAGE,
    positionals: false,
  });
  if (typeof parsed === "number") return parsed;
  // The task is "deno run <permissions> main.ts"; deno itself is the program to run.
  const [program, ...startArgs] = manifest.tasks.start.split(/\s+/);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, { args: startArgs, cwd: ROOT, stdin: "inherit" }).spawn();
  } catch (error) {
    return failure(`cannot start the service: ${describeError(error)}`);
  }
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  // A terminal's Ctrl+C reaches both processes; the service ignores the second one.
  const forwarders = signals.map((signal) => {
    const forward = () => {
      try {
        child.kill(signal);
      } catch {
        // It has exited already.
      }
    };
    Deno.addSignalListener(signal, forward);
    return () => Deno.removeSignalListener(signal, forward);
  });
  const status = await child.status;
  for (const remove of forwarders) remove();
  return status.code;
}

const COMMANDS: readonly Subcommand[] = [
  { name: "start", summary: "run the service in the foreground", run: runStart },
  { name: "status", summary: "the scheduler's state and counters", run: (a) => runCall(STATUS, a) },
  { name: "pause", summary: "stop firing (admins)", run: (args) => runCall(PAUSE, args) },
  { name: "resume", summary: "fire again (admins)", run: (args) => runCall(RESUME, args) },
  { name: "list", summary: "the tasks that have a schedule", run: (args) => runCall(LIST, args) },
  {
    name: "webhook-url",
    summary: "the URL and a signed curl command that trigger a task",
    run: runWebhookUrl,
  },
  { name: "export-ical", summary: "the schedules as an iCalendar file", run: runExportIcal },
  {
    name: "k8s-cronjob",
    summary: "a Kubernetes CronJob manifest that triggers a task",
    run: runK8sCronJob,
  },
];

/** The help of `scheduler`. */
export const SCHEDULER_USAGE = groupUsage(
  "scheduler",
  "The service and its scheduler: start it, see and steer its firing, list the scheduled tasks, " +
    "and hand schedules to other systems (webhooks, iCalendar, Kubernetes).",
  COMMANDS,
);

/** `scheduler <command> …`. */
export function runScheduler(args: string[]): Promise<number> {
  return runGroup("scheduler", args, { usage: SCHEDULER_USAGE, commands: COMMANDS });
}
