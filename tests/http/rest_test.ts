/**
 * The REST routes of SPEC §4 over real HTTP against the real service process, once on the
 * embedded PGlite log and once on Postgres. The routes are translations into the JSON-RPC
 * methods, so besides the statuses and error shapes every step checks that what a route returns
 * is what the method returns over /rpc for the same task. One service per store, one step per
 * behaviour; the steps make their own schedules (their own user_id where they list).
 */
import {
  assert,
  assertEquals,
  createDatabase,
  type JsonReply,
  POSTGRES_ADMIN_URL,
  readJson,
  resultOf,
  rpc,
  type Service,
  startService,
  type StoreKind,
} from "../_helpers.ts";
import { MAX_BODY_BYTES } from "../../src/http/app.ts";

const STORES: StoreKind[] = ["pglite", "postgres"];

/** An interval far enough away that nothing fires while the steps run. */
const DAILY_INTERVAL = { schedule_type: "interval", schedule_expression: "86400" };

/** A task as the wire carries it; the fields the steps read are typed, the rest compared whole. */
interface Task {
  [field: string]: unknown;
  id: string;
  name: string;
  user_id: string | null;
  version: number;
  schedule_type: string | null;
  schedule_expression: string | null;
  schedule_timezone: string;
  schedule_enabled: boolean;
  next_run_at: string | null;
  created_at: string;
  jitter_ms: number;
}

interface SchedulePage {
  schedules: Task[];
  total: number;
  limit: number;
  offset: number;
}

interface Run {
  run_id: string;
  task_id: string;
  trigger: string;
  status: string;
}

interface RunPage {
  runs: Run[];
  next_before: string | null;
}

interface SchedulerStatus {
  state: string;
  timers_armed: number;
}

/** The REST error body: `{error: {code, message, field}}`. */
interface Problem {
  code: string;
  message: string;
  field: string | null;
}

type Params = Record<string, unknown>;

/** Talks to one service over REST and JSON-RPC. */
class Client {
  readonly #url: string;
  #lastId = 0;

  constructor(url: string) {
    this.#url = url;
  }

  /**
   * One REST request: an object body is sent as JSON, a string body as it is, with
   * `contentType` (application/json unless given); `streamed` sends it without a
   * Content-Length.
   */
  async send(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string; streamed?: boolean } = {},
  ): Promise<JsonReply> {
    const { body, contentType = "application/json" } = options;
    const text = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
    const response = await fetch(`${this.#url}${path}`, {
      method,
      headers: text === undefined ? {} : { "content-type": contentType },
      body: text !== undefined && options.streamed
        ? ReadableStream.from([new TextEncoder().encode(text)])
        : text,
    });
    return await readJson(response);
  }

  /** The body of a REST request that must answer `status`. */
  async ok<T = Task>(
    method: string,
    path: string,
    options: { body?: unknown; status?: number } = {},
  ): Promise<T> {
    const reply = await this.send(method, path, options);
    assertEquals(
      reply.status,
      options.status ?? 200,
      `${method} ${path}: ${JSON.stringify(reply.body).slice(0, 500)}`,
    );
    return reply.body as T;
  }

  /** The result of a JSON-RPC call that must succeed. */
  async call<T = Task>(method: string, params: Params = {}): Promise<T> {
    return resultOf<T>(await rpc(this.#url, { method, params, id: ++this.#lastId }), method);
  }

  /** The versions in a task's audit log, or null when the task has none (never written). */
  async versions(taskId: string): Promise<number[] | null> {
    const reply = await rpc(this.#url, {
      method: "tasks.events",
      params: { task_id: taskId, limit: 1000 },
      id: ++this.#lastId,
    });
    const body = reply.body as {
      result?: { events: { version: number }[] };
      error?: { data: { code: string } };
    };
    if (body.error?.data.code === "not_found") return null;
    assert(body.result !== undefined, `tasks.events failed: ${JSON.stringify(body.error)}`);
    return body.result.events.map((event) => event.version);
  }

  /** How many tasks exist, scheduled or not, and how many GET /schedules counts. */
  async totals(): Promise<{ tasks: number; schedules: number }> {
    const tasks = await this.call<{ total: number }>("tasks.list", { limit: 1 });
    const schedules = await this.ok<SchedulePage>("GET", "/schedules?limit=1");
    return { tasks: tasks.total, schedules: schedules.total };
  }
}

