/**
 * The http executor against a real Hono app on a real port: what the target receives (body,
 * idempotency key, signature), how replies become results or errors, the 64 KiB cap, timeouts,
 * aborts and a refused connection.
 */
import { Hono } from "hono";
import { assert, assertEquals, freePort, runContext } from "../../_helpers.ts";
import { runHttp } from "../../../src/runtime/executors/http.ts";
import { MAX_RESULT_BYTES } from "../../../src/runtime/executors/mod.ts";
import type { Executor } from "../../../src/domain/task.ts";

const SECRET = "whsec-test-secret";
const MIB = 1024 * 1024;
const encoder = new TextEncoder();

/** A request as the target saw it. */
interface Received {
  method: string;
  headers: Headers;
  body: string;
}

/**
 * A Hono app served on 127.0.0.1 at a random port; shut down by `await using`. The app is built
 * with a signal aborted at shutdown: Deno's server waits for pending handlers and does not tell
 * them the client left, so a stalling handler must be released by the test.
 */
class Target implements AsyncDisposable {
  readonly url: string;
  readonly received: Received[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #closing = new AbortController();

  constructor(build: (closing: AbortSignal) => Hono) {
    const app = build(this.#closing.signal);
    const recording = new Hono();
    recording.use(async (c, next) => {
      const body = await c.req.text();
      this.received.push({ method: c.req.method, headers: c.req.raw.headers, body });
      await next();
    });
    recording.route("/", app);
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      recording.fetch,
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing.abort();
    await this.#server.shutdown();
  }
}

function httpExecutor(
  url: string,
  overrides: Partial<Extract<Executor, { type: "http" }>> = {},
): Extract<Executor, { type: "http" }> {
  return { type: "http", url, method: "POST", headers: {}, timeoutS: null, ...overrides };
}

const OPTIONS = { signingSecret: SECRET, defaultTimeoutS: 10 };

/** Checks `X-Webhook-Signature` the way a receiver does (SPEC §5), in constant time. */
async function signatureVerifies(received: Received, secret: string): Promise<boolean> {
  const timestamp = received.headers.get("X-Webhook-Timestamp");
  const signature = received.headers.get("X-Webhook-Signature");
  if (timestamp === null || signature === null || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const mac = Uint8Array.from(signature.match(/../g)!, (hex) => parseInt(hex, 16));
  return await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    encoder.encode(`${timestamp}.${received.body}`),
  );
}

/** A target whose /hook answers only when the target shuts down. */
function stalled(closing: AbortSignal): Hono {
  return new Hono().post("/hook", async (c) => {
    await sleep(60_000, closing);
    return c.text("too late");
  });
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** A body of `size` bytes sent in 16 KiB chunks. */
function streamOf(size: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const next = chunk.subarray(0, Math.min(chunk.byteLength, size - sent));
      sent += next.byteLength;
      controller.enqueue(next);
    },
  });
}

Deno.test("an http run posts the run as JSON with its idempotency key and Chronolog headers", async () => {
  await using target = new Target(() =>
    new Hono().post("/hook", (c) => c.json({ accepted: true }))
  );
  const executor = httpExecutor(`${target.url}/hook`, {
    headers: { Authorization: "Bearer abc", "Idempotency-Key": "forged", "X-Custom": "yes" },
  });

  const outcome = await runHttp(executor, runContext(), {
    ...OPTIONS,
    userAgent: "chronolog/test",
  });

  assertEquals(outcome, { ok: true, result: { accepted: true } });
  const [received] = target.received;
  assertEquals(received.method, "POST");
  assertEquals(JSON.parse(received.body), {
    task_id: "task-7",
    run_id: "run-42",
    scheduled_for: "2026-11-22T09:00:00.000Z",
    attempt: 2,
    inputs: { report: "daily", rows: [1, 2, 3] },
  });
  const headers = Object.fromEntries(
    [
      "content-type",
      "idempotency-key",
      "x-chronolog-task-id",
      "x-chronolog-run-id",
      "x-chronolog-scheduled-for",
      "authorization",
      "x-custom",
      "user-agent",
    ].map((name) => [name, received.headers.get(name)]),
  );
  assertEquals(headers, {
    "content-type": "application/json",
    "idempotency-key": "run-42",
    "x-chronolog-task-id": "task-7",
    "x-chronolog-run-id": "run-42",
    "x-chronolog-scheduled-for": "2026-11-22T09:00:00.000Z",
    authorization: "Bearer abc",
    "x-custom": "yes",
    "user-agent": "chronolog/test",
  });
});

