/**
 * Memory per idle task (issue 3): a fresh process opens the store, measures its RSS, loads every
 * task with `TaskActors.load()` and measures again, after a full GC each time; the delta over the
 * number of tasks is the cost of one idle task. Run on 1,000,000 seeded tasks on real PostgreSQL.
 * Target: ≤ 1.5 KB per task. The bench's own time is the child's: start, open, load, measure.
 */
import { TaskActors } from "../../src/runtime/actors.ts";
import { openStore } from "../../src/store/mod.ts";
import { benchDatabase, formatNumber, median, settledMemory } from "./_seed.ts";

const TASKS = 1_000_000;

/** What the child process reports. */
interface MemoryFigures {
  tasks: number;
  rssBytes: number;
  heapBytes: number;
  loadMs: number;
  gc: boolean;
}

if (import.meta.main) {
  console.log(JSON.stringify(await measure(Deno.args[0])));
} else {
  const url = await benchDatabase("memory", TASKS);
  if (url !== null) {
    const name = `memory: fresh process, TaskActors.load() of ${formatNumber(TASKS)} tasks`;
    const runs: MemoryFigures[] = [];
    globalThis.addEventListener("unload", () => {
      const rss = median(runs.map((run) => run.rssBytes / run.tasks));
      const heap = median(runs.map((run) => run.heapBytes / run.tasks));
      const gc = runs.every((run) => run.gc) ? "after a full GC" : "without --expose-gc";
      console.log(
        `memory per idle task (RSS delta / tasks, ${formatNumber(TASKS)} tasks, ${gc}): ` +
          `${formatNumber(rss)} B; V8 heap ${formatNumber(heap)} B (median of ${runs.length})`,
      );
    });
    Deno.bench(name, { n: 1, warmup: 0 }, async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--v8-flags=--expose-gc",
          `--config=${new URL("../../deno.json", import.meta.url).pathname}`,
          import.meta.url,
          url,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!output.success) throw new Error("The measuring process failed");
      const figures: MemoryFigures = JSON.parse(new TextDecoder().decode(output.stdout));
      if (figures.tasks !== TASKS) throw new Error(`Loaded ${figures.tasks} tasks, not ${TASKS}`);
      runs.push(figures);
    });
  }
}

/** Opens the store at `url`, loads every task and reports the memory that took. */
async function measure(url: string): Promise<MemoryFigures> {
  const store = await openStore({ databaseUrl: url });
  const actors = new TaskActors(store);
  // Open a connection and run the scan's code once, so only the tasks are in the delta.
  await store.scanSummaries(null, 1);
  const before = await settledMemory();
  const started = performance.now();
  const tasks = await actors.load();
  const loadMs = performance.now() - started;
  const after = await settledMemory();
  await store.close();
  if (actors.size !== tasks) throw new Error("The actors were collected before the measurement");
  return {
    tasks,
    rssBytes: after.rss - before.rss,
    heapBytes: after.heapUsed - before.heapUsed,
    loadMs,
    gc: "gc" in globalThis,
  };
}
