/**
 * A client that stalls while sending its body gets 408 and its connection closed, on every route
 * that reads a body: it cannot hold a request (and its memory) open. Run against the real app
 * served on a real port, with the limit shortened so the test is quick.
 */
import { createApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/log.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { Scheduler } from "../../src/runtime/firing.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import { openStore } from "../../src/store/mod.ts";
import { assert, assertEquals } from "../_helpers.ts";

const BODY_TIMEOUT_MS = 300;

/** Sends the head and part of the body over raw TCP, then stalls; returns what came back. */
async function stall(port: number, path: string): Promise<{ reply: string; waitedMs: number }> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = performance.now();
  const head = `POST ${path} HTTP/1.1\r\nHost: localhost\r\n` +
    "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
  await connection.write(new TextEncoder().encode(head + '{"jsonrpc":"2.0",'));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    const read = await connection.read(buffer);
    if (read === null) break;
    chunks.push(buffer.slice(0, read));
    // The reply is complete once its JSON body has arrived.
    if (new TextDecoder().decode(chunks.at(-1)).trimEnd().endsWith("}")) break;
  }
  connection.close();
  const reply = new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
  return { reply, waitedMs: performance.now() - started };
}

Deno.test("a body that stalls gets 408 within the limit on /rpc, REST and webhooks", async () => {
  const store = await openStore({ databaseUrl: null, dataDir: null });
  const actors = new TaskActors(store);
  await actors.load();
  const tasks = new TaskService(store, actors);
  const logger = createLogger("error");
  const scheduler = new Scheduler(store, actors, {
    logger,
    maxConcurrent: 1,
    signingSecret: null,
    allowCommand: false,
  });
  await scheduler.start();
  const app = createApp({
    version: "test",
    logger,
    tasks: { tasks, defaultTimeoutS: 60, allowCommand: false },
    scheduler,
    webhook: { secret: "s", allowedIps: [], rateLimit: 100 },
    bodyTimeoutMs: BODY_TIMEOUT_MS,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  try {
    for (const path of ["/rpc", "/schedules", "/webhook/trigger/t1"]) {
      const { reply, waitedMs } = await stall(server.addr.port, path);
      assert(reply.startsWith("HTTP/1.1 408"), `${path}: ${reply.slice(0, 200)}`);
      assert(/connection: close/i.test(reply), `${path} keeps the connection: ${reply}`);
      assert(waitedMs >= BODY_TIMEOUT_MS - 10 && waitedMs < 5000, `${path}: ${waitedMs} ms`);
      const body = JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4));
      assertEquals(body.error.code, path === "/rpc" ? -32600 : "request_timeout", path);
    }
  } finally {
    await server.shutdown();
    await scheduler.stop(0);
    await store.close();
  }
});
