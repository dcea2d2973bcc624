/**
 * The command executor with real child processes (this Deno binary running `eval` scripts):
 * stdin and environment, stdout as the result, exit codes and stderr, the 64 KiB cap with the
 * pipes drained, SIGKILL on timeout and abort, the operator switch and a missing binary.
 */
import { assert, assertEquals, runContext } from "../../_helpers.ts";
import { runCommand } from "../../../src/runtime/executors/command.ts";
import { MAX_RESULT_BYTES } from "../../../src/runtime/executors/mod.ts";
import type { Executor } from "../../../src/domain/task.ts";

const OPTIONS = { allowed: true, timeoutS: 30 };
const MIB = 1024 * 1024;

/** A child process running `script` in this Deno binary: argv, no shell. */
function denoEval(script: string): Extract<Executor, { type: "command" }> {
  return { type: "command", argv: [Deno.execPath(), "eval", script] };
}

Deno.test("a command gets the inputs on stdin and the run in its environment", async () => {
  const script = `
    const inputs = JSON.parse(await new Response(Deno.stdin.readable).text());
    const env = Object.fromEntries(
      ["TASK_ID", "RUN_ID", "SCHEDULED_FOR", "ATTEMPT"]
        .map((name) => [name, Deno.env.get("CHRONOLOG_" + name)]),
    );
    console.log(JSON.stringify({ inputs, env }));
  `;

  const outcome = await runCommand(denoEval(script), runContext(), OPTIONS);

  assertEquals(outcome, {
    ok: true,
    result: {
      exit_code: 0,
      stdout: {
        inputs: { report: "daily", rows: [1, 2, 3] },
        env: {
          TASK_ID: "task-7",
          RUN_ID: "run-42",
          SCHEDULED_FOR: "2026-11-22T09:00:00.000Z",
          ATTEMPT: "2",
        },
      },
    },
  });
});

Deno.test("stdout that is not JSON becomes the result as text", async () => {
  const outcome = await runCommand(denoEval(`console.log("report sent")`), runContext(), OPTIONS);

  assertEquals(outcome, { ok: true, result: { exit_code: 0, stdout: "report sent\n" } });
});

Deno.test("a command that never reads stdin still succeeds with large inputs", async () => {
  // Four times a pipe buffer: the write fails or stalls once the child has exited.
  const inputs = { blob: "i".repeat(256 * 1024) };

  const outcome = await runCommand(denoEval(`console.log("done")`), runContext({ inputs }), {
    ...OPTIONS,
    timeoutS: 10,
  });

  assertEquals(outcome, { ok: true, result: { exit_code: 0, stdout: "done\n" } });
});

Deno.test("a non-zero exit fails the run with the code and the end of stderr", async () => {
  const script = `
    console.error("x".repeat(200_000));
    console.error("the disk is full");
    Deno.exit(3);
  `;

  const outcome = await runCommand(denoEval(script), runContext(), OPTIONS);

  assert(!outcome.ok, "a non-zero exit fails");
  const tail = `${"x".repeat(200_000)}\nthe disk is full`.slice(-500);
  assertEquals(outcome.error, `exit code 3: ${tail}`);
});

Deno.test("stdout over 64 KiB is drained to the end and recorded as truncated", async () => {
  // 1 MiB with the newline: a child left blocked on a full pipe would never exit.
  const script = `console.log("y".repeat(${MIB - 1}))`;

  const outcome = await runCommand(denoEval(script), runContext(), OPTIONS);

  assertEquals(outcome, {
    ok: true,
    result: {
      exit_code: 0,
      stdout: { truncated: true, bytes_read: MIB, limit: MAX_RESULT_BYTES },
    },
  });
});

Deno.test("stdout under 64 KiB that outgrows it once escaped as JSON is truncated", async () => {
  const size = 40 * 1024;
  const script = `Deno.stdout.writeSync(new TextEncoder().encode('"'.repeat(${size})))`;

  const outcome = await runCommand(denoEval(script), runContext(), OPTIONS);

  assertEquals(outcome, {
    ok: true,
    result: {
      exit_code: 0,
      stdout: { truncated: true, bytes_read: size, limit: MAX_RESULT_BYTES },
    },
  });
});

Deno.test("a command past its timeout is killed, even one that ignores SIGTERM", async () => {
  const script = `
    Deno.addSignalListener("SIGTERM", () => {});
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  `;
  const started = performance.now();

  const outcome = await runCommand(denoEval(script), runContext(), { ...OPTIONS, timeoutS: 1 });

  assertEquals(outcome, { ok: false, error: "command timed out after 1 s", timedOut: true });
  const elapsed = performance.now() - started;
  assert(elapsed >= 900 && elapsed < 10_000, `killed after about 1 s, not ${elapsed} ms`);
});

Deno.test("aborting the run's signal kills the command with the abort reason", async () => {
  const controller = new AbortController();
  const script = `
    console.log("started");
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  `;
  const timer = setTimeout(() => controller.abort("the service is stopping"), 300);

  const outcome = await runCommand(
    denoEval(script),
    runContext({ signal: controller.signal }),
    OPTIONS,
  );
  clearTimeout(timer);

  assertEquals(outcome, {
    ok: false,
    error: "The run was aborted: the service is stopping",
    timedOut: false,
  });
});

Deno.test("a disabled command executor refuses to start anything", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  const script = `Deno.writeTextFileSync(${JSON.stringify(marker)}, "ran")`;

  const outcome = await runCommand(denoEval(script), runContext(), { ...OPTIONS, allowed: false });

  assertEquals(outcome, {
    ok: false,
    error: "command executor is disabled (set CHRONOLOG_ALLOW_COMMAND=1)",
  });
  const ran = await Deno.stat(marker).then(() => true, () => false);
  assertEquals(ran, false);
});

Deno.test("a missing binary fails the run as unable to start", async () => {
  const outcome = await runCommand(
    { type: "command", argv: ["chronolog-no-such-binary", "--version"] },
    runContext(),
    OPTIONS,
  );

  assert(!outcome.ok, "a missing binary fails");
  assert(outcome.error.startsWith("cannot start chronolog-no-such-binary: "), outcome.error);
});

Deno.test("arguments reach the command as they are, without a shell", async () => {
  const script = `console.log(JSON.stringify(Deno.args))`;
  const argv = [Deno.execPath(), "eval", script, "$HOME", "a b; echo injected", "*"];

  const outcome = await runCommand({ type: "command", argv }, runContext(), OPTIONS);

  assertEquals(outcome, {
    ok: true,
    result: { exit_code: 0, stdout: ["$HOME", "a b; echo injected", "*"] },
  });
});
