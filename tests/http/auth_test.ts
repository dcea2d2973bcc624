/**
 * Authentication and isolation (SPEC §5) against the real service with CHRONOLOG_JWT_SECRET:
 * every route but /health wants a valid HS256 token; users see and touch only their own tasks
 * (another user's task answers exactly like a missing one); admins see all; the secret never
 * appears in a reply or the log.
 */
import { SignJWT } from "jose";
import {
  assert,
  assertEquals,
  errorOf,
  type JsonReply,
  readJson,
  resultOf,
  rpc,
  signToken,
  startService,
} from "../_helpers.ts";

const SECRET = "an-hs256-secret-for-the-auth-tests-0123456789";

Deno.test("JWT auth: every route but /health, owners only, admins see all", async (t) => {
  const service = await startService({ CHRONOLOG_JWT_SECRET: SECRET });
  const { url } = service;
  const alice = await signToken(SECRET, "alice");
  const bob = await signToken(SECRET, "bob");
  const admin = await signToken(SECRET, "root", { roles: ["admin"] });
  const call = async (token: string, method: string, params: unknown) =>
    await rpc(url, { method, params, id: 1 }, token);

  try {
    await t.step("without a token: 401 everywhere but /health", async () => {
      assertEquals((await fetch(`${url}/health`).then(readJson)).status, 200);
      const unsigned = await rpc(url, { method: "tasks.list", params: {}, id: 7 });
      assertEquals(unsigned.status, 401);
      assertEquals(unsigned.headers.get("www-authenticate"), 'Bearer realm="chronolog"');
      const error = errorOf(unsigned);
      assertEquals([error.code, error.data?.code], [-32004, "unauthorized"]);
      for (const path of ["/schedules", "/worker/status", "/metrics", "/schedules/x"]) {
        const reply = await fetch(`${url}${path}`).then(readJson);
        assertEquals(reply.status, 401, path);
        assertEquals((reply.body as { error: { code: string } }).error.code, "unauthorized");
      }
    });

    await t.step("bad tokens are refused: wrong secret, expired, no sub, alg none", async () => {
      const tokens = {
        "wrong secret": await signToken("another-secret-of-enough-length-0123456789", "alice"),
        expired: await signToken(SECRET, "alice", {
          expiresAt: Math.floor(Date.now() / 1000) - 60,
        }),
        "no sub": await signToken(SECRET, null),
        "HS512": await new SignJWT({}).setProtectedHeader({ alg: "HS512" }).setSubject("alice")
          .sign(new TextEncoder().encode(SECRET.repeat(2))),
        "alg none": `${btoa('{"alg":"none"}')}.${btoa('{"sub":"alice"}')}.`,
        garbage: "not-a-jwt",
      };
      for (const [why, token] of Object.entries(tokens)) {
        const reply = await call(token, "tasks.list", {});
        assertEquals(reply.status, 401, why);
        assertEquals(errorOf(reply).data?.code, "unauthorized", why);
      }
      const expired = await call(tokens.expired, "tasks.list", {});
      assertEquals(errorOf(expired).message, "The token has expired");
    });

    await t.step("a token accepted once is refused once it expires", async () => {
      const expiresAt = Math.floor(Date.now() / 1000) + 2;
      const brief = await signToken(SECRET, "alice", { expiresAt });
      assertEquals((await call(brief, "tasks.list", {})).status, 200);
      assertEquals((await call(brief, "tasks.list", {})).status, 200);
      await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 100));
      const late = await call(brief, "tasks.list", {});
      assertEquals([late.status, errorOf(late).message], [401, "The token has expired"]);
    });

    // Alice's task, created by her: user_id is hers without her saying so.
    const created = resultOf<{ id: string; user_id: string }>(
      await call(alice, "tasks.create", {
        id: "alices",
        name: "alice's report",
        schedule_type: "interval",
        schedule_expression: "86400",
        executor: { type: "queue", capability: "reports" },
      }),
    );
    assertEquals(created.user_id, "alice");

    await t.step("another user's task answers exactly like a missing one", async () => {
      const task = { task_id: "alices" };
      const missing = { task_id: "nobodys" };
      const at = "2030-01-01T00:00:00Z";
      const calls: [string, Record<string, unknown>][] = [
        ["tasks.get", {}],
        ["tasks.update", { name: "mine now" }],
        ["tasks.delete", {}],
        ["tasks.trigger", {}],
        ["tasks.webhook.trigger", {}],
        ["tasks.runs", {}],
        ["tasks.events", {}],
        ["tasks.replay", { as_of: 1 }],
        ["tasks.occurrences", {}],
        ["tasks.occurrences.skip", { scheduled_for: at }],
        ["tasks.occurrences.move", { scheduled_for: at, to: at }],
        ["tasks.backfill", { from: "2020-01-01T00:00:00Z", to: at }],
        ["tasks.scheduled.init", {}],
        ["tasks.scheduled.complete", {}],
        ["schedules.preview", {}],
      ];
      for (const [method, params] of calls) {
        const refused = errorOf(await call(bob, method, { ...task, ...params }));
        const absent = errorOf(await call(bob, method, { ...missing, ...params }));
        assertEquals(refused, absent, method);
        assertEquals(refused.data?.code, "not_found", method);
      }
      // Nothing changed: the task is as Alice left it.
      const events = resultOf<{ events: unknown[] }>(
        await call(alice, "tasks.events", { task_id: "alices" }),
      );
      assertEquals(events.events.length, 1);
    });

    await t.step("references to another user's tasks are not found either", async () => {
      const child = errorOf(
        await call(bob, "tasks.create", { name: "child", parent_id: "alices" }),
      );
      assertEquals([child.data?.code, child.data?.field], ["not_found", "parent_id"]);
      const dependent = errorOf(
        await call(bob, "tasks.create", { name: "dep", dependencies: [{ id: "alices" }] }),
      );
      assertEquals([dependent.data?.code, dependent.data?.field], [
        "not_found",
        "dependencies.0.id",
      ]);
    });

    await t.step("users list their own tasks only; admins list everyone's", async () => {
      resultOf(await call(bob, "tasks.create", { id: "bobs", name: "bob's" }));
      const ids = (reply: JsonReply) =>
        resultOf<{ tasks: { id: string }[]; total: number }>(reply).tasks.map((task) => task.id)
          .toSorted();
      assertEquals(ids(await call(bob, "tasks.list", {})), ["bobs"]);
      assertEquals(ids(await call(bob, "tasks.list", { user_id: "alice" })), []);
      assertEquals(ids(await call(bob, "tasks.scheduled.list", { enabled_only: false })), []);
      assertEquals(ids(await call(alice, "tasks.scheduled.list", {})), ["alices"]);
      const due = resultOf<{ tasks: unknown[] }>(
        await call(bob, "tasks.scheduled.due", { before: "2100-01-01T00:00:00Z" }),
      );
      assertEquals(due.tasks, []);
      assertEquals(ids(await call(admin, "tasks.list", {})), ["alices", "bobs"]);
      assertEquals(ids(await call(admin, "tasks.list", { user_id: "bob" })), ["bobs"]);
      const rest = await fetch(`${url}/schedules`, {
        headers: { authorization: `Bearer ${bob}` },
      }).then(readJson);
      assertEquals((rest.body as { total: number }).total, 0);
      const hidden = await fetch(`${url}/schedules/alices`, {
        headers: { authorization: `Bearer ${bob}` },
      }).then(readJson);
      assertEquals(hidden.status, 404);
    });

    await t.step("only admins create tasks for others or drive the scheduler", async () => {
      const forOther = errorOf(await call(alice, "tasks.create", { name: "x", user_id: "bob" }));
      assertEquals([forOther.data?.code, forOther.data?.field], ["forbidden", "user_id"]);
      const forSelf = resultOf<{ user_id: string }>(
        await call(alice, "tasks.create", { name: "x", user_id: "alice" }),
      );
      assertEquals(forSelf.user_id, "alice");
      const byAdmin = resultOf<{ user_id: string }>(
        await call(admin, "tasks.create", { name: "y", user_id: "carol" }),
      );
      assertEquals(byAdmin.user_id, "carol");
      for (const method of ["scheduler.pause", "scheduler.resume"]) {
        assertEquals(errorOf(await call(bob, method, {})).data?.code, "forbidden", method);
      }
      const stop = await fetch(`${url}/worker/stop`, {
        method: "POST",
        headers: { authorization: `Bearer ${bob}` },
      }).then(readJson);
      assertEquals(stop.status, 403);
      assertEquals(
        resultOf<{ state: string }>(await call(bob, "scheduler.status", {})).state,
        "running",
      );
      const metrics = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${bob}` },
      });
      assertEquals(metrics.status, 403);
      await metrics.body?.cancel();
      const adminMetrics = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      assertEquals(adminMetrics.status, 200);
      await adminMetrics.body?.cancel();
    });

    await t.step("queue workers take and complete their own user's runs only", async () => {
      const triggered = resultOf<{ run_id: string }>(
        await call(alice, "tasks.trigger", { task_id: "alices" }),
      );
      const claim = { capability: "reports", worker_id: "w1" };
      assertEquals(resultOf<{ run: unknown }>(await call(bob, "runs.claim", claim)).run, null);
      const complete = { run_id: triggered.run_id, worker_id: "w1" };
      const foreign = errorOf(await call(bob, "runs.complete", complete));
      assertEquals([foreign.data?.code, foreign.data?.field], ["not_found", "run_id"]);
      assertEquals(
        errorOf(await call(bob, "runs.heartbeat", complete)),
        errorOf(await call(bob, "runs.heartbeat", { ...complete, run_id: "no-such-run" })),
      );
      const claimed = resultOf<{ run: { run_id: string } }>(
        await call(alice, "runs.claim", claim),
      );
      assertEquals(claimed.run.run_id, triggered.run_id);
      const done = resultOf<{ status: string }>(await call(alice, "runs.complete", complete));
      assertEquals(done.status, "succeeded");
    });

    await t.step("the log records who did what", async () => {
      const { events } = resultOf<{ events: { metadata: { actor: string | null } }[] }>(
        await call(admin, "tasks.events", { task_id: "alices" }),
      );
      assertEquals(events[0].metadata.actor, "alice");
    });

    await t.step("the secret appears in no reply and no log line", async () => {
      const discover = await call(admin, "rpc.discover", {});
      assert(!JSON.stringify(discover.body).includes(SECRET));
      assert(!service.output().includes(SECRET), "the secret is in the service's output");
    });
  } finally {
    await service.stop();
  }
});

Deno.test("without a JWT secret every caller is the loopback operator", async () => {
  const service = await startService();
  try {
    const created = await rpc(service.url, {
      method: "tasks.create",
      params: { name: "local", user_id: "someone" },
      id: 1,
    });
    assertEquals(resultOf<{ user_id: string }>(created).user_id, "someone");
    const status = await rpc(service.url, { method: "scheduler.pause", params: {}, id: 2 });
    assertEquals(resultOf<{ state: string }>(status).state, "paused");
    assert(service.output().includes("CHRONOLOG_JWT_SECRET is not set"));
  } finally {
    await service.stop();
  }
});
