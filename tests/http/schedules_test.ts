import assert from "node:assert/strict";
import { errorOf, resultOf, rpc, startService } from "../_helpers.ts";

// Instant shape only: the exact instants belong to the engine's own tests.
const WIRE_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const DAILY = { schedule_type: "daily", schedule_expression: "09:00" };

interface RpcError {
  code: number;
  message: string;
  data: Record<string, unknown>;
}

function assertRunsAfter(runs: string[], from: string): void {
  let previous = Date.parse(from);
  for (const run of runs) {
    assert.match(run, WIRE_INSTANT);
    assert.ok(
      Date.parse(run) > previous,
      `${run} is not after ${new Date(previous).toISOString()}`,
    );
    previous = Date.parse(run);
  }
}

Deno.test("schedules.preview and schedules.validate on the real service", async (t) => {
  const service = await startService();
  const call = (method: string, params: unknown) => rpc(service.url, { method, params, id: 1 });
  try {
    await t.step(
      "preview lists count runs, increasing, after from_time, in wire form",
      async () => {
        const from = "2026-01-15T10:00:00Z";
        const { runs } = resultOf<{ runs: string[] }>(
          await call("schedules.preview", { ...DAILY, from_time: from, count: 5 }),
        );
        assert.equal(runs.length, 5);
        assertRunsAfter(runs, from);
      },
    );

    await t.step("preview lists 10 runs after now by default", async () => {
      const before = Date.now();
      const { runs } = resultOf<{ runs: string[] }>(await call("schedules.preview", DAILY));
      assert.equal(runs.length, 10);
      assertRunsAfter(runs, new Date(before - 1000).toISOString());
    });

    await t.step("preview reads from_time with a UTC offset as that instant", async () => {
      const { runs } = resultOf<{ runs: string[] }>(
        await call("schedules.preview", {
          ...DAILY,
          from_time: "2026-01-15T10:00:00+05:00",
          count: 3,
        }),
      );
      assert.equal(runs.length, 3);
      assertRunsAfter(runs, "2026-01-15T05:00:00Z");
      assert.ok(runs[0] < "2026-01-16T05:00:00.000Z", `${runs[0]} skipped a day`);
    });

    await t.step("preview accepts the largest count, 1000", async () => {
      const { runs } = resultOf<{ runs: string[] }>(
        await call("schedules.preview", {
          ...DAILY,
          from_time: "2026-01-15T10:00:00Z",
          count: 1000,
        }),
      );
      assert.equal(runs.length, 1000);
    });

    await t.step("preview refuses a count outside 1..1000, naming count", async () => {
      for (const count of [0, 1001, 2.5]) {
        const error = errorOf<RpcError>(await call("schedules.preview", { ...DAILY, count }));
        assert.equal(error.code, -32602);
        assert.equal(error.data.field, "count");
      }
    });

    await t.step("preview refuses an invalid from_time, naming from_time", async () => {
      for (
        const from of [
          "2026-02-30T00:00:00Z",
          "2026-01-15 09:00:00Z",
          "2026-01-15T09:00:00",
          "yesterday",
          1768467600000,
        ]
      ) {
        const error = errorOf<RpcError>(
          await call("schedules.preview", { ...DAILY, from_time: from }),
        );
        assert.equal(error.code, -32602, String(from));
        assert.equal(error.data.code, "invalid_params");
        assert.equal(error.data.field, "from_time");
      }
    });

    await t.step("preview refuses invalid bounds, naming the bound", async () => {
      for (const field of ["schedule_start_at", "schedule_end_at"]) {
        const error = errorOf<RpcError>(
          await call("schedules.preview", { ...DAILY, [field]: "soon" }),
        );
        assert.equal(error.code, -32602);
        assert.equal(error.data.field, field);
      }
    });

    await t.step("preview refuses an unknown schedule_type, naming it", async () => {
      const error = errorOf<RpcError>(
        await call("schedules.preview", { ...DAILY, schedule_type: "hourly" }),
      );
      assert.equal(error.code, -32602);
      assert.equal(error.data.field, "schedule_type");
    });

    await t.step("preview refuses an unknown dst_policy value or field", async () => {
      const badValue = errorOf<RpcError>(
        await call("schedules.preview", { ...DAILY, dst_policy: { gap: "later" } }),
      );
      assert.equal(badValue.data.field, "dst_policy.gap");
      const badField = errorOf<RpcError>(
        await call("schedules.preview", { ...DAILY, dst_policy: { fold: "first" } }),
      );
      assert.equal(badField.data.field, "dst_policy.fold");
    });

    await t.step("preview refuses an expression over 4096 characters", async () => {
      const error = errorOf<RpcError>(
        await call("schedules.preview", { ...DAILY, schedule_expression: "9".repeat(4097) }),
      );
      assert.equal(error.data.field, "schedule_expression");
      assert.equal(error.data.code, "invalid_params");
    });

    await t.step(
      "preview of an invalid schedule is -32602 invalid_schedule with the field",
      async () => {
        const error = errorOf<RpcError>(
          await call("schedules.preview", { schedule_type: "daily", schedule_expression: "" }),
        );
        assert.equal(error.code, -32602);
        assert.equal(error.data.code, "invalid_schedule");
        assert.equal(error.data.field, "schedule_expression");
        assert.equal(typeof error.data.message, "string");
        assert.equal(error.message, error.data.message);
        assert.ok(!("issues" in error.data));
      },
    );

    await t.step("preview takes null for an absent bound, as tasks carry them", async () => {
      const { runs } = resultOf<{ runs: string[] }>(
        await call("schedules.preview", {
          ...DAILY,
          from_time: "2026-01-15T10:00:00Z",
          count: 3,
          schedule_start_at: null,
          schedule_end_at: null,
          max_runs: null,
          dst_policy: null,
        }),
      );
      assert.equal(runs.length, 3);
    });

    await t.step("preview gives the SPEC's DST instants for New York over HTTP", async () => {
      const { runs } = resultOf<{ runs: string[] }>(
        await call("schedules.preview", {
          schedule_type: "daily",
          schedule_expression: "02:30",
          schedule_timezone: "America/New_York",
          from_time: "2026-03-07T12:00:00Z",
          count: 2,
        }),
      );
      assert.deepEqual(runs, ["2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z"]);
    });

    await t.step("validate describes a weekday cron in words with its zone", async () => {
      const reply = resultOf<{ description: string }>(
        await call("schedules.validate", {
          schedule_type: "cron",
          schedule_expression: "0 9 * * 1-5",
          schedule_timezone: "America/New_York",
        }),
      );
      assert.equal(reply.description, "at 09:00 on Monday–Friday, New York time");
    });

    await t.step("validate describes a valid schedule", async () => {
      const result = resultOf<Record<string, unknown>>(
        await call("schedules.validate", { ...DAILY, schedule_timezone: "Europe/Berlin" }),
      );
      assert.equal(result.valid, true);
      assert.equal(result.error, null);
      assert.equal(result.field, null);
      assert.equal(typeof result.description, "string");
      assert.ok((result.description as string).length > 0);
    });

    await t.step("validate reports an invalid schedule instead of failing the call", async () => {
      const result = resultOf<Record<string, unknown>>(
        await call("schedules.validate", { schedule_type: "cron", schedule_expression: "" }),
      );
      assert.equal(result.valid, false);
      assert.equal(result.field, "schedule_expression");
      assert.equal(typeof result.error, "string");
      assert.ok((result.error as string).length > 0);
      assert.equal(result.description, null);
    });

    await t.step("validate takes no from_time or count", async () => {
      for (const extra of [{ from_time: "2026-01-15T10:00:00Z" }, { count: 3 }]) {
        const error = errorOf<RpcError>(await call("schedules.validate", { ...DAILY, ...extra }));
        assert.equal(error.code, -32602);
        assert.equal(error.data.field, Object.keys(extra)[0]);
      }
    });

    await t.step("validate still refuses params that are not a schedule", async () => {
      const error = errorOf<RpcError>(await call("schedules.validate", { schedule_type: "daily" }));
      assert.equal(error.code, -32602);
      assert.equal(error.data.field, "schedule_expression");
    });
  } finally {
    await service.stop();
  }
});
