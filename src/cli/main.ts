/**
 * The command line: a JSON-RPC client of a running service (tasks …, scheduler …), the schedule
 * engine offline (schedule …), and an audit of the event log itself (verify).
 * Exit codes: 0 success, 1 a failure (a refused call, a failed run, an invalid schedule, a
 * mismatch), 2 a usage error, 3 the service cannot be reached.
 */
import { runEvents, runReplay } from "./audit.ts";
import { usageError } from "./common.ts";
import { runScheduleGroup } from "./schedule.ts";
import { runScheduler } from "./scheduler.ts";
import { runTasks } from "./tasks.ts";
import { runVerify } from "./verify.ts";

const USAGE = `Usage: deno task cli <command> [options]

Commands (each explains itself: deno task cli tasks --help, deno task cli tasks create --help):
  tasks create|get|update|delete|list|runs|trigger
                      tasks of a running service
  tasks events|replay a task's audit log, and the task as of a version or an instant
  tasks scheduled due|init|complete
                      for runners that execute occurrences themselves
  scheduler start     run the service in the foreground (as deno task start)
  scheduler status|pause|resume
                      see and steer the service's scheduler
  scheduler list      the tasks that have a schedule
  scheduler webhook-url|export-ical|k8s-cronjob
                      hand a schedule to another system: a signed webhook call, an iCalendar
                      file, a Kubernetes CronJob
  schedule preview|validate
                      a schedule's next instants, or whether it is valid (offline)
  verify              replay the whole log and prove it equals the live state (opens the store)
  events, replay      the same as tasks events, tasks replay

The service: --url URL, else CHRONOLOG_URL, else http://127.0.0.1:8000. A service with
CHRONOLOG_JWT_SECRET wants a JWT: --token JWT, else CHRONOLOG_TOKEN (sent as Authorization:
Bearer, never printed). -f json prints the result as JSON, for scripts.

Exit codes: 0 success, 1 the service refused the call (or the run failed, the schedule is
invalid, the log does not match), 2 usage error, 3 the service cannot be reached.`;

const COMMANDS = new Map<string, (args: string[]) => Promise<number>>([
  ["tasks", runTasks],
  ["scheduler", runScheduler],
  ["schedule", runScheduleGroup],
  ["verify", runVerify],
  ["events", runEvents],
  ["replay", runReplay],
]);

/** Runs the CLI with its arguments and returns the exit code. */
export function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h") {
    console.log(USAGE);
    return Promise.resolve(0);
  }
  if (name === undefined) return Promise.resolve(usageError("a command is required"));
  const command = COMMANDS.get(name);
  if (command === undefined) {
    return Promise.resolve(
      usageError(
        name.startsWith("-")
          ? `a command must come before options, got "${name}"`
          : `unknown command "${name}"`,
      ),
    );
  }
  return command(rest);
}

if (import.meta.main) Deno.exit(await run(Deno.args));
