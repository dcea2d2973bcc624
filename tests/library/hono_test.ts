/**
 * The Hono integration as a real process (tests/library/_app.ts): the scheduler starts when the
 * server listens; SIGTERM stops the server, lets the run in flight finish and exits 0; started
 * again, the program finds its jobs and their history, with no duplicates.
 */
import { createScheduler, type Job } from "../../src/mod.ts";
import {
  answersOk,
  assert,
  assertEquals,
  databaseTest,
  eventually,
  freePort,
  spawnDeno,
  type TestDatabase,
} from "../_helpers.ts";

async function startApp(database: TestDatabase) {
  const port = freePort();
  const child = spawnDeno(["run", "--allow-all", "tests/library/_app.ts"], {
    PORT: String(port),
    ...(database.databaseUrl === null
      ? { CHRONOLOG_DATA_DIR: database.dataDir }
      : { DATABASE_URL: database.databaseUrl }),
  });
  const output = new Response(child.stderr).text();
  await child.stdout.cancel();
  const url = `http://127.0.0.1:${port}`;
  await eventually("the app answers", () => answersOk(`${url}/jobs`), 30_000);
  const get = async <T>(path: string) => await (await fetch(`${url}${path}`)).json() as T;
  return { child, url, get, output };
}

databaseTest(
  "a Hono app serves with the scheduler, stops it on SIGTERM and re-attaches when restarted",
  async (database) => {
    let app = await startApp(database);
    try {
      await eventually(
        "the heartbeat fires",
        async () => (await app.get<string[]>("/fired")).length >= 2,
      );
      // A run in flight when SIGTERM arrives finishes before the process exits.
      const started = await fetch(`${app.url}/jobs/slow/run`, { method: "POST" });
      const { runId } = await started.json() as { runId: string };
      app.child.kill("SIGTERM");
      const status = await app.child.status;
      assertEquals(status.code, 0, await app.output);

      const scheduler = await createScheduler({
        databaseUrl: database.databaseUrl,
        dataDir: database.dataDir,
        logLevel: "error",
      });
      let beats: number;
      try {
        const [slow] = await scheduler.getRuns("slow");
        assertEquals([slow.runId, slow.status, slow.result], [
          runId,
          "succeeded",
          "slow work done",
        ]);
        const jobs = await scheduler.getJobs();
        assertEquals(jobs.map((job) => job.id), ["heartbeat", "nightly-report", "slow"]);
        beats = jobs[0].runCount;
        assert(beats >= 2);
      } finally {
        await scheduler.shutdown();
      }

      app = await startApp(database);
      await eventually(
        "the heartbeat fires again",
        async () => (await app.get<string[]>("/fired")).length >= 1,
      );
      const jobs = await app.get<Job[]>("/jobs");
      assertEquals(jobs.map((job) => job.id), ["heartbeat", "nightly-report", "slow"]);
      assert(jobs[0].runCount > beats, "the history goes on from the first run");
      assertEquals(jobs[1].schedule.expression, "0 0 3 * * *");
    } finally {
      try {
        app.child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await app.child.status;
    }
  },
);
