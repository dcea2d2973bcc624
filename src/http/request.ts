/** Reading requests and writing error replies, shared by the routes of the edge. */
import type { Context } from "hono";

/** How long a client may take to send its body before the request is refused (10 s). */
export const BODY_TIMEOUT_MS = 10_000;

/**
 * The request body, or null when the client did not finish sending it within `timeoutMs` (a
 * slow or stalled client must not hold a request open). A body over the route's bodyLimit
 * rejects, which that middleware turns into 413.
 */
export async function readBody(c: Context, timeoutMs: number): Promise<Uint8Array | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    const body = await Promise.race([c.req.arrayBuffer(), timedOut]);
    return body === null ? null : new Uint8Array(body);
  } finally {
    clearTimeout(timer);
  }
}

/** The body as UTF-8 text, or null as readBody. */
export async function readText(c: Context, timeoutMs: number): Promise<string | null> {
  const body = await readBody(c, timeoutMs);
  return body === null ? null : new TextDecoder().decode(body);
}

/** The status of a refused request: what the routes of the edge answer besides success. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 429 | 503;

/** An error reply in the REST shape: `{error: {code, message, field}}`. */
export function problem(
  c: Context,
  status: ProblemStatus,
  code: string,
  message: string,
  field: string | null = null,
): Response {
  return c.json({ error: { code, message, field } }, status);
}

/** The reply to a client that did not send its body in time. */
export function tooSlow(c: Context, timeoutMs: number): Response {
  c.header("Connection", "close");
  return problem(c, 408, "request_timeout", `The body did not arrive within ${timeoutMs} ms`);
}

/** True for the JSON media types the service reads. */
export function isJsonType(header: string | undefined): boolean {
  const mediaType = header?.split(";")[0].trim().toLowerCase();
  return mediaType === "application/json" || mediaType === "application/json-rpc";
}
