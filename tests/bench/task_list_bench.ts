/**
 * `tasks.list` over 1,000,000 tasks on real PostgreSQL (issue 3): one filter, a page of 100 and
 * the total that match, through TaskService.list as the JSON-RPC method calls it. The tasks are
 * spread over 1,000 users (1,000 each) and three statuses (pending 60 %, completed 30 %, failed
 * 10 %). Target: p99 ≤ 50 ms.
 */
import { TaskActors } from "../../src/runtime/actors.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import type { TaskStatus } from "../../src/domain/task.ts";
import type { TaskQuery } from "../../src/store/event_store.ts";
import { openStore } from "../../src/store/mod.ts";
import { BENCH_USERS, benchDatabase, benchUser, formatNumber, percentile } from "./_seed.ts";

const TASKS = 1_000_000;
const PAGE = 100;

/** A filter's name, how many calls to time, and the query of each call. */
type Filter = [name: string, calls: number, query: (call: number) => Partial<TaskQuery>];

const url = await benchDatabase("list", TASKS);
if (url !== null) {
  const store = await openStore({ databaseUrl: url });
  const service = new TaskService(store, new TaskActors(store));
  const filters: Filter[] = [
    // Every call asks another user for another of their ten pages.
    ["user_id", 1000, (call) => ({
      userId: benchUser((call * 7919) % (BENCH_USERS * 10)),
      offset: (call % 10) * PAGE,
    })],
    ["user_id and status", 500, (call) => ({
      userId: benchUser((call * 7919) % (BENCH_USERS * 10)),
      status: (["pending", "completed", "failed"] as const)[call % 3],
    })],
    ...(["failed", "completed", "pending"] as TaskStatus[]).map((status): Filter => [
      `status ${status}`,
      150,
      () => ({ status }),
    ]),
    // tasks.scheduled.list with its defaults: every enabled schedule, and one type of them.
    ["scheduled, enabled_only", 150, () => ({ scheduledOnly: true, enabledOnly: true })],
    ["scheduled, enabled_only, cron", 150, () => ({
      scheduledOnly: true,
      enabledOnly: true,
      scheduleType: "cron",
    })],
  ];
  for (const [filter, n, query] of filters) {
    // Connections, prepared statements and caches warm, so every sample is the steady state.
    for (let call = 0; call < 3; call++) {
      await service.list({ limit: PAGE, offset: 0, ...query(call) });
    }
    const name = `tasks.list (${filter} filter, page of ${PAGE} with total, ${
      formatNumber(TASKS)
    } tasks)`;
    const samples: number[] = [];
    let total = 0;
    globalThis.addEventListener("unload", () => {
      console.log(
        `${name}: p50 ${formatNumber(percentile(samples, 50), 1)} ms, p99 ${
          formatNumber(percentile(samples, 99), 1)
        } ms, max ${formatNumber(Math.max(...samples), 1)} ms (${samples.length} calls, ` +
          `last total ${formatNumber(total)})`,
      );
    });
    let call = 0;
    Deno.bench(name, { n, warmup: 10 }, async (b) => {
      const request: TaskQuery = { limit: PAGE, offset: 0, ...query(call++) };
      b.start();
      const started = performance.now();
      const page = await service.list(request);
      samples.push(performance.now() - started);
      b.end();
      if (page.tasks.length === 0) throw new Error(`No tasks for ${JSON.stringify(request)}`);
      total = page.total;
    });
  }
}
