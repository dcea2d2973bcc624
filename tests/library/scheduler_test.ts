/**
 * The embedded library (src/mod.ts) on PGlite and PostgreSQL: a program registers interval, cron
 * and one-shot handlers, sees them fire with the right context, restarts and re-attaches to the
 * same jobs and history, pauses, resumes and removes them; bad registrations throw a DomainError
 * naming the problem and write nothing; a job whose handler this process lacks does not fire
 * (nor does a service sharing the database).
 */
import { type ChronologScheduler, createScheduler, type HandlerContext } from "../../src/mod.ts";
import {
  assert,
  assertEquals,
  createDatabase,
  databaseTest,
  eventually,
  POSTGRES_ADMIN_URL,
  refusal,
  rpc,
  startService,
  type TestDatabase,
} from "../_helpers.ts";

function open(database: TestDatabase, options: { timezone?: string } = {}) {
  return createScheduler({
    databaseUrl: database.databaseUrl,
    dataDir: database.dataDir,
    logLevel: "error",
    ...options,
  });
}

/** Every context each job's handler was called with, by job id. */
function recorder() {
  const calls = new Map<string, HandlerContext[]>();
  const handler = (result: unknown = "done") => (context: HandlerContext) => {
    calls.set(context.taskId, [...calls.get(context.taskId) ?? [], context]);
    return result;
  };
  const count = (id: string) => calls.get(id)?.length ?? 0;
  return { calls, handler, count };
}

databaseTest(
  "interval, cron and one-shot handlers fire with their context; a restart re-attaches",
  async (database) => {
    const { calls, handler, count } = recorder();
    let scheduler = await open(database);
    const at = new Date(Date.now() + 1500);
    try {
      const interval = await scheduler.interval({ seconds: 1 }, handler({ n: 1 }), {
        id: "every-second",
        inputs: { kind: "interval" },
      });
      assertEquals(interval.status, "pending");
      assertEquals(interval.schedule.type, "interval");
      await scheduler.cron({ second: "*/2" }, handler(), { name: "Each Second Cron" });
      await scheduler.at(at, handler("once"), { id: "one-shot" });
      await scheduler.start();
      await eventually(
        "each job fired",
        () =>
          count("every-second") >= 2 && count("each-second-cron") >= 1 && count("one-shot") === 1,
      );
      const [context] = calls.get("every-second")!;
      assertEquals(context.attempt, 1);
      assertEquals(context.inputs, { kind: "interval" });
      assert(context.runId.length > 0 && !context.signal.aborted);
      const cron = calls.get("each-second-cron")![0];
      // Every even second (the field form fills nothing above the second).
      assertEquals(cron.scheduledFor.getTime() % 2000, 0);
      assertEquals(calls.get("one-shot")![0].scheduledFor.getTime(), at.getTime());
      // The handler's return value is the run's result.
      await eventually(
        "the one-shot run is recorded",
        async () => (await scheduler.getRuns("one-shot"))[0]?.status === "succeeded",
      );
      assertEquals((await scheduler.getRuns("one-shot"))[0].result, "once");
      assertEquals((await scheduler.getJob("one-shot")).status, "completed");
    } finally {
      await scheduler.shutdown();
    }
    const before = await runCounts(database);

    // The program starts again: the same registrations find the same jobs and their history.
    scheduler = await open(database);
    try {
      const again = await scheduler.interval({ seconds: 1 }, handler({ n: 1 }), {
        id: "every-second",
        inputs: { kind: "interval" },
      });
      await scheduler.cron({ second: "*/2" }, handler(), { name: "Each Second Cron" });
      // Its instant has passed, yet it is the same job: it re-attaches instead of refusing.
      await scheduler.at(at, handler("once"), { id: "one-shot" });
      const jobs = await scheduler.getJobs();
      assertEquals(jobs.map((job) => job.id), ["each-second-cron", "every-second", "one-shot"]);
      assertEquals(again.runCount, before.get("every-second"));
      assert((await scheduler.getRuns("every-second")).length >= 2);
      await scheduler.start();
      const fired = count("every-second");
      await eventually("the interval fires after the restart", () => count("every-second") > fired);
      assertEquals(count("one-shot"), 1);
    } finally {
      await scheduler.shutdown();
    }
  },
);

