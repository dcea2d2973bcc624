import { z } from "zod";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

/** A configuration value that must never be printed: it renders as "[secret]" everywhere. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself, for the one place that uses it (signing, connecting). */
  reveal(): string {
    return this.#value;
  }

  /** Always "[secret]", so string interpolation cannot leak the value. */
  toString(): string {
    return "[secret]";
  }

  /** Always "[secret]", so JSON.stringify cannot leak the value. */
  toJSON(): string {
    return "[secret]";
  }

  [Symbol.for("Deno.customInspect")](): string {
    return "[secret]";
  }
}

/** The service configuration (SPEC §6), read from the environment once at start. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: Secret | null;
  dataDir: string;
  maxConcurrent: number;
  taskTimeoutS: number;
  jwtSecret: Secret | null;
  webhookSecret: Secret | null;
  /** CIDR ranges (or single addresses) allowed to call webhooks; empty allows every address. */
  webhookAllowedIps: readonly string[];
  /** Webhook requests per minute per client IP. */
  webhookRateLimit: number;
  allowCommand: boolean;
  logLevel: LogLevel;
  /** How long SIGTERM waits for runs in flight before recording them abandoned. */
  shutdownTimeoutS: number;
  /**
   * The URL clients reach the service at (behind a proxy, not the one it listens on): calendar
   * feed links and event URLs use it; null: each request's own origin.
   */
  publicUrl: string | null;
}

