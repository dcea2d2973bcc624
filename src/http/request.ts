/** Reading requests and writing error replies, shared by the routes of the edge. */
import type { Context } from "hono";

/** How long a client may take to send its body before the request is refused (10 s). */
export const BODY_TIMEOUT_MS = 10_000;

/** What a body read may meet instead of the body. */
export type BodyRefusal = "too_large" | "timeout" | "incomplete";

/** The limits of one body read. */
export interface BodyLimits {
  /** The most bytes accepted (413 beyond). */
  maxBytes: number;
  /** How long the whole body may take to arrive (408 beyond). */
  timeoutMs: number;
}

/**
 * Reads the request body within its limits, chunk by chunk, so a client can neither send more
 * than `maxBytes` (a declared Content-Length over it is refused unread) nor hold the request
 * open by trickling or stalling. A body that ends before its Content-Length, or whose
 * connection breaks, is `incomplete`. On any refusal the rest of the body is cancelled and the
 * reply says `Connection: close` (Deno.serve itself offers no way to close the socket).
 */
export async function readBody(c: Context, limits: BodyLimits): Promise<Uint8Array | BodyRefusal> {
  const declared = c.req.header("content-length");
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limits.maxBytes) {
    await c.req.raw.body?.cancel().catch(() => {});
    return "too_large";
  }
  const stream = c.req.raw.body;
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const deadline = Date.now() + limits.timeoutMs;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await beforeDeadline(reader.read(), deadline);
      if (next === null) return refuse(reader, "timeout");
      if (next.done) break;
      size += next.value.length;
      if (size > limits.maxBytes) return refuse(reader, "too_large");
      chunks.push(next.value);
    }
  } catch {
    return refuse(reader, "incomplete");
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

function refuse(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  why: BodyRefusal,
): BodyRefusal {
  reader.cancel().catch(() => {});
  return why;
}

/** The promise's value, or null when `deadline` (epoch ms) passes first. */
async function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The status and message of each refusal, for the routes' own error shapes. */
export function refusalReply(
  why: BodyRefusal,
  limits: BodyLimits,
): { status: 400 | 408 | 413; code: string; message: string } {
  switch (why) {
    case "too_large":
      return {
        status: 413,
        code: "payload_too_large",
        message: `The body exceeds ${limits.maxBytes} bytes`,
      };
    case "timeout":
      return {
        status: 408,
        code: "request_timeout",
        message: `The body did not arrive within ${limits.timeoutMs} ms`,
      };
    case "incomplete":
      return {
        status: 400,
        code: "incomplete_body",
        message: "The body ended before its Content-Length",
      };
  }
}

/** The body as UTF-8 text, or a REST-shaped refusal. */
export async function readText(c: Context, limits: BodyLimits): Promise<string | Response> {
  const body = await readBody(c, limits);
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  const { status, code, message } = refusalReply(body, limits);
  return problem(c, status, code, message);
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
  // A body refused unread leaves the connection in an unknown state: it is not to be reused.
  if (status === 408 || status === 413) c.header("Connection", "close");
  return c.json({ error: { code, message, field } }, status);
}

/** True for the JSON media types the service reads. */
export function isJsonType(header: string | undefined): boolean {
  const mediaType = header?.split(";")[0].trim().toLowerCase();
  return mediaType === "application/json" || mediaType === "application/json-rpc";
}
