import assert from "node:assert/strict";
import { z } from "zod";
import { DomainError, type DomainErrorCode } from "../../src/domain/errors.ts";
import { createApp, MAX_BODY_BYTES } from "../../src/http/app.ts";
import { OPERATOR } from "../../src/http/auth.ts";
import { type JsonRpcReply, MAX_BATCH_SIZE, MethodRegistry } from "../../src/http/jsonrpc.ts";
import { SCHEDULE_TYPES } from "../../src/domain/schedule/types.ts";
import { postJson, readJson, recordingLogger, rpc, startService } from "../_helpers.ts";

const PREVIEW = {
  schedule_type: "daily",
  schedule_expression: "09:00",
  from_time: "2026-01-15T00:00:00Z",
  count: 2,
};

Deno.test("JSON-RPC over HTTP on the real service", async (t) => {
  const service = await startService();
  const { url } = service;
  try {
    await t.step("GET /health answers ok with the version", async () => {
      const reply = await readJson(await fetch(`${url}/health`));
      assert.equal(reply.status, 200);
      const body = reply.body as { store: { latency_ms: number } };
      assert.ok(body.store.latency_ms >= 0);
      assert.deepEqual(reply.body, {
        status: "ok",
        version: "0.1.0",
        store: { kind: "pglite", reachable: true, latency_ms: body.store.latency_ms },
        scheduler: { state: "running" },
      });
    });

    await t.step("a body that is not JSON gets -32700 with a null id", async () => {
      const reply = await postJson(`${url}/rpc`, '{"jsonrpc": "2.0", "method": ');
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32700, message: "Parse error: the body is not JSON" },
      });
    });

    await t.step("a request with the wrong jsonrpc version is invalid", async () => {
      const reply = await postJson(
        `${url}/rpc`,
        '{"jsonrpc":"1.0","id":7,"method":"rpc.discover"}',
      );
      assert.deepEqual(reply.body, {
        jsonrpc: "2.0",
        id: 7,
        error: { code: -32600, message: 'Invalid request: jsonrpc must be "2.0"' },
      });
    });

    await t.step("a method that is not a string is invalid", async () => {
      const reply = await postJson(`${url}/rpc`, '{"jsonrpc":"2.0","id":"a","method":42}');
      assert.deepEqual(reply.body, {
        jsonrpc: "2.0",
        id: "a",
        error: { code: -32600, message: "Invalid request: method must be a string" },
      });
    });

    await t.step(
      "an id that is not a string, number or null is invalid and not echoed",
      async () => {
        for (const id of ["{}", "[1]", "true"]) {
          const reply = await postJson(`${url}/rpc`, `{"jsonrpc":"2.0","id":${id},"method":"x"}`);
          assert.deepEqual(reply.body, {
            jsonrpc: "2.0",
            id: null,
            error: {
              code: -32600,
              message: "Invalid request: id must be a string, a number or null",
            },
          });
        }
      },
    );

    await t.step("params that are neither an object nor an array are invalid", async () => {
      const reply = await postJson(
        `${url}/rpc`,
        '{"jsonrpc":"2.0","id":1,"method":"rpc.discover","params":"all"}',
      );
      assert.equal((reply.body as { error: { code: number } }).error.code, -32600);
    });

    await t.step("an unknown method gets -32601", async () => {
      const reply = await rpc(url, { method: "tasks.nope", params: {}, id: 3 });
      assert.deepEqual(reply.body, {
        jsonrpc: "2.0",
        id: 3,
        error: { code: -32601, message: 'Method not found: "tasks.nope"' },
      });
    });

    await t.step("a null id is a call, not a notification, and is answered", async () => {
      const reply = await rpc(url, { method: "tasks.nope", id: null });
      assert.equal(reply.status, 200);
      assert.equal((reply.body as { id: unknown }).id, null);
    });

    await t.step("a batch answers every call, in order, and skips its notifications", async () => {
      const reply = await postJson(
        `${url}/rpc`,
        JSON.stringify([
          { jsonrpc: "2.0", id: "p", method: "schedules.preview", params: PREVIEW },
          { jsonrpc: "2.0", method: "schedules.preview", params: PREVIEW },
          1,
          { jsonrpc: "2.0", id: 9, method: "nope" },
          { jsonrpc: "2.0", id: "v", method: "schedules.validate", params: { bogus: true } },
        ]),
      );
      assert.equal(reply.status, 200);
      const replies = reply.body as Record<string, unknown>[];
      assert.deepEqual(replies.map((r) => r.id), ["p", null, 9, "v"]);
      assert.equal((replies[0].result as { runs: string[] }).runs.length, 2);
      assert.deepEqual(replies[1].error, {
        code: -32600,
        message: "Invalid request: expected a JSON-RPC 2.0 request object",
      });
      assert.equal((replies[2].error as { code: number }).code, -32601);
      assert.equal((replies[3].error as { code: number }).code, -32602);
    });

    await t.step("an empty batch gets one -32600 error, not an array", async () => {
      const reply = await postJson(`${url}/rpc`, "[]");
      assert.deepEqual(reply.body, {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, message: "Invalid request: empty batch" },
      });
    });

    await t.step("a batch of invalid entries gets one -32600 error per entry", async () => {
      const reply = await postJson(`${url}/rpc`, "[1, 2, 3]");
      const replies = reply.body as { id: unknown; error: { code: number } }[];
      assert.equal(replies.length, 3);
      for (const entry of replies) {
        assert.equal(entry.id, null);
        assert.equal(entry.error.code, -32600);
      }
    });

    await t.step(`a batch of more than ${MAX_BATCH_SIZE} calls is refused`, async () => {
      const calls = Array.from({ length: MAX_BATCH_SIZE + 1 }, (_, id) => ({
        method: "rpc.discover",
        id,
      }));
      const reply = await rpc(url, calls);
      assert.equal((reply.body as { error: { code: number } }).error.code, -32600);
    });

    await t.step("a notification gets no reply: HTTP 204 with an empty body", async () => {
      const response = await fetch(`${url}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", method: "schedules.preview", params: PREVIEW }),
      });
      assert.equal(response.status, 204);
      assert.equal(await response.text(), "");
    });

    await t.step("a notification gets no reply even when it fails", async () => {
      const reply = await rpc(url, { method: "tasks.nope", params: {} });
      assert.equal(reply.status, 204);
      assert.equal(reply.body, null);
    });

    await t.step("a batch of notifications gets no reply", async () => {
      const reply = await rpc(url, [
        { method: "schedules.preview", params: PREVIEW },
        { method: "tasks.nope" },
      ]);
      assert.equal(reply.status, 204);
      assert.equal(reply.body, null);
    });

    await t.step("params of the wrong type get -32602 naming the field", async () => {
      const reply = await rpc(url, {
        method: "schedules.preview",
        params: { ...PREVIEW, count: "ten" },
        id: 1,
      });
      const { error } = reply.body as { error: { code: number; data: Record<string, unknown> } };
      assert.equal(error.code, -32602);
      assert.equal(error.data.code, "invalid_params");
      assert.equal(error.data.field, "count");
      assert.ok(Array.isArray(error.data.issues) && error.data.issues.length === 1);
    });

    await t.step("an unknown params field gets -32602 naming that field", async () => {
      const reply = await rpc(url, {
        method: "schedules.validate",
        params: { schedule_type: "daily", schedule_expression: "09:00", schedule_zone: "UTC" },
        id: 1,
      });
      const { error } = reply.body as { error: { code: number; data: Record<string, unknown> } };
      assert.equal(error.code, -32602);
      assert.equal(error.data.field, "schedule_zone");
      assert.deepEqual(
        (error.data.issues as { code: string }[]).map((issue) => issue.code),
        ["unrecognized_keys"],
      );
    });

    await t.step("an unknown field inside a nested object is named by its full path", async () => {
      const reply = await rpc(url, {
        method: "schedules.validate",
        params: { schedule_type: "daily", schedule_expression: "09:00", dst_policy: { gaps: 1 } },
        id: 1,
      });
      const { error } = reply.body as { error: { data: Record<string, unknown> } };
      assert.equal(error.data.field, "dst_policy.gaps");
    });

    await t.step("params by position get -32602: methods take them by name", async () => {
      const reply = await rpc(url, { method: "rpc.discover", params: [], id: 1 });
      const { error } = reply.body as { error: { code: number } };
      assert.equal(error.code, -32602);
    });

    await t.step("a body over 1 MiB is refused with 413 and a JSON-RPC error", async () => {
      const padding = "x".repeat(MAX_BODY_BYTES);
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "rpc.discover", padding });
      const reply = await postJson(`${url}/rpc`, body);
      assert.equal(reply.status, 413);
      assert.deepEqual(reply.body, {
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32600,
          message: `Invalid request: the body exceeds ${MAX_BODY_BYTES} bytes`,
        },
      });
    });

    await t.step("a streamed body over 1 MiB without a length is refused with 413", async () => {
      const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > MAX_BODY_BYTES) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const reply = await postJson(`${url}/rpc`, stream);
      assert.equal(reply.status, 413);
      assert.equal((reply.body as { error: { code: number } }).error.code, -32600);
    });

    await t.step("a body just under 1 MiB is accepted", async () => {
      const call = { jsonrpc: "2.0", id: 1, method: "rpc.discover", params: {} };
      const body = JSON.stringify(call).padEnd(MAX_BODY_BYTES, " ");
      const reply = await postJson(`${url}/rpc`, body);
      assert.equal(reply.status, 200);
      assert.ok("result" in (reply.body as object));
    });

    await t.step("POST /tasks and POST /tasks/ serve the same JSON-RPC methods", async () => {
      for (const path of ["/tasks", "/tasks/"]) {
        const body = JSON.stringify({
          jsonrpc: "2.0",
          id: path,
          method: "schedules.preview",
          params: PREVIEW,
        });
        const reply = await postJson(`${url}${path}`, body);
        assert.equal(reply.status, 200, path);
        assert.equal((reply.body as { id: string }).id, path);
        assert.equal((reply.body as { result: { runs: string[] } }).result.runs.length, 2);
      }
    });

    await t.step("a call without a JSON content type is refused with 415", async () => {
      const response = await fetch(`${url}/rpc`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "rpc.discover" }),
      });
      const reply = await readJson(response);
      assert.equal(reply.status, 415);
      assert.equal((reply.body as { error: { code: number } }).error.code, -32600);
    });

    await t.step("GET on a JSON-RPC path is 405 with Allow: POST", async () => {
      const reply = await readJson(await fetch(`${url}/rpc`));
      assert.equal(reply.status, 405);
      assert.equal(reply.headers.get("allow"), "POST");
      assert.deepEqual(reply.body, {
        error: { code: "method_not_allowed", message: "/rpc accepts POST only" },
      });
    });

    await t.step("an unknown route gets a JSON 404", async () => {
      const reply = await readJson(await fetch(`${url}/nowhere?x=1`));
      assert.equal(reply.status, 404);
      assert.deepEqual(reply.body, {
        error: { code: "not_found", message: "No route for GET /nowhere" },
      });
    });

    await t.step("rpc.discover returns an OpenRPC document of every method", async () => {
      const reply = await rpc(url, { method: "rpc.discover", id: 1 });
      const doc = (reply.body as { result: OpenRpc }).result;
      assert.equal(doc.openrpc, "1.3.2");
      assert.deepEqual(doc.info, { title: "Chronolog", version: "0.1.0" });
      const names = doc.methods.map((method) => method.name);
      for (const name of ["rpc.discover", "schedules.preview", "schedules.validate"]) {
        assert.ok(names.includes(name), `${name} missing from ${names}`);
      }
      const preview = doc.methods.find((method) => method.name === "schedules.preview")!;
      assert.equal(preview.paramStructure, "by-name");
      assert.equal(preview.summary, "Lists the next runs of a schedule, or of a task (task_id)");
      const param = (name: string) => preview.params.find((p) => p.name === name);
      assert.deepEqual(param("schedule_type")?.schema.enum, [...SCHEDULE_TYPES]);
      // Either the schedule fields or a task_id: neither is required on its own.
      assert.equal(param("schedule_type")?.required, false);
      assert.equal(param("schedule_expression")?.required, false);
      assert.equal(param("task_id")?.required, false);
      assert.equal(param("count")?.required, false);
      assert.equal(param("count")?.schema.maximum, 1000);
      assert.equal(param("from_time")?.schema.format, "date-time");
      assert.deepEqual(
        preview.params.map((p) => p.name).sort(),
        [
          "count",
          "dst_policy",
          "from_time",
          "max_runs",
          "schedule_end_at",
          "schedule_expression",
          "schedule_start_at",
          "schedule_timezone",
          "schedule_type",
          "task_id",
        ],
      );
      assert.equal(preview.result.name, "result");
      assert.deepEqual(preview.result.schema.required, ["runs"]);
      const validate = doc.methods.find((method) => method.name === "schedules.validate")!;
      assert.ok(!validate.params.some((p) => p.name === "from_time" || p.name === "count"));
    });
  } finally {
    await service.stop();
  }
});

interface OpenRpc {
  openrpc: string;
  info: { title: string; version: string };
  methods: {
    name: string;
    summary: string;
    paramStructure: string;
    params: { name: string; required: boolean; schema: Record<string, unknown> }[];
    result: { name: string; schema: Record<string, unknown> };
  }[];
}

function testRegistry(): { registry: MethodRegistry; lines: string[] } {
  const { logger, lines } = recordingLogger();
  const registry = new MethodRegistry({ version: "test", logger });
  return { registry, lines };
}

async function call(registry: MethodRegistry, request: unknown): Promise<JsonRpcReply> {
  return await registry.handle(JSON.stringify(request), { receivedAt: 0, caller: OPERATOR });
}

Deno.test("a handler that throws gets -32603 without its message, which is logged instead", async () => {
  const { registry, lines } = testRegistry();
  registry.register({
    name: "boom",
    summary: "Fails",
    params: z.strictObject({}),
    result: z.null(),
    handler: () => {
      throw new Error("database password is hunter2");
    },
  });
  const reply = await call(registry, { jsonrpc: "2.0", id: 1, method: "boom" });
  assert.deepEqual(reply, {
    jsonrpc: "2.0",
    id: 1,
    error: { code: -32603, message: "Internal error" },
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^error JSON-RPC method boom failed/);
  assert.ok(lines[0].includes("hunter2"), "the server log keeps the cause");
});

Deno.test("each DomainError code maps to its JSON-RPC code, returned or thrown", async () => {
  const expected: Record<DomainErrorCode, number> = {
    invalid_schedule: -32602,
    invalid_params: -32602,
    not_found: -32001,
    conflict: -32002,
    forbidden: -32003,
    unauthorized: -32004,
  };
  for (const [code, rpcCode] of Object.entries(expected) as [DomainErrorCode, number][]) {
    for (const how of ["return", "throw"]) {
      const { registry } = testRegistry();
      registry.register({
        name: "fail",
        summary: "Fails with a domain reason",
        params: z.strictObject({}),
        result: z.null(),
        handler: () => {
          const error = new DomainError(code, "Task 42 is not yours", "task_id");
          if (how === "throw") throw error;
          return error;
        },
      });
      const reply = await call(registry, { jsonrpc: "2.0", id: 1, method: "fail" });
      const data = rpcCode === -32602
        ? { code, field: "task_id", message: "Task 42 is not yours" }
        : { code, field: "task_id" };
      assert.deepEqual(reply, {
        jsonrpc: "2.0",
        id: 1,
        error: { code: rpcCode, message: "Task 42 is not yours", data },
      }, `${code} (${how})`);
    }
  }
});

Deno.test("a DomainError without a field leaves data.field out", async () => {
  const { registry } = testRegistry();
  registry.register({
    name: "missing",
    summary: "Finds nothing",
    params: z.strictObject({}),
    result: z.null(),
    handler: () => new DomainError("not_found", "No such task"),
  });
  const reply = await call(registry, { jsonrpc: "2.0", id: 1, method: "missing" });
  assert.deepEqual(reply, {
    jsonrpc: "2.0",
    id: 1,
    error: { code: -32001, message: "No such task", data: { code: "not_found" } },
  });
});

Deno.test("a result off its schema is an internal error, and is logged", async () => {
  const { registry, lines } = testRegistry();
  registry.register({
    name: "sloppy",
    summary: "Returns the wrong shape",
    params: z.strictObject({}),
    result: z.strictObject({ total: z.int() }),
    handler: () => ({ total: "many" }) as unknown as { total: number },
  });
  const reply = await call(registry, { jsonrpc: "2.0", id: 1, method: "sloppy" });
  assert.deepEqual(reply, {
    jsonrpc: "2.0",
    id: 1,
    error: { code: -32603, message: "Internal error" },
  });
  assert.match(lines[0], /sloppy returned a result off its schema/);
});

Deno.test("the result schema drops fields it does not list", async () => {
  const { registry } = testRegistry();
  registry.register({
    name: "user",
    summary: "Returns a user",
    params: z.strictObject({}),
    result: z.object({ name: z.string() }),
    handler: () => ({ name: "ada", password_hash: "x" }),
  });
  const reply = await call(registry, { jsonrpc: "2.0", id: 1, method: "user" });
  assert.deepEqual(reply, { jsonrpc: "2.0", id: 1, result: { name: "ada" } });
});

Deno.test("registering params that are not a strict object fails", () => {
  const { registry } = testRegistry();
  for (const params of [z.object({}), z.looseObject({})]) {
    assert.throws(
      () =>
        registry.register({
          name: "lax",
          summary: "Accepts anything",
          params,
          result: z.null(),
          handler: () => null,
        }),
      /must take z.strictObject params/,
    );
  }
});

Deno.test("a method name cannot be registered twice or use the rpc. prefix", () => {
  const { registry } = testRegistry();
  const method = {
    name: "once",
    summary: "Registered once",
    params: z.strictObject({}),
    result: z.null(),
    handler: () => null,
  };
  registry.register(method);
  assert.throws(() => registry.register(method), /already registered/);
  assert.throws(() => registry.register({ ...method, name: "rpc.mine" }), /reserved/);
});

Deno.test("the calls of a batch get the request's arrival time as now", async () => {
  const { registry } = testRegistry();
  registry.register({
    name: "now",
    summary: "Says when",
    params: z.strictObject({}),
    result: z.number(),
    handler: (_params, ctx) => ctx.receivedAt,
  });
  const reply = await registry.handle(
    JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "now" }, {
      jsonrpc: "2.0",
      id: 2,
      method: "now",
    }]),
    { receivedAt: 1234, caller: OPERATOR },
  );
  assert.deepEqual(reply, [
    { jsonrpc: "2.0", id: 1, result: 1234 },
    { jsonrpc: "2.0", id: 2, result: 1234 },
  ]);
});

Deno.test("a batch runs its calls one after the other, in order", async () => {
  const { registry } = testRegistry();
  const finished: number[] = [];
  registry.register({
    name: "slow",
    summary: "Takes longer for smaller n",
    params: z.strictObject({ n: z.int() }),
    result: z.int(),
    handler: async ({ n }) => {
      await new Promise((resolve) => setTimeout(resolve, 30 - 10 * n));
      finished.push(n);
      return n;
    },
  });
  const calls = [0, 1, 2].map((n) => ({ jsonrpc: "2.0", id: n, method: "slow", params: { n } }));
  const reply = await call(registry, calls);
  assert.deepEqual(finished, [0, 1, 2]);
  assert.deepEqual((reply as { result: number }[]).map((r) => r.result), [0, 1, 2]);
});

Deno.test("an exception escaping a route gets a 500 without the stack", async () => {
  const { logger, lines } = recordingLogger();
  const app = createApp({ version: "test", logger });
  app.get("/boom", () => {
    throw new Error("secret detail");
  });
  const reply = await readJson(await app.request("/boom"));
  assert.equal(reply.status, 500);
  assert.deepEqual(reply.body, {
    error: { code: "internal", message: "Internal error", field: null },
  });
  assert.match(lines[0], /^error Unhandled error on GET \/boom/);
  assert.ok(lines[0].includes("secret detail"));
});
