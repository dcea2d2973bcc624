import assert from "node:assert/strict";
import { type Config, ConfigError, isLoopbackHost, loadConfig, Secret } from "../src/config.ts";

const JWT_SECRET = "a-jwt-secret-of-at-least-32-characters!";

function loaded(env: Record<string, string | undefined>): Config {
  const config = loadConfig(env);
  if (config instanceof ConfigError) assert.fail(`expected a valid config, got: ${config.message}`);
  return config;
}

function rejected(env: Record<string, string | undefined>): ConfigError {
  const config = loadConfig(env);
  assert.ok(config instanceof ConfigError, "expected a ConfigError");
  return config;
}

Deno.test("an empty environment gives the documented defaults", () => {
  const config = loaded({});
  assert.deepEqual({ ...config }, {
    port: 8000,
    host: "127.0.0.1",
    databaseUrl: null,
    dataDir: "./data",
    maxConcurrent: 10,
    taskTimeoutS: 3600,
    shutdownTimeoutS: 30,
    jwtSecret: null,
    webhookSecret: null,
    webhookAllowedIps: [],
    webhookRateLimit: 60,
    allowCommand: false,
    logLevel: "info",
    publicUrl: null,
  });
});

Deno.test("every variable is read from the environment", () => {
  const config = loaded({
    PORT: "9090",
    HOST: "0.0.0.0",
    DATABASE_URL: "postgres://chronolog:pw@db.internal:5432/chronolog",
    CHRONOLOG_DATA_DIR: "/var/lib/chronolog",
    CHRONOLOG_MAX_CONCURRENT: "4",
    CHRONOLOG_TASK_TIMEOUT_S: "60",
    CHRONOLOG_JWT_SECRET: JWT_SECRET,
    CHRONOLOG_WEBHOOK_SECRET: "hook-secret",
    CHRONOLOG_WEBHOOK_ALLOWED_IPS: "10.0.0.0/8, 192.168.1.7,::1/128",
    CHRONOLOG_WEBHOOK_RATE_LIMIT: "120",
    CHRONOLOG_ALLOW_COMMAND: "1",
    CHRONOLOG_LOG_LEVEL: "debug",
    CHRONOLOG_SHUTDOWN_TIMEOUT_S: "5",
    CHRONOLOG_PUBLIC_URL: "https://chronolog.example.com",
  });
  assert.equal(config.port, 9090);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.databaseUrl?.reveal(), "postgres://chronolog:pw@db.internal:5432/chronolog");
  assert.equal(config.dataDir, "/var/lib/chronolog");
  assert.equal(config.maxConcurrent, 4);
  assert.equal(config.taskTimeoutS, 60);
  assert.equal(config.jwtSecret?.reveal(), JWT_SECRET);
  assert.equal(config.webhookSecret?.reveal(), "hook-secret");
  assert.deepEqual(config.webhookAllowedIps, ["10.0.0.0/8", "192.168.1.7", "::1/128"]);
  assert.equal(config.webhookRateLimit, 120);
  assert.equal(config.allowCommand, true);
  assert.equal(config.logLevel, "debug");
  assert.equal(config.shutdownTimeoutS, 5);
  assert.equal(config.publicUrl, "https://chronolog.example.com");
});

Deno.test("a CHRONOLOG_PUBLIC_URL that is not an http(s) URL is named with the value given", () => {
  for (const value of ["chronolog.example.com", "ftp://chronolog.example.com", "https://"]) {
    assert.equal(
      rejected({ CHRONOLOG_PUBLIC_URL: value }).message,
      "CHRONOLOG_PUBLIC_URL: expected an http:// or https:// URL, e.g. " +
        `https://chronolog.example.com, got ${JSON.stringify(value)}`,
    );
  }
});

Deno.test("a CHRONOLOG_SHUTDOWN_TIMEOUT_S beyond an hour is named with the value given", () => {
  assert.equal(
    rejected({ CHRONOLOG_SHUTDOWN_TIMEOUT_S: "3601" }).message,
    'CHRONOLOG_SHUTDOWN_TIMEOUT_S: expected an integer from 0 to 3600 (seconds), got "3601"',
  );
});

Deno.test("a PORT that is not an integer from 1 to 65535 is named with the value given", () => {
  for (const port of ["abc", "0", "65536", "80.5", "-1", " 80", "1e3", "0x50"]) {
    assert.equal(
      rejected({ PORT: port }).message,
      `PORT: expected an integer from 1 to 65535, got ${JSON.stringify(port)}`,
    );
  }
  assert.equal(loaded({ PORT: "1" }).port, 1);
  assert.equal(loaded({ PORT: "65535" }).port, 65535);
});

