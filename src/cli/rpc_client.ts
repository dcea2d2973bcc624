/** The CLI's JSON-RPC 2.0 client of a running service (SPEC §3), with an optional bearer JWT. */

/** The service the CLI asks when neither `--url` nor CHRONOLOG_URL names one. */
export const DEFAULT_SERVICE_URL = "http://127.0.0.1:8000";

/** How long one call may take before the CLI gives up on the service. */
const CALL_TIMEOUT_MS = 30_000;

/** JSON-RPC's code for a method the service does not have. */
const METHOD_NOT_FOUND = -32601;

/** Why a call has no result. */
export interface CallFailure {
  /** One line for stderr, naming the field at fault when the service named one. */
  failure: string;
  /** True when the service could not be reached or did not answer in time (exit code 3). */
  unreachable: boolean;
  /** The param the service blamed (`data.field`), if any. */
  field: string | null;
}

/** A call's result, or why there is none. */
export type CallOutcome = { result: unknown } | CallFailure;

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

/**
 * The bearer token from `--token`, else CHRONOLOG_TOKEN, trimmed; null when neither is set, and
 * a usage message (which never quotes the token) when it cannot be a JWT.
 */
export function bearerToken(option: string | undefined): string | null | { invalid: string } {
  const source = option === undefined ? "CHRONOLOG_TOKEN" : "--token";
  const token = (option ?? Deno.env.get("CHRONOLOG_TOKEN") ?? "").trim();
  if (token === "") return option === undefined ? null : { invalid: "--token is empty" };
  // A JWT is base64url parts joined by dots; anything else would also be refused by fetch as a
  // header value, in an error message that quotes it.
  return /^[A-Za-z0-9_=+/.-]+$/.test(token)
    ? token
    : { invalid: `${source} is not a JWT (base64url parts joined by dots)` };
}

/** A running service, asked over JSON-RPC; the token is sent and never shown. */
export class ServiceClient {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  readonly #token: string | null;

  constructor(url: string, token: string | null) {
    this.url = url;
    this.#token = token;
  }

  /** Calls one method at `{url}/rpc` and returns its result or why it failed. */
  async call(method: string, params: Record<string, unknown>): Promise<CallOutcome> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    let response: Response;
    try {
      response = await fetch(`${this.url}/rpc`, {
        method: "POST",
        headers,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      return {
        failure: `cannot reach the service at ${this.url}: ${unreachableReason(error)}`,
        unreachable: true,
        field: null,
      };
    }
    let reply: unknown;
    try {
      reply = JSON.parse(await response.text());
    } catch {
      return this.#refused(`answered HTTP ${response.status} without a JSON body`);
    }
    if (isRecord(reply) && isRecord(reply.error)) return this.#rpcError(reply.error, method);
    if (isRecord(reply) && "result" in reply) return { result: reply.result };
    return this.#refused(`answered HTTP ${response.status} without a JSON-RPC reply`);
  }

  #refused(what: string): CallFailure {
    return {
      failure: `the service at ${this.url} ${what}`,
      unreachable: false,
      field: null,
    };
  }

  /** A JSON-RPC error as one line: the field at fault (data.field) and the message. */
  #rpcError(error: Record<string, unknown>, method: string): CallFailure {
    const code = typeof error.code === "number" ? error.code : null;
    const message = typeof error.message === "string" ? error.message : "The call failed";
    const data = isRecord(error.data) ? error.data : {};
    const field = typeof data.field === "string" ? data.field : null;
    // Invalid params already name their field in the message.
    let line = field === null || message.includes(`${field}: `) ? message : `${field}: ${message}`;
    if (code === METHOD_NOT_FOUND) {
      line = `the service at ${this.url} does not offer ${method} (an older version?)`;
    } else if (data.code === "unauthorized" && this.#token === null) {
      line += " (give one with --token or CHRONOLOG_TOKEN)";
    }
    return { failure: line, unreachable: false, field };
  }
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

/** True for a JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