Deno.test("the signature verifies with the signing secret and changes with the body", async () => {
  await using target = new Target(() => new Hono().post("/hook", (c) => c.body(null, 204)));
  const executor = httpExecutor(`${target.url}/hook`);

  await runHttp(executor, runContext({ inputs: { n: 1 } }), OPTIONS);
  await runHttp(executor, runContext({ inputs: { n: 2 } }), OPTIONS);

  const [first, second] = target.received;
  assert(await signatureVerifies(first, SECRET), "the first signature verifies");
  assert(await signatureVerifies(second, SECRET), "the second signature verifies");
  assert(!(await signatureVerifies(first, "another-secret")), "another secret does not verify");
  assert(
    !(await signatureVerifies({ ...first, body: second.body }, SECRET)),
    "a signature does not verify another body",
  );
  const timestamp = Number(first.headers.get("X-Webhook-Timestamp"));
  assert(Math.abs(timestamp - Date.now() / 1000) < 60, "the timestamp is now, in unix seconds");
});

Deno.test("without a signing secret no signature headers are sent", async () => {
  await using target = new Target(() => new Hono().post("/hook", (c) => c.body(null, 204)));

  await runHttp(httpExecutor(`${target.url}/hook`), runContext(), {
    ...OPTIONS,
    signingSecret: null,
  });

  const [received] = target.received;
  assertEquals(received.headers.has("X-Webhook-Timestamp"), false);
  assertEquals(received.headers.has("X-Webhook-Signature"), false);
});

Deno.test("a GET run sends no body and signs the empty body", async () => {
  await using target = new Target(() => new Hono().get("/poll", (c) => c.text("polled")));

  const outcome = await runHttp(
    httpExecutor(`${target.url}/poll`, { method: "GET" }),
    runContext(),
    OPTIONS,
  );

  assertEquals(outcome, { ok: true, result: "polled" });
  const [received] = target.received;
  assertEquals([received.method, received.body], ["GET", ""]);
  assertEquals(received.headers.get("Idempotency-Key"), "run-42");
  assertEquals(received.headers.has("Content-Type"), false);
  assert(await signatureVerifies(received, SECRET), "the signature of the empty body verifies");
});

Deno.test("2xx replies become the result by their content type", async (t) => {
  const cases: { name: string; reply: () => Response; result: unknown }[] = [
    {
      name: "JSON is parsed",
      reply: () => Response.json({ rows: 3, ok: true }),
      result: { rows: 3, ok: true },
    },
    {
      name: "a +json media type is parsed",
      reply: () =>
        new Response('{"title":"x"}', { headers: { "Content-Type": "application/problem+json" } }),
      result: { title: "x" },
    },
    {
      name: "text stays text, even when it looks like JSON",
      reply: () => new Response("42", { headers: { "Content-Type": "text/plain" } }),
      result: "42",
    },
    {
      name: "malformed JSON is kept as text",
      reply: () => new Response("{not json", { headers: { "Content-Type": "application/json" } }),
      result: "{not json",
    },
    {
      name: "an empty reply is null",
      reply: () => new Response(null, { status: 204 }),
      result: null,
    },
    {
      name: "an empty 200 is null",
      reply: () => new Response("", { status: 200 }),
      result: null,
    },
  ];
  for (const { name, reply, result } of cases) {
    await t.step(name, async () => {
      await using target = new Target(() => new Hono().post("/hook", () => reply()));
      const outcome = await runHttp(httpExecutor(`${target.url}/hook`), runContext(), OPTIONS);
      assertEquals(outcome, { ok: true, result });
    });
  }
});

Deno.test("a reply over 64 KiB succeeds with a truncation marker instead of the body", async () => {
  await using target = new Target(() =>
    new Hono().post(
      "/hook",
      () => new Response(streamOf(MIB), { headers: { "Content-Type": "application/json" } }),
    )
  );

  const outcome = await runHttp(httpExecutor(`${target.url}/hook`), runContext(), OPTIONS);

  assert(outcome.ok, "a large reply is still a success");
  const result = outcome.result as { truncated: boolean; bytes_read: number; limit: number };
  assertEquals([result.truncated, result.limit], [true, MAX_RESULT_BYTES]);
  assert(result.bytes_read > MAX_RESULT_BYTES, `read past the cap: ${result.bytes_read}`);
  assert(result.bytes_read <= MIB, `read at most the body: ${result.bytes_read}`);
});

