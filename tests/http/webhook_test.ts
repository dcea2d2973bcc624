import { createApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/log.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { Scheduler } from "../../src/runtime/firing.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import { openStore } from "../../src/store/mod.ts";
import {
  assert,
  assertEquals,
  rpc,
  type Service,
  signToken,
  startService,
  webhookSignature,
} from "../_helpers.ts";

const SECRET = "webhook-secret-for-tests";
const JWT_SECRET = "a-jwt-secret-of-at-least-32-characters!!";

async function signedHeaders(
  body: string,
  options: { timestamp?: number; secret?: string } = {},
): Promise<Record<string, string>> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    "X-Webhook-Timestamp": String(timestamp),
    "X-Webhook-Signature": await webhookSignature(options.secret ?? SECRET, timestamp, body),
  };
}

async function hook(
  service: Service,
  taskId: string,
  options: { body?: string; headers?: Record<string, string>; query?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${service.url}/webhook/trigger/${taskId}${options.query ?? ""}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...options.headers },
    body: options.body ?? "{}",
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function createTask(
  service: Service,
  id: string,
  options: { token?: string; userId?: string } = {},
): Promise<void> {
  const reply = await rpc(service.url, {
    method: "tasks.create",
    id: 1,
    params: {
      id,
      name: id,
      inputs: { from: "webhook" },
      ...(options.userId === undefined ? {} : { user_id: options.userId }),
    },
  }, options.token);
  assert((reply.body as { result?: unknown }).result !== undefined, JSON.stringify(reply.body));
}

async function runsOf(
  service: Service,
  taskId: string,
  token?: string,
): Promise<{ trigger: string }[]> {
  const reply = await rpc(service.url, {
    method: "tasks.runs",
    id: 1,
    params: { task_id: taskId },
  }, token);
  return (reply.body as { result: { runs: { trigger: string }[] } }).result.runs;
}

Deno.test("webhooks start a run only when signed, fresh and not replayed, or with a valid JWT", async (t) => {
  const service = await startService({
    CHRONOLOG_WEBHOOK_SECRET: SECRET,
    CHRONOLOG_JWT_SECRET: JWT_SECRET,
  });
  const admin = await signToken(JWT_SECRET, "ops", { roles: ["admin"] });
  try {
    await createTask(service, "hooked", { token: admin });
    await createTask(service, "bobs", { token: admin, userId: "bob" });

    await t.step(
      "unsigned, wrongly signed or stale requests get 401 and start nothing",
      async () => {
        const body = '{"reason":"deploy"}';
        const refused = [
          await hook(service, "hooked", { body }),
          await hook(service, "hooked", {
            body,
            headers: await signedHeaders(body, { secret: "another secret" }),
          }),
          await hook(service, "hooked", {
            body: '{"reason":"tampered"}',
            headers: await signedHeaders(body),
          }),
          await hook(service, "hooked", {
            body,
            headers: await signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
          }),
          await hook(service, "hooked", {
            body,
            headers: { Authorization: "Bearer not.a.token" },
          }),
        ];
        assertEquals(refused.map((reply) => reply.status), [401, 401, 401, 401, 401]);
        for (const reply of refused) {
          assertEquals((reply.body.error as { code: string }).code, "unauthorized");
        }
        assertEquals(await runsOf(service, "hooked", admin), []);
      },
    );

    await t.step("a signed request starts a run (202) and its replay is refused", async () => {
      const body = '{"reason":"deploy"}';
      const headers = await signedHeaders(body);
      const accepted = await hook(service, "hooked", { body, headers });
      assertEquals(accepted.status, 202);
      assert(typeof accepted.body.run_id === "string");
      const replayed = await hook(service, "hooked", { body, headers });
      assertEquals(replayed.status, 401);
      const runs = await runsOf(service, "hooked", admin);
      assertEquals(runs.map((run) => run.trigger), ["webhook"]);
    });

    await t.step("async=false waits for the run and returns its result", async () => {
      const body = "{}";
      const reply = await hook(service, "hooked", {
        body,
        headers: await signedHeaders(body),
        query: "?async=false",
      });
      assertEquals([reply.status, reply.body.finished], [200, true]);
      const run = reply.body.run as { status: string; result: unknown };
      assertEquals([run.status, run.result], ["succeeded", { from: "webhook" }]);
    });

    await t.step("a valid JWT is accepted without a signature", async () => {
      const reply = await hook(service, "hooked", {
        headers: { Authorization: `Bearer ${admin}` },
      });
      assertEquals(reply.status, 202);
    });

    await t.step("a user's JWT triggers their own task only: another's is 404", async () => {
      const bob = await signToken(JWT_SECRET, "bob");
      const alice = await signToken(JWT_SECRET, "alice");
      const refused = await hook(service, "bobs", {
        headers: { Authorization: `Bearer ${alice}` },
      });
      assertEquals([refused.status, (refused.body.error as { code: string }).code], [
        404,
        "not_found",
      ]);
      assertEquals(await runsOf(service, "bobs", admin), []);
      const accepted = await hook(service, "bobs", { headers: { Authorization: `Bearer ${bob}` } });
      assertEquals(accepted.status, 202);
      assertEquals((await runsOf(service, "bobs", bob)).length, 1);
    });

    await t.step("an unknown task is 404 once the request is authenticated", async () => {
      // Another body than the earlier steps': the same signed request would be a replay.
      const body = '{"probe":1}';
      const reply = await hook(service, "nope", { body, headers: await signedHeaders(body) });
      assertEquals([reply.status, (reply.body.error as { code: string }).code], [404, "not_found"]);
    });
  } finally {
    await service.stop();
  }
});

Deno.test("webhooks apply the IP allow-list and the per-address rate limit", async (t) => {
  const outside = await startService({
    CHRONOLOG_WEBHOOK_SECRET: SECRET,
    CHRONOLOG_WEBHOOK_ALLOWED_IPS: "10.0.0.0/8,2001:db8::/32",
  });
  try {
    await createTask(outside, "guarded");
    await t.step("an address outside the list gets 403 and starts nothing", async () => {
      const reply = await hook(outside, "guarded", { headers: await signedHeaders("{}") });
      assertEquals(reply.status, 403);
      assertEquals(await runsOf(outside, "guarded"), []);
    });
  } finally {
    await outside.stop();
  }
  const limited = await startService({
    CHRONOLOG_WEBHOOK_SECRET: SECRET,
    CHRONOLOG_WEBHOOK_ALLOWED_IPS: "127.0.0.0/8,::1/128",
    CHRONOLOG_WEBHOOK_RATE_LIMIT: "2",
  });
  try {
    await createTask(limited, "busy");
    await t.step("the third request in a minute gets 429 with Retry-After", async () => {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 3; i++) {
        const body = `{"n":${i}}`;
        const reply = await hook(limited, "busy", { body, headers: await signedHeaders(body) });
        statuses.push(reply.status);
        retryAfter = reply.headers.get("retry-after");
      }
      assertEquals(statuses, [202, 202, 429]);
      assert(retryAfter !== null && Number(retryAfter) >= 1 && Number(retryAfter) <= 60);
      assertEquals((await runsOf(limited, "busy")).length, 2);
    });
  } finally {
    await limited.stop();
  }
});

