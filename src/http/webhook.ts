/**
 * `POST /webhook/trigger/:task_id[?async=false]` (SPEC §4–§5): a run of the task started by an
 * outside system. Authentication, in order: a JWT (`Authorization: Bearer`, HS256 with
 * CHRONOLOG_JWT_SECRET), a verify hook an embedding program registers, or an HMAC signature
 * (`X-Webhook-Timestamp`, `X-Webhook-Signature` = hex HMAC-SHA256(secret, "{timestamp}.{body}"),
 * 300 s tolerance, a signature seen before is a replay). Then the IP allow-list and a per-IP
 * rate limit. Nothing starts unless every check passes.
 */
import type { Context, Hono } from "hono";
import ipaddr from "ipaddr.js";
import { isDomainError } from "../domain/errors.ts";
import type { Scheduler } from "../runtime/firing.ts";
import { type Authenticator, type Caller, OPERATOR } from "./auth.ts";
import { triggerWire } from "./methods/runtime.ts";
import { TaskId } from "./methods/tasks.ts";
import { BODY_TIMEOUT_MS, problem, readBody, refusalReply } from "./request.ts";
import type { AppEnv } from "./rest.ts";

/** How far a signed request's timestamp may be from now (SPEC §5). */
export const SIGNATURE_TOLERANCE_S = 300;
/** The longest a synchronous webhook waits for its run (5 minutes). */
const SYNC_WAIT_MS = 300_000;
/** The largest webhook body read, in bytes. */
const MAX_WEBHOOK_BODY = 64 * 1024;

/** A check an embedding program registers: true accepts the request. */
export type WebhookVerifier = (request: Request) => boolean | Promise<boolean>;

/** What the webhook route needs. */
export interface WebhookOptions {
  scheduler: Scheduler;
  /** HMAC secret (CHRONOLOG_WEBHOOK_SECRET); null: signatures are not accepted. */
  secret: string | null;
  /** Verifies JWTs (CHRONOLOG_JWT_SECRET); without a secret, JWTs are not accepted here. */
  authenticator: Authenticator;
  /** Whether the caller may trigger the task: a user only their own (else 404). */
  owns(caller: Caller, taskId: string): Promise<boolean>;
  /** How long a client may take to send its body (default BODY_TIMEOUT_MS). */
  bodyTimeoutMs?: number;
  /** CIDR ranges or addresses allowed to call; empty allows every address. */
  allowedIps: readonly string[];
  /** Requests per minute per client address. */
  rateLimit: number;
  verify?: WebhookVerifier;
  /** The clock (epoch ms). */
  clock?: () => number;
}

