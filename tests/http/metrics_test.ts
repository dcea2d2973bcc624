/**
 * `GET /health` and `GET /metrics` (SPEC §4, §5) over real HTTP against the real service
 * process: health needs no token and turns 503 when the store is gone; metrics needs an admin's
 * token and counts what the service really did (timers firing, runs skipped for overlap, requests
 * by route pattern), read back from the Prometheus text exposition.
 */
import postgres from "postgres";
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
  signToken,
  startService,
} from "../_helpers.ts";

const JWT_SECRET = "a-jwt-secret-of-at-least-32-characters!!";
const SECOND = 1000;

interface Task {
  id: string;
  created_at: string;
}

interface Health {
  status: string;
  version: string;
  store: { kind: string; reachable: boolean; latency_ms: number | null };
  scheduler: { state: string };
}

/** One sample line of the exposition: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape: the samples, and each metric family's `# TYPE`. */
interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
}

/** Talks to one service as the bearer of `token`, counting the JSON-RPC calls it makes. */
class Client {
  readonly url: string;
  readonly #token: string;
  /** The /rpc calls made so far (each answered 200). */
  rpcCalls = 0;

  constructor(url: string, token: string) {
    this.url = url;
    this.#token = token;
  }

  /** The result of a JSON-RPC call that must succeed. */
  async call<T = Task>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const reply = await rpc(this.url, { method, params, id: ++this.rpcCalls }, this.#token);
    assertEquals(reply.status, 200);
    return resultOf<T>(reply, method);
  }

  /** A REST request with a JSON body (none when `body` is undefined). */
  async send(method: string, path: string, body?: unknown): Promise<JsonReply> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return await readJson(response);
  }

  /** GET /metrics as it comes. */
  async metrics(): Promise<Response> {
    return await fetch(`${this.url}/metrics`, {
      headers: { authorization: `Bearer ${this.#token}` },
    });
  }

  /** GET /metrics, parsed. */
  async scrape(): Promise<Scrape> {
    const response = await this.metrics();
    const text = await response.text();
    assertEquals(response.status, 200, text.slice(0, 300));
    return parseExposition(text);
  }
}