databaseTest("a job pauses, resumes across a restart, and is removed", async (database) => {
  const { handler, count } = recorder();
  let scheduler = await open(database);
  try {
    await scheduler.interval({ seconds: 1 }, handler(), { id: "tick" });
    await scheduler.start();
    await eventually("it fires", () => count("tick") >= 1);
    const paused = await scheduler.pauseJob("tick");
    assertEquals([paused.status, paused.nextRunAt], ["paused", null]);
  } finally {
    await scheduler.shutdown();
  }
  // Paused is the job's state in the log: a restart keeps it, whatever the registration says.
  scheduler = await open(database);
  try {
    const job = await scheduler.interval({ seconds: 1 }, handler(), { id: "tick" });
    assertEquals(job.status, "paused");
    await scheduler.start();
    const fired = count("tick");
    await new Promise((resolve) => setTimeout(resolve, 2200));
    assertEquals(count("tick"), fired);
    const resumed = await scheduler.resumeJob("tick");
    assertEquals(resumed.status, "pending");
    await eventually("it fires again", () => count("tick") > fired);

    await scheduler.removeJob("tick");
    const removed = count("tick");
    assertEquals(await scheduler.getJobs(), []);
    assertEquals((await refusal(scheduler.getJob("tick"))).code, "not_found");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assertEquals(count("tick"), removed);
    // Its log stays for audit, and with it the id.
    const reused = await refusal(scheduler.interval({ seconds: 1 }, handler(), { id: "tick" }));
    assertEquals([reused.code, reused.field], ["conflict", "id"]);
    assert(/was removed/.test(reused.message), reused.message);
  } finally {
    await scheduler.shutdown();
  }
});

databaseTest(
  "bad registrations throw a DomainError naming the problem and write nothing",
  async (database) => {
    const { handler } = recorder();
    const scheduler = await open(database);
    try {
      await scheduler.cron("0 2 * * *", handler(), { id: "nightly" });
      const cases: [string, () => Promise<unknown>, string, string | undefined, RegExp][] = [
        [
          "invalid cron",
          () => scheduler.cron("61 * * * *", handler(), { id: "bad-cron" }),
          "invalid_schedule",
          "schedule_expression",
          /minute 61/,
        ],
        [
          "cron field form",
          () => scheduler.cron({ hour: 25 }, handler(), { id: "bad-hour" }),
          "invalid_schedule",
          "cron.hour",
          /hour 25/,
        ],
        [
          "past at",
          () => scheduler.at(new Date(Date.now() - 60_000), handler(), { id: "too-late" }),
          "invalid_params",
          "at",
          /in the past/,
        ],
        [
          "same id, other schedule",
          () => scheduler.cron("0 3 * * *", handler(), { id: "nightly" }),
          "conflict",
          "id",
          /already registered/,
        ],
        [
          "no id for an anonymous handler",
          () => scheduler.interval({ minutes: 5 }, () => null),
          "invalid_params",
          "id",
          /id or a name/,
        ],
        [
          "an id the log cannot hold",
          () => scheduler.interval({ minutes: 5 }, handler(), { id: "-x y" }),
          "invalid_params",
          "id",
          /not a job id/,
        ],
        [
          "unknown zone",
          () => scheduler.daily("09:00", handler(), { id: "zoned", timezone: "Mars/Olympus" }),
          "invalid_params",
          "timezone",
          /Mars\/Olympus/,
        ],
        [
          "zero interval",
          () => scheduler.interval({ seconds: 0 }, handler(), { id: "never" }),
          "invalid_schedule",
          "every",
          /at least 1/,
        ],
        [
          "bad overlap",
          () =>
            scheduler.interval({ seconds: 5 }, handler(), {
              id: "overlap",
              overlap: "sometimes" as "skip",
            }),
          "invalid_params",
          "options.overlap",
          /skip, allow/,
        ],
        [
          "not a function",
          () =>
            scheduler.interval({ seconds: 5 }, "report" as unknown as () => null, { id: "str" }),
          "invalid_params",
          "handler",
          /function/,
        ],
      ];
      for (const [what, register, code, field, message] of cases) {
        const error = await refusal(register());
        assertEquals([error.code, error.field], [code, field], `${what}: ${error.message}`);
        assert(message.test(error.message), `${what}: ${error.message}`);
      }
      const jobs = await scheduler.getJobs();
      assertEquals(
        jobs.map((job) => [job.id, job.schedule.expression, job.runCount]),
        [["nightly", "0 2 * * *", 0]],
      );
    } finally {
      await scheduler.shutdown();
    }
    // In a new process, the same id with another schedule is a conflict too (unless replaced).
    const restarted = await open(database);
    try {
      const error = await refusal(restarted.cron("0 3 * * *", handler(), { id: "nightly" }));
      assertEquals([error.code, error.field], ["conflict", "id"]);
      assert(/another schedule \(cron "0 2 \* \* \*" in UTC\)/.test(error.message), error.message);
      const replaced = await restarted.cron("0 3 * * *", handler(), {
        id: "nightly",
        replaceExisting: true,
      });
      assertEquals(replaced.schedule.expression, "0 3 * * *");
      assertEquals((await restarted.getJobs()).length, 1);
    } finally {
      await restarted.shutdown();
    }
  },
);

