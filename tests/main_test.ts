import assert from "node:assert/strict";
import { freePort, runMain, startService } from "./_helpers.ts";

Deno.test("an invalid PORT stops the service with exit code 2 and one line naming PORT", async () => {
  const { code, stdout, stderr } = await runMain({ PORT: "abc" });
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    'chronolog: invalid configuration: PORT: expected an integer from 1 to 65535, got "abc"\n',
  );
});

Deno.test("a public HOST without a JWT secret refuses to start", async () => {
  const { code, stderr } = await runMain({ HOST: "0.0.0.0" });
  assert.equal(code, 2);
  assert.match(stderr, /^chronolog: invalid configuration: CHRONOLOG_JWT_SECRET: required when/);
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
});

Deno.test("a port already in use stops the service with exit code 1 and one clear line", async () => {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    const { code, stderr } = await runMain({ PORT: String(port) });
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(`^chronolog: cannot listen on 127\\.0\\.0\\.1:${port}: .*in use`, "m"),
    );
    assert.ok(!stderr.includes("    at "), `a stack trace was printed:\n${stderr}`);
  } finally {
    listener.close();
  }
});

Deno.test("on loopback without a JWT secret the service warns that auth is off", async () => {
  const service = await startService();
  const status = await service.stop();
  const output = service.output();
  assert.match(
    output,
    /WARN CHRONOLOG_JWT_SECRET is not set: authentication is off, so the service listens on loopback \(127\.0\.0\.1\) only/,
  );
  assert.ok(output.includes(`listening on ${service.url}/`), output);
  assert.equal(status.code, 0);
});

Deno.test("SIGTERM shuts the service down gracefully with exit code 0", async () => {
  const service = await startService();
  const status = await service.stop();
  assert.equal(status.code, 0);
  assert.equal(status.signal, null);
  assert.match(service.output(), /Shutting down[^\n]*\n[^\n]*Stopped/);
});