Deno.test("an endless reply is cancelled at the cap instead of being buffered", async () => {
  const { promise: cancelled, resolve: onCancel } = Promise.withResolvers<void>();
  const chunk = new Uint8Array(16 * 1024).fill(0x62);
  await using target = new Target(() =>
    new Hono().post("/hook", () =>
      new Response(
        new ReadableStream({ pull: (controller) => controller.enqueue(chunk), cancel: onCancel }),
      ))
  );

  const outcome = await runHttp(httpExecutor(`${target.url}/hook`), runContext(), OPTIONS);

  assert(outcome.ok && (outcome.result as { truncated: boolean }).truncated, "truncated");
  await cancelled;
});

Deno.test("a non-2xx reply fails the run with the status and the start of the body", async () => {
  const body = `overloaded: ${"z".repeat(400)}`;
  await using target = new Target(() => new Hono().post("/hook", (c) => c.text(body, 503)));

  const outcome = await runHttp(httpExecutor(`${target.url}/hook`), runContext(), OPTIONS);

  assertEquals(outcome, {
    ok: false,
    error: `HTTP 503 Service Unavailable: ${body.slice(0, 200)}`,
  });
});

Deno.test("a non-2xx reply without a body fails with the status alone", async () => {
  await using target = new Target(() => new Hono().post("/hook", (c) => c.body(null, 404)));

  const outcome = await runHttp(httpExecutor(`${target.url}/hook`), runContext(), OPTIONS);

  assertEquals(outcome, { ok: false, error: "HTTP 404 Not Found" });
});

Deno.test("a target slower than timeout_s fails the run as timed out", async () => {
  await using target = new Target(stalled);
  const started = performance.now();

  const outcome = await runHttp(
    httpExecutor(`${target.url}/hook`, { timeoutS: 1 }),
    runContext(),
    OPTIONS,
  );

  assertEquals(outcome, { ok: false, error: "HTTP request timed out after 1 s", timedOut: true });
  const elapsed = performance.now() - started;
  assert(elapsed >= 900 && elapsed < 5000, `gave up after about 1 s, not ${elapsed} ms`);
});

Deno.test("the task's timeout applies when the executor sets none", async () => {
  await using target = new Target(stalled);

  const outcome = await runHttp(httpExecutor(`${target.url}/hook`), runContext(), {
    ...OPTIONS,
    defaultTimeoutS: 0.5,
  });

  assertEquals(outcome, { ok: false, error: "HTTP request timed out after 0.5 s", timedOut: true });
});

Deno.test("aborting the run's signal stops the request with the abort reason", async () => {
  await using target = new Target(stalled);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort("the task was cancelled"), 200);

  const outcome = await runHttp(
    httpExecutor(`${target.url}/hook`, { timeoutS: 30 }),
    runContext({ signal: controller.signal }),
    OPTIONS,
  );
  clearTimeout(timer);

  assertEquals(outcome, {
    ok: false,
    error: "The run was aborted: the task was cancelled",
    timedOut: false,
  });
});

Deno.test("a run whose signal is already aborted sends nothing", async () => {
  await using target = new Target(() => new Hono().post("/hook", (c) => c.body(null, 204)));

  const outcome = await runHttp(
    httpExecutor(`${target.url}/hook`),
    runContext({ signal: AbortSignal.abort() }),
    OPTIONS,
  );

  assertEquals(outcome, { ok: false, error: "The run was aborted", timedOut: false });
  assertEquals(target.received.length, 0);
});

Deno.test("a refused connection fails the run without the URL's password or header values", async () => {
  const executor = httpExecutor(`http://chronolog:url-password@127.0.0.1:${freePort()}/hook`, {
    headers: { Authorization: "Bearer header-token" },
  });

  const outcome = await runHttp(executor, runContext(), OPTIONS);

  assert(!outcome.ok, "a refused connection fails");
  assert(outcome.error.startsWith("HTTP request failed: "), outcome.error);
  assert(/refused/i.test(outcome.error), outcome.error);
  for (const secret of ["url-password", "header-token", SECRET]) {
    assert(!outcome.error.includes(secret), `no ${secret} in ${outcome.error}`);
  }
});

Deno.test("an invalid header fails the run naming the header, not its value", async () => {
  const executor = httpExecutor(`http://127.0.0.1:${freePort()}/hook`, {
    headers: { "X-Token": "secret-value\nX-Injected: 1" },
  });

  const outcome = await runHttp(executor, runContext(), OPTIONS);

  assertEquals(outcome, { ok: false, error: 'HTTP request failed: invalid header "X-Token"' });
});