/** Why the environment does not make a valid configuration: one line per offending variable. */
export class ConfigError extends Error {
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(issues.join("; "));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** The shortest CHRONOLOG_JWT_SECRET accepted: 256 bits of text, as HS256 asks (RFC 7518 §3.2). */
export const MIN_JWT_SECRET_LENGTH = 32;

// setTimeout holds at most 2^31-1 ms, so a longer task timeout could not be armed.
const MAX_TASK_TIMEOUT_S = 2_147_483;

function integerText(min: number, max: number): z.ZodType<number, string> {
  return z.string().regex(/^\d+$/).transform(Number).pipe(z.int().min(min).max(max));
}

const address = z.union([z.cidrv4(), z.cidrv6(), z.ipv4(), z.ipv6()]);

const Environment = z.object({
  PORT: integerText(1, 65535).default(8000),
  HOST: z.union([z.ipv6(), z.hostname()]).default("127.0.0.1"),
  DATABASE_URL: z.string().refine(isPostgresUrl).optional(),
  CHRONOLOG_DATA_DIR: z.string().default("./data"),
  CHRONOLOG_MAX_CONCURRENT: integerText(1, Number.MAX_SAFE_INTEGER).default(10),
  CHRONOLOG_TASK_TIMEOUT_S: integerText(1, MAX_TASK_TIMEOUT_S).default(3600),
  CHRONOLOG_JWT_SECRET: z.string().min(MIN_JWT_SECRET_LENGTH).optional(),
  CHRONOLOG_WEBHOOK_SECRET: z.string().optional(),
  CHRONOLOG_WEBHOOK_ALLOWED_IPS: z.string()
    .transform((list) => list.split(",").map((item) => item.trim()))
    .pipe(z.array(address))
    .default([]),
  CHRONOLOG_WEBHOOK_RATE_LIMIT: integerText(1, Number.MAX_SAFE_INTEGER).default(60),
  CHRONOLOG_ALLOW_COMMAND: z.enum(["0", "1"]).default("0"),
  CHRONOLOG_LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  CHRONOLOG_SHUTDOWN_TIMEOUT_S: integerText(0, 3600).default(30),
  CHRONOLOG_PUBLIC_URL: z.url({ protocol: /^https?$/ }).max(2048).optional(),
});

type VariableName = keyof z.input<typeof Environment>;

// One phrase per variable keeps every message in the same shape, whichever check failed.
const EXPECTED: Record<VariableName, { expected: string; secret?: true }> = {
  PORT: { expected: "an integer from 1 to 65535" },
  HOST: { expected: "a hostname or an IP address" },
  DATABASE_URL: { expected: "a postgres:// or postgresql:// URL", secret: true },
  CHRONOLOG_DATA_DIR: { expected: "a directory path" },
  CHRONOLOG_MAX_CONCURRENT: { expected: "a positive integer" },
  CHRONOLOG_TASK_TIMEOUT_S: { expected: `an integer from 1 to ${MAX_TASK_TIMEOUT_S} (seconds)` },
  CHRONOLOG_JWT_SECRET: { expected: `at least ${MIN_JWT_SECRET_LENGTH} characters`, secret: true },
  CHRONOLOG_WEBHOOK_SECRET: { expected: "a non-empty string", secret: true },
  CHRONOLOG_WEBHOOK_ALLOWED_IPS: {
    expected: "a comma-separated list of CIDR ranges or IP addresses, e.g. 10.0.0.0/8,::1/128",
  },
  CHRONOLOG_WEBHOOK_RATE_LIMIT: { expected: "a positive integer (requests per minute)" },
  CHRONOLOG_ALLOW_COMMAND: { expected: '"0" or "1"' },
  CHRONOLOG_LOG_LEVEL: { expected: LOG_LEVELS.join(", ") },
  CHRONOLOG_SHUTDOWN_TIMEOUT_S: { expected: "an integer from 0 to 3600 (seconds)" },
  CHRONOLOG_PUBLIC_URL: {
    expected: "an http:// or https:// URL, e.g. https://chronolog.example.com",
  },
};

/** Reads the configuration from environment variables; an empty variable counts as unset. */
export function loadConfig(env: Record<string, string | undefined>): Config | ConfigError {
  const present: Partial<Record<VariableName, string>> = {};
  for (const name of Object.keys(EXPECTED) as VariableName[]) {
    const value = env[name];
    if (value !== undefined && value !== "") present[name] = value;
  }
  const parsed = Environment.safeParse(present);
  if (!parsed.success) {
    const names = new Set(parsed.error.issues.map((issue) => issue.path[0] as VariableName));
    return new ConfigError([...names].map((name) => describeInvalid(name, present[name])));
  }
  const vars = parsed.data;
  const jwtSecret = secretOrNull(vars.CHRONOLOG_JWT_SECRET);
  if (jwtSecret === null && !isLoopbackHost(vars.HOST)) {
    // SPEC §5: without a JWT secret nothing authenticates callers, so nothing remote may call.
    return new ConfigError([
      `CHRONOLOG_JWT_SECRET: required when HOST is not a loopback address (HOST=${
        JSON.stringify(vars.HOST)
      }); set a secret of at least ${MIN_JWT_SECRET_LENGTH} characters or serve on 127.0.0.1`,
    ]);
  }
  return {
    port: vars.PORT,
    host: vars.HOST,
    databaseUrl: secretOrNull(vars.DATABASE_URL),
    dataDir: vars.CHRONOLOG_DATA_DIR,
    maxConcurrent: vars.CHRONOLOG_MAX_CONCURRENT,
    taskTimeoutS: vars.CHRONOLOG_TASK_TIMEOUT_S,
    jwtSecret,
    webhookSecret: secretOrNull(vars.CHRONOLOG_WEBHOOK_SECRET),
    webhookAllowedIps: vars.CHRONOLOG_WEBHOOK_ALLOWED_IPS,
    webhookRateLimit: vars.CHRONOLOG_WEBHOOK_RATE_LIMIT,
    allowCommand: vars.CHRONOLOG_ALLOW_COMMAND === "1",
    logLevel: vars.CHRONOLOG_LOG_LEVEL,
    shutdownTimeoutS: vars.CHRONOLOG_SHUTDOWN_TIMEOUT_S,
    publicUrl: vars.CHRONOLOG_PUBLIC_URL ?? null,
  };
}

/** True for names and addresses that reach only this machine: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  if (name === "localhost" || name === "::1" || name === "0:0:0:0:0:0:0:1") return true;
  const octets = name.split(".");
  return octets.length === 4 && octets[0] === "127" &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255);
}

function describeInvalid(name: VariableName, value: string | undefined): string {
  const { expected, secret } = EXPECTED[name];
  return secret
    ? `${name}: expected ${expected}`
    : `${name}: expected ${expected}, got ${JSON.stringify(value)}`;
}

function isPostgresUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === "postgres:" || url.protocol === "postgresql:");
}

function secretOrNull(value: string | undefined): Secret | null {
  return value === undefined ? null : new Secret(value);
}
