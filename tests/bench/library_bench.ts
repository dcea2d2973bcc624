/**
 * The embedded library (issue 7): what registering jobs costs at a program's start (new, and
 * re-attached after a restart), and a run of an in-process handler end to end (runNow, waited
 * for: decided, recorded, executed, outcome recorded). Embedded PGlite in memory.
 */
import { createScheduler } from "../../src/mod.ts";

const JOBS = 500;
const dataDir = await Deno.makeTempDir({ prefix: "chronolog_bench_" });
const noop = () => "ok";

let scheduler = await createScheduler({ dataDir, logLevel: "error" });
let started = performance.now();
for (let i = 0; i < JOBS; i++) {
  await scheduler.cron(`${i % 60} ${i % 24} * * *`, noop, { id: `job-${i}` });
}
const registerMs = performance.now() - started;
await scheduler.shutdown();

started = performance.now();
scheduler = await createScheduler({ dataDir, logLevel: "error" });
const openMs = performance.now() - started;
started = performance.now();
for (let i = 0; i < JOBS; i++) {
  await scheduler.cron(`${i % 60} ${i % 24} * * *`, noop, { id: `job-${i}` });
}
const reattachMs = performance.now() - started;
await scheduler.start();
console.log(
  `register ${JOBS} new jobs: ${(registerMs / JOBS).toFixed(2)} ms/job; reopen the log: ` +
    `${openMs.toFixed(0)} ms; re-attach them: ${(reattachMs / JOBS).toFixed(3)} ms/job`,
);

Deno.bench("runNow of an in-process handler, waited for (PGlite)", async () => {
  const run = await scheduler.runNow("job-0", { waitMs: 5000 });
  if (run.status !== "succeeded") throw new Error(`run ${run.status}`);
});

globalThis.addEventListener("unload", () => {
  void scheduler.shutdown().then(() => Deno.removeSync(dataDir, { recursive: true }));
});
