/**
 * `scheduler export-ical` and `scheduler k8s-cronjob`: schedules handed to other systems, as an
 * iCalendar file (tasks.scheduled.export-ical) or a Kubernetes CronJob that triggers the task.
 */
import {
  callService,
  type CommandSpec,
  parseServiceCommand,
  SCHEDULE_TYPE_OPTION,
  USER_OPTION,
} from "./command.ts";
import { describeError, failure } from "./common.ts";
import {
  cronJobManifest,
  DEFAULT_IMAGE,
  DEFAULT_SECRET_KEY,
  DEFAULT_SECRET_NAME,
  type TaskWire,
} from "./k8s.ts";
import { printJson } from "./output.ts";
import { isRecord } from "./rpc_client.ts";

const EXPORT_ICAL: CommandSpec & { method: string } = {
  name: "scheduler export-ical",
  method: "tasks.scheduled.export-ical",
  taskId: false,
  raw: true,
  description: "Writes the scheduled tasks as an iCalendar file (tasks.scheduled.export-ical) to " +
    "-o FILE, or to stdout with -o - (the default). -f json prints the result " +
    "({ical_content, task_count}) instead, and still writes FILE when one is given.",
  options: {
    output: {
      kind: "text",
      short: "o",
      placeholder: "FILE|-",
      help: "where the calendar goes (default -: stdout)",
    },
    ...USER_OPTION,
    ...SCHEDULE_TYPE_OPTION,
    "enabled-only": { param: "enabled_only", kind: "flag", help: "only enabled schedules" },
    "include-disabled": {
      param: "enabled_only",
      kind: "flag",
      value: false,
      help: "disabled schedules too",
    },
    limit: { param: "limit", kind: "int", placeholder: "N", help: "at most this many tasks" },
    "calendar-name": {
      param: "calendar_name",
      kind: "text",
      placeholder: "NAME",
      help: "the calendar's name",
    },
    "base-url": {
      param: "base_url",
      kind: "text",
      placeholder: "URL",
      help: "the service's public URL, for links in the events",
    },
  },
};

/** `scheduler export-ical [-o FILE|-] [filters]`. */
export async function runExportIcal(args: string[]): Promise<number> {
  const command = await parseServiceCommand(args, EXPORT_ICAL);
  if (typeof command === "number") return command;
  const called = await callService(command, EXPORT_ICAL);
  if (typeof called === "number") return called;
  const { result } = called;
  if (
    !isRecord(result) || typeof result.ical_content !== "string" ||
    typeof result.task_count !== "number"
  ) {
    return failure("the service sent an unexpected tasks.scheduled.export-ical reply");
  }
  const output = (command.values.output as string | undefined) ?? "-";
  if (output !== "-") {
    try {
      await Deno.writeTextFile(output, result.ical_content);
    } catch (error) {
      return failure(`cannot write ${output}: ${describeError(error)}`);
    }
  }
  if (command.format === "json") printJson(result);
  else if (output === "-") await writeStdout(result.ical_content);
  else console.log(`wrote ${result.task_count} scheduled tasks to ${output}`);
  return 0;
}

const K8S_CRONJOB: CommandSpec & { method: string } = {
  name: "scheduler k8s-cronjob",
  method: "tasks.get",
  taskId: true,
  raw: false,
  description: "Prints a Kubernetes CronJob manifest (YAML) that triggers the task on its own " +
    "schedule through the service's webhook, for running it from a cluster. It reads the task " +
    "with tasks.get; a schedule Kubernetes cannot express is refused with the reason. -f json " +
    "prints {name, yaml}.",
  options: {
    "service-url": {
      kind: "text",
      placeholder: "URL",
      help: "the service as the cluster reaches it (default: the --url the CLI uses)",
    },
    "secret-name": {
      kind: "text",
      placeholder: "NAME",
      help:
        `the Kubernetes Secret holding CHRONOLOG_WEBHOOK_SECRET (default ${DEFAULT_SECRET_NAME})`,
    },
    "secret-key": {
      kind: "text",
      placeholder: "KEY",
      help: `its key in that Secret (default ${DEFAULT_SECRET_KEY})`,
    },
    namespace: { kind: "text", placeholder: "NS", help: "the manifest's namespace" },
    image: {
      kind: "text",
      placeholder: "IMAGE",
      help: `an image with sh, date, curl and openssl (default ${DEFAULT_IMAGE})`,
    },
  },
};

/** `scheduler k8s-cronjob <task_id> [--service-url URL] [--secret-name …]`. */
export async function runK8sCronJob(args: string[]): Promise<number> {
  const command = await parseServiceCommand(args, K8S_CRONJOB);
  if (typeof command === "number") return command;
  const called = await callService(command, K8S_CRONJOB);
  if (typeof called === "number") return called;
  const task = called.result;
  if (!isRecord(task)) return failure("the service sent an unexpected tasks.get reply");
  const values = command.values as Record<string, string | undefined>;
  const manifest = cronJobManifest(task as TaskWire, {
    serviceUrl: values["service-url"] ?? command.client.url,
    secretName: values["secret-name"],
    secretKey: values["secret-key"],
    namespace: values.namespace,
    image: values.image,
  });
  if ("error" in manifest) return failure(manifest.error);
  if (command.format === "json") {
    printJson({ name: manifest.name, yaml: manifest.yaml, notes: manifest.notes });
  } else {
    await writeStdout(manifest.yaml);
    // The caveats are in the manifest's annotations too; said here so nobody misses them.
    for (const note of manifest.notes) console.error(`chronolog: note: ${note}`);
  }
  return 0;
}

/** Writes text to stdout exactly, ending it with a newline when it lacks one. */
async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(/\n$/.test(text) ? text : `${text}\n`);
  const writer = Deno.stdout.writable.getWriter();
  await writer.write(bytes);
  writer.releaseLock();
}
