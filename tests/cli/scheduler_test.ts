import {
  answersHealth,
  assert,
  assertEquals,
  freePort,
  pgliteDir,
  rpc,
  signToken,
  startService,
} from "../_helpers.ts";
import { assertOneLine, cli, ok, spawnCli } from "./_cli.ts";

const JWT_SECRET = "cli-test-jwt-secret-0123456789abcdef";
const WEBHOOK_SECRET = "cli-test-webhook-secret";
const HAS_CURL = (await new Deno.Command("sh", { args: ["-c", "command -v curl"], stdout: "null" })
  .output()).success;

/** Runs a shell command line as a user would paste it, with only PATH and `env`. */
async function shell(line: string, env: Record<string, string> = {}): Promise<string> {
  const output = await new Deno.Command("sh", {
    args: ["-c", line],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
  }).output();
  return new TextDecoder().decode(output.stdout);
}

Deno.test("cli scheduler and auth: a service that wants a JWT and signs its webhooks", async (t) => {
  const service = await startService({
    CHRONOLOG_JWT_SECRET: JWT_SECRET,
    CHRONOLOG_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  const url = ["--url", service.url];
  const alice = await signToken(JWT_SECRET, "alice");
  const admin = await signToken(JWT_SECRET, "root", { roles: ["admin"] });
  const asAlice = { env: { CHRONOLOG_TOKEN: alice } };
  const asAdmin = { env: { CHRONOLOG_TOKEN: admin } };
  try {
    await t.step("without a token a call is one line saying how to give one", async () => {
      const refused = await cli(["tasks", "list", ...url]);
      assertOneLine(refused, 1, "Send a JWT");
      assert(refused.stderr.includes("--token or CHRONOLOG_TOKEN"), refused.stderr);
    });

    await t.step(
      "CHRONOLOG_TOKEN authenticates: the task belongs to the token's user",
      async () => {
        for (
          const args of [
            ["--id", "alice-cron", "--name", "standup", "-t", "cron", "-e", "0 9 * * 1-5"],
            ["--id", "alice-off", "--name", "paused", "-t", "daily", "-e", "09:00", "--disable"],
            ["--id", "alice-adhoc", "--name", "adhoc"],
          ]
        ) {
          const task = JSON.parse(
            ok(await cli(["tasks", "create", ...args, "-f", "json", ...url], asAlice)),
          );
          assertEquals(task.user_id, "alice");
        }
      },
    );

    await t.step("--token works too; a refused or malformed token is never printed", async () => {
      const listed = ok(await cli(["tasks", "list", "--token", alice, ...url]));
      assertEquals(listed.trimEnd().split("\n").length, 4, listed);
      const bob = await signToken(JWT_SECRET, "bob");
      assertEquals(ok(await cli(["tasks", "list", "--token", bob, ...url])).trim(), "no tasks");

      const forged = await signToken("another-secret-of-at-least-32-chars!", "alice");
      const refused = await cli(["tasks", "list", ...url], { env: { CHRONOLOG_TOKEN: forged } });
      assertOneLine(refused, 1, "The token is not valid");
      const malformed = `${alice}\nsecret`;
      const unusable = await cli(["tasks", "list", "--token", malformed, ...url]);
      assertOneLine(unusable, 2, "--token is not a JWT");
      for (const output of [refused.stdout + refused.stderr, unusable.stdout + unusable.stderr]) {
        assert(!output.includes(forged) && !output.includes(alice), output);
      }
    });

    await t.step("scheduler status for all; pause and resume for admins", async () => {
      assert(/^state:\s+running$/m.test(ok(await cli(["scheduler", "status", ...url], asAlice))));
      assertOneLine(
        await cli(["scheduler", "pause", ...url], asAlice),
        1,
        "scheduler.pause is for admins",
      );
      assert(/^state:\s+paused$/m.test(ok(await cli(["scheduler", "pause", ...url], asAdmin))));
      const status = JSON.parse(
        ok(await cli(["scheduler", "status", "-f", "json", ...url], asAlice)),
      );
      assertEquals(status.state, "paused");
      const resumed = JSON.parse(
        ok(await cli(["scheduler", "resume", "-f", "json", ...url], asAdmin)),
      );
      assertEquals(resumed.state, "running");
    });

    await t.step("scheduler list: enabled schedules, --include-disabled the rest", async () => {
      const ids = async (...args: string[]) => {
        const { tasks } = JSON.parse(
          ok(await cli(["scheduler", "list", "-f", "json", ...args, ...url], asAlice)),
        );
        return (tasks as { id: string }[]).map((task) => task.id).sort();
      };
      assertEquals(await ids(), ["alice-cron"]);
      assertEquals(await ids("--include-disabled"), ["alice-cron", "alice-off"]);
      assertEquals(await ids("--include-disabled", "-t", "daily"), ["alice-off"]);
      const [header, row] = ok(await cli(["scheduler", "list", ...url], asAlice)).split("\n");
      assert(header.startsWith("id ") && row.startsWith("alice-cron "), row);
    });

    await t.step({
      name: "webhook-url's curl command triggers the task once (202); a replay is refused",
      ignore: !HAS_CURL,
      async fn() {
        const printed = JSON.parse(ok(
          await cli(["scheduler", "webhook-url", "alice-adhoc", "-f", "json", ...url], {
            env: { CHRONOLOG_WEBHOOK_SECRET: WEBHOOK_SECRET },
          }),
        ));
        assertEquals(printed.url, `${service.url}/webhook/trigger/alice-adhoc`);
        assertEquals(printed.method, "POST");
        assertEquals(printed.body, "{}");
        assert(/^[0-9a-f]{64}$/.test(printed.headers["X-Webhook-Signature"]), printed.headers);
        const status = `${printed.curl} -o /dev/null -w '%{http_code}'`;
        assertEquals(await shell(status), "202");
        assertEquals(await shell(status), "401");
        const runs = await rpc(service.url, {
          method: "tasks.runs",
          params: { task_id: "alice-adhoc" },
          id: 1,
        }, alice);
        const { result } = runs.body as { result: { runs: { trigger: string }[] } };
        assertEquals(result.runs.map((run) => run.trigger), ["webhook"]);

        const table = ok(
          await cli(["scheduler", "webhook-url", "alice-adhoc", "--body", `{"it's":1}`, ...url], {
            env: { CHRONOLOG_WEBHOOK_SECRET: WEBHOOK_SECRET },
          }),
        );
        assert(/^signature: valid once, until /m.test(table), table);
        const curl = table.trimEnd().split("\n").at(-1)!;
        assert(curl.startsWith(`curl -sS -X POST '${service.url}/webhook/trigger/alice-adhoc'`));
        assertEquals(await shell(`${curl} -o /dev/null -w '%{http_code}'`), "202");
      },
    });

    await t.step({
      name: "webhook-url without the secret says so; its curl sends the JWT instead",
      ignore: !HAS_CURL,
      async fn() {
        const table = await cli(["scheduler", "webhook-url", "alice-adhoc", ...url]);
        assertEquals(table.code, 0);
        assert(table.stdout.includes("CHRONOLOG_WEBHOOK_SECRET is not set here"), table.stdout);
        const json = await cli(["scheduler", "webhook-url", "alice-adhoc", "-f", "json", ...url]);
        assertOneLine(json, 0, "CHRONOLOG_WEBHOOK_SECRET is not set here");
        const { curl, headers } = JSON.parse(json.stdout);
        assertEquals(headers, { "Content-Type": "application/json" });
        assert(curl.includes('"Authorization: Bearer $CHRONOLOG_TOKEN"'), curl);
        const status = `${curl} -o /dev/null -w '%{http_code}'`;
        assertEquals(await shell(status, { CHRONOLOG_TOKEN: alice }), "202");
        assertEquals(await shell(status), "401");
      },
    });

    await t.step({
      name: "export-ical writes the calendar to -o FILE, or to stdout with -o -",
      async fn() {
        const dir = await Deno.makeTempDir({ prefix: "chronolog_cli_" });
        try {
          const file = `${dir}/alice.ics`;
          const wrote = ok(
            await cli(
              ["scheduler", "export-ical", "-o", file, "--calendar-name", "Alice", ...url],
              asAlice,
            ),
          );
          assertEquals(wrote.trim(), `wrote 1 scheduled tasks to ${file}`);
          const calendar = await Deno.readTextFile(file);
          assert(calendar.startsWith("BEGIN:VCALENDAR"), calendar);
          assert(calendar.includes("standup"), calendar);
          // Without --base-url or CHRONOLOG_PUBLIC_URL, events link to the service as called.
          assert(calendar.includes(`URL;VALUE=URI:${service.url}/schedules/`), calendar);
          const stdout = ok(await cli(["scheduler", "export-ical", "-o", "-", ...url], asAlice));
          assert(stdout.startsWith("BEGIN:VCALENDAR") && stdout.includes("END:VCALENDAR"));
          const exported = async (...args: string[]) =>
            JSON.parse(
              ok(await cli(["scheduler", "export-ical", "-f", "json", ...args, ...url], asAlice)),
            );
          const json = await exported();
          assertEquals(json.task_count, 1);
          // The one daily schedule is disabled.
          assertEquals((await exported("-t", "daily")).task_count, 0);
          assert(json.ical_content.startsWith("BEGIN:VCALENDAR"));
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    });

    await t.step("k8s-cronjob prints a CronJob manifest, or one line why not", async () => {
      const printed = await cli([
        "scheduler",
        "k8s-cronjob",
        "alice-cron",
        "--service-url",
        "http://chronolog.jobs:8000",
        "--namespace",
        "jobs",
        ...url,
      ], asAlice);
      const yaml = ok(printed);
      // The task's own schedule is on: the caveat is said on stderr, not only annotated.
      assertEquals(
        printed.stderr.trim().split("\n").filter((line) => /runs twice/.test(line)).length,
        1,
        printed.stderr,
      );
      assert(printed.stderr.startsWith("chronolog: note: "), printed.stderr);
      assert(yaml.includes("kind: CronJob"), yaml);
      assert(yaml.includes("namespace: jobs"), yaml);
      assert(yaml.includes("http://chronolog.jobs:8000/webhook/trigger/alice-cron"), yaml);
      const json = JSON.parse(
        ok(await cli(["scheduler", "k8s-cronjob", "alice-cron", "-f", "json", ...url], asAlice)),
      );
      assert(typeof json.name === "string" && json.yaml.includes(`name: ${json.name}`), json);
      assert(json.notes.some((note: string) => /runs twice/.test(note)), json);
      const refused = await cli(["scheduler", "k8s-cronjob", "alice-adhoc", ...url], asAlice);
      assertOneLine(refused, 1, "");
      assertEquals(refused.stdout, "");
      assertOneLine(
        await cli(["scheduler", "k8s-cronjob", "nope", ...url], asAlice),
        1,
        "task_id: No such task",
      );
    });
  } finally {
    await service.stop();
  }
});

Deno.test("cli scheduler start runs the service in the foreground and passes SIGTERM on", async () => {
  const dataDir = await pgliteDir();
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnCli(["scheduler", "start"], {
    PORT: String(port),
    CHRONOLOG_DATA_DIR: dataDir,
  });
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  try {
    const deadline = Date.now() + 20_000;
    while (!await answersHealth(url)) {
      assert(Date.now() < deadline, "the service did not answer GET /health within 20 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const status = JSON.parse(ok(await cli(["scheduler", "status", "--url", url, "-f", "json"])));
    assertEquals(status.state, "running");
  } finally {
    child.kill("SIGTERM");
    const exited = await child.status;
    await Deno.remove(dataDir, { recursive: true });
    assertEquals(exited.code, 0, await stderr);
  }
  const printed = (await stdout) + (await stderr);
  assert(printed.includes(`listening on ${url}/`), printed);
  assert(printed.includes("Stopped"), printed);
  assert(!await answersHealth(url));
});