/** Reads the Prometheus text format 0.0.4, as far as these tests need. */
function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = line.match(/^# TYPE (\S+) (\S+)$/);
    if (type !== null) types.set(type[1], type[2]);
    if (line === "" || line.startsWith("#")) continue;
    const sample = line.match(/^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert(sample !== null, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (sample[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[name] = value.replace(/\\(.)/g, (_, escaped) => escaped === "n" ? "\n" : escaped);
    }
    samples.push({ name: sample[1], labels, value: parseValue(sample[3]) });
  }
  return { samples, types };
}

/** A sample value or a bucket bound: a Go float, `+Inf` included. */
function parseValue(text: string): number {
  return text === "+Inf" ? Infinity : text === "-Inf" ? -Infinity : Number(text);
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
function valueOf(
  scrape: Scrape,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return scrape.samples.find((sample) =>
    sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted
  )?.value;
}

/** The scheduler state gauge: 1 for the current state, 0 for the others. */
function schedulerStates(scrape: Scrape): Record<string, number> {
  return Object.fromEntries(
    ["stopped", "running", "paused", "stopping"].map((state) => [
      state,
      mustValue(scrape, "chronolog_scheduler_state", { state }),
    ]),
  );
}

/** The value of a sample that must be there. */
function mustValue(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const value = valueOf(scrape, name, labels);
  assert(value !== undefined, `no sample ${name}${JSON.stringify(labels)}`);
  return value;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Polls `check` until it returns true, for at most `ms`; false when it never did. */
async function eventually(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return await check();
}

/** The `error.code` of a REST error reply. */
function errorCode(reply: JsonReply): string | undefined {
  return (reply.body as { error?: { code?: string } } | null)?.error?.code;
}

async function health(url: string, headers: HeadersInit = {}): Promise<JsonReply> {
  return await readJson(await fetch(`${url}/health`, { headers }));
}

/** An HTTP target that takes `delayMs` to answer each request. */
function slowTarget(delayMs: number): { url: string; requests(): number; close(): Promise<void> } {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    requests++;
    await sleep(delayMs);
    return Response.json({ slow: true });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/slow`,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}

Deno.test("/health is open and /metrics counts firing, overlap skips and requests by route", async (t) => {
  const service = await startService({ CHRONOLOG_JWT_SECRET: JWT_SECRET });
  const target = slowTarget(3 * SECOND);
  const admin = new Client(service.url, await signToken(JWT_SECRET, "ops", { roles: ["admin"] }));
  const user = await signToken(JWT_SECRET, "alice");
  try {
    await t.step(
      "GET /health needs no token: ok, store reachable with latency, running",
      async () => {
        for (const headers of [{}, { authorization: "Bearer not.a.token" }] as HeadersInit[]) {
          const reply = await health(service.url, headers);
          assertEquals(reply.status, 200);
          const body = reply.body as Health;
          assertEquals(
            [body.status, body.store.kind, body.store.reachable, body.scheduler],
            ["ok", "pglite", true, { state: "running" }],
          );
          assert(typeof body.version === "string" && body.version !== "");
          assert(
            typeof body.store.latency_ms === "number" && body.store.latency_ms >= 0,
            `latency_ms ${body.store.latency_ms}`,
          );
        }
        // Every other route does need one.
        const rpcReply = await rpc(service.url, { method: "scheduler.status", id: 1 });
        assertEquals(rpcReply.status, 401);
      },
    );

    await t.step(
      "GET /metrics: 401 without a token, 403 for a user, 200 text for an admin",
      async () => {
        const anonymous = await readJson(await fetch(`${service.url}/metrics`));
        assertEquals([anonymous.status, errorCode(anonymous)], [401, "unauthorized"]);
        const forbidden = await readJson(
          await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${user}` } }),
        );
        assertEquals([forbidden.status, errorCode(forbidden)], [403, "forbidden"]);
        const response = await admin.metrics();
        const text = await response.text();
        assertEquals(response.status, 200);
        const contentType = response.headers.get("content-type") ?? "";
        assert(
          /^text\/plain\b/.test(contentType) && /\bversion=0\.0\.4\b/.test(contentType),
          `Content-Type ${contentType}`,
        );
        const scrape = parseExposition(text);
        const families: [string, string][] = [
          ["chronolog_schedules_due_total", "counter"],
          ["chronolog_runs_emitted_total", "counter"],
          ["chronolog_runs_skipped_overlap_total", "counter"],
          ["chronolog_runs_failed_launch_total", "counter"],
          ["chronolog_fire_lateness_seconds", "histogram"],
          ["chronolog_events_appended_total", "counter"],
          ["chronolog_tasks_loaded", "gauge"],
          ["chronolog_scheduler_state", "gauge"],
          ["chronolog_http_requests_total", "counter"],
          ["chronolog_http_request_duration_seconds", "histogram"],
        ];
        for (const [name, type] of families) {
          assertEquals([name, scrape.types.get(name)], [name, type]);
        }
        assertEquals(mustValue(scrape, "chronolog_runs_failed_launch_total"), 0);
      },
    );

    await t.step(
      "a 1-second interval fires twice in 2.5 s: due, emitted, lateness, events",
      async () => {
        const before = await admin.scrape();
        assertEquals(
          valueOf(before, "chronolog_runs_emitted_total", { trigger: "schedule" }),
          undefined,
        );
        const task = await admin.call("tasks.create", {
          id: "every-second",
          name: "every second",
          schedule_type: "interval",
          schedule_expression: "1",
        });
        await sleep(Date.parse(task.created_at) + 2.5 * SECOND - Date.now());
        const after = await admin.scrape();
        const emitted = mustValue(after, "chronolog_runs_emitted_total", { trigger: "schedule" });
        assert(emitted >= 2, `runs emitted ${emitted}`);
        const due = mustValue(after, "chronolog_schedules_due_total");
        assert(due >= 2, `schedules due ${due}`);

        const count = mustValue(after, "chronolog_fire_lateness_seconds_count");
        assert(count >= 2, `lateness count ${count}`);
        assert(mustValue(after, "chronolog_fire_lateness_seconds_sum") >= 0);
        const buckets = after.samples
          .filter((sample) => sample.name === "chronolog_fire_lateness_seconds_bucket")
          .map((sample) => [parseValue(sample.labels.le), sample.value])
          .sort(([a], [b]) => a - b);
        assert(buckets.length >= 2, "the histogram has buckets");
        assertEquals(buckets.at(-1), [Infinity, count], "+Inf holds every observation");
        for (let i = 1; i < buckets.length; i++) {
          assert(buckets[i][1] >= buckets[i - 1][1], `buckets are cumulative: ${buckets}`);
        }

        const appended = mustValue(after, "chronolog_events_appended_total");
        assert(
          appended > mustValue(before, "chronolog_events_appended_total"),
          `events ${appended}`,
        );
        const runs = await admin.call<{ runs: { trigger: string }[] }>("tasks.runs", {
          task_id: task.id,
        });
        assert(runs.runs.filter((run) => run.trigger === "schedule").length >= 2);
      },
    );

    await t.step(
      "tasks_loaded counts live tasks; the state gauge follows the scheduler",
      async () => {
        for (const id of ["loaded-1", "loaded-2", "deleted"]) {
          await admin.call("tasks.create", { id, name: id });
        }
        await admin.call("tasks.delete", { task_id: "deleted" });
        const { total } = await admin.call<{ total: number }>("tasks.list", { limit: 1 });
        assertEquals(total, 3);
        const running = await admin.scrape();
        assertEquals(mustValue(running, "chronolog_tasks_loaded"), total);
        assertEquals(schedulerStates(running), { stopped: 0, running: 1, paused: 0, stopping: 0 });

        assertEquals((await admin.send("POST", "/worker/stop")).status, 200);
        const paused = schedulerStates(await admin.scrape());
        assertEquals(paused, { stopped: 0, running: 0, paused: 1, stopping: 0 });
        assertEquals((await admin.send("POST", "/worker/start")).status, 200);
        const resumed = schedulerStates(await admin.scrape());
        assertEquals(resumed, { stopped: 0, running: 1, paused: 0, stopping: 0 });
      },
    );

    await t.step("HTTP requests are counted by route pattern, never by raw id", async () => {
      assertEquals((await admin.send("GET", "/schedules/every-second")).status, 200);
      assertEquals((await admin.send("GET", "/schedules/no-such-id")).status, 404);
      assertEquals((await admin.send("GET", "/no/such/route/x7")).status, 404);
      const scrape = await admin.scrape();
      const requests = (labels: Record<string, string>) =>
        valueOf(scrape, "chronolog_http_requests_total", labels);
      assertEquals(
        requests({ route: "/rpc", method: "POST", status: "200" }),
        admin.rpcCalls,
        "every JSON-RPC call this test made",
      );
      assertEquals(requests({ route: "/rpc", method: "POST", status: "401" }), 1);
      assertEquals(requests({ route: "/schedules/:id", method: "GET", status: "200" }), 1);
      assertEquals(requests({ route: "/schedules/:id", method: "GET", status: "404" }), 1);
      assertEquals(requests({ route: "/metrics", method: "GET", status: "401" }), 1);
      assertEquals(requests({ route: "/metrics", method: "GET", status: "403" }), 1);
      assertEquals(requests({ route: "/worker/stop", method: "POST", status: "200" }), 1);
      assertEquals(requests({ route: "unmatched", method: "GET", status: "404" }), 1);
      const health = requests({ route: "/health", method: "GET", status: "200" });
      assert(health !== undefined && health >= 2, `health requests ${health}`);

      const routes = new Set(
        scrape.samples.filter((sample) => sample.name.startsWith("chronolog_http_"))
          .map((sample) => sample.labels.route),
      );
      for (const route of routes) {
        assert(!/every-second|no-such-id|x7/.test(route), `a raw path in a label: ${route}`);
      }
      assert(
        valueOf(scrape, "chronolog_http_request_duration_seconds_count", {
          route: "/schedules/:id",
        }) === 2,
        "durations by route pattern",
      );
    });

    await t.step("a 1-second task whose run takes 3 s records overlap skips", async () => {
      const before = mustValue(await admin.scrape(), "chronolog_runs_skipped_overlap_total");
      assertEquals(before, 0);
      await admin.call("tasks.create", {
        id: "slow",
        name: "slow",
        executor: { type: "http", url: target.url, timeout_s: 30 },
        overlap_policy: "skip",
        schedule_type: "interval",
        schedule_expression: "1",
      });
      const skipped = async () =>
        mustValue(await admin.scrape(), "chronolog_runs_skipped_overlap_total");
      assert(await eventually(4 * SECOND, async () => await skipped() >= 1), "no overlap skip");
      assert(target.requests() >= 1, "the target was called");
      const runs = await admin.call<{ runs: { status: string }[] }>("tasks.runs", {
        task_id: "slow",
      });
      assert(runs.runs.some((run) => run.status === "skipped"), JSON.stringify(runs.runs));
      await admin.call("tasks.update", { task_id: "slow", schedule_enabled: false });
      assertEquals(mustValue(await admin.scrape(), "chronolog_runs_failed_launch_total"), 0);
    });
  } finally {
    await service.stop();
    await target.close();
  }
});