/** Adds the webhook route to the app. */
export function addWebhookRoute(app: Hono<AppEnv>, options: WebhookOptions): void {
  const clock = options.clock ?? Date.now;
  const ranges = options.allowedIps.map(parseRange);
  const seen = new Map<string, number>();
  const windows = new Map<string, { start: number; count: number }>();
  const hmacKey = options.secret === null ? null : importHmacKey(options.secret);
  const limits = {
    maxBytes: MAX_WEBHOOK_BODY,
    timeoutMs: options.bodyTimeoutMs ?? BODY_TIMEOUT_MS,
  };

  app.post("/webhook/trigger/:task_id", async (c) => {
    const now = clock();
    const body = await readBody(c, limits);
    if (!(body instanceof Uint8Array)) {
      const { status, code, message } = refusalReply(body, limits);
      return problem(c, status, code, message);
    }
    const caller = await authenticate(c.req.raw, body, now);
    if (typeof caller === "string") return problem(c, 401, "unauthorized", caller);

    const address = clientAddress(c);
    if (ranges.length > 0 && !ranges.some((range) => inRange(address, range))) {
      return problem(c, 403, "forbidden", "This address may not call webhooks");
    }
    const limited = rateLimited(address, now);
    if (limited !== null) {
      c.header("Retry-After", String(limited));
      return problem(c, 429, "rate_limited", "Too many webhook requests from this address");
    }

    const taskId = c.req.param("task_id");
    // An id no task can have (NUL, 200 characters…) is simply not found.
    if (!TaskId.safeParse(taskId).success || !await options.owns(caller, taskId)) {
      return problem(c, 404, "not_found", "No such task", "task_id");
    }
    const wait = c.req.query("async") === "false";
    const triggered = await options.scheduler.trigger(taskId, {
      trigger: "webhook",
      waitMs: wait ? SYNC_WAIT_MS : 0,
      metadata: {
        actor: caller.user ?? "webhook",
        requestId: c.req.header("x-request-id") ?? null,
        causation: "webhook",
      },
    });
    if (isDomainError(triggered)) {
      const status = triggered.code === "not_found" ? 404 : 409;
      return problem(c, status, triggered.code, triggered.message);
    }
    return c.json(triggerWire(triggered), wait ? 200 : 202);
  });

  /**
   * The caller when a method of the chain accepts the request (a JWT's user; the operator for
   * a verify hook or a signature, which prove the shared secret), else why it was refused.
   */
  async function authenticate(
    request: Request,
    body: Uint8Array,
    now: number,
  ): Promise<Caller | string> {
    const authorization = request.headers.get("authorization");
    if (options.authenticator.required && authorization?.startsWith("Bearer ")) {
      const caller = await options.authenticator.authenticate(authorization);
      return isDomainError(caller) ? caller.message : caller;
    }
    if (options.verify !== undefined) {
      // The body was read already: the hook gets a request of its own over the same bytes.
      const copy = new Request(request.url, {
        method: request.method,
        headers: request.headers,
        body: body.length === 0 ? null : body.slice(),
      });
      if (await options.verify(copy)) return OPERATOR;
    }
    const timestamp = request.headers.get("x-webhook-timestamp");
    const signature = request.headers.get("x-webhook-signature");
    if (hmacKey === null || timestamp === null || signature === null) {
      return "The request is not signed (X-Webhook-Timestamp and X-Webhook-Signature)";
    }
    if (
      !/^\d{1,12}$/.test(timestamp) ||
      Math.abs(now / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_S
    ) {
      return `The signature's timestamp is more than ${SIGNATURE_TOLERANCE_S} s from now`;
    }
    const mac = parseHex(signature);
    if (mac === null) return "The signature is not valid";
    const signed = concat(new TextEncoder().encode(`${timestamp}.`), body);
    // crypto.subtle.verify compares in constant time.
    if (!await crypto.subtle.verify("HMAC", await hmacKey, mac, signed)) {
      return "The signature is not valid";
    }
    for (const [key, expires] of seen) if (expires < now) seen.delete(key);
    if (seen.has(signature)) return "The signed request was already received (replay)";
    seen.set(signature, now + 2 * SIGNATURE_TOLERANCE_S * 1000);
    return OPERATOR;
  }

  /** Null when under the limit, else the seconds until the window resets. */
  function rateLimited(address: string, now: number): number | null {
    const window = windows.get(address);
    if (window === undefined || now - window.start >= 60_000) {
      if (windows.size > 100_000) windows.clear();
      windows.set(address, { start: now, count: 1 });
      return null;
    }
    window.count++;
    if (window.count <= options.rateLimit) return null;
    return Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000));
  }
}

function importHmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
}

function parseHex(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[0-9a-f]{64}$/.test(text)) return null;
  return Uint8Array.from(text.match(/../g)!, (pair) => parseInt(pair, 16));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseRange(text: string): Range {
  return text.includes("/") ? ipaddr.parseCIDR(text) : (() => {
    const address = ipaddr.parse(text);
    return [address, address.kind() === "ipv4" ? 32 : 128] as Range;
  })();
}

function inRange(address: string, range: Range): boolean {
  if (!ipaddr.isValid(address)) return false;
  // An IPv4 client seen through an IPv6 socket (::ffff:10.0.0.1) matches IPv4 ranges.
  const parsed = ipaddr.process(address);
  return parsed.kind() === range[0].kind() && parsed.match(range);
}

function clientAddress(c: Context): string {
  const info = c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined;
  return info?.remoteAddr?.hostname ?? "";
}
