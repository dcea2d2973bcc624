import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import {
  assert,
  assertEquals,
  createDatabase,
  type Finished,
  freePort,
  pgliteDir,
  POSTGRES_ADMIN_URL,
  startService,
} from "../_helpers.ts";
import { assertOneLine, call, cli } from "./_cli.ts";

const TASK_ID = "audit-1";
const TAMPER = `update tasks set state = jsonb_set(state::jsonb, '{name}', '"tampered"')::json`;

/** Runs the real CLI with `args` and extra environment. */
function run(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return cli(args, { env });
}

/** A task with four events: created, renamed, and one run (started, succeeded). */
async function seedTask(url: string): Promise<void> {
  await call(url, "tasks.create", {
    id: TASK_ID,
    name: "report",
    inputs: { n: 1 },
    schedule_type: "daily",
    schedule_expression: "09:00",
  });
  await call(url, "tasks.update", { task_id: TASK_ID, name: "report v2" });
  await call(url, "tasks.scheduled.complete", { task_id: TASK_ID });
}

Deno.test("cli events and replay show a task's log and its past from a running service", async (t) => {
  const service = await startService();
  try {
    await seedTask(service.url);
    const url = ["--url", service.url];

    await t.step("events prints one row per event under a header", async () => {
      const { code, stdout } = await run(["events", TASK_ID, ...url]);
      assertEquals(code, 0);
      const [header, ...rows] = stdout.trim().split("\n");
      assertEquals(header.split(/\s+/).filter(Boolean), [
        "position",
        "version",
        "recorded_at",
        "type",
        "data",
      ]);
      const columns = rows.map((row) => row.trim().split(/\s+/));
      assertEquals(columns.map(([, version, , type]) => [version, type]), [
        ["1", "TaskCreated"],
        ["2", "TaskUpdated"],
        ["3", "RunStarted"],
        ["4", "RunSucceeded"],
      ]);
      assert(rows[0].includes('name="report" schedule=daily "09:00" UTC'), rows[0]);
      assert(rows[1].includes('name="report v2"'), rows[1]);
      // Instants unquoted, whole seconds without ".000"; the run's occurrence leads its row.
      assert(/next_run_at=\d{4}-\d\d-\d\dT09:00/.test(rows[0]), rows[0]);
      assert(/ scheduled_for=\d{4}-[\d:T.-]+Z attempt=1 trigger="schedule"/.test(rows[2]), rows[2]);
    });

    await t.step("events -f json prints what tasks.events returns", async () => {
      const { code, stdout } = await run(["events", TASK_ID, "-f", "json", ...url]);
      assertEquals(code, 0);
      const expected = await call(service.url, "tasks.events", { task_id: TASK_ID, limit: 1000 });
      assertEquals(JSON.parse(stdout), { events: (expected as { events: unknown }).events });
    });

    await t.step(
      "events --from-version starts later; CHRONOLOG_URL names the service",
      async () => {
        const { code, stdout } = await run(
          ["events", TASK_ID, "--from-version", "3", "-f", "json"],
          { CHRONOLOG_URL: service.url },
        );
        assertEquals(code, 0);
        const { events } = JSON.parse(stdout) as { events: { version: number }[] };
        assertEquals(events.map((event) => event.version), [3, 4]);
      },
    );

    await t.step("replay --as-of 1 prints the task as created, key: value", async () => {
      const { code, stdout } = await run(["replay", TASK_ID, "--as-of", "1", ...url]);
      assertEquals(code, 0);
      assert(/^name:\s+report$/m.test(stdout), stdout);
      assert(/^version:\s+1$/m.test(stdout), stdout);
      assert(/^run_count:\s+0$/m.test(stdout), stdout);
      assert(/^inputs:\s+\{"n":1\}$/m.test(stdout), stdout);
    });

    await t.step("replay -f json prints what tasks.replay returns", async () => {
      const { code, stdout } = await run(["replay", TASK_ID, "--as-of", "1", "-f", "json", ...url]);
      assertEquals(code, 0);
      assertEquals(
        JSON.parse(stdout),
        await call(service.url, "tasks.replay", { task_id: TASK_ID, as_of: 1 }),
      );
      const now = await run([
        "replay",
        TASK_ID,
        "--as-of",
        new Date().toISOString(),
        "-f",
        "json",
        ...url,
      ]);
      assertEquals(now.code, 0);
      const { task, version } = JSON.parse(now.stdout);
      assertEquals([task.name, task.run_count, version], ["report v2", 1, 4]);
    });

    await t.step("a refused call prints the message and the field, and exits 1", async () => {
      assertOneLine(await run(["events", "nope", ...url]), 1, "task_id: No such task");
      assertOneLine(
        await run(["replay", TASK_ID, "--as-of", "2000-01-01T00:00:00Z", ...url]),
        1,
        "as_of: The task did not exist yet at that point",
      );
    });

    await t.step("usage errors exit 2 with one line", async () => {
      for (
        const args of [
          ["replay", TASK_ID, "--as-of", "yesterday"],
          ["replay", TASK_ID, "--as-of", "0"],
          ["replay", TASK_ID],
          ["events"],
          ["events", TASK_ID, "extra"],
          ["events", TASK_ID, "-f", "xml"],
        ]
      ) {
        assertOneLine(await run([...args, ...url]), 2, "");
      }
      for (
        const args of [
          ["events", TASK_ID, "--url", "ftp://example.com"],
          ["verify", "--data-dir", "x", "--database-url", "postgres://localhost/x"],
          ["verify", "--database-url", "mysql://localhost/x"],
          ["verify", "--bogus"],
        ]
      ) {
        assertOneLine(await run(args), 2, "");
      }
    });
  } finally {
    await service.stop();
  }
});

