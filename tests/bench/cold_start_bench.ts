/**
 * Cold start on real PostgreSQL (issue 3): a freshly opened store, then `TaskActors.load()` reads
 * every live task's hot fields from the snapshots. The tasks are seeded with SQL (see _seed.ts);
 * the server's caches are warm, as after a restart of the service alone. Targets: 100,000 tasks
 * ≤ 3 s, 1,000,000 tasks ≤ 30 s.
 */
import { TaskActors } from "../../src/runtime/actors.ts";
import { openStore } from "../../src/store/mod.ts";
import { benchDatabase, formatNumber, median } from "./_seed.ts";

for (const [tasks, n] of [[100_000, 5], [1_000_000, 2]]) {
  const url = await benchDatabase(`cold_${tasks}`, tasks);
  if (url === null) break;
  const name = `cold start: TaskActors.load() of ${formatNumber(tasks)} tasks`;
  const seconds: number[] = [];
  globalThis.addEventListener("unload", () => {
    console.log(
      `${name}: ${formatNumber(median(seconds), 2)} s (median of ${seconds.length} loads, ` +
        `${formatNumber(Math.min(...seconds), 2)}–${formatNumber(Math.max(...seconds), 2)} s)`,
    );
  });
  Deno.bench(name, { n, warmup: 1 }, async (b) => {
    const store = await openStore({ databaseUrl: url });
    try {
      b.start();
      const started = performance.now();
      const loaded = await new TaskActors(store).load();
      seconds.push((performance.now() - started) / 1000);
      b.end();
      if (loaded !== tasks) throw new Error(`Loaded ${loaded} tasks, not ${tasks}`);
    } finally {
      await store.close();
    }
  });
}