Deno.test("each invalid variable is reported once, in one message", () => {
  const error = rejected({
    PORT: "abc",
    CHRONOLOG_MAX_CONCURRENT: "0",
    CHRONOLOG_TASK_TIMEOUT_S: "9999999999",
    CHRONOLOG_WEBHOOK_RATE_LIMIT: "fast",
    CHRONOLOG_ALLOW_COMMAND: "yes",
    CHRONOLOG_LOG_LEVEL: "verbose",
  });
  assert.deepEqual(error.issues, [
    'PORT: expected an integer from 1 to 65535, got "abc"',
    'CHRONOLOG_MAX_CONCURRENT: expected a positive integer, got "0"',
    'CHRONOLOG_TASK_TIMEOUT_S: expected an integer from 1 to 2147483 (seconds), got "9999999999"',
    'CHRONOLOG_WEBHOOK_RATE_LIMIT: expected a positive integer (requests per minute), got "fast"',
    'CHRONOLOG_ALLOW_COMMAND: expected "0" or "1", got "yes"',
    'CHRONOLOG_LOG_LEVEL: expected debug, info, warn, error, got "verbose"',
  ]);
  assert.equal(error.message, error.issues.join("; "));
});

Deno.test("an empty variable counts as unset", () => {
  const config = loaded({ PORT: "", HOST: "", CHRONOLOG_JWT_SECRET: "", CHRONOLOG_LOG_LEVEL: "" });
  assert.equal(config.port, 8000);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.jwtSecret, null);
  assert.equal(config.logLevel, "info");
});

Deno.test("variables that are not Chronolog's are ignored", () => {
  assert.equal(loaded({ PATH: "/usr/bin", HOME: "/root", PORTS: "x" }).port, 8000);
});

Deno.test("a JWT secret shorter than 32 characters is rejected without echoing it", () => {
  const secret = "short-but-secret-value";
  const error = rejected({ CHRONOLOG_JWT_SECRET: secret });
  assert.equal(error.message, "CHRONOLOG_JWT_SECRET: expected at least 32 characters");
  assert.ok(!error.message.includes(secret));
});

Deno.test("a DATABASE_URL that is not a postgres URL is rejected without echoing it", () => {
  for (const url of ["mysql://root:hunter2@db/chronolog", "not a url with hunter2"]) {
    const error = rejected({ DATABASE_URL: url });
    assert.equal(error.message, "DATABASE_URL: expected a postgres:// or postgresql:// URL");
    assert.ok(!error.message.includes("hunter2"));
  }
  assert.ok(loaded({ DATABASE_URL: "postgresql://127.0.0.1/chronolog" }).databaseUrl !== null);
});

Deno.test("secrets render as [secret] when printed, interpolated or serialized", () => {
  const config = loaded({
    DATABASE_URL: "postgres://chronolog:db-password@127.0.0.1/chronolog",
    CHRONOLOG_JWT_SECRET: JWT_SECRET,
    CHRONOLOG_WEBHOOK_SECRET: "webhook-secret-value",
  });
  for (const rendered of [JSON.stringify(config), Deno.inspect(config), `${config.jwtSecret}`]) {
    assert.ok(rendered.includes("[secret]"), rendered);
    for (const secret of [JWT_SECRET, "db-password", "webhook-secret-value"]) {
      assert.ok(!rendered.includes(secret), `${secret} leaked in ${rendered}`);
    }
  }
  assert.ok(config.jwtSecret instanceof Secret);
});

Deno.test("a non-loopback HOST without a JWT secret is refused (SPEC §5)", () => {
  for (const host of ["0.0.0.0", "::", "192.168.1.10", "chronolog.example.com"]) {
    const error = rejected({ HOST: host });
    assert.match(error.message, /^CHRONOLOG_JWT_SECRET: required when HOST is not a loopback/);
    assert.ok(error.message.includes(JSON.stringify(host)));
  }
  assert.equal(loaded({ HOST: "0.0.0.0", CHRONOLOG_JWT_SECRET: JWT_SECRET }).host, "0.0.0.0");
});

Deno.test("loopback hosts are 127.0.0.0/8, ::1 and localhost", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"]) {
    assert.ok(isLoopbackHost(host), host);
    assert.equal(loaded({ HOST: host }).jwtSecret, null);
  }
  for (
    const host of ["0.0.0.0", "::", "128.0.0.1", "127.0.0.256", "127.0.0", "localhost.evil.com"]
  ) {
    assert.ok(!isLoopbackHost(host), host);
  }
});

Deno.test("a HOST that is neither a hostname nor an address is rejected", () => {
  assert.equal(
    rejected({ HOST: "http://example.com" }).message,
    'HOST: expected a hostname or an IP address, got "http://example.com"',
  );
});

Deno.test("the webhook allow-list takes only CIDR ranges and addresses", () => {
  for (const list of ["10.0.0.0/33", "10.0.0.0/8,,::1", "example.com", "10.0.0.0/8,"]) {
    assert.match(
      rejected({ CHRONOLOG_WEBHOOK_ALLOWED_IPS: list }).message,
      /^CHRONOLOG_WEBHOOK_ALLOWED_IPS: expected a comma-separated list of CIDR ranges/,
    );
  }
});
