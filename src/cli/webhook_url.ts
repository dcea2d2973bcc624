/**
 * `scheduler webhook-url <task_id>`: how an outside system triggers a task (SPEC §4–§5), with a
 * curl command signed now. It does not ask the service.
 */
import { type CommandSpec, parseServiceCommand } from "./command.ts";
import { wrap } from "./common.ts";
import { printJson } from "./output.ts";
import { hmacHex } from "../runtime/executors/http.ts";

/** Where the values of the table start. */
const LABEL_WIDTH = 11;
/** How long the service accepts a signature after its timestamp (SPEC §5). */
const SIGNATURE_TOLERANCE_S = 300;

const SPEC: CommandSpec = {
  name: "scheduler webhook-url",
  taskId: true,
  raw: false,
  token: false,
  exitCodes: "Exit codes: 0 success, 2 usage error.",
  description: "Prints how an outside system triggers the task: the webhook URL, its method " +
    "(POST) and a ready curl command signed now with CHRONOLOG_WEBHOOK_SECRET from this " +
    "environment (X-Webhook-Timestamp, and X-Webhook-Signature = hex HMAC-SHA256 over " +
    '"{timestamp}.{body}"). The service accepts a signature once, within ' +
    `${SIGNATURE_TOLERANCE_S} s of its timestamp. Without the secret it says so and shows a ` +
    "curl command that sends the JWT in CHRONOLOG_TOKEN instead. It does not ask the service; " +
    "-f json prints {url, method, headers, body, curl}.",
  options: {
    body: {
      kind: "text",
      placeholder: "TEXT",
      help: "the request body to sign and send (default {})",
    },
    wait: {
      kind: "flag",
      help: "the URL waits for the run to end (?async=false) and answers 200 with it",
    },
  },
};

/** What to send: every part of the request, and the same as one curl command. */
interface WebhookRequest {
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: string;
  curl: string;
}

/** `scheduler webhook-url <task_id> [--body TEXT] [--wait]`. */
export async function runWebhookUrl(args: string[]): Promise<number> {
  const command = await parseServiceCommand(args, SPEC);
  if (typeof command === "number") return command;
  const taskId = String(command.params.task_id);
  const body = (command.values.body as string | undefined) ?? "{}";
  const url = `${command.client.url}/webhook/trigger/${encodeURIComponent(taskId)}${
    command.values.wait ? "?async=false" : ""
  }`;
  const secret = Deno.env.get("CHRONOLOG_WEBHOOK_SECRET") || null;
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const timestamp = Math.floor(Date.now() / 1000);
  if (secret !== null) {
    headers["X-Webhook-Timestamp"] = String(timestamp);
    headers["X-Webhook-Signature"] = await hmacHex(secret, `${timestamp}.${body}`);
  }
  const request: WebhookRequest = {
    url,
    method: "POST",
    headers,
    body,
    curl: curlCommand(url, headers, body, secret === null),
  };
  const unsigned = "CHRONOLOG_WEBHOOK_SECRET is not set here, so the request is not signed; " +
    "set it to the service's webhook secret, or send a JWT (the curl command reads it from " +
    "CHRONOLOG_TOKEN; a service without CHRONOLOG_JWT_SECRET accepts only signatures)";
  if (command.format === "json") {
    printJson(request);
    if (secret === null) console.error(`chronolog: note: ${unsigned}`);
    return 0;
  }
  const until = new Date((timestamp + SIGNATURE_TOLERANCE_S) * 1000).toISOString();
  const lines: [string, string][] = [
    ["url", url],
    ["method", "POST"],
    ...Object.entries(headers).map(([name, value], index): [string, string] => [
      index === 0 ? "headers" : "",
      `${name}: ${value}`,
    ]),
    ["body", body],
    [
      "signature",
      secret === null ? `none: ${unsigned}` : `valid once, until ${until.replace(".000Z", "Z")}`,
    ],
  ];
  for (const [label, value] of lines) {
    // Only the note is wrapped: the other values are shown exactly as they are sent.
    const text = label === "signature" ? wrap(value, LABEL_WIDTH).join("\n") : value;
    console.log(`${label === "" ? "" : `${label}:`}`.padEnd(LABEL_WIDTH) + text);
  }
  console.log(`\n${request.curl}`);
  return 0;
}

/**
 * The request as a POSIX shell command. `--data-raw` sends the body byte for byte (a leading
 * "@" is not a file name); without a signature the JWT comes from $CHRONOLOG_TOKEN at run time,
 * so no token is ever printed.
 */
function curlCommand(
  url: string,
  headers: Record<string, string>,
  body: string,
  withToken: boolean,
): string {
  const parts = ["curl -sS -X POST", shellQuote(url)];
  for (const [name, value] of Object.entries(headers)) {
    parts.push("-H", shellQuote(`${name}: ${value}`));
  }
  if (withToken) parts.push("-H", '"Authorization: Bearer $CHRONOLOG_TOKEN"');
  parts.push("--data-raw", shellQuote(body));
  return parts.join(" ");
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