Deno.test("a verify hook registered by an embedding program accepts what it approves", async () => {
  const store = await openStore({ dataDir: null });
  const actors = new TaskActors(store);
  await actors.load();
  const tasks = new TaskService(store, actors);
  const scheduler = new Scheduler(store, actors, {
    logger: createLogger("error"),
    maxConcurrent: 2,
    signingSecret: null,
    allowCommand: false,
  });
  await scheduler.start();
  const seen: string[] = [];
  const app = createApp({
    version: "test",
    logger: createLogger("error"),
    tasks: { tasks, defaultTimeoutS: 60, allowCommand: false },
    scheduler,
    webhook: {
      secret: null,
      allowedIps: [],
      rateLimit: 100,
      async verify(request) {
        const body = await request.text();
        seen.push(body);
        return request.headers.get("x-partner-key") === "k-123" && body.includes("deploy");
      },
    },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const service = { url: `http://127.0.0.1:${server.addr.port}` } as Service;
  try {
    await createTask(service, "embedded");
    const refused = await hook(service, "embedded", {
      body: '{"reason":"deploy"}',
      headers: { "X-Partner-Key": "wrong" },
    });
    const accepted = await hook(service, "embedded", {
      body: '{"reason":"deploy"}',
      headers: { "X-Partner-Key": "k-123" },
    });
    assertEquals([refused.status, accepted.status], [401, 202]);
    assertEquals(seen, ['{"reason":"deploy"}', '{"reason":"deploy"}']);
    assertEquals((await runsOf(service, "embedded")).length, 1);
  } finally {
    await server.shutdown();
    await scheduler.stop(1000);
    await store.close();
  }
});
