/**
 * The `http` executor (SPEC §2): one request per run, carrying the run as JSON with its
 * idempotency key and, when a signing secret is set, the HMAC signature of SPEC §5, so a target
 * verifies Chronolog's calls with the same function as inbound webhooks.
 */
import type { Executor, JsonValue } from "../../domain/task.ts";
import { describeError } from "../../log.ts";
import {
  fitsResult,
  readCapped,
  type RunContext,
  RunDeadline,
  type RunOutcome,
  truncatedResult,
} from "./mod.ts";

/** What the http executor needs besides the run. */
export interface HttpOptions {
  /** The HMAC key of `X-Webhook-Signature`; no signature headers when null. */
  signingSecret: string | null;
  /** The timeout of an executor without `timeoutS` (a task's `timeout_s`). */
  defaultTimeoutS: number;
  /** The User-Agent header; the executor's own headers override it. */
  userAgent?: string;
}

/** Most characters of an error reply kept in the run's error. */
const ERROR_BODY_CHARS = 200;
/** Enough bytes for ERROR_BODY_CHARS characters of UTF-8. */
const ERROR_BODY_BYTES = ERROR_BODY_CHARS * 4;
const BODILESS_METHODS = new Set(["GET", "HEAD"]);

/** Performs one run as an HTTP request; a 2xx reply succeeds with the reply as the result. */
export async function runHttp(
  executor: Extract<Executor, { type: "http" }>,
  context: RunContext,
  options: HttpOptions,
): Promise<RunOutcome> {
  using deadline = new RunDeadline(context.signal, executor.timeoutS ?? options.defaultTimeoutS);
  const method = executor.method.toUpperCase();
  const body = BODILESS_METHODS.has(method) ? null : JSON.stringify({
    task_id: context.taskId,
    run_id: context.runId,
    scheduled_for: new Date(context.scheduledFor).toISOString(),
    attempt: context.attempt,
    inputs: context.inputs,
  });
  // Checked first because fetch's error would quote the URL, password and all.
  if (!URL.canParse(executor.url)) return { ok: false, error: "HTTP request failed: invalid URL" };
  const headers = await requestHeaders(executor, context, { body, options });
  if (typeof headers === "string") return { ok: false, error: `HTTP request failed: ${headers}` };
  try {
    // Redirects are followed (the fetch default), each within the same deadline. fetch drops
    // Authorization on a cross-origin hop but sends the other headers, signature included; the
    // signature binds the body and timestamp, not the URL, so it stays valid wherever it lands.
    // Credentials in the URL become Basic authorization and are never echoed in errors.
    const response = await fetch(executor.url, {
      method,
      headers,
      body,
      signal: deadline.signal,
    });
    if (!response.ok) return { ok: false, error: await statusError(response, deadline.signal) };
    return { ok: true, result: await replyResult(response, deadline.signal) };
  } catch (error) {
    if (deadline.signal.aborted) return deadline.failure("HTTP request");
    return { ok: false, error: `HTTP request failed: ${fetchFailure(error)}` };
  }
}

/** The request's headers, or why they cannot be sent (naming the header, never its value). */
async function requestHeaders(
  executor: Extract<Executor, { type: "http" }>,
  context: RunContext,
  request: { body: string | null; options: HttpOptions },
): Promise<Headers | string> {
  const { body, options } = request;
  const headers = new Headers();
  if (options.userAgent !== undefined) headers.set("User-Agent", options.userAgent);
  // Validated one by one because fetch's own error would quote the value, which may be a token.
  for (const [name, value] of Object.entries(executor.headers)) {
    try {
      headers.set(name, value);
    } catch {
      return `invalid header ${JSON.stringify(name)}`;
    }
  }
  // Chronolog's headers are set last: a task cannot forge its own key or signature.
  if (body !== null) headers.set("Content-Type", "application/json");
  const scheduledFor = new Date(context.scheduledFor).toISOString();
  headers.set("Idempotency-Key", context.runId);
  headers.set("X-Chronolog-Task-Id", context.taskId);
  headers.set("X-Chronolog-Run-Id", context.runId);
  headers.set("X-Chronolog-Scheduled-For", scheduledFor);
  if (options.signingSecret !== null) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    headers.set("X-Webhook-Timestamp", timestamp);
    headers.set(
      "X-Webhook-Signature",
      await hmacHex(options.signingSecret, `${timestamp}.${body ?? ""}`),
    );
  }
  return headers;
}

/** Lowercase hex HMAC-SHA256 of `message` under `secret` (SPEC §5's webhook signature). */
export async function hmacHex(secret: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A 2xx reply as the run's result: JSON parsed, other text as a string, nothing as null. */
async function replyResult(response: Response, signal: AbortSignal): Promise<JsonValue> {
  if (response.body === null) return null;
  const read = await readCapped(response.body, { overflow: "cancel", signal });
  if (read.truncated) return truncatedResult(read.bytesRead);
  if (read.bytesRead === 0) return null;
  const result = replyValue(new TextDecoder().decode(read.bytes), response.headers);
  // Text under the cap can still outgrow it once escaped as a JSON string.
  return fitsResult(result) ? result : truncatedResult(read.bytesRead);
}

function replyValue(text: string, headers: Headers): JsonValue {
  if (isJsonType(headers.get("Content-Type"))) {
    try {
      return JSON.parse(text);
    } catch {
      // The target did the work and said 2xx; failing the run (and retrying a side effect)
      // for a malformed reply would be worse than keeping the reply as text.
    }
  }
  return text;
}

function isJsonType(contentType: string | null): boolean {
  const mediaType = contentType?.split(";")[0].trim().toLowerCase() ?? "";
  return mediaType === "application/json" || mediaType.endsWith("+json");
}

/** A non-2xx reply as the run's error: the status and the start of the body. */
async function statusError(response: Response, signal: AbortSignal): Promise<string> {
  const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  if (response.body === null) return status;
  const read = await readCapped(response.body, {
    limit: ERROR_BODY_BYTES,
    overflow: "cancel",
    signal,
  });
  const text = Array.from(new TextDecoder().decode(read.bytes).trim())
    .slice(0, ERROR_BODY_CHARS)
    .join("");
  return text === "" ? status : `${status}: ${text}`;
}

/** Why fetch failed: Deno's TypeError says only "fetch failed" and keeps the reason in `cause`. */
function fetchFailure(error: unknown): string {
  let reason = error;
  while (reason instanceof Error && reason.cause !== undefined) reason = reason.cause;
  return describeError(reason);
}
