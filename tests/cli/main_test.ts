import { assert, assertEquals, type Finished } from "../_helpers.ts";
import { cli as runCli } from "./_cli.ts";

/** Runs the real CLI as `deno task cli` does and returns its exit code and output. */
function cli(...args: string[]): Promise<Finished> {
  return runCli(args);
}

Deno.test("cli schedule preview prints instants with their local time, offline", async () => {
  const { code, stdout } = await cli(
    "schedule",
    "preview",
    "-t",
    "daily",
    "-e",
    "02:30",
    "-z",
    "America/New_York",
    "--from",
    "2026-03-07T00:00:00Z",
    "-n",
    "2",
  );
  assertEquals(code, 0);
  assertEquals(stdout.trim().split("\n"), [
    "2026-03-07T07:30:00.000Z  2026-03-07T02:30:00 -05:00",
    "2026-03-08T07:30:00.000Z  2026-03-08T03:30:00 -04:00",
  ]);
});

Deno.test("cli schedule preview -f json prints the preview result for scripts", async () => {
  const { code, stdout } = await cli(
    "schedule",
    "preview",
    "-t",
    "interval",
    "-e",
    "PT15M",
    "--start-at",
    "2026-01-01T00:00:00Z",
    "--from",
    "2026-01-01T00:00:00Z",
    "-n",
    "2",
    "-f",
    "json",
  );
  assertEquals(code, 0);
  assertEquals(JSON.parse(stdout), {
    runs: ["2026-01-01T00:15:00.000Z", "2026-01-01T00:30:00.000Z"],
  });
});

Deno.test("cli schedule validate describes a schedule, or names the field and exits 1", async () => {
  const valid = await cli(
    "schedule",
    "validate",
    "-t",
    "weekly",
    "-e",
    "1-5 09:00",
    "-z",
    "Europe/Berlin",
  );
  assertEquals([valid.code, valid.stdout.trim()], [
    0,
    "valid: at 09:00 on Monday–Friday, Berlin time",
  ]);
  const invalid = await cli("schedule", "validate", "-t", "cron", "-e", "61 * * * *");
  assertEquals(invalid.code, 1);
  assertEquals(
    invalid.stderr.trim(),
    "chronolog: schedule_expression: minute 61 is out of range 0–59",
  );
});

Deno.test("cli usage errors exit 2 with one line; --help exits 0", async () => {
  for (
    const args of [["schedule"], ["schedule", "preview"], [
      "schedule",
      "preview",
      "-t",
      "daily",
      "-e",
      "09:00",
      "-n",
      "0",
    ], ["--bogus"]]
  ) {
    const { code, stderr } = await cli(...args);
    assertEquals(code, 2, args.join(" "));
    assertEquals(stderr.trim().split("\n").length, 1);
  }
  // A value that starts with "-" is read as an option: the line says how to give it.
  const dashed = await cli("schedule", "preview", "-t", "daily", "-e", "09:00", "--count", "-1");
  assertEquals(dashed.code, 2);
  assertEquals(
    dashed.stderr.trim(),
    'chronolog: --count: a value starting with "-" is written --count=VALUE (see --help)',
  );
  const help = await cli("--help");
  assertEquals(help.code, 0);
  assert(help.stdout.includes("schedule preview"));
  const preview = await cli("schedule", "preview", "--help");
  assert(preview.stdout.includes("--expression EXPR"), preview.stdout);
});
