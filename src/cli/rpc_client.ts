/** The CLI's JSON-RPC 2.0 client of a running service (SPEC §3). */

/** The service the CLI asks when neither `--url` nor CHRONOLOG_URL names one. */
export const DEFAULT_SERVICE_URL = "http://127.0.0.1:8000";

/** How long one call may take before the CLI gives up on the service. */
const CALL_TIMEOUT_MS = 30_000;

/** A call's result, or one line saying why there is none. */
export type CallOutcome = { result: unknown } | { failure: string };

/**
 * The service's base URL from `--url`, else CHRONOLOG_URL, else the default, without a trailing
 * slash; null when it is not an http or https URL.
 */
export function serviceUrl(option: string | undefined): string | null {
  const text = option ?? (Deno.env.get("CHRONOLOG_URL") || DEFAULT_SERVICE_URL);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return url.href.replace(/\/+$/, "");
}

/** Calls one method at `${baseUrl}/rpc` and returns its result or why it failed. */
export async function callMethod(
  baseUrl: string,
  method: string,
  params: Record<string, unknown>,
): Promise<CallOutcome> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (error) {
    return { failure: `cannot reach the service at ${baseUrl}: ${unreachableReason(error)}` };
  }
  let reply: unknown;
  try {
    reply = JSON.parse(await response.text());
  } catch {
    return {
      failure: `the service at ${baseUrl} answered HTTP ${response.status} without a JSON body`,
    };
  }
  if (isRecord(reply) && isRecord(reply.error)) return { failure: rpcErrorLine(reply.error) };
  if (isRecord(reply) && "result" in reply) return { result: reply.result };
  return {
    failure: `the service at ${baseUrl} answered HTTP ${response.status} without a JSON-RPC reply`,
  };
}

/** A JSON-RPC error as one line: the field at fault (data.field) and the message. */
function rpcErrorLine(error: Record<string, unknown>): string {
  const message = typeof error.message === "string" ? error.message : "The call failed";
  const field = isRecord(error.data) && typeof error.data.field === "string"
    ? error.data.field
    : null;
  // Invalid params already name their field in the message.
  return field === null || message.includes(`${field}: `) ? message : `${field}: ${message}`;
}

function unreachableReason(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `no answer within ${CALL_TIMEOUT_MS / 1000} s`;
  }
  // Deno says "fetch failed" and keeps the reason in `cause`, whose message nests the request,
  // the client error and the OS error: the last part says why.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split(": ").at(-1) || message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
