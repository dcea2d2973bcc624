import { assert, assertEquals, freePort, startService } from "../_helpers.ts";
import { assertOneLine, call, cli, ok } from "./_cli.ts";

type Task = Record<string, unknown>;

/** The cells of a table row, cut at the columns the header's words start at. */
function cells(header: string, row: string): Record<string, string> {
  const starts = [...header.matchAll(/\S+/g)].map((match) => match.index);
  const names = header.trim().split(/\s+/);
  return Object.fromEntries(
    names.map((name, index) => [name, row.slice(starts[index], starts[index + 1]).trim()]),
  );
}

Deno.test("cli tasks: a full round trip against a running service, table and JSON", async (t) => {
  const service = await startService();
  const url = ["--url", service.url];
  try {
    await t.step("create maps its options to tasks.create params and prints the task", async () => {
      const table = ok(
        await cli([
          "tasks",
          "create",
          "--id",
          "report-1",
          "--name",
          "morning report",
          "-t",
          "cron",
          "-e",
          "0 9 * * 1-5",
          "-z",
          "Europe/Berlin",
          "--inputs",
          '{"a":1}',
          "--executor",
          '{"type":"echo"}',
          "--overlap",
          "allow",
          "--catchup",
          "none",
          "--max-runs",
          "50",
          "--gap",
          "skip",
          "--jitter-ms",
          "10",
          "--retry",
          '{"max_attempts":2}',
          ...url,
        ]),
      );
      assert(/^name:\s+morning report$/m.test(table), table);
      assert(/^schedule_description:\s+at 09:00 on Monday–Friday, Berlin time$/m.test(table));
      assert(/^inputs:\s+\{"a":1\}$/m.test(table), table);
      const task = await call(service.url, "tasks.get", { task_id: "report-1" }) as Task;
      assertEquals(
        [
          task.schedule_type,
          task.schedule_expression,
          task.schedule_timezone,
          task.overlap_policy,
          task.catchup_policy,
          task.max_runs,
          task.dst_policy,
          task.jitter_ms,
          (task.retry as Task).max_attempts,
        ],
        ["cron", "0 9 * * 1-5", "Europe/Berlin", "allow", "none", 50, { gap: "skip" }, 10, 2],
      );
    });

    await t.step("-f json prints exactly what the method returns", async () => {
      const created = JSON.parse(
        ok(
          await cli(["tasks", "create", "--id", "adhoc", "--name", "adhoc", "-f", "json", ...url]),
        ),
      );
      assertEquals(created, await call(service.url, "tasks.get", { task_id: "adhoc" }));
      const got = JSON.parse(ok(await cli(["tasks", "get", "adhoc", "-f", "json", ...url])));
      assertEquals(got, created);
    });

    await t.step("--json and --params pass raw params; the options win over them", async () => {
      const fromJson = JSON.parse(ok(
        await cli([
          "tasks",
          "create",
          "--json",
          '{"id":"raw-1","name":"from json","priority":3,"dst_policy":{"repeat":"both"}}',
          "--name",
          "option wins",
          "-t",
          "daily",
          "-e",
          "09:00",
          "--gap",
          "skip",
          "-f",
          "json",
          ...url,
        ]),
      ));
      assertEquals(
        [fromJson.name, fromJson.priority, fromJson.dst_policy],
        ["option wins", 3, { repeat: "both", gap: "skip" }],
      );
      const file = await Deno.makeTempFile({ suffix: ".json" });
      try {
        await Deno.writeTextFile(file, '{"id":"raw-2","name":"from a file"}');
        const fromFile = JSON.parse(
          ok(await cli(["tasks", "create", "--params", file, "-f", "json", ...url])),
        );
        assertEquals(fromFile.name, "from a file");
      } finally {
        await Deno.remove(file);
      }
      const fromStdin = JSON.parse(ok(
        await cli(["tasks", "update", "raw-2", "--params", "-", "-f", "json", ...url], {
          stdin: '{"priority":7}',
        }),
      ));
      assertEquals([fromStdin.id, fromStdin.priority], ["raw-2", 7]);
    });

    await t.step("update changes the fields given; --version guards against a race", async () => {
      const renamed = JSON.parse(ok(
        await cli([
          "tasks",
          "update",
          "raw-1",
          "--name",
          "renamed",
          "--disable",
          "-f",
          "json",
          ...url,
        ]),
      ));
      assertEquals(
        [renamed.name, renamed.schedule_enabled, renamed.next_run_at],
        ["renamed", false, null],
      );
      const removed = JSON.parse(ok(
        await cli(["tasks", "update", "raw-1", "--remove-schedule", "-f", "json", ...url]),
      ));
      assertEquals(removed.schedule_type, null);
      assertOneLine(
        await cli(["tasks", "update", "raw-1", "--name", "late", "--version", "1", ...url]),
        1,
        "version (--version): The task is at version ",
      );
    });

    await t.step("list prints aligned columns; -f json is tasks.list's result", async () => {
      const [header, ...rows] = ok(await cli(["tasks", "list", ...url])).trimEnd().split("\n");
      assertEquals(header.split(/\s+/), [
        "id",
        "name",
        "status",
        "schedule",
        "next_run_at",
        "last_run_at",
        "runs",
      ]);
      const byId = Object.fromEntries(rows.map((row) => {
        const cell = cells(header, row);
        return [cell.id, cell];
      }));
      assertEquals(Object.keys(byId).sort(), ["adhoc", "raw-1", "raw-2", "report-1"]);
      assertEquals(byId["report-1"].name, "morning report");
      assertEquals(byId["report-1"].schedule, 'cron "0 9 * * 1-5" Europe/Berlin');
      assert(/^\d{4}-\d\d-\d\dT\d\d:00:00Z$/.test(byId["report-1"].next_run_at));
      assertEquals([byId.adhoc.schedule, byId.adhoc.next_run_at, byId.adhoc.runs], ["-", "-", "0"]);

      const json = JSON.parse(ok(await cli(["tasks", "list", "-f", "json", ...url])));
      assertEquals(json, await call(service.url, "tasks.list", {}));
      const page = ok(await cli(["tasks", "list", "--limit", "1", "--offset", "1", ...url]));
      assertEquals(page.trimEnd().split("\n").at(-1), "2–2 of 4 tasks; the next page: --offset 2");
    });

    await t.step("trigger --wait exits 0 when the run succeeded; runs lists it", async () => {
      const table = ok(await cli(["tasks", "trigger", "adhoc", "--wait", ...url]));
      assert(/^status:\s+succeeded$/m.test(table), table);
      assert(/^trigger:\s+manual$/m.test(table), table);
      const [header, row, more] = ok(await cli(["tasks", "runs", "adhoc", ...url])).trimEnd()
        .split("\n");
      assertEquals(more, undefined);
      const run = cells(header, row);
      assertEquals([run.trigger, run.attempt, run.status, run.error], [
        "manual",
        "1",
        "succeeded",
        "-",
      ]);
      const json = JSON.parse(ok(await cli(["tasks", "runs", "adhoc", "-f", "json", ...url])));
      assertEquals(json.runs[0].run_id, run.run_id);
    });

    await t.step("trigger --wait exits 1 with one line when the run fails", async () => {
      ok(
        await cli([
          "tasks",
          "create",
          "--id",
          "broken",
          "--name",
          "broken",
          "--executor",
          JSON.stringify({ type: "http", url: `http://127.0.0.1:${freePort()}/hook` }),
          ...url,
        ]),
      );
      const failed = await cli(["tasks", "trigger", "broken", "--wait", "-f", "json", ...url]);
      assertOneLine(failed, 1, " ended failed: ");
      assertEquals(JSON.parse(failed.stdout).status, "failed");
    });

    await t.step("scheduled due, init and complete serve a runner of its own", async () => {
      ok(
        await cli([
          "tasks",
          "create",
          "--id",
          "nightly",
          "--name",
          "nightly",
          "-t",
          "daily",
          "-e",
          "02:00",
          ...url,
        ]),
      );
      const init = JSON.parse(ok(
        await cli([
          "tasks",
          "scheduled",
          "init",
          "nightly",
          "--from",
          "2030-01-01T12:00:00Z",
          "-f",
          "json",
          ...url,
        ]),
      ));
      assertEquals(init.next_run_at, "2030-01-02T02:00:00.000Z");
      const [header, ...rows] = ok(
        await cli(["tasks", "scheduled", "due", "--before", "2030-01-03T00:00:00Z", ...url]),
      ).trimEnd().split("\n");
      assert(rows.some((row) => cells(header, row).id === "nightly"), rows.join("\n"));
      const nothing = ok(
        await cli(["tasks", "scheduled", "due", "--before", "2000-01-01T00:00:00Z", ...url]),
      );
      assertEquals(nothing.trim(), "nothing due at or before 2000-01-01T00:00:00.000Z");

      const complete = [
        "tasks",
        "scheduled",
        "complete",
        "nightly",
        "--scheduled-for",
        "2030-01-02T02:00:00Z",
        "--failed",
        "--error",
        "disk full",
      ];
      const completed = JSON.parse(ok(await cli([...complete, "-f", "json", ...url])));
      assertEquals(
        [completed.run_count, completed.failed_runs, completed.next_run_at],
        [1, 1, "2030-01-03T02:00:00.000Z"],
      );
      // One run per occurrence: completing it again is refused.
      assertOneLine(await cli([...complete, ...url]), 1, "");
    });

    await t.step("a refused call is one line naming the field and its option, exit 1", async () => {
      const cases: [string[], string][] = [
        [
          ["tasks", "create", "--name", "x", "-t", "cron", "-e", "61 * * * *"],
          "schedule_expression (--expression): minute 61 is out of range 0–59",
        ],
        [
          ["tasks", "create", "--name", "x", "-t", "daily", "-e", "09:00", "-z", "Mars/Olympus"],
          "schedule_timezone (--timezone): ",
        ],
        [
          ["tasks", "create", "--name", "x", "--executor", '{"type":"http","url":"ftp://x"}'],
          "executor.url (--executor): Expected an http or https URL",
        ],
        [
          ["tasks", "create", "--name", "x", "--overlap", "sometimes"],
          "overlap_policy (--overlap)",
        ],
        [["tasks", "create", "-t", "daily", "-e", "09:00"], "name (--name): "],
        [["tasks", "list", "--limit", "0"], "limit (--limit): "],
        [["tasks", "runs", "adhoc", "--before", "yesterday"], "before (--before): "],
        [["tasks", "create", "--json", '{"name":"x","colour":"red"}'], "colour: "],
        [["tasks", "get", "nope"], "task_id: No such task"],
      ];
      const results = await Promise.all(cases.map(([args]) => cli([...args, ...url])));
      results.forEach((result, index) => assertOneLine(result, 1, cases[index][1]));
    });

    await t.step("usage errors exit 2 with one line, before any call", async () => {
      const cases: string[][] = [
        ["tasks"],
        ["tasks", "frobnicate"],
        ["tasks", "--url", service.url],
        ["tasks", "list", "--bogus"],
        ["tasks", "list", "extra"],
        ["tasks", "list", "--limit", "ten"],
        ["tasks", "list", "-f", "xml"],
        ["tasks", "get"],
        ["tasks", "get", "a", "b"],
        ["tasks", "create", "--name"],
        ["tasks", "create", "--inputs", "{bad"],
        ["tasks", "create", "--json", "[1]"],
        ["tasks", "create", "--json", "{}", "--params", "-"],
        ["tasks", "create", "--params", "/nonexistent/params.json"],
        ["tasks", "update", "adhoc", "--enable", "--disable"],
        ["tasks", "update", "adhoc", "-t", "daily", "--remove-schedule"],
        ["tasks", "list", "--url", "ftp://example.com"],
        ["tasks", "list", "--token", "not a token"],
        ["tasks", "scheduled"],
        ["tasks", "scheduled", "nope"],
      ];
      const results = await Promise.all(
        cases.map((args) => cli(args.includes("--url") ? args : [...args, ...url])),
      );
      results.forEach((result, index) => {
        assertOneLine(result, 2, "");
        assertEquals(result.stdout, "", cases[index].join(" "));
      });
    });

    await t.step("delete removes the task: get then exits 1", async () => {
      assertEquals(
        ok(await cli(["tasks", "delete", "raw-2", ...url])).trim(),
        "deleted task raw-2",
      );
      assertOneLine(await cli(["tasks", "get", "raw-2", ...url]), 1, "task_id: No such task");
      const deleted = JSON.parse(ok(await cli(["tasks", "delete", "raw-1", "-f", "json", ...url])));
      assertEquals(deleted, { task_id: "raw-1", deleted: true });
    });
  } finally {
    await service.stop();
  }
});

Deno.test("cli exits 3 with one line when the service cannot be reached", async () => {
  const url = `http://127.0.0.1:${freePort()}`;
  const results = await Promise.all([
    cli(["tasks", "list", "--url", url]),
    cli(["tasks", "get", "x"], { env: { CHRONOLOG_URL: url } }),
    cli(["scheduler", "status", "--url", url, "-f", "json"]),
  ]);
  for (const result of results) {
    assertOneLine(result, 3, `cannot reach the service at ${url}: `);
    assertEquals(result.stdout, "");
  }
});