databaseTest(
  "a job whose handler this process lacks does not fire here, and says so",
  async (database) => {
    const { handler, count } = recorder();
    let scheduler = await open(database);
    try {
      await scheduler.interval({ seconds: 1 }, handler(), { id: "elsewhere" });
    } finally {
      await scheduler.shutdown();
    }
    scheduler = await open(database);
    try {
      await scheduler.start();
      const [job] = await scheduler.getJobs();
      assertEquals([job.id, job.status, job.handlerRegistered], ["elsewhere", "disabled", false]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assertEquals(count("elsewhere"), 0);
      assertEquals((await scheduler.getJob("elsewhere")).runCount, 0);
      const refused = await refusal(scheduler.runNow("elsewhere"));
      assertEquals(refused.code, "conflict");
      // Registering it later arms it at once.
      await scheduler.interval({ seconds: 1 }, handler(), { id: "elsewhere" });
      await eventually("it fires once registered", () => count("elsewhere") >= 1);
    } finally {
      await scheduler.shutdown();
    }
  },
);

databaseTest(
  "handlers fail, retry, time out, overlap and are aborted by shutdown like any executor",
  async (database) => {
    const scheduler = await open(database);
    const attempts: number[] = [];
    let aborted: unknown = null;
    try {
      await scheduler.start();
      await scheduler.interval({ days: 1 }, ({ attempt }) => {
        attempts.push(attempt);
        if (attempt === 1) throw new Error("the first attempt fails");
        return { attempt };
      }, { id: "flaky", retry: { maxAttempts: 2, backoffMs: 50 } });
      const first = await scheduler.runNow("flaky", { waitMs: 5000 });
      assertEquals([first.status, first.result], ["succeeded", { attempt: 2 }]);
      assertEquals(attempts, [1, 2]);

      await scheduler.interval({ days: 1 }, () => {
        throw new Error("no disk left");
      }, { id: "broken" });
      const failed = await scheduler.runNow("broken", { waitMs: 5000 });
      assertEquals([failed.status, failed.error], ["failed", "no disk left"]);
      assertEquals((await scheduler.getJob("broken")).status, "failed");

      // Text the database cannot hold (NUL, an unpaired surrogate) is recorded as U+FFFD
      // instead of a record that fails for ever and leaves the run in flight.
      await scheduler.interval({ days: 1 }, () => ({ "k\u0000": ["a\u0000b", "\ud800"] }), {
        id: "odd-result",
      });
      const odd = await scheduler.runNow("odd-result", { waitMs: 5000 });
      assertEquals([odd.status, odd.result], ["succeeded", { "k\uFFFD": ["a\uFFFDb", "\uFFFD"] }]);
      await scheduler.interval({ days: 1 }, () => {
        throw new Error("bad\u0000message\udc00");
      }, { id: "odd-error" });
      const oddFailure = await scheduler.runNow("odd-error", { waitMs: 5000 });
      assertEquals([oddFailure.status, oddFailure.error], ["failed", "bad\uFFFDmessage\uFFFD"]);

      // Overlap like any executor: "skip" records a run asked for while one is going as
      // skipped; "queue" starts it once the first ends.
      for (const overlap of ["skip", "queue"] as const) {
        let release = () => {};
        const gate = new Promise<void>((resolve) => release = resolve);
        const id = `one-at-a-time-${overlap}`;
        await scheduler.interval({ days: 1 }, () => gate.then(() => "released"), { id, overlap });
        const going = await scheduler.runNow(id);
        const second = await scheduler.runNow(id);
        assertEquals(going.status, "running");
        assertEquals(second.status, overlap === "skip" ? "skipped" : "pending");
        release();
        await eventually(`the ${overlap} runs end`, async () => {
          const runs = await scheduler.getRuns(id);
          return runs.every((run) => run.status !== "running" && run.status !== "pending");
        });
        const statuses = (await scheduler.getRuns(id)).map((run) => run.status).sort();
        assertEquals(
          statuses,
          overlap === "skip" ? ["skipped", "succeeded"] : ["succeeded", "succeeded"],
        );
      }

      await scheduler.interval({ days: 1 }, ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener("abort", () => {
            aborted = signal.reason;
            reject(new Error("stopped"));
          });
        }), { id: "slow", timeoutS: 1 });
      const timedOut = await scheduler.runNow("slow", { waitMs: 5000 });
      assertEquals(timedOut.status, "timed_out");
      assertEquals(aborted, "timeout");
      // A handler that ignores its signal times out all the same.
      await scheduler.interval({ days: 1 }, () => new Promise(() => {}), {
        id: "deaf",
        timeoutS: 1,
      });
      const deaf = await scheduler.runNow("deaf", { waitMs: 5000 });
      assertEquals(deaf.status, "timed_out");

      // Shutdown without waiting aborts the run in flight and records it cancelled.
      aborted = null;
      await scheduler.interval(
        { days: 1 },
        // It hears the abort but never settles: shutdown must not wait for it.
        ({ signal }) =>
          new Promise(() => signal.addEventListener("abort", () => aborted = signal.reason)),
        { id: "endless", timeoutS: 3600 },
      );
      const started = await scheduler.runNow("endless");
      await eventually(
        "the run is going",
        async () => (await scheduler.getJob("endless")).status === "running",
      );
      await scheduler.shutdown({ wait: false });
      assertEquals(aborted, "shutdown");
      const reopened = await open(database);
      try {
        const [run] = await reopened.getRuns("endless");
        assertEquals([run.runId, run.status], [started.runId, "cancelled"]);
      } finally {
        await reopened.shutdown();
      }
    } finally {
      await scheduler.shutdown();
    }
  },
);

