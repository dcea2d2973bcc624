import { assert, assertEquals } from "../_helpers.ts";
import { cli } from "./_cli.ts";

/** Every group, with its commands; each one's help must name it. */
const GROUPS: Record<string, string[]> = {
  tasks: [
    "create",
    "get",
    "update",
    "delete",
    "list",
    "runs",
    "trigger",
    "events",
    "replay",
    "scheduled",
  ],
  "tasks scheduled": ["due", "init", "complete"],
  scheduler: [
    "start",
    "status",
    "pause",
    "resume",
    "list",
    "webhook-url",
    "export-ical",
    "k8s-cronjob",
  ],
  schedule: ["preview", "validate"],
};

/** Commands outside the groups, and the aliases: the words that run them, and their usage. */
const SINGLE: [string[], string][] = [
  [["verify"], "verify"],
  [["events"], "tasks events"],
  [["replay"], "tasks replay"],
];

Deno.test("cli --help explains every command and group, exit 0, lines of 100 columns", async () => {
  const cases: [string[], string][] = [
    ...Object.entries(GROUPS).flatMap(([group, commands]): [string[], string][] => [
      [group.split(" "), group],
      ...commands.map((command): [string[], string] => [
        [...group.split(" "), command],
        `${group} ${command}`,
      ]),
    ]),
    ...SINGLE,
  ];
  const results = await Promise.all(cases.map(([words]) => cli([...words, "--help"])));
  results.forEach(({ code, stdout, stderr }, index) => {
    const [words, usage] = cases[index];
    const name = words.join(" ");
    assertEquals([code, stderr], [0, ""], name);
    assert(stdout.startsWith(`Usage: deno task cli ${usage} `), `${name}:\n${stdout}`);
    const long = stdout.split("\n").filter((line) => line.length > 100);
    assertEquals(long, [], name);
    const commands = GROUPS[name];
    if (commands !== undefined) {
      for (const command of commands) {
        assert(new RegExp(`^  ${command} `, "m").test(stdout), `${name} lists ${command}`);
      }
    }
  });
  const short = await cli(["tasks", "create", "-h"]);
  assertEquals(short.code, 0);
  assert(short.stdout.startsWith("Usage: deno task cli tasks create "));
});

Deno.test("cli --help at the top names every command group and the exit codes", async () => {
  const { code, stdout } = await cli(["--help"]);
  assertEquals(code, 0);
  for (const words of ["tasks create", "tasks scheduled", "scheduler start", "schedule preview"]) {
    assert(stdout.includes(words), words);
  }
  assert(stdout.includes("verify") && stdout.includes("CHRONOLOG_TOKEN"), stdout);
  assert(stdout.includes("3 the service cannot be reached"), stdout);
  const verify = await cli(["verify", "--help"]);
  assert(verify.stdout.includes("stop the service first"));
});