Deno.test("cli events prints one line and exits 3 when the service cannot be reached", async () => {
  const url = `http://127.0.0.1:${freePort()}`;
  assertOneLine(
    await run(["events", TASK_ID, "--url", url]),
    3,
    `cannot reach the service at ${url}: `,
  );
});

Deno.test("cli verify on PGlite: agrees after the service stops, then names a tampered task", async () => {
  const dataDir = await pgliteDir();
  try {
    const service = await startService({}, { dataDir });
    try {
      await seedTask(service.url);
      // PGlite is one process per folder: verify refuses while the service holds it.
      assertOneLine(await run(["verify", "--data-dir", dataDir]), 1, "is in use");
    } finally {
      await service.stop();
    }

    const table = await run(["verify", "--data-dir", dataDir]);
    assertEquals(table.code, 0, table.stdout + table.stderr);
    const lines = table.stdout.trim().split("\n");
    assertEquals(lines.slice(0, 4), [
      "tasks checked:  1",
      "events checked: 4",
      "runs checked:   1",
      "mismatches:     0",
    ]);
    assert(lines.at(-1)!.startsWith("ok: "), table.stdout);

    const json = await run(["verify", "-f", "json"], { CHRONOLOG_DATA_DIR: dataDir });
    assertEquals(json.code, 0);
    const { elapsed_ms, ...counts } = JSON.parse(json.stdout);
    assert(typeof elapsed_ms === "number");
    assertEquals(counts, {
      ok: true,
      tasks: 1,
      events: 4,
      runs: 1,
      mismatch_count: 0,
      mismatches: [],
      settled: true,
    });

    const db = await PGlite.create(dataDir);
    await db.exec(TAMPER);
    await db.close();
    const tampered = await run(["verify", "--data-dir", dataDir]);
    assertEquals(tampered.code, 1);
    assert(
      tampered.stdout.includes(
        `mismatch: task ${TASK_ID}: the snapshot differs from the log at name: ` +
          `log "report v2", snapshot "tampered"`,
      ),
      tampered.stdout,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("cli verify refuses a folder that holds no event log", async () => {
  const empty = await Deno.makeTempDir({ prefix: "chronolog_empty_" });
  try {
    assertOneLine(await run(["verify", "--data-dir", empty]), 1, "no embedded event log in");
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test({
  name: "cli verify on Postgres: agrees while the service runs, then names a tampered task",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    const databaseUrl = database.databaseUrl!;
    try {
      const service = await startService({}, { databaseUrl });
      try {
        await seedTask(service.url);
        const events = await run(["events", TASK_ID, "-f", "json", "--url", service.url]);
        assertEquals(JSON.parse(events.stdout).events.length, 4);

        const live = await run(["verify", "-f", "json", "--database-url", databaseUrl]);
        assertEquals(live.code, 0, live.stdout + live.stderr);
        const report = JSON.parse(live.stdout);
        assertEquals([report.ok, report.tasks, report.events, report.runs], [true, 1, 4, 1]);

        const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
        await sql.unsafe(TAMPER);
        await sql.end();
        const tampered = await run(["verify"], { DATABASE_URL: databaseUrl });
        assertEquals(tampered.code, 1);
        assert(tampered.stdout.includes(`mismatch: task ${TASK_ID}: `), tampered.stdout);
        assert(tampered.stdout.includes(`snapshot "tampered"`), tampered.stdout);
      } finally {
        await service.stop();
      }
    } finally {
      await database.drop();
    }
  },
});
