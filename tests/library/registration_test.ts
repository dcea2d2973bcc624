/**
 * Every registration form of the library gives the schedule the engine computes; options reach
 * the task; odd input is refused naming the option; the Hono glue starts the scheduler (and
 * stops the server when it cannot start); shutdown is one, however many times it is asked.
 */
import { Hono } from "hono";
import {
  type ChronologScheduler,
  createScheduler,
  DomainError,
  JOB_STATUSES,
  nextRuns,
  parseSchedule,
  schedulerMiddleware,
  type ScheduleSpec,
  serveWithScheduler,
} from "../../src/mod.ts";
import { assert, assertEquals, freePort, refusal } from "../_helpers.ts";

const noop = () => null;

async function withScheduler(fn: (scheduler: ChronologScheduler) => Promise<void>) {
  const scheduler = await createScheduler({ dataDir: null, logLevel: "error" });
  try {
    await fn(scheduler);
  } finally {
    await scheduler.shutdown();
  }
}

/** The engine's first run of a spec after now, for comparison with a job's nextRunAt. */
function firstRun(spec: ScheduleSpec): number {
  const schedule = parseSchedule({ anchor: Date.now(), ...spec });
  if (schedule instanceof DomainError) throw schedule;
  return nextRuns(schedule, Date.now(), { count: 1 })[0];
}

Deno.test("each registration form gives the schedule the engine computes", async () => {
  await withScheduler(async (s) => {
    const zone = "America/New_York";
    const rule = "RRULE:FREQ=WEEKLY;BYDAY=TU;BYHOUR=10;BYMINUTE=0;BYSECOND=0";
    const cases: [string, Promise<{ nextRunAt: Date | null }>, ScheduleSpec][] = [
      ["daily", s.daily(["09:00", "17:30"], noop, { id: "d", timezone: zone }), {
        type: "daily",
        expression: "09:00,17:30",
        timezone: zone,
      }],
      ["weekly", s.weekly({ days: [1, 3], times: "08:15" }, noop, { id: "w", timezone: zone }), {
        type: "weekly",
        expression: "1,3 08:15",
        timezone: zone,
      }],
      ["monthly", s.monthly({ days: [1, "L"], times: ["06:00"] }, noop, { id: "m" }), {
        type: "monthly",
        expression: "1,L 06:00",
      }],
      ["rrule", s.rrule(rule, noop, { id: "r", timezone: zone }), {
        type: "rrule",
        expression: rule,
        timezone: zone,
      }],
      ["addCronJob", s.addCronJob({ dayOfWeek: "mon-fri", hour: 9 }, noop, { id: "c" }), {
        type: "cron",
        expression: "0 0 9 * * mon-fri",
      }],
    ];
    for (const [form, registered, spec] of cases) {
      const job = await registered;
      assertEquals(job.nextRunAt?.getTime(), firstRun(spec), form);
    }
    const interval = await s.addIntervalJob({ hours: 1, minutes: 30 }, noop, { id: "i" });
    assertEquals(interval.schedule.expression, "5400");
    assertEquals(interval.schedule.description, "every 1 hour and 30 minutes");
  });
});

Deno.test("options reach the job: paused, bounds, max runs, inputs and run settings", async () => {
  await withScheduler(async (s) => {
    const paused = await s.interval({ minutes: 1 }, noop, { id: "p", paused: true });
    assertEquals([paused.status, paused.nextRunAt], ["paused", null]);
    const startAt = new Date(Date.now() + 86_400_000);
    const bounded = await s.interval({ hours: 1 }, noop, {
      id: "b",
      startAt,
      endAt: startAt.getTime() + 3 * 3_600_000,
      maxRuns: 2,
      inputs: { region: "eu" },
      overlap: "queue",
      retry: { maxAttempts: 3 },
    });
    assertEquals(bounded.nextRunAt?.getTime(), startAt.getTime());
    assert(JOB_STATUSES.includes(bounded.status));
    // The same schedule with new settings: the settings are brought up to date.
    const echo = ({ inputs }: { inputs: unknown }) => inputs;
    await s.interval({ days: 1 }, echo, { id: "settings", inputs: { v: 1 } });
    await s.interval({ days: 1 }, echo, {
      id: "settings",
      inputs: { v: 2 },
      replaceExisting: true,
    });
    await s.start();
    assertEquals((await s.runNow("settings", { waitMs: 5000 })).result, { v: 2 });
  });
});