/** Asserts a REST error reply: its status, code and field, and a message. */
function assertProblem(
  reply: JsonReply,
  expected: { status: number; code: string; field: string | null },
): void {
  const error = (reply.body as { error?: Problem | null } | null)?.error;
  assert(
    reply.status >= 400 && typeof error === "object" && error !== null,
    `expected an error, got HTTP ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`,
  );
  assertEquals(
    { status: reply.status, code: error.code, field: error.field },
    expected,
    JSON.stringify(error),
  );
  assert(typeof error.message === "string" && error.message.length > 0, "no message");
}

for (const kind of STORES) {
  Deno.test({
    name: `${kind}: the REST routes translate into the JSON-RPC methods`,
    ignore: kind === "postgres" && POSTGRES_ADMIN_URL === null,
    async fn(t) {
      const database = await createDatabase(kind);
      let service: Service | null = null;
      try {
        service = await startService({}, {
          dataDir: database.dataDir,
          databaseUrl: database.databaseUrl,
        });
        await restSteps(t, new Client(service.url));
      } finally {
        await service?.stop();
        await database.drop();
      }
    },
  });
}

async function restSteps(t: Deno.TestContext, client: Client): Promise<void> {
  await t.step(
    "POST /schedules creates with schedule_id as the id: 201, as tasks.get",
    async () => {
      const created = await client.ok("POST", "/schedules", {
        status: 201,
        body: {
          schedule_id: "nightly-report",
          name: "nightly report",
          user_id: "alice",
          inputs: { report: "sales" },
          ...DAILY_INTERVAL,
        },
      });
      assertEquals(
        [created.id, created.name, created.user_id, created.version],
        ["nightly-report", "nightly report", "alice", 1],
      );
      assert(created.next_run_at !== null, "the schedule is armed");
      assertEquals(created, await client.call("tasks.get", { task_id: "nightly-report" }));
      assertEquals(created, await client.ok("GET", "/schedules/nightly-report"));
    },
  );

  await t.step(
    "POST again with that schedule_id upserts: 200, changed, a new version",
    async () => {
      const before = await client.call("tasks.get", { task_id: "nightly-report" });
      const updated = await client.ok("POST", "/schedules", {
        body: {
          schedule_id: "nightly-report",
          name: "nightly report v2",
          user_id: "alice",
          schedule_type: "interval",
          schedule_expression: "43200",
        },
      });
      assertEquals(
        [updated.id, updated.name, updated.schedule_expression, updated.created_at],
        ["nightly-report", "nightly report v2", "43200", before.created_at],
      );
      assert(
        updated.version > before.version,
        `version ${updated.version} after ${before.version}`,
      );
      assertEquals(updated.inputs, { report: "sales" }, "fields not given are kept");
      assertEquals(updated, await client.call("tasks.get", { task_id: "nightly-report" }));
    },
  );

  await t.step("an upsert cannot move the schedule to another user (409 user_id)", async () => {
    const versions = await client.versions("nightly-report");
    const reply = await client.send("POST", "/schedules", {
      body: { schedule_id: "nightly-report", name: "stolen", user_id: "mallory" },
    });
    assertProblem(reply, { status: 409, code: "conflict", field: "user_id" });
    assertEquals(await client.versions("nightly-report"), versions);
  });

  await t.step("an upsert changes the schedule it names, never one named in task_id", async () => {
    await client.ok("POST", "/schedules", {
      status: 201,
      body: { schedule_id: "bystander", name: "bystander", ...DAILY_INTERVAL },
    });
    const versions = {
      upserted: await client.versions("nightly-report"),
      bystander: await client.versions("bystander"),
    };
    const reply = await client.send("POST", "/schedules", {
      body: { schedule_id: "nightly-report", task_id: "bystander", name: "hijacked" },
    });
    assertProblem(reply, { status: 400, code: "invalid_params", field: "task_id" });
    assertEquals({
      upserted: await client.versions("nightly-report"),
      bystander: await client.versions("bystander"),
    }, versions);
    assertEquals((await client.ok("GET", "/schedules/bystander")).name, "bystander");
  });

  await t.step("id and schedule_id together are refused (400) and nothing is written", async () => {
    const totals = await client.totals();
    const reply = await client.send("POST", "/schedules", {
      body: { id: "both-a", schedule_id: "both-b", name: "both", ...DAILY_INTERVAL },
    });
    assertProblem(reply, { status: 400, code: "invalid_params", field: "schedule_id" });
    assertEquals(
      [await client.versions("both-a"), await client.versions("both-b"), await client.totals()],
      [null, null, totals],
    );
  });

  await t.step("an invalid create names the field and writes nothing", async () => {
    const cases: { body: Params; code: string; field: string }[] = [
      {
        body: { schedule_type: "interval", schedule_expression: "soon" },
        code: "invalid_schedule",
        field: "schedule_expression",
      },
      {
        body: { ...DAILY_INTERVAL, schedule_timezone: "Mars/Olympus_Mons" },
        code: "invalid_schedule",
        field: "schedule_timezone",
      },
      { body: { ...DAILY_INTERVAL, colour: "red" }, code: "invalid_params", field: "colour" },
      { body: { ...DAILY_INTERVAL, jitter_ms: -1 }, code: "invalid_params", field: "jitter_ms" },
      { body: { schedule_type: "hourly" }, code: "invalid_params", field: "schedule_type" },
      { body: { schedule_id: "bad id!" }, code: "invalid_params", field: "schedule_id" },
      { body: { task_id: "never-written" }, code: "invalid_params", field: "task_id" },
    ];
    const totals = await client.totals();
    for (const { body, code, field } of cases) {
      const reply = await client.send("POST", "/schedules", {
        body: { schedule_id: "never-written", name: "invalid", ...body },
      });
      assertProblem(reply, { status: 400, code, field });
    }
    assertEquals(await client.versions("never-written"), null);
    assertEquals(await client.totals(), totals);
  });

  await t.step("an invalid upsert names the field and leaves the schedule as it was", async () => {
    const before = await client.ok("GET", "/schedules/nightly-report");
    const versions = await client.versions("nightly-report");
    const reply = await client.send("POST", "/schedules", {
      body: { schedule_id: "nightly-report", schedule_expression: "0 25 * * *" },
    });
    assertProblem(reply, { status: 400, code: "invalid_schedule", field: "schedule_expression" });
    const unknown = await client.send("POST", "/schedules", {
      body: { schedule_id: "nightly-report", colour: "red" },
    });
    assertProblem(unknown, { status: 400, code: "invalid_params", field: "colour" });
    assertEquals(await client.versions("nightly-report"), versions);
    assertEquals(await client.ok("GET", "/schedules/nightly-report"), before);
  });

  await t.step("GET /schedules filters, pages and counts like tasks.scheduled.list", async () => {
    const ids = ["page-1", "page-2", "page-3", "page-4", "page-5"];
    for (const [index, id] of ids.entries()) {
      const schedule = index === 0
        ? { schedule_type: "cron", schedule_expression: "0 0 1 1 *" }
        : DAILY_INTERVAL;
      await client.ok("POST", "/schedules", {
        status: 201,
        body: { schedule_id: id, name: id, user_id: "pager", ...schedule },
      });
    }
    await client.ok("POST", "/schedules/page-5/pause");
    // A task without a schedule is not a schedule.
    await client.call("tasks.create", { id: "unscheduled", name: "unscheduled", user_id: "pager" });

    const all = await client.ok<SchedulePage>("GET", "/schedules?user_id=pager");
    assertEquals([all.total, all.limit, all.offset], [5, 100, 0]);
    assertEquals(all.schedules.map((task) => task.id).sort(), ids);
    const { tasks, ...page } = await client.call<{ tasks: Task[] }>("tasks.scheduled.list", {
      user_id: "pager",
      enabled_only: false,
    });
    assertEquals(all, { schedules: tasks, ...page });

    const pages: string[] = [];
    for (let offset = 0; offset < 6; offset += 2) {
      const page = await client.ok<SchedulePage>(
        "GET",
        `/schedules?user_id=pager&limit=2&offset=${offset}`,
      );
      assertEquals([page.total, page.limit, page.offset], [5, 2, offset]);
      assertEquals(page.schedules.length, Math.min(2, 5 - offset));
      pages.push(...page.schedules.map((task) => task.id));
    }
    assertEquals(pages, all.schedules.map((task) => task.id), "the pages tile the listing");

    const filtered = async (query: string) =>
      (await client.ok<SchedulePage>("GET", `/schedules?user_id=pager&${query}`)).schedules
        .map((task) => task.id).sort();
    assertEquals(await filtered("schedule_type=cron"), ["page-1"]);
    assertEquals(await filtered("enabled_only=true"), ids.slice(0, 4));
    assertEquals(await filtered("enabled_only=false&status=pending"), ids);
    assertEquals(await filtered("status=completed"), []);
    assertEquals((await client.ok<SchedulePage>("GET", "/schedules?user_id=nobody")).total, 0);
  });

  await t.step("GET /schedules refuses a bad, unknown or repeated parameter by name", async () => {
    const cases: [query: string, field: string][] = [
      ["limit=abc", "limit"],
      ["limit=0", "limit"],
      ["limit=100000", "limit"],
      ["limit=1.5", "limit"],
      ["offset=-1", "offset"],
      ["enabled_only=yes", "enabled_only"],
      ["schedule_type=hourly", "schedule_type"],
      ["status=sleeping", "status"],
      ["colour=red", "colour"],
      ["limit=1&limit=2", "limit"],
      ["user_id=pager&user_id=alice", "user_id"],
    ];
    for (const [query, field] of cases) {
      const reply = await client.send("GET", `/schedules?${query}`);
      assertProblem(reply, { status: 400, code: "invalid_params", field });
    }
  });

  await t.step("every /schedules/:id route answers 404 not_found for an unknown id", async () => {
    const replies = [
      await client.send("GET", "/schedules/no-such-schedule"),
      await client.send("PATCH", "/schedules/no-such-schedule", { body: { name: "x" } }),
      await client.send("PUT", "/schedules/no-such-schedule", { body: { name: "x" } }),
      await client.send("DELETE", "/schedules/no-such-schedule"),
      await client.send("POST", "/schedules/no-such-schedule/pause", { body: { paused: true } }),
      await client.send("GET", "/schedules/no-such-schedule/runs"),
    ];
    for (const reply of replies) {
      // The field is the route's: the id in the path.
      assertProblem(reply, { status: 404, code: "not_found", field: "id" });
    }
    for (const [method, path] of [["PATCH", ""], ["PUT", ""], ["GET", "/runs?task_id=other"]]) {
      const reply = await client.send(method, `/schedules/no-such-schedule${path}`, {
        ...(method === "GET" ? {} : { body: { name: "x", task_id: "other" } }),
      });
      assertProblem(reply, { status: 400, code: "invalid_params", field: "task_id" });
    }
    assertProblem(await client.send("GET", "/schedules/bad%20id!"), {
      status: 400,
      code: "invalid_params",
      field: "id",
    });
    assertProblem(
      await client.send("POST", "/schedules", { body: { schedule_id: null, name: "x" } }),
      { status: 400, code: "invalid_params", field: "schedule_id" },
    );
    assertEquals(await client.versions("no-such-schedule"), null);
  });

  await t.step("PATCH changes the fields given and keeps the rest", async () => {
    const created = await client.ok("POST", "/schedules", {
      status: 201,
      body: {
        schedule_id: "patched",
        name: "before",
        inputs: { keep: true },
        jitter_ms: 500,
        priority: 7,
        ...DAILY_INTERVAL,
      },
    });
    const patched = await client.ok("PATCH", "/schedules/patched", {
      body: { name: "after", overlap_policy: "allow" },
    });
    assertEquals(patched, {
      ...created,
      ...pick(patched, ["version", "updated_at"]),
      name: "after",
      overlap_policy: "allow",
    });
    assert(patched.version > created.version);
    assertEquals(patched, await client.call("tasks.get", { task_id: "patched" }));

    const versions = await client.versions("patched");
    assertProblem(
      await client.send("PATCH", "/schedules/patched", { body: { priority: "high" } }),
      { status: 400, code: "invalid_params", field: "priority" },
    );
    assertProblem(
      await client.send("PATCH", "/schedules/patched", { body: { user_id: "bob" } }),
      { status: 400, code: "invalid_params", field: "user_id" },
    );
    assertEquals(await client.versions("patched"), versions);
  });

  await t.step("PUT replaces: settings it leaves out go back to their defaults", async () => {
    const created = await client.ok("POST", "/schedules", {
      status: 201,
      body: {
        schedule_id: "replaced",
        name: "before",
        user_id: "alice",
        inputs: { old: true },
        priority: 9,
        jitter_ms: 1500,
        overlap_policy: "allow",
        catchup_policy: "all",
        timeout_s: 60,
        retry: { max_attempts: 3 },
        schedule_type: "daily",
        schedule_expression: "09:00",
        schedule_timezone: "Europe/Paris",
        max_runs: 10,
      },
    });
    const replaced = await client.ok("PUT", "/schedules/replaced", {
      body: { name: "after", schedule_type: "daily", schedule_expression: "10:00" },
    });
    const defaults = {
      inputs: {},
      priority: 0,
      jitter_ms: 0,
      overlap_policy: "skip",
      catchup_policy: "latest",
      catchup_window_s: 86_400,
      timeout_s: 3600,
      retry: { max_attempts: 1, backoff_ms: 1000, backoff_factor: 2, max_backoff_ms: 300_000 },
      schedule_timezone: "UTC",
      max_runs: null,
    };
    assertEquals(pick(replaced, Object.keys(defaults)), defaults);
    assertEquals(
      [replaced.name, replaced.user_id, replaced.schedule_expression, replaced.created_at],
      ["after", "alice", "10:00", created.created_at],
    );
    assertEquals(replaced, await client.call("tasks.get", { task_id: "replaced" }));

    const versions = await client.versions("replaced");
    const nameless = await client.send("PUT", "/schedules/replaced", { body: DAILY_INTERVAL });
    assertProblem(nameless, { status: 400, code: "invalid_params", field: "name" });
    // A PUT means the same whatever the schedule held: it cannot lean on the stored expression.
    const expressionless = await client.send("PUT", "/schedules/replaced", {
      body: { name: "x", schedule_type: "daily" },
    });
    assertProblem(expressionless, {
      status: 400,
      code: "invalid_params",
      field: "schedule_expression",
    });
    const invalid = await client.send("PUT", "/schedules/replaced", {
      body: { name: "x", schedule_type: "daily", schedule_expression: "25:00" },
    });
    assertProblem(invalid, { status: 400, code: "invalid_schedule", field: "schedule_expression" });
    assertEquals(await client.versions("replaced"), versions);

    const unscheduled = await client.ok("PUT", "/schedules/replaced", { body: { name: "plain" } });
    assertEquals([unscheduled.schedule_type, unscheduled.next_run_at], [null, null]);
  });

  await t.step("DELETE removes the schedule: GET is 404 and the listing drops it", async () => {
    await client.ok("POST", "/schedules", {
      status: 201,
      body: { schedule_id: "doomed", name: "doomed", user_id: "deleter", ...DAILY_INTERVAL },
    });
    assertEquals(await client.ok("DELETE", "/schedules/doomed"), {
      task_id: "doomed",
      deleted: true,
    });
    assertProblem(await client.send("GET", "/schedules/doomed"), {
      status: 404,
      code: "not_found",
      field: "id",
    });
    assertEquals((await client.ok<SchedulePage>("GET", "/schedules?user_id=deleter")).total, 0);
    assertProblem(await client.send("DELETE", "/schedules/doomed"), {
      status: 404,
      code: "not_found",
      field: "id",
    });
  });

  await t.step("pause disarms the schedule, paused:false arms it again", async () => {
    await client.ok("POST", "/schedules", {
      status: 201,
      body: { schedule_id: "pausable", name: "pausable", ...DAILY_INTERVAL },
    });
    const armed = (await client.call<SchedulerStatus>("scheduler.status")).timers_armed;

    const paused = await client.ok("POST", "/schedules/pausable/pause", {
      body: { paused: true },
    });
    assertEquals([paused.schedule_enabled, paused.next_run_at], [false, null]);
    assertEquals(paused, await client.call("tasks.get", { task_id: "pausable" }));
    assertEquals((await client.call<SchedulerStatus>("scheduler.status")).timers_armed, armed - 1);

    const resumed = await client.ok("POST", "/schedules/pausable/pause", {
      body: { paused: false },
    });
    assertEquals(resumed.schedule_enabled, true);
    assert(resumed.next_run_at !== null && Date.parse(resumed.next_run_at) > Date.now());
    assertEquals((await client.call<SchedulerStatus>("scheduler.status")).timers_armed, armed);

    // No body at all means paused.
    const bare = await client.ok("POST", "/schedules/pausable/pause");
    assertEquals([bare.schedule_enabled, bare.next_run_at], [false, null]);

    const versions = await client.versions("pausable");
    for (
      const [body, field] of [
        [{ paused: "yes" }, "paused"],
        [{ paused: null }, "paused"],
        [{ paused: false, until: "tomorrow" }, "until"],
      ] as const
    ) {
      const reply = await client.send("POST", "/schedules/pausable/pause", { body });
      assertProblem(reply, { status: 400, code: "invalid_params", field });
    }
    assertEquals(await client.versions("pausable"), versions);
  });

  await t.step(
    "GET /schedules/:id/runs lists manual runs, latest first, as tasks.runs",
    async () => {
      await client.ok("POST", "/schedules", {
        status: 201,
        body: { schedule_id: "run-me", name: "run me", inputs: { n: 1 }, ...DAILY_INTERVAL },
      });
      assertEquals(await client.ok<RunPage>("GET", "/schedules/run-me/runs"), {
        runs: [],
        next_before: null,
      });
      const triggered: string[] = [];
      for (let i = 0; i < 2; i++) {
        const run = await client.call<{ run_id: string; status: string; finished: boolean }>(
          "tasks.trigger",
          { task_id: "run-me", wait: true },
        );
        assertEquals([run.status, run.finished], ["succeeded", true]);
        triggered.push(run.run_id);
      }
      const listed = await client.ok<RunPage>("GET", "/schedules/run-me/runs");
      assertEquals(
        listed.runs.map((run) => [run.run_id, run.task_id, run.trigger, run.status]),
        triggered.reverse().map((id) => [id, "run-me", "manual", "succeeded"]),
      );
      assertEquals(listed, await client.call("tasks.runs", { task_id: "run-me" }));

      const first = await client.ok<RunPage>("GET", "/schedules/run-me/runs?limit=1");
      assertEquals(first.runs.map((run) => run.run_id), [triggered[0]]);
      assert(first.next_before !== null);
      const second = await client.ok<RunPage>(
        "GET",
        `/schedules/run-me/runs?limit=1&before=${encodeURIComponent(first.next_before)}`,
      );
      assertEquals(second.runs.map((run) => run.run_id), [triggered[1]]);

      for (const [query, field] of [["limit=0", "limit"], ["colour=red", "colour"]]) {
        const reply = await client.send("GET", `/schedules/run-me/runs?${query}`);
        assertProblem(reply, { status: 400, code: "invalid_params", field });
      }
    },
  );

  await t.step("POST /worker/stop pauses the scheduler and /worker/start resumes it", async () => {
    const stopped = await client.ok<SchedulerStatus>("POST", "/worker/stop");
    assertEquals(stopped.state, "paused");
    const status = await client.ok<SchedulerStatus>("GET", "/worker/status");
    assertEquals(status.state, "paused");
    assertEquals(status, await client.call("scheduler.status"));

    assertProblem(await client.send("POST", "/worker/start", { body: { now: true } }), {
      status: 400,
      code: "invalid_params",
      field: "now",
    });
    assertEquals((await client.call<SchedulerStatus>("scheduler.status")).state, "paused");

    const started = await client.ok<SchedulerStatus>("POST", "/worker/start", { body: {} });
    assertEquals(started.state, "running");
    assertEquals(await client.ok("GET", "/worker/status"), await client.call("scheduler.status"));
    assertEquals((await client.ok<SchedulerStatus>("GET", "/worker/status")).state, "running");
  });

  await t.step(
    "body routes refuse other media types (415), non-JSON (400), > 1 MiB (413)",
    async () => {
      await client.ok("POST", "/schedules", {
        status: 201,
        body: { schedule_id: "guarded", name: "guarded", ...DAILY_INTERVAL },
      });
      const totals = await client.totals();
      const versions = await client.versions("guarded");
      const routes: [method: string, path: string][] = [
        ["POST", "/schedules"],
        ["PATCH", "/schedules/guarded"],
        ["PUT", "/schedules/guarded"],
        ["POST", "/schedules/guarded/pause"],
        ["POST", "/worker/stop"],
      ];
      const json = JSON.stringify({ name: "changed", paused: true });
      const huge = JSON.stringify({ name: "x".repeat(MAX_BODY_BYTES) });
      for (const [method, path] of routes) {
        const route = `${method} ${path}`;
        for (const contentType of ["text/plain", "application/x-www-form-urlencoded"]) {
          const reply = await client.send(method, path, { body: json, contentType });
          assertProblem(reply, { status: 415, code: "unsupported_media_type", field: null });
        }
        for (const body of ["{name: 'changed'}", "{", "[1,2"]) {
          const reply = await client.send(method, path, { body });
          assertProblem(reply, { status: 400, code: "invalid_json", field: null });
        }
        for (const body of ["[]", '"paused"', "null"]) {
          const reply = await client.send(method, path, { body });
          assertProblem(reply, { status: 400, code: "invalid_params", field: null });
        }
        const tooBig = await client.send(method, path, { body: huge });
        assertProblem(tooBig, { status: 413, code: "payload_too_large", field: null });
        // Without a Content-Length the limit holds while the body streams in.
        const streamed = await client.send(method, path, { body: huge, streamed: true });
        assertProblem(streamed, { status: 413, code: "payload_too_large", field: null });
        assertEquals(
          [route, (await client.call<SchedulerStatus>("scheduler.status")).state],
          [route, "running"],
        );
      }
      assertEquals(await client.totals(), totals);
      assertEquals(await client.versions("guarded"), versions);
    },
  );
}

/** The named fields of a task. */
function pick(task: Task, fields: string[]): Params {
  return Object.fromEntries(fields.map((field) => [field, task[field]]));
}