Deno.test({
  name: "postgres: /health is 503 while the store is unreachable, and ok once it is back",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn(t) {
    const database = await createDatabase("postgres");
    const name = new URL(database.databaseUrl!).pathname.slice(1);
    const admin = postgres(POSTGRES_ADMIN_URL!, { max: 1, onnotice: () => {} });
    let service: Service | null = null;
    try {
      service = await startService({ CHRONOLOG_JWT_SECRET: JWT_SECRET }, {
        dataDir: database.dataDir,
        databaseUrl: database.databaseUrl,
      });
      const url = service.url;
      const backends = async () =>
        (await admin`select pid from pg_stat_activity where datname = ${name}`).map((row) =>
          row.pid as number
        );
      const healthy = await health(url);
      assertEquals([healthy.status, (healthy.body as Health).store.kind], [200, "postgres"]);

      await t.step("connections killed under it are reopened: still ok", async () => {
        const killed = await backends();
        assert(killed.length > 0, "the service holds connections");
        await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;
        // pg_terminate_backend only signals: wait until those backends are gone.
        assert(
          await eventually(
            5 * SECOND,
            async () => (await backends()).every((pid) => !killed.includes(pid)),
          ),
          "the killed connections lingered",
        );
        assert(await eventually(5 * SECOND, async () => (await health(url)).status === 200));
      });

      await t.step(
        "a database that refuses connections: 503 unavailable, unreachable, from then on",
        async () => {
          await admin.unsafe(`alter database ${name} allow_connections false`);
          await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;
          assert(
            await eventually(5 * SECOND, async () => (await backends()).length === 0),
            "the service's connections outlived pg_terminate_backend",
          );
          // Longer than /health's own 2 s timeout, so a ping that hangs is seen too.
          const until = Date.now() + 3 * SECOND;
          let checks = 0;
          while (Date.now() < until || checks < 2) {
            const reply = await health(url);
            const body = reply.body as Health;
            assertEquals([reply.status, body.status, body.store, body.scheduler], [
              503,
              "unavailable",
              { kind: "postgres", reachable: false, latency_ms: null },
              { state: "running" },
            ]);
            checks++;
          }
        },
      );

      await t.step("once it accepts connections again: ok", async () => {
        await admin.unsafe(`alter database ${name} allow_connections true`);
        assert(await eventually(5 * SECOND, async () => (await health(url)).status === 200));
      });
    } finally {
      await admin.unsafe(`alter database ${name} allow_connections true`).catch(() => {});
      await admin.end();
      await service?.stop();
      await database.drop();
    }
  },
});