async function runCounts(database: TestDatabase): Promise<Map<string, number>> {
  const scheduler: ChronologScheduler = await open(database);
  try {
    return new Map((await scheduler.getJobs()).map((job) => [job.id, job.runCount]));
  } finally {
    await scheduler.shutdown();
  }
}

Deno.test({
  name: "postgres: processes without a job's handler never run it, nor its retries",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    const service = await startService({}, { databaseUrl: database.databaseUrl! });
    // A second copy of the program that does not register the job, and the program itself.
    const bystander = await open(database);
    const scheduler = await open(database);
    const attempts: number[] = [];
    try {
      await bystander.start();
      // Each run fails its first attempt and succeeds on the retry 2.5 s later: the other
      // processes' sweeps (every 5 s) see those retries waiting, and must leave them alone.
      await scheduler.interval({ seconds: 2 }, ({ attempt }) => {
        attempts.push(attempt);
        if (attempt === 1) throw new Error("first attempts fail");
        return "retried";
      }, { id: "local-work", retry: { maxAttempts: 2, backoffMs: 2500 } });
      await scheduler.start();
      await eventually(
        "four runs were retried",
        () => attempts.filter((attempt) => attempt === 2).length >= 4,
        30_000,
      );
      // The service sees the job (it is in the log) but never fires it.
      const reply = await rpc(service.url, {
        method: "tasks.get",
        params: { task_id: "local-work" },
        id: 1,
      });
      assertEquals(
        (reply.body as { result: { executor: unknown } }).result.executor,
        { type: "inprocess" },
      );
      // An unscheduled in-process task made through the API (a tree's step) is not a job.
      await rpc(service.url, {
        method: "tasks.create",
        params: { id: "step", name: "step", executor: { type: "inprocess" } },
        id: 2,
      });
      await scheduler.shutdown();
      const reader = await open(database);
      const runs = await reader.getRuns("local-work", { limit: 200 });
      assertEquals((await reader.getJobs()).map((job) => job.id), ["local-work"]);
      await reader.shutdown();
      // Every attempt the log holds is one this program's handler performed.
      const recorded = runs.filter((run) => run.status !== "skipped");
      assertEquals(recorded.filter((run) => /No handler/.test(run.error ?? "")), []);
      assertEquals(
        recorded.filter((run) => run.status === "succeeded").length,
        attempts.filter((attempt) => attempt === 2).length,
      );
    } finally {
      await scheduler.shutdown();
      await bystander.shutdown();
      await service.stop();
      await database.drop();
    }
  },
});

Deno.test({
  name: "postgres: two copies registering the same job at once share one job",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    const [first, second] = [await open(database), await open(database)];
    try {
      for (let round = 0; round < 5; round++) {
        const id = `race-${round}`;
        const jobs = await Promise.all(
          [first, second].map((copy) => copy.interval({ minutes: 5 }, noop, { id })),
        );
        assertEquals(jobs.map((job) => job.id), [id, id]);
      }
      assertEquals((await first.getJobs()).length, 5);
    } finally {
      await first.shutdown();
      await second.shutdown();
      await database.drop();
    }
  },
});

const noop = () => null;