Deno.test("odd input is refused naming the option, and nothing is written", async () => {
  await withScheduler(async (s) => {
    const bound = function report() {}.bind(null);
    const cases: [string, () => Promise<unknown>, string][] = [
      [
        "inputs",
        () => s.interval({ hours: 1 }, noop, { id: "x", inputs: { n: 1n } as never }),
        "inputs",
      ],
      [
        "inputs",
        () => s.interval({ hours: 1 }, noop, { id: "x", inputs: { f: noop } as never }),
        "inputs",
      ],
      ["bound handler", () => s.interval({ hours: 1 }, bound), "id"],
      ["maxRuns", () => s.interval({ hours: 1 }, noop, { id: "x", maxRuns: 0 }), "maxRuns"],
      ["startAt", () => s.interval({ hours: 1 }, noop, { id: "x", startAt: "soon" }), "startAt"],
      [
        "retry",
        () => s.interval({ hours: 1 }, noop, { id: "x", retry: { maxAttempts: 0 } }),
        "options.retry.maxAttempts",
      ],
      [
        "weekly day",
        () => s.weekly({ days: [8], times: "09:00" }, noop, { id: "x" }),
        "schedule_expression",
      ],
      // What plain JavaScript can pass: a DomainError naming the argument, never a TypeError.
      ["options", () => s.interval({ hours: 1 }, noop, 5 as never), "options"],
      ["name", () => s.interval({ hours: 1 }, noop, { id: "x", name: 5 as never }), "name"],
      ["name", () => s.interval({ hours: 1 }, noop, { name: "n".repeat(257) }), "name"],
      ["name", () => s.interval({ hours: 1 }, noop, { name: "   " }), "name"],
      ["name", () => s.interval({ hours: 1 }, noop, { id: "x", name: "a\u0000b" }), "name"],
      [
        "inputs",
        () => s.interval({ hours: 1 }, noop, { id: "x", inputs: { a: ["a\u0000b"] } }),
        "inputs",
      ],
      [
        "inputs",
        () => s.interval({ hours: 1 }, noop, { id: "x", inputs: { "\ud800": 1 } }),
        "inputs",
      ],
      ["cron", () => s.cron(null as never, noop, { id: "x" }), "cron"],
      ["at", () => s.at("not a date", noop, { id: "x" }), "at"],
      ["at", () => s.at(null as never, noop, { id: "x" }), "at"],
      ["daily", () => s.daily(123 as never, noop, { id: "x" }), "times"],
      ["daily", () => s.daily(null as never, noop, { id: "x" }), "times"],
      ["weekly", () => s.weekly(null as never, noop, { id: "x" }), "spec"],
      [
        "weekly days",
        () => s.weekly({ days: null, times: "09:00" } as never, noop, { id: "x" }),
        "spec.days",
      ],
      [
        "monthly times",
        () => s.monthly({ days: [1], times: 9 } as never, noop, { id: "x" }),
        "spec.times",
      ],
      ["rrule", () => s.rrule(5 as never, noop, { id: "x" }), "rule"],
    ];
    for (const [what, register, field] of cases) {
      const error = await refusal(register());
      assertEquals(error.field, field, `${what}: ${error.message}`);
    }
    assertEquals(await s.getJobs(), []);
    // Options given as null are no options; out-of-range limits on reads name the argument.
    const job = await s.interval({ hours: 1 }, noop, null as never);
    assertEquals(job.id, "noop");
    assertEquals((await refusal(s.getRuns("noop", { limit: -1 }))).field, "limit");
    assertEquals((await refusal(s.getRuns("noop", { limit: 1001 }))).field, "limit");
    await s.start();
    assertEquals((await refusal(s.runNow("noop", { waitMs: -1 }))).field, "waitMs");
    await s.removeJob("noop");
    // A name with accents makes a readable id.
    assertEquals((await s.interval({ hours: 1 }, noop, { name: "Rapport été" })).id, "rapport-ete");
  });
});

Deno.test("replacing a job with a one-shot in the past is refused like a new one", async () => {
  await withScheduler(async (s) => {
    await s.at(new Date(Date.now() + 3_600_000), noop, { id: "launch" });
    const error = await refusal(
      s.at(new Date(Date.now() - 60_000), noop, { id: "launch", replaceExisting: true }),
    );
    assertEquals([error.code, error.field], ["invalid_params", "at"]);
    assert((await s.getJob("launch")).nextRunAt !== null);
  });
});

Deno.test("shutdown asked twice at once settles once, after the runs it waits for", async () => {
  const s = await createScheduler({ dataDir: null, logLevel: "error" });
  let finished = false;
  await s.interval({ days: 1 }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    finished = true;
  }, { id: "slow" });
  await s.start();
  await s.runNow("slow");
  const first = s.shutdown();
  const second = s.shutdown();
  await second;
  assert(finished, "the second call returned before the run finished");
  await first;
  assertEquals((await refusal(s.getJobs())).code, "conflict");
});

Deno.test("schedulerMiddleware starts the scheduler on the first request and hands it on", async () => {
  const s = await createScheduler({ dataDir: null, logLevel: "error" });
  const app = new Hono<{ Variables: { scheduler: ChronologScheduler } }>();
  app.use(schedulerMiddleware(s));
  app.get("/jobs", async (c) => c.json(await c.get("scheduler").getJobs()));
  await s.interval({ minutes: 1 }, noop, { id: "tick" });
  const port = freePort();
  const server = Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  try {
    assertEquals(s.running, false);
    const jobs = await (await fetch(`http://127.0.0.1:${port}/jobs`)).json();
    assertEquals(jobs.map((job: { id: string }) => job.id), ["tick"]);
    assertEquals(s.running, true);
  } finally {
    await server.shutdown();
    await s.shutdown();
  }
});

Deno.test("serveWithScheduler stops the server when the scheduler cannot start", async () => {
  const s = await createScheduler({ dataDir: null, logLevel: "error" });
  await s.shutdown();
  const app = new Hono().get("/", (c) => c.text("up"));
  const { server, stopped } = serveWithScheduler(s, app, {
    port: freePort(),
    hostname: "127.0.0.1",
    signals: [],
    onListen() {},
  });
  const error = await refusal(stopped);
  assert(/shut down/.test(error.message), error.message);
  await server.finished;
});
