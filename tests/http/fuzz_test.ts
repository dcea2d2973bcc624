/**
 * A fuzz test of the HTTP edge on the real service (SPEC §3–§5): random and malformed JSON, wrong
 * types, huge strings, deep nesting, random bytes and broken text at the JSON-RPC paths, the REST
 * routes and the webhook route, with good, missing and forged credentials. Every reply is a
 * well-formed JSON-RPC reply or a 4xx with a JSON error body — never a 5xx, an internal error
 * (-32603), a hang, a stack trace or a secret — the service logs no error, and afterwards the
 * event log holds exactly the events it held before.
 *
 * The log stays put because a call that could change it only ever carries params it must refuse
 * (a wrong type, an unknown field, a task that does not exist, a stale version, a bad schedule…):
 * so any success of such a call is a failure too. fast-check prints the seed and path of a
 * failure; FUZZ_SEED=<seed> replays a whole run.
 */
import fc from "fast-check";
import { SCHEDULE_TYPES } from "../../src/domain/schedule/types.ts";
import { MAX_BODY_BYTES, RPC_PATHS } from "../../src/http/app.ts";
import { MAX_BATCH_SIZE } from "../../src/http/jsonrpc.ts";
import { MAX_JSON_DEPTH } from "../../src/http/wire.ts";
import { openStore } from "../../src/store/mod.ts";
import {
  assert,
  assertEquals,
  pgliteDir,
  rpc,
  type Service,
  signToken,
  startService,
  webhookSignature,
} from "../_helpers.ts";

const JWT_SECRET = "a-jwt-secret-for-the-fuzz-test-0123456789";
const WEBHOOK_SECRET = "a-webhook-secret-for-the-fuzz-test";
/** The webhook route reads at most this much (webhook.ts). */
const MAX_WEBHOOK_BODY = 64 * 1024;
/** A reply slower than this is a hang. */
const REPLY_TIMEOUT_MS = 20_000;
/** How long one property may run, shrinking included. */
const SHRINK_TIME_LIMIT_MS = 20_000;

const seedText = Deno.env.get("FUZZ_SEED");
if (seedText !== undefined) fc.configureGlobal({ seed: Number(seedText) });

const ADMIN = await signToken(JWT_SECRET, "fuzzer", { roles: ["admin"] });
const USER = await signToken(JWT_SECRET, "mallory");

/** Authorization headers the service must refuse with 401. */
const FORGED_AUTHORIZATIONS = [
  `Bearer ${await signToken("another-secret-that-is-long-enough-0123", "fuzzer", {
    roles: ["admin"],
  })}`,
  `Bearer ${await signToken(JWT_SECRET, "fuzzer", { roles: ["admin"], expiresAt: 1 })}`,
  `Bearer ${await signToken(JWT_SECRET, null, { roles: ["admin"] })}`,
  `Bearer ${await signToken(JWT_SECRET, "x".repeat(129), { roles: ["admin"] })}`,
  `Bearer ${base64url('{"alg":"none"}')}.${base64url('{"sub":"fuzzer","roles":["admin"]}')}.`,
  `Bearer ${ADMIN.slice(0, -2)}`,
  `Basic ${btoa("fuzzer:admin")}`,
  "Bearer",
  "Bearer ",
  "Bearer a.b.c",
  `Token ${ADMIN}`,
  `Bearer ${ADMIN} ${ADMIN}`,
];

/** The tasks seeded before the fuzz: its mutating calls aim at them, with params to refuse. */
const SEEDS = {
  scheduled: "fuzz-seed-scheduled",
  mallorys: "fuzz-seed-mallory",
  child: "fuzz-seed-child",
} as const;
const SEED_IDS: readonly string[] = Object.values(SEEDS);
/** The seeds the non-admin token owns. */
const MALLORYS: ReadonlySet<string> = new Set([SEEDS.mallorys]);

// ---------------------------------------------------------------------------------------------
// The methods and their params
// ---------------------------------------------------------------------------------------------

/** What a method does to the log: reads never change it, mutating calls must be refused. */
type Effect = "read" | "mutating" | "lifecycle";

const SCHEDULE_FIELDS = ("schedule_type schedule_expression schedule_timezone schedule_enabled " +
  "schedule_start_at schedule_end_at max_runs dst_policy").split(" ");
const SETTINGS_FIELDS = ("name parent_id inputs executor priority dependencies overlap_policy " +
  "catchup_policy catchup_window_s jitter_ms retry timeout_s").split(" ");

/** Every method of SPEC §3 with its params; scheduler.pause/resume touch no log. */
const METHODS: Record<string, { effect: Effect; fields: string[] }> = {
  "tasks.create": {
    effect: "mutating",
    fields: ["id", "user_id", ...SETTINGS_FIELDS, ...SCHEDULE_FIELDS],
  },
  "tasks.update": {
    effect: "mutating",
    fields: ["task_id", "version", ...SETTINGS_FIELDS, ...SCHEDULE_FIELDS],
  },
  "tasks.delete": { effect: "mutating", fields: ["task_id"] },
  "tasks.get": { effect: "read", fields: ["task_id"] },
  "tasks.list": { effect: "read", fields: ["user_id", "status", "parent_id", "limit", "offset"] },
  "tasks.events": { effect: "read", fields: ["task_id", "from_version", "limit"] },
  "tasks.replay": { effect: "read", fields: ["task_id", "as_of"] },
  "tasks.runs": { effect: "read", fields: ["task_id", "limit", "before"] },
  "tasks.occurrences": { effect: "read", fields: ["task_id", "limit"] },
  "tasks.scheduled.list": {
    effect: "read",
    fields: ["enabled_only", "user_id", "schedule_type", "status", "limit", "offset"],
  },
  "tasks.scheduled.due": { effect: "read", fields: ["before", "user_id", "limit"] },
  "tasks.scheduled.export-ical": {
    effect: "read",
    fields: ["user_id", "schedule_type", "enabled_only", "limit", "calendar_name", "base_url"],
  },
  "tasks.scheduled.init": { effect: "mutating", fields: ["task_id", "from_time"] },
  "tasks.scheduled.complete": {
    effect: "mutating",
    fields: ["task_id", "success", "result", "error", "calculate_next_run", "scheduled_for"],
  },
  "tasks.trigger": { effect: "mutating", fields: ["task_id", "wait", "wait_timeout_s"] },
  "tasks.webhook.trigger": { effect: "mutating", fields: ["task_id", "async_execution"] },
  "tasks.occurrences.skip": { effect: "mutating", fields: ["task_id", "scheduled_for"] },
  "tasks.occurrences.move": { effect: "mutating", fields: ["task_id", "scheduled_for", "to"] },
  "tasks.backfill": {
    effect: "mutating",
    fields: ["task_id", "from", "to", "max_runs", "dry_run"],
  },
  "schedules.preview": {
    effect: "read",
    fields: [...SCHEDULE_FIELDS, "task_id", "from_time", "count"],
  },
  "schedules.validate": { effect: "read", fields: SCHEDULE_FIELDS },
  // No task has a queue run waiting, so there is nothing to claim.
  "runs.claim": { effect: "read", fields: ["capability", "worker_id", "lease_s"] },
  // No run exists, so every heartbeat and completion must be refused.
  "runs.heartbeat": { effect: "mutating", fields: ["run_id", "worker_id", "lease_s"] },
  "runs.complete": {
    effect: "mutating",
    fields: ["run_id", "worker_id", "success", "result", "error"],
  },
  "scheduler.status": { effect: "read", fields: [] },
  "scheduler.pause": { effect: "lifecycle", fields: [] },
  "scheduler.resume": { effect: "lifecycle", fields: [] },
  "rpc.discover": { effect: "read", fields: [] },
};

type Kind =
  | "id"
  | "text"
  | "int"
  | "bool"
  | "instant"
  | "json"
  | "object"
  | "array"
  | "version|instant";

const FIELD_KINDS: Record<string, Kind> = {
  id: "id",
  task_id: "id",
  parent_id: "id",
  run_id: "text",
  name: "text",
  user_id: "text",
  inputs: "json",
  result: "json",
  executor: "object",
  priority: "int",
  dependencies: "array",
  overlap_policy: "text",
  catchup_policy: "text",
  catchup_window_s: "int",
  jitter_ms: "int",
  retry: "object",
  timeout_s: "int",
  schedule_type: "text",
  schedule_expression: "text",
  schedule_timezone: "text",
  schedule_enabled: "bool",
  schedule_start_at: "instant",
  schedule_end_at: "instant",
  max_runs: "int",
  dst_policy: "object",
  version: "int",
  limit: "int",
  offset: "int",
  status: "text",
  enabled_only: "bool",
  before: "instant",
  from_version: "int",
  as_of: "version|instant",
  from_time: "instant",
  success: "bool",
  error: "text",
  calculate_next_run: "bool",
  scheduled_for: "instant",
  wait: "bool",
  wait_timeout_s: "int",
  async_execution: "bool",
  from: "instant",
  to: "instant",
  dry_run: "bool",
  capability: "text",
  worker_id: "text",
  lease_s: "int",
  count: "int",
  calendar_name: "text",
  base_url: "text",
};

// ---------------------------------------------------------------------------------------------
// Arbitraries: values
// ---------------------------------------------------------------------------------------------

type Params = Record<string, unknown>;
/** The type of the values an arbitrary generates. */
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

/** Strings the edge must survive: NUL, lone surrogates, BOM, bidi, traversal, quotes, escapes. */
const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff",
  "x\ud800y",
  "\udc00\ud800",
  "\uffff",
  "\ufeff",
  "\u202e",
  "%00",
  "%ff",
  "../",
  "..\\..\\",
  "🙂",
  "é",
  "null",
  "{}",
  "<script>",
  "' or 1=1 --",
  "$1",
  "\\",
  '"',
  "\r\n",
  "\t",
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const anyChar = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.constantFrom("\u0000", "\u001f", "\u007f", "\ufeff") },
);
const nastyText = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: anyChar, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }) },
);
const text = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 30 }) }, {
  weight: 2,
  arbitrary: nastyText,
});
/** Any small JSON value, nasty strings included. */
const garbage = fc.oneof(
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
  nastyText,
);
const integer = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, 1, -1, 60, 100, 1000, 1001, 2 ** 31 - 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e21),
  fc.double(),
);
const instant = fc.oneof(
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.constantFrom(
    "2026-01-15T09:00:00Z",
    "2026-01-15T09:00:00+05:30",
    "2026-03-08T02:30:00-05:00",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-15T24:00:00Z",
    "2026-01-15T09:00:00",
    "2026-01-15",
    "+275760-09-13T00:00:00.000Z",
    "-000001-01-01T00:00:00Z",
    "2026-01-15T09:00:00.123456789Z",
    "2026-01-15T09:00:00+24:00",
  ),
  text,
);
const SCHEDULE_EXPRESSIONS = [
  "86400",
  "PT15M",
  "P1Y",
  "0",
  "-5",
  "1e3",
  "99999999999999999999",
  "0 9 * * 1-5",
  "* * * * *",
  "*/0 * * * *",
  "61 25 * * *",
  "0 0 31 2 *",
  "@yearly",
  "09:00",
  "09:00,17:30",
  "25:00",
  "MO 09:00",
  "MO,TU,WE,TH,FR,SA,SU 00:00",
  "31 10:00",
  "-1 10:00",
  "FREQ=DAILY;COUNT=3",
  "FREQ=SECONDLY;INTERVAL=1",
  "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
  "FREQ=MONTHLY;BYDAY=-1FR;BYSETPOS=-1",
  "RRULE:FREQ=WEEKLY;UNTIL=19700101T000000Z",
  "2026-01-15T09:00:00Z",
];
const TIMEZONES = [
  "UTC",
  "America/New_York",
  "Europe/London",
  "Asia/Kolkata",
  "Australia/Lord_Howe",
  "Etc/GMT+14",
  "Nowhere/Zone",
  "utc",
  "+05:30",
  "../../etc/passwd",
];
const missingId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}$/).map((id) => `nx${id}`);
const invalidId = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS, "-x", ".x", "a/b", "a b", "x".repeat(129)),
  fc.string({ unit: anyChar, maxLength: 12 }).map((id) => `${id}\u0000`),
);
/** A task id: a seeded task, one that does not exist, or none at all. */
const anyTaskId = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...SEED_IDS) },
  { weight: 3, arbitrary: missingId },
  { weight: 2, arbitrary: invalidId },
);
/** A task id other than a seeded one. */
const otherTaskId = fc.oneof({ weight: 3, arbitrary: missingId }, {
  weight: 2,
  arbitrary: invalidId,
});
const executor = fc.oneof(
  fc.constant({ type: "echo" }),
  fc.record({
    type: fc.constant("http"),
    url: fc.oneof(
      fc.constantFrom(
        "https://example.invalid/hook",
        "ftp://example.invalid/",
        "not a url",
        "http://[::1]:99999/",
        "javascript:alert(1)",
      ),
      text,
    ),
    method: fc.constantFrom("GET", "POST", "TRACE", "get"),
    headers: fc.dictionary(text, garbage, { maxKeys: 3 }),
    timeout_s: integer,
  }, { requiredKeys: ["type"] }),
  fc.record({ type: fc.constant("queue"), capability: garbage }, { requiredKeys: ["type"] }),
  fc.record({ type: fc.constant("command"), argv: fc.array(garbage, { maxLength: 3 }) }),
  fc.record({ type: text }),
  fc.dictionary(text, garbage, { maxKeys: 3 }),
);
const retry = fc.record({
  max_attempts: integer,
  backoff_ms: integer,
  backoff_factor: fc.double(),
  max_backoff_ms: integer,
}, { requiredKeys: [] });
const dstPolicy = fc.record({
  gap: fc.constantFrom("shift", "skip", "both", ""),
  repeat: fc.constantFrom("first", "both", "last", "none"),
}, { requiredKeys: [] });
const dependencies = fc.oneof(
  fc.array(
    fc.record({ id: anyTaskId, required: fc.oneof(fc.boolean(), garbage) }, { requiredKeys: [] }),
    { maxLength: 4 },
  ),
  fc.constant(Array.from({ length: 101 }, (_, index) => ({ id: `nx${index}` }))),
);

/** A value that is plausible for the field about as often as it is wrong. */
function plausible(field: string): fc.Arbitrary<unknown> {
  switch (field) {
    case "schedule_type":
      return fc.constantFrom(...SCHEDULE_TYPES, "Cron", "hourly", "");
    case "schedule_expression":
      return fc.oneof(fc.constantFrom(...SCHEDULE_EXPRESSIONS), text);
    case "schedule_timezone":
      return fc.oneof(fc.constantFrom(...TIMEZONES), text);
    case "status":
      return fc.constantFrom("pending", "in_progress", "completed", "failed", "cancelled", "done");
    case "overlap_policy":
      return fc.constantFrom("skip", "allow", "queue", "cancel_previous", "never");
    case "catchup_policy":
      return fc.constantFrom("latest", "none", "all", "some");
    case "executor":
      return executor;
    case "retry":
      return retry;
    case "dst_policy":
      return dstPolicy;
    case "dependencies":
      return dependencies;
  }
  switch (FIELD_KINDS[field]) {
    case "id":
      return anyTaskId;
    case "int":
      return integer;
    case "bool":
      return fc.boolean();
    case "instant":
      return instant;
    case "version|instant":
      return fc.oneof(integer, instant);
    case "json":
      return fc.oneof(fc.jsonValue({ maxDepth: 4 }), nastyText);
    default:
      return text;
  }
}

const validInstant = fc.date({
  min: new Date("1970-01-01T00:00:00Z"),
  max: new Date("9999-12-31T23:59:59Z"),
  noInvalidDate: true,
}).map((date) => date.toISOString());
const validText = fc.constantFrom("report", "nightly", "fuzz", "é 🙂", "a.b:c@d-e_f");
const between = (min: number, max: number) => fc.integer({ min, max });

/** A value the field accepts, so that calls get past validation to the domain's own checks. */
function valid(field: string): fc.Arbitrary<unknown> {
  const values: Record<string, fc.Arbitrary<unknown>> = {
    id: fc.oneof(fc.constantFrom(...SEED_IDS), missingId),
    user_id: fc.constantFrom("fuzzer", "mallory", "someone"),
    inputs: fc.jsonValue({ maxDepth: 3 }),
    result: fc.jsonValue({ maxDepth: 3 }),
    executor: fc.constantFrom(
      { type: "echo" },
      { type: "queue", capability: "fuzz" },
      { type: "http", url: "https://example.invalid/hook", method: "PUT", headers: { a: "b" } },
    ),
    priority: between(0, 1000),
    dependencies: fc.array(
      fc.record({ id: fc.oneof(fc.constantFrom(...SEED_IDS), missingId), required: fc.boolean() }),
      { maxLength: 2 },
    ),
    overlap_policy: fc.constantFrom("skip", "allow", "queue", "cancel_previous"),
    catchup_policy: fc.constantFrom("latest", "none", "all"),
    catchup_window_s: between(0, 31_536_000),
    jitter_ms: between(0, 3_600_000),
    retry: fc.record({
      max_attempts: between(1, 100),
      backoff_ms: between(0, 3_600_000),
      backoff_factor: fc.double({ min: 1, max: 10, noNaN: true }),
      max_backoff_ms: between(0, 86_400_000),
    }, { requiredKeys: [] }),
    timeout_s: between(1, 604_800),
    schedule_type: fc.constantFrom(...SCHEDULE_TYPES),
    schedule_expression: fc.constantFrom(...SCHEDULE_EXPRESSIONS),
    schedule_timezone: fc.constantFrom("UTC", "America/New_York", "Europe/London", "Asia/Kolkata"),
    max_runs: between(1, 1_000_000_000),
    dst_policy: fc.record({
      gap: fc.constantFrom("shift", "skip"),
      repeat: fc.constantFrom("first", "both", "last"),
    }, { requiredKeys: [] }),
    version: between(1, 2_147_483_647),
    limit: between(1, 1000),
    offset: between(0, 10_000_000),
    from_version: between(1, 2_147_483_647),
    count: between(1, 1000),
    status: fc.constantFrom("pending", "in_progress", "completed", "failed", "cancelled"),
    as_of: fc.oneof(between(1, 2_147_483_647), validInstant),
    wait_timeout_s: between(1, 300),
    lease_s: between(1, 3600),
    capability: fc.constantFrom("fuzz", "other"),
    worker_id: fc.constantFrom("w1", "w2"),
  };
  values.task_id = values.id;
  values.parent_id = values.id;
  if (field in values) return values[field];
  switch (FIELD_KINDS[field]) {
    case "bool":
      return fc.boolean();
    case "instant":
      return validInstant;
    default:
      return validText;
  }
}

function fieldValue(field: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: valid(field) },
    { weight: 3, arbitrary: plausible(field) },
    { weight: 1, arbitrary: garbage },
  );
}

const notNull = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  fc.string({ maxLength: 10 }),
);

/** A value the field never accepts (never null, which optional fields take). */
function wrongType(field: string): fc.Arbitrary<unknown> {
  const kind = FIELD_KINDS[field];
  const not = (accepts: (value: unknown) => boolean) => notNull.filter((value) => !accepts(value));
  switch (kind) {
    case "int":
      return fc.oneof(
        not((value) => typeof value === "number"),
        fc.constantFrom(0.5, -0.25, 1e-7, 123456.789),
      );
    case "bool":
      return not((value) => typeof value === "boolean");
    case "object":
      return not((value) => typeof value === "object" && !Array.isArray(value));
    case "array":
      return not(Array.isArray);
    case "version|instant":
      return not((value) => typeof value === "number" || typeof value === "string");
    case "json":
      // Every JSON value is of the right type: these are the ones PostgreSQL cannot store.
      return fc.constantFrom("\u0000", { "\u0000": 1 }, ["\ud800"], { a: { b: "x\udfffy" } });
    case "instant":
      return fc.oneof(
        not((value) => typeof value === "string"),
        fc.constantFrom("2026-01-15", "yesterday", "2026-01-15T09:00:00", "2026-13-01T00:00:00Z"),
      );
    case "id":
      return fc.oneof(not((value) => typeof value === "string"), invalidId);
    default:
      return not((value) => typeof value === "string");
  }
}

/** A field name the method does not know (its own fields with a twist, others' fields, noise). */
function unknownField(fields: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      "bogus",
      "Name",
      "TASK_ID",
      "task_id ",
      "constructor",
      "toString",
      "hasOwnProperty",
      "valueOf",
      "",
      " ",
      "\u0000",
      "\ud800",
      "wait",
      "id",
      "task_id",
      "schedule_id",
      "jsonrpc",
      "paused",
    ),
    fc.string({ unit: anyChar, maxLength: 12 }),
  ).filter((key) => !fields.includes(key) && key !== "__proto__");
}

const COMMAND = { executor: { type: "command", argv: ["/bin/true"] } };
const BAD_CRON = { schedule_type: "cron", schedule_expression: "61 25 * * *" };

/** Params that make a mutating call refused whatever else it carries (applied last). */
function poison(method: string, target: string | null): fc.Arbitrary<Params> {
  const { fields } = METHODS[method];
  const choices: fc.Arbitrary<Params>[] = [
    fc.tuple(unknownField(fields), garbage).map(([key, value]) => ({ [key]: value })),
  ];
  if (fields.length > 0) {
    choices.push(
      fc.constantFrom(...fields).chain((field) =>
        wrongType(field).map((value) => ({ [field]: value }))
      ),
    );
  }
  const domain: Params[] = [];
  switch (method) {
    case "tasks.create":
      domain.push(...SEED_IDS.map((id) => ({ id })), COMMAND, BAD_CRON, { name: "   " });
      choices.push(missingId.map((id) => ({ parent_id: id })));
      choices.push(missingId.map((id) => ({ dependencies: [{ id }] })));
      break;
    case "tasks.update":
      domain.push({ version: 2_147_483_647 }, COMMAND, BAD_CRON, { name: "  " });
      if (target !== null) domain.push({ parent_id: target }, { dependencies: [{ id: target }] });
      choices.push(missingId.map((id) => ({ parent_id: id })));
      choices.push(missingId.map((id) => ({ dependencies: [{ id, required: false }] })));
      break;
    case "tasks.occurrences.skip":
    case "tasks.occurrences.move":
      domain.push({ scheduled_for: "1970-01-01T00:00:00Z" });
      break;
    case "tasks.backfill":
      domain.push({ from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" });
      break;
  }
  if (domain.length > 0) choices.push(fc.constantFrom(...domain));
  return fc.oneof(...choices);
}

const nat = (max: number) => fc.integer({ min: 0, max });
const list = (item: fc.Arbitrary<string>) =>
  fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(","));
const cronField = (max: number) =>
  fc.oneof(
    fc.constantFrom("*", "?", "L", "W", "*/0", "1#5", "L-2", "15W"),
    nat(max + 2).map(String),
    fc.tuple(nat(max + 1), nat(max + 1)).map(([a, b]) => `${a}-${b}`),
    fc.tuple(fc.constantFrom("*", "0", "5"), nat(max + 1)).map(([a, b]) => `${a}/${b}`),
    list(nat(max + 1).map(String)),
  );
const wallTime = fc.tuple(nat(25), nat(61)).map(([h, m]) =>
  `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`
);
const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const rrulePart = fc.oneof(
  nat(10_000).map((n) => `INTERVAL=${n}`),
  nat(1000).map((n) => `COUNT=${n}`),
  fc.constantFrom("UNTIL=20270101T000000Z", "UNTIL=19700101T000000Z", "UNTIL=99991231T235959Z"),
  list(nat(13).map(String)).map((months) => `BYMONTH=${months}`),
  list(fc.integer({ min: -32, max: 32 }).map(String)).map((days) => `BYMONTHDAY=${days}`),
  list(
    fc.tuple(fc.constantFrom("", "1", "-1", "5", "+2", "53"), fc.constantFrom(...WEEKDAYS)).map((
      [n, day],
    ) => n + day),
  ).map((days) => `BYDAY=${days}`),
  list(nat(24).map(String)).map((hours) => `BYHOUR=${hours}`),
  list(nat(60).map(String)).map((minutes) => `BYMINUTE=${minutes}`),
  list(fc.integer({ min: -400, max: 400 }).map(String)).map((n) => `BYSETPOS=${n}`),
  list(fc.integer({ min: -367, max: 367 }).map(String)).map((n) => `BYYEARDAY=${n}`),
  list(fc.integer({ min: -54, max: 54 }).map(String)).map((n) => `BYWEEKNO=${n}`),
  fc.constantFrom(...WEEKDAYS).map((day) => `WKST=${day}`),
);
const dtstart = fc.oneof(
  fc.constant(""),
  fc.tuple(
    fc.constantFrom("", ";TZID=America/New_York", ";TZID=Australia/Lord_Howe", ";TZID=Nowhere"),
    fc.constantFrom("20260308T023000", "20261101T013000", "19700101T000000Z", "99991231T235959"),
  ).map(([zone, at]) => `DTSTART${zone}:${at}\n`),
);
/** A schedule type with an expression of its own grammar, valid or nearly so. */
const schedulePair: fc.Arbitrary<Params> = fc.oneof(
  fc.array(cronField(59), { minLength: 5, maxLength: 6 }).map((fields) => fields.join(" ")).map(
    (expression) => ["cron", expression],
  ),
  fc.tuple(
    dtstart,
    fc.constantFrom("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"),
    fc.array(rrulePart, { maxLength: 4 }),
  ).map((
    [start, freq, parts],
  ) => ["rrule", `${start}RRULE:${[`FREQ=${freq}`, ...parts].join(";")}`]),
  fc.oneof(
    nat(10_000_000).map(String),
    fc.tuple(nat(3), nat(30), nat(48), nat(90)).map(([w, d, h, m]) => `P${w}W${d}DT${h}H${m}M`),
  ).map((expression) => ["interval", expression]),
  list(wallTime).map((times) => ["daily", times]),
  fc.tuple(list(nat(8).map(String)), list(wallTime)).map(([days, times]) => [
    "weekly",
    `${days} ${times}`,
  ]),
  fc.tuple(list(fc.oneof(nat(32).map(String), fc.constant("L"))), list(wallTime)).map((
    [days, times],
  ) => ["monthly", `${days} ${times}`]),
  validInstant.map((at) => ["once", at]),
).map(([type, expression]) => ({ schedule_type: type, schedule_expression: expression }));

/** Params of a method with a random subset of its fields. */
function someFields(fields: string[]): fc.Arbitrary<Params> {
  const model = Object.fromEntries(fields.map((field) => [field, fieldValue(field)]));
  const params = fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Params>;
  if (!fields.includes("schedule_expression")) return params;
  // Half the time the type and the expression agree, so the schedule parsers get to work.
  return fc.tuple(params, fc.option(schedulePair, { freq: 2 })).map(([params, pair]) => ({
    ...params,
    ...pair,
  }));
}

/** Params for a call of `method` that leaves the log as it is. */
function paramsFor(method: string): fc.Arbitrary<Params> {
  const { effect, fields } = METHODS[method];
  if (effect !== "mutating") {
    const base = someFields(fields);
    return fc.oneof(
      { weight: 4, arbitrary: base },
      {
        weight: 1,
        arbitrary: fc.tuple(base, unknownField(fields), garbage).map(([params, key, value]) => ({
          ...params,
          [key]: value,
        })),
      },
    );
  }
  // The task a mutating call names is chosen here, never at random among the seeds.
  const base = someFields(fields.filter((field) => field !== "task_id"));
  if (fields.includes("task_id")) {
    const aimed = fc.constantFrom(...SEED_IDS).chain((target) =>
      fc.tuple(base, poison(method, target)).map(([params, refused]) => ({
        ...params,
        task_id: target,
        ...refused,
      }))
    );
    const elsewhere = fc.tuple(base, fc.option(otherTaskId, { nil: undefined })).map((
      [params, target],
    ) => target === undefined ? params : { ...params, task_id: target });
    if (method !== "tasks.backfill") return fc.oneof(aimed, elsewhere);
    // A dry run only lists what a backfill would run: a read, allowed on the seeds.
    const dryRun = fc.record({
      task_id: fc.constantFrom(...SEED_IDS),
      from: fc.oneof(validInstant, instant),
      to: fc.oneof(validInstant, instant),
      max_runs: fieldValue("max_runs"),
      dry_run: fc.constant(true),
    }, { requiredKeys: ["task_id", "dry_run"] });
    return fc.oneof(aimed, elsewhere, dryRun);
  }
  if (method === "tasks.create") {
    return fc.tuple(base, poison(method, null)).map(([params, refused]) => ({
      ...params,
      ...refused,
    }));
  }
  return base; // runs.heartbeat and runs.complete: no run exists
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: JSON-RPC messages
// ---------------------------------------------------------------------------------------------

const requestIdValue = fc.oneof(
  { weight: 4, arbitrary: fc.integer() },
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: nastyText },
  { weight: 1, arbitrary: notNull },
);

const envelope = fc.record({
  jsonrpc: fc.oneof(
    { weight: 30, arbitrary: fc.constant<unknown>("2.0") },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>("1.0", "2", 2, null, "2.0 ", "", ["2.0"]) },
  ),
  // Without an id the call is a notification.
  id: fc.oneof({ weight: 8, arbitrary: requestIdValue }, {
    weight: 1,
    arbitrary: fc.constant(undefined),
  }),
  shape: fc.oneof(
    { weight: 30, arbitrary: fc.constant("object") },
    { weight: 1, arbitrary: fc.constantFrom("absent", "values", "wrapped", "null", "string", "0") },
  ),
  extra: fc.oneof(
    { weight: 20, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom("extra", "Method", "result", "error", "params "),
        garbage,
      ),
    },
  ),
});

/** One JSON-RPC message: the fields in the order a client writes them, absent when undefined. */
function message(method: unknown, params: Params, shape: ValueOf<typeof envelope>) {
  const paramsByShape: Record<string, unknown> = {
    object: params,
    absent: undefined,
    values: Object.values(params),
    wrapped: [params],
    null: null,
    string: "params",
    0: 0,
  };
  const entry: Record<string, unknown> = {
    jsonrpc: shape.jsonrpc,
    method,
    params: paramsByShape[shape.shape],
    id: shape.id,
  };
  if (shape.extra !== null) entry[shape.extra[0]] = shape.extra[1];
  return entry;
}

const knownCall = fc.constantFrom(...Object.keys(METHODS)).chain((method) =>
  fc.tuple(paramsFor(method), envelope).map(([params, shape]) => message(method, params, shape))
);
const strangeMethod = fc.oneof(
  fc.constantFrom(
    "tasks.Create",
    "tasks.create ",
    " tasks.get",
    "tasks",
    "tasks.",
    "rpc.",
    "rpc.discover.x",
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "",
  ),
  nastyText,
  notNull,
);
const strangeCall = fc.tuple(
  strangeMethod,
  fc.dictionary(text, garbage, { maxKeys: 4 }),
  envelope,
).map(([method, params, shape]) => message(method, params, shape));

/** One entry of a request: a call of a real method, of a strange one, or any JSON at all. */
const call = fc.oneof(
  { weight: 8, arbitrary: knownCall },
  { weight: 2, arbitrary: strangeCall },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

// ---------------------------------------------------------------------------------------------
// Arbitraries: HTTP requests
// ---------------------------------------------------------------------------------------------

/** Who is asking: the admin, a user, or someone the service must refuse with 401. */
type Auth = { kind: "admin" } | { kind: "user" } | { kind: "refused"; header: string | null };

const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) =>
    String.fromCharCode(c)
  ),
  maxLength: 60,
});
const refusedAuth: fc.Arbitrary<Auth> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(...FORGED_AUTHORIZATIONS),
  headerText,
  headerText.map((token) => `Bearer ${token}`),
).map((header) => ({ kind: "refused", header }));
const auth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Auth>({ kind: "admin" }) },
  { weight: 2, arbitrary: fc.constant<Auth>({ kind: "user" }) },
  { weight: 2, arbitrary: refusedAuth },
);

const jsonType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/json-rpc",
  "APPLICATION/JSON",
  "application/json ;charset=UTF-16",
  "application/json;",
);
const otherType = fc.oneof(
  fc.constantFrom(
    null,
    "",
    "text/plain",
    "text/json",
    "application/jsonp",
    "application/json5",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/*",
    "*/*",
    "json",
    "application/json, text/plain",
  ),
  headerText,
);
/** A Content-Type header value; null sends none. */
const contentType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 9, arbitrary: jsonType },
  { weight: 1, arbitrary: otherType },
);

/** An HTTP request as the test sends it. */
interface Probe {
  method: string;
  /** Path and query, appended to the service's URL. */
  path: string;
  auth: Auth;
  contentType: string | null;
  headers?: Record<string, string>;
  body: Uint8Array | string | null;
  /** Sent as a stream, without Content-Length. */
  chunked?: boolean;
}

const RPC_PATH = fc.constantFrom(...RPC_PATHS);

const encoder = new TextEncoder();

function bytes(body: Uint8Array | string | null): Uint8Array {
  return body === null ? new Uint8Array() : typeof body === "string" ? encoder.encode(body) : body;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

function base64url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

/** Bodies that are not (quite) UTF-8 JSON. */
const brokenBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.tuple(call, fc.nat(), fc.constantFrom(...INVALID_UTF8)).map(([entry, at, bad]) => {
    const body = encoder.encode(JSON.stringify(entry));
    const cut = at % (body.length + 1);
    return concat(body.subarray(0, cut), Uint8Array.from(bad), body.subarray(cut));
  }),
  fc.tuple(call, fc.nat(), fc.constantFrom("\u0000", "\u0001", "\n", "\u001f", "\u007f")).map(
    ([entry, at, control]) => {
      const body = JSON.stringify(entry);
      const cut = at % (body.length + 1);
      return encoder.encode(body.slice(0, cut) + control + body.slice(cut));
    },
  ),
  fc.tuple(call, fc.nat()).map(([entry, at]) => {
    const body = JSON.stringify(entry);
    return encoder.encode(body.slice(0, at % Math.max(body.length, 1)));
  }),
  call.map((entry) => concat(Uint8Array.from([0xef, 0xbb, 0xbf]), bytes(JSON.stringify(entry)))),
  call.map((entry) => {
    const body = JSON.stringify(entry);
    const utf16 = new Uint8Array(body.length * 2);
    for (let i = 0; i < body.length; i++) {
      utf16[2 * i] = body.charCodeAt(i) & 0xff;
      utf16[2 * i + 1] = body.charCodeAt(i) >> 8;
    }
    return utf16;
  }),
  fc.constantFrom(
    "",
    " ",
    "\n",
    "null",
    "true",
    "0",
    '""',
    "{}",
    "[]",
    "[[]]",
    "[{}]",
    "[null]",
    '{"jsonrpc":"2.0"}',
    "1e999",
    "-0",
    "[1e999]",
    '{"jsonrpc":"2.0","id":1e999,"method":"rpc.discover"}',
    '{"jsonrpc":"2.0","id":-0,"method":"rpc.discover"}',
    '{"jsonrpc":"2.0","id":1,"method":"rpc.discover","params":{}}garbage',
    '{"jsonrpc":"2.0","method":"x"}{"jsonrpc":"2.0","method":"y"}',
    '{"jsonrpc":"2.0","id":1,"id":[],"method":"rpc.discover"}',
    '{"jsonrpc":"2.0","id":"\\ud800","method":"tasks.get","params":{"task_id":"\\ud800"}}',
    '{"jsonrpc":"2.0","id":"\\u0000","method":"tasks.delete","params":{"task_id":"\\u0000"}}',
    '{"jsonrpc":"2.0","id":1,"method":"tasks.get\\u0000","params":{}}',
    '{"jsonrpc":"2.0","id":1,"method":"tasks.list","params":{"user_id":"\\u0000"}}',
    '{"jsonrpc":"2.0","id":1,"method":"tasks.list","params":{"user_id":"\\udfff"}}',
    '"\\u0000"',
    "[1,2,",
    '{"a":',
    "\u00a0{}",
  ).map((body) => encoder.encode(body)),
);

/** A JSON-RPC request body: one call, a batch, or any JSON. */
const rpcBody = fc.oneof(
  { weight: 6, arbitrary: call.map((entry) => JSON.stringify(entry)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
);

/** A batch: empty, the usual size, or over MAX_BATCH_SIZE. */
const batchBody = fc.oneof(
  { weight: 6, arbitrary: fc.array(call, { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(call, { minLength: 90, maxLength: MAX_BATCH_SIZE }) },
  {
    weight: 1,
    arbitrary: fc.array(call, { minLength: MAX_BATCH_SIZE + 1, maxLength: MAX_BATCH_SIZE + 20 }),
  },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 8 }) },
).map((calls) => JSON.stringify(calls));

// ---------------------------------------------------------------------------------------------
// Sending and the oracles
// ---------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

function authorization(who: Auth): string | null {
  return who.kind === "admin"
    ? `Bearer ${ADMIN}`
    : who.kind === "user"
    ? `Bearer ${USER}`
    : who.header;
}

async function send(url: string, probe: Probe): Promise<Reply> {
  const headers = new Headers(probe.headers);
  const credentials = authorization(probe.auth);
  if (credentials !== null) headers.set("authorization", credentials);
  if (probe.contentType !== null) headers.set("content-type", probe.contentType);
  const raw = bytes(probe.body);
  const method = httpMethod(probe);
  const hasBody = probe.body !== null && method !== "GET" && method !== "HEAD";
  const body = !hasBody ? undefined : probe.chunked ? chunks(raw) : raw.slice();
  try {
    const response = await fetch(`${url}${probe.path}`, {
      method: probe.method,
      headers,
      body,
      signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
    });
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      text: await response.text(),
    };
  } catch (error) {
    throw new Error(`No reply (${error}) to ${describe(probe)}`);
  }
}

/** The method as fetch sends it: the standard ones are case-normalised, others are not. */
function httpMethod(probe: Probe): string {
  const upper = probe.method.toUpperCase();
  return ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].includes(upper) ? upper : probe.method;
}

function chunks(body: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= body.length) return controller.close();
      controller.enqueue(body.slice(at, at + 65_536));
      at += 65_536;
    },
  });
}

function describe(probe: Probe, reply?: Reply): string {
  const body = bytes(probe.body);
  const preview = new TextDecoder().decode(body.subarray(0, 400));
  const who = probe.auth.kind !== "refused"
    ? `${probe.auth.kind} token`
    : probe.auth.header === null
    ? "no Authorization"
    : `Authorization ${JSON.stringify(probe.auth.header)}`;
  const request = `${probe.method} ${probe.path.slice(0, 300)} (${who}, Content-Type ${
    JSON.stringify(probe.contentType)
  }${probe.headers ? `, ${JSON.stringify(probe.headers)}` : ""}${
    probe.chunked ? ", chunked" : ""
  }) body ${body.length} bytes: ${JSON.stringify(preview)}`;
  return reply === undefined
    ? request
    : `${request}\n  -> HTTP ${reply.status} ${reply.contentType}: ${reply.text.slice(0, 600)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The media-type test of SPEC §3 (415 for anything but JSON). */
function isJsonMediaType(value: string | null): boolean {
  const mediaType = value?.split(";")[0].trim().toLowerCase();
  return mediaType === "application/json" || mediaType === "application/json-rpc";
}

/** Checks every reply must pass; returns the body parsed as JSON (null when empty). */
function checkCommon(probe: Probe, reply: Reply): unknown {
  const fail = (why: string) => new Error(`${why}\n${describe(probe, reply)}`);
  if (reply.status >= 500) throw fail(`HTTP ${reply.status}`);
  if (/\n\s+at /.test(reply.text) || reply.text.includes("file://")) throw fail("A stack trace");
  if (reply.text.includes(JWT_SECRET) || reply.text.includes(WEBHOOK_SECRET)) {
    throw fail("A secret in the reply");
  }
  if (reply.text === "" || httpMethod(probe) === "HEAD") return null;
  if (!reply.contentType.startsWith("application/json")) throw fail("A reply that is not JSON");
  try {
    return JSON.parse(reply.text);
  } catch {
    throw fail("A reply that does not parse as JSON");
  }
}

/** What the service answers a message, worked out from the bytes as the service reads them. */
type ExpectedEntry = {
  /** The call as sent, for the failure message. */
  call?: unknown;
  id: unknown;
  invalid: boolean;
  method: string | null;
  /** A tasks.backfill dry run, which only reads. */
  dryRun?: boolean;
};
type Expected =
  | { kind: "none" }
  | { kind: "single"; entry: ExpectedEntry; code?: number }
  | { kind: "batch"; entries: ExpectedEntry[] };

function isValidId(id: unknown): boolean {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/** The reply an entry gets, or null for a notification. */
function expectEntry(entry: unknown): ExpectedEntry | null {
  if (!isRecord(entry)) return { id: null, invalid: true, method: null };
  // Nesting deeper than the limit or a __proto__ key anywhere: refused before any schema, with
  // the id when it is readable, even for a notification.
  if (tooDeepOrProto(entry)) {
    return { id: isValidId(entry.id) ? entry.id : null, invalid: true, method: null };
  }
  const params = entry.params;
  const valid = entry.jsonrpc === "2.0" && typeof entry.method === "string" &&
    (!("id" in entry) || isValidId(entry.id)) &&
    (!("params" in entry) || (typeof params === "object" && params !== null));
  if (!valid) return { id: isValidId(entry.id) ? entry.id : null, invalid: true, method: null };
  if (!("id" in entry)) return null;
  const dryRun = entry.method === "tasks.backfill" && isRecord(params) && params.dry_run === true;
  return { call: entry, id: entry.id, invalid: false, method: entry.method as string, dryRun };
}

/** The model's own reading of the shape rule (MAX_JSON_DEPTH levels, no `__proto__` key). */
function tooDeepOrProto(value: unknown): boolean {
  // The nesting the fuzz builds goes far deeper than the stack allows: walk it with a loop.
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, level] = pending.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (level >= MAX_JSON_DEPTH) return true;
    const entries = Array.isArray(item) ? item.map((v) => ["", v] as const) : Object.entries(item);
    for (const [key, child] of entries) {
      if (key === "__proto__") return true;
      pending.push([child, level + 1]);
    }
  }
  return false;
}

function expectReply(body: Uint8Array): Expected {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { kind: "single", entry: { id: null, invalid: true, method: null }, code: -32700 };
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0 || parsed.length > MAX_BATCH_SIZE) {
      return { kind: "single", entry: { id: null, invalid: true, method: null } };
    }
    const entries = parsed.map(expectEntry).filter((entry) => entry !== null);
    return entries.length === 0 ? { kind: "none" } : { kind: "batch", entries };
  }
  const entry = expectEntry(parsed);
  return entry === null ? { kind: "none" } : { kind: "single", entry };
}

const STANDARD_CODES = new Set([-32700, -32600, -32601, -32602]);

/** Checks one JSON-RPC response against what its request asked. */
function checkResponse(response: unknown, expected: ExpectedEntry, code?: number): void {
  assert(isRecord(response), "a response is not an object");
  assertEquals(response.jsonrpc, "2.0", "jsonrpc");
  assertEquals(JSON.stringify(response.id), JSON.stringify(expected.id), "the id is not echoed");
  const keys = Object.keys(response).sort().join(",");
  assert(keys === "error,id,jsonrpc" || keys === "id,jsonrpc,result", `members ${keys}`);
  const known = expected.method !== null && expected.method in METHODS;
  if ("result" in response) {
    assert(!expected.invalid, "an invalid request got a result");
    assert(known, `an unknown method ${JSON.stringify(expected.method)} got a result`);
    assert(
      METHODS[expected.method!].effect !== "mutating" || expected.dryRun,
      `${expected.method} succeeded on params it must refuse`,
    );
    return;
  }
  const error = response.error;
  assert(isRecord(error), "error is not an object");
  assert(Number.isInteger(error.code), "error.code is not an integer");
  assert(typeof error.message === "string", "error.message is not a string");
  const errorCode = error.code as number;
  assert(errorCode !== -32603, "an internal error (-32603)");
  assert(
    STANDARD_CODES.has(errorCode) || (errorCode <= -32000 && errorCode >= -32099),
    `error code ${errorCode}`,
  );
  if (errorCode <= -32000 && errorCode >= -32099) {
    assert(isRecord(error.data) && typeof error.data.code === "string", "a domain error's data");
  }
  if (code !== undefined) assertEquals(errorCode, code);
  else if (expected.invalid) assertEquals(errorCode, -32600);
  else if (!known) assertEquals(errorCode, -32601);
}

/** The oracle of the JSON-RPC paths. */
function checkRpcReply(probe: Probe, reply: Reply): void {
  const body = checkCommon(probe, reply);
  try {
    if (probe.auth.kind === "refused") {
      assertEquals(reply.status, 401);
      return checkResponse(body, { id: null, invalid: true, method: null }, -32004);
    }
    const size = bytes(probe.body).length;
    const refusals = new Set<number>();
    if (size > MAX_BODY_BYTES) refusals.add(413);
    if (!isJsonMediaType(probe.contentType)) refusals.add(415);
    if (refusals.size > 0) {
      assert(refusals.has(reply.status), `expected ${[...refusals]}, got ${reply.status}`);
      return checkResponse(body, { id: null, invalid: true, method: null }, -32600);
    }
    const expected = expectReply(bytes(probe.body));
    if (expected.kind === "none") {
      assertEquals(reply.status, 204);
      return assertEquals(reply.text, "");
    }
    assertEquals(reply.status, 200);
    if (expected.kind === "single") return checkResponse(body, expected.entry, expected.code);
    assert(Array.isArray(body), "a batch got no array");
    assertEquals(body.length, expected.entries.length, "one response per call");
    body.forEach((response, index) => {
      try {
        checkResponse(response, expected.entries[index]);
      } catch (error) {
        const call = JSON.stringify(expected.entries[index].call ?? null).slice(0, 400);
        throw new Error(
          `${(error as Error).message} (response ${index}: ${
            JSON.stringify(response).slice(0, 300)
          }, to ${call})`,
        );
      }
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${describe(probe, reply)}`);
  }
}

/** What a REST or webhook reply may be besides a 4xx. */
interface RestExpectation {
  /** A 2xx is allowed (a read, or the scheduler's lifecycle). */
  maySucceed?: boolean;
  /** The one status allowed. */
  status?: number;
  /** The path serves JSON-RPC, whose refusals (401, 405, …) may be JSON-RPC errors. */
  rpcPath?: boolean;
}

/** The oracle of REST and webhook routes: a 4xx `{error: {code, message}}` unless allowed 2xx. */
function checkRestReply(probe: Probe, reply: Reply, expectation: RestExpectation = {}): void {
  const body = checkCommon(probe, reply);
  try {
    if (expectation.status !== undefined) assertEquals(reply.status, expectation.status);
    if (reply.status < 300) {
      assert(expectation.maySucceed, `HTTP ${reply.status} where the request must be refused`);
      assert(httpMethod(probe) === "HEAD" || isRecord(body), "a success without a JSON object");
      return;
    }
    assert(reply.status >= 400, `HTTP ${reply.status}`);
    if (httpMethod(probe) === "HEAD") return;
    if (expectation.rpcPath && isRecord(body) && body.jsonrpc === "2.0") {
      return checkResponse(body, { id: null, invalid: true, method: null }, -32004);
    }
    assert(isRecord(body) && isRecord(body.error), "an error without {error}");
    assert(typeof body.error.code === "string", "error.code is not a string");
    assert(typeof body.error.message === "string", "error.message is not a string");
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${describe(probe, reply)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// REST and webhook requests
// ---------------------------------------------------------------------------------------------

/** A REST request before credentials, with what it reads. */
interface Route {
  method: string;
  path: string;
  body: Uint8Array | string | null;
  /** The seeded task a read names. */
  readsSeed?: string | null;
  /** GET /schedules. */
  list?: boolean;
  /** The action of /worker/:action. */
  worker?: string;
}

interface RestRequest {
  probe: Probe;
  /** A 2xx is allowed (a read, or the scheduler's lifecycle). */
  maySucceed: boolean;
}

const queryKey = fc.oneof(
  fc.constantFrom(
    "limit",
    "offset",
    "enabled_only",
    "user_id",
    "status",
    "schedule_type",
    "before",
    "async",
    "task_id",
    "",
  ),
  fc.string({ maxLength: 8 }),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    "0",
    "1",
    "-1",
    "1000",
    "1001",
    "99999999999999999999",
    "1e3",
    "abc",
    "true",
    "false",
    "maybe",
    "",
    "2026-01-15T09:00:00Z",
    "pending",
    "cron",
  ),
  nastyText,
);
/** A query string ("" for none), encoded or raw. */
const query = fc.oneof(
  { weight: 2, arbitrary: fc.constant("") },
  {
    weight: 2,
    arbitrary: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((pairs) =>
      `?${new URLSearchParams(pairs.map(([key, value]) => [key, value.toWellFormed()]))}`
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "?limit=1&limit=2",
      "?limit=%zz",
      "?user_id=%00",
      "?user_id=%ED%A0%80",
      "?%ff=1",
      "?&&&=&=",
      "?limit",
      "?enabled_only=TRUE",
      "?offset=10000001",
    ),
  },
);

/** A path segment that the service decodes to `id`, spelled one of several ways. */
function spell(id: string): fc.Arbitrary<string> {
  return fc.constantFrom(
    encodeURIComponent(id),
    [...id].map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""),
    encodeURIComponent(id).toUpperCase() === encodeURIComponent(id)
      ? encodeURIComponent(id)
      : encodeURIComponent(id).replace(/[a-z]/, (char) => `%${char.charCodeAt(0).toString(16)}`),
  );
}

/** A segment that names no seeded task: encoded strings, raw escapes, traversal, long ones. */
const otherSegment = fc.oneof(
  { weight: 3, arbitrary: otherTaskId.map((id) => encodeURIComponent(id.toWellFormed())) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "..",
      ".",
      "%2e%2e",
      "%00",
      "%ff",
      "%ED%A0%80",
      "%",
      "%zz",
      "a%2Fb",
      "..%2F..%2Frpc",
      "%C0%AE%C0%AE",
      "x".repeat(5000),
      "é",
      "🙂",
      "a;b=c",
      "@",
    ),
  },
  { weight: 1, arbitrary: fc.webSegment() },
);

/** A JSON object body for the REST routes: fields of tasks.create/update with any values. */
const restFields = someFields([...METHODS["tasks.create"].fields, "task_id", "version"]);

/** A REST body that must be refused: poisoned fields, or anything that is not a JSON object. */
function refusedBody(refused: fc.Arbitrary<Params>, allowEmpty = true): fc.Arbitrary<string> {
  const notAnObject = fc.oneof(
    fc.constantFrom("[]", "null", '"x"', "1", "{", '{"name":', "[{}]", "{}}"),
    fc.jsonValue({ maxDepth: 2 }).filter((value) => !isRecord(value)).map((value) =>
      JSON.stringify(value)
    ),
  );
  const poisoned = fc.tuple(restFields, refused).map(([fields, poison]) =>
    JSON.stringify({ ...fields, ...poison })
  );
  return allowEmpty
    ? fc.oneof({ weight: 4, arbitrary: poisoned }, { weight: 1, arbitrary: notAnObject }, {
      weight: 1,
      arbitrary: fc.constantFrom("", "   "),
    })
    : fc.oneof({ weight: 4, arbitrary: poisoned }, { weight: 1, arbitrary: notAnObject });
}

/** Any body for a route that names no seeded task. */
const anyRestBody = fc.oneof(
  { weight: 3, arbitrary: restFields.map((fields) => JSON.stringify(fields)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
  { weight: 1, arbitrary: brokenBody },
  { weight: 1, arbitrary: fc.constant(null) },
);

const writeMethod = fc.constantFrom("POST", "PUT", "PATCH", "DELETE");
const readMethod = fc.constantFrom("GET", "GET", "GET", "HEAD");
const oddMethod = fc.constantFrom("OPTIONS", "PROPFIND", "FOO", "get", "MKCOL");

/** Create's poisons without `id`: with an existing id POST /schedules updates (an upsert). */
const refusedCreate = poison("tasks.create", null).filter((params) =>
  !(typeof params.id === "string" && SEED_IDS.includes(params.id))
);

const seededRequest: fc.Arbitrary<Route> = fc.constantFrom(...SEED_IDS).chain((id) =>
  spell(id).chain((segment) =>
    fc.oneof(
      fc.record({ method: readMethod, query }).map(({ method, query }) => ({
        method,
        path: `/schedules/${segment}${query}`,
        body: null,
        readsSeed: id,
      })),
      fc.record({ method: readMethod, query }).map(({ method, query }) => ({
        method,
        path: `/schedules/${segment}/runs${query}`,
        body: null,
        readsSeed: id,
      })),
      fc.record({
        method: fc.constantFrom("PATCH", "PUT"),
        body: refusedBody(poison("tasks.update", id)),
      }).map(({ method, body }) => ({
        method,
        path: `/schedules/${segment}`,
        body,
        readsSeed: null,
      })),
      // An empty body pauses: only poisoned or non-object bodies here.
      refusedBody(
        fc.oneof(
          wrongType("schedule_enabled").map((paused) => ({ paused })),
          unknownField(["paused"]).map((key) => ({ [key]: true })),
        ),
        false,
      ).map((body) => ({
        method: "POST",
        path: `/schedules/${segment}/pause`,
        body,
        readsSeed: null,
      })),
      fc.record({ method: oddMethod, body: anyRestBody }).map(({ method, body }) => ({
        method,
        path: `/schedules/${segment}`,
        body,
        readsSeed: id,
      })),
    )
  )
);

const otherRequest: fc.Arbitrary<Route> = fc.oneof(
  fc.record({ method: readMethod, query }).map(({ method, query }) => ({
    method,
    path: `/schedules${query}`,
    body: null,
    list: true,
  })),
  fc.record({ body: refusedBody(refusedCreate), query }).map(({ body, query }) => ({
    method: "POST",
    path: `/schedules${query}`,
    body,
  })),
  fc.record({
    method: fc.oneof(readMethod, writeMethod, oddMethod),
    segment: otherSegment,
    tail: fc.constantFrom("", "/runs", "/pause", "/", "/x"),
    query,
    body: anyRestBody,
  }).map(({ method, segment, tail, query, body }) => ({
    method,
    path: `/schedules/${segment}${tail}${query}`,
    body,
  })),
  fc.record({
    method: fc.oneof(readMethod, writeMethod, oddMethod),
    action: fc.constantFrom("start", "stop", "status", "restart", ""),
    body: anyRestBody,
  }).map(({ method, action, body }) => ({
    method,
    path: `/worker/${action}`,
    body,
    worker: action,
  })),
  fc.record({
    method: fc.oneof(readMethod, oddMethod, fc.constantFrom("PUT", "DELETE")),
    path: RPC_PATH,
  })
    .map(({ method, path }) => ({ method, path, body: null })),
  fc.record({ method: fc.oneof(readMethod, writeMethod, oddMethod), path: fc.webPath(), query })
    .map(({ method, path, query }) => ({
      method,
      path: `${path.startsWith("/") ? path : `/${path}`}${query}`,
      body: null,
    })),
);

const restRequest: fc.Arbitrary<RestRequest> = fc.record({
  route: fc.oneof({ weight: 2, arbitrary: seededRequest }, { weight: 3, arbitrary: otherRequest }),
  auth,
  contentType,
}).map(({ route, auth, contentType }) => {
  const probe: Probe = {
    method: route.method,
    path: route.path,
    auth,
    contentType,
    body: route.body,
  };
  return { probe, maySucceed: restMaySucceed(probe, route) };
});

/** Whether a REST request may get a 2xx: reads of what the caller can see, and the lifecycle. */
function restMaySucceed(probe: Probe, route: Route): boolean {
  if (probe.auth.kind === "refused") return false;
  const admin = probe.auth.kind === "admin";
  const method = httpMethod(probe);
  const reads = method === "GET" || method === "HEAD";
  if (route.list === true) return reads;
  if (typeof route.readsSeed === "string") return reads && (admin || MALLORYS.has(route.readsSeed));
  if (route.worker === "status") return reads;
  if (route.worker === "start" || route.worker === "stop") return admin && method === "POST";
  return false;
}

/** The credentials of a webhook call: `valid` ones may only aim at tasks that do not exist. */
type WebhookAuth = {
  valid: boolean;
  headers: (body: Uint8Array) => Promise<Record<string, string>>;
  label: string;
};

const now = () => String(Math.floor(Date.now() / 1000));

const webhookAuth: fc.Arbitrary<WebhookAuth> = fc.oneof(
  fc.constant<WebhookAuth>({
    valid: true,
    label: "admin JWT",
    headers: () => Promise.resolve({ authorization: `Bearer ${ADMIN}` }),
  }),
  fc.constant<WebhookAuth>({
    valid: true,
    label: "user JWT",
    headers: () => Promise.resolve({ authorization: `Bearer ${USER}` }),
  }),
  fc.constant<WebhookAuth>({
    valid: true,
    label: "signed",
    headers: async (body) => {
      const timestamp = now();
      return {
        "x-webhook-timestamp": timestamp,
        "x-webhook-signature": await webhookSignature(WEBHOOK_SECRET, timestamp, body),
      };
    },
  }),
  fc.constantFrom(...FORGED_AUTHORIZATIONS).map((header) => ({
    valid: false,
    label: `forged ${header.slice(0, 20)}`,
    headers: () => Promise.resolve({ authorization: header }),
  })),
  fc.record({ timestamp: fc.oneof(headerText, fc.constant("")), signature: headerText }).map((
    { timestamp, signature },
  ) => ({
    valid: false,
    label: `garbage signature ${JSON.stringify([timestamp, signature])}`,
    headers: () =>
      Promise.resolve({ "x-webhook-timestamp": timestamp, "x-webhook-signature": signature }),
  })),
  fc.constantFrom<[string, string, string]>(
    ["stale", String(Math.floor(Date.now() / 1000) - 301), WEBHOOK_SECRET],
    ["future", String(Math.floor(Date.now() / 1000) + 3600), WEBHOOK_SECRET],
    ["wrong secret", "now", "another-webhook-secret"],
    ["uppercase hex", "now", "UPPER"],
    ["timestamp with a sign", "+now", WEBHOOK_SECRET],
  ).map(([label, when, secret]) => ({
    valid: false,
    label,
    headers: async (body: Uint8Array) => {
      const timestamp = when.endsWith("now") ? when.replace("now", now()) : when;
      const signature = secret === "UPPER"
        ? (await webhookSignature(WEBHOOK_SECRET, timestamp, body)).toUpperCase()
        : await webhookSignature(secret, timestamp, body);
      return { "x-webhook-timestamp": timestamp, "x-webhook-signature": signature };
    },
  })),
  fc.constant<WebhookAuth>({
    valid: false,
    label: "none",
    headers: () => Promise.resolve({}),
  }),
);

const webhookBody = fc.oneof(
  { weight: 4, arbitrary: fc.json({ maxDepth: 2 }).map((json) => encoder.encode(json)) },
  { weight: 2, arbitrary: brokenBody },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_WEBHOOK_BODY - 2, max: 200_000 }).map((size) =>
      new Uint8Array(size).fill(0x7b)
    ),
  },
);

const webhookRequest = fc.record({
  credentials: webhookAuth,
  method: fc.oneof({ weight: 8, arbitrary: fc.constant("POST") }, {
    weight: 1,
    arbitrary: fc.oneof(readMethod, oddMethod, fc.constantFrom("PUT", "DELETE")),
  }),
  seeded: fc.constantFrom(...SEED_IDS),
  segment: otherSegment,
  tail: fc.oneof({ weight: 6, arbitrary: fc.constant("") }, {
    weight: 1,
    arbitrary: fc.constantFrom("/", "/x", "?async=false", "?async=true", "?async=", "?async=%00"),
  }),
  aimAtSeed: fc.boolean(),
  body: webhookBody,
  contentType,
  requestId: fc.option(headerText, { nil: undefined }),
});

// ---------------------------------------------------------------------------------------------
// Deep and huge bodies
// ---------------------------------------------------------------------------------------------

/** Where a deeply nested value goes. */
const DEEP_PLACES = [
  "body",
  "unclosed",
  "batch",
  "id",
  "params",
  "create inputs",
  "update inputs",
  "complete result",
  "run result",
  "preview dst_policy",
  "REST create",
  "REST patch",
  "webhook",
] as const;

const deepRecipe = fc.record({
  depth: fc.integer({ min: 1_000, max: 100_000 }),
  brackets: fc.constantFrom("array", "object"),
  place: fc.constantFrom(...DEEP_PLACES),
  path: RPC_PATH,
});

function nested(depth: number, brackets: "array" | "object", closed = true): string {
  const [open, close] = brackets === "array" ? ["[", "]"] : ['{"a":', "}"];
  return open.repeat(depth) + (brackets === "array" ? "" : "1") +
    (closed ? close.repeat(depth) : "");
}

function rpcText(method: string, params: string, id = "1"): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${params}}`;
}

/** The request a deep recipe stands for, and whether it goes to a JSON-RPC path. */
function deepProbe(recipe: ValueOf<typeof deepRecipe>): { probe: Probe; rpc: boolean } {
  const value = nested(recipe.depth, recipe.brackets);
  const rpcProbe = (body: string) => ({
    rpc: true,
    probe: { method: "POST", path: recipe.path, auth: ADMIN_AUTH, contentType: JSON_TYPE, body },
  });
  const restProbe = (method: string, path: string, body: string) => ({
    rpc: false,
    probe: { method, path, auth: ADMIN_AUTH, contentType: JSON_TYPE, body },
  });
  switch (recipe.place) {
    case "body":
      return rpcProbe(value);
    case "unclosed":
      return rpcProbe(nested(recipe.depth, recipe.brackets, false));
    case "batch":
      return rpcProbe(`[${value},${rpcText("rpc.discover", "{}")}]`);
    case "id":
      return rpcProbe(`{"jsonrpc":"2.0","id":${value},"method":"rpc.discover"}`);
    case "params":
      return rpcProbe(rpcText("schedules.validate", value));
    case "create inputs":
      return rpcProbe(rpcText("tasks.create", `{"name":"deep","id":"!refused","inputs":${value}}`));
    case "update inputs":
      return rpcProbe(rpcText("tasks.update", `{"task_id":"nx-missing","inputs":${value}}`));
    case "complete result":
      return rpcProbe(
        rpcText("tasks.scheduled.complete", `{"task_id":"nx-missing","result":${value}}`),
      );
    case "run result":
      return rpcProbe(
        rpcText("runs.complete", `{"run_id":"nx-run","worker_id":"w","result":${value}}`),
      );
    case "preview dst_policy":
      return rpcProbe(
        rpcText(
          "schedules.preview",
          `{"schedule_type":"daily","schedule_expression":"09:00","dst_policy":${value}}`,
        ),
      );
    case "REST create":
      return restProbe("POST", "/schedules", `{"name":5,"inputs":${value}}`);
    case "REST patch":
      return restProbe("PATCH", "/schedules/nx-missing", `{"inputs":${value}}`);
    case "webhook":
      return restProbe("POST", "/webhook/trigger/nx-missing", value);
  }
}

const ADMIN_AUTH: Auth = { kind: "admin" };
const JSON_TYPE = "application/json";

/** Where a huge string goes. */
const HUGE_PLACES = [
  "raw body",
  "method",
  "id",
  "name",
  "expression",
  "inputs",
  "field name",
  "REST create",
  "webhook",
] as const;

const hugeRecipe = fc.record({
  size: fc.integer({ min: 100_000, max: 2_000_000 }),
  char: fc.constantFrom("a", "é", "\\u0000", "\\ud800", "🙂", "\\\\", " "),
  place: fc.constantFrom(...HUGE_PLACES),
  chunked: fc.boolean(),
  path: RPC_PATH,
  contentType: fc.oneof({ weight: 5, arbitrary: jsonType }, { weight: 1, arbitrary: otherType }),
});

function hugeProbe(recipe: ValueOf<typeof hugeRecipe>): { probe: Probe; rpc: boolean } {
  const huge = recipe.char.repeat(Math.ceil(recipe.size / recipe.char.length));
  const escaped = `"${huge}"`;
  const body = {
    "raw body": huge,
    method: `{"jsonrpc":"2.0","id":1,"method":${escaped}}`,
    id: `{"jsonrpc":"2.0","id":${escaped},"method":"tasks.get","params":{"task_id":"nx"}}`,
    name: rpcText("tasks.create", `{"name":${escaped},"id":"!refused"}`),
    expression: rpcText(
      "schedules.validate",
      `{"schedule_type":"cron","schedule_expression":${escaped}}`,
    ),
    inputs: rpcText("tasks.update", `{"task_id":"nx-missing","inputs":{"big":${escaped}}}`),
    "field name": rpcText("tasks.list", `{${escaped}:1}`),
    "REST create": `{"name":${escaped},"bogus":1}`,
    webhook: huge,
  }[recipe.place];
  const rest = recipe.place === "REST create" || recipe.place === "webhook";
  return {
    rpc: !rest,
    probe: {
      method: "POST",
      path: recipe.place === "webhook"
        ? "/webhook/trigger/nx-missing"
        : rest
        ? "/schedules"
        : recipe.path,
      auth: ADMIN_AUTH,
      contentType: recipe.contentType,
      body,
      chunked: recipe.chunked,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP: request targets and framing that fetch will not send
// ---------------------------------------------------------------------------------------------

const RAW_TARGETS = [
  "/schedules/../rpc",
  "/schedules/%2e%2e/rpc",
  "/webhook/../rpc",
  "/webhook/..%2frpc",
  "/webhook/trigger/../../rpc",
  "/schedules/%00",
  "/schedules/%ED%A0%80",
  "/schedules/%",
  "/schedules/%zz",
  "/webhook/trigger/%00",
  "/webhook/trigger/%",
  "//rpc",
  "/rpc/",
  "/RPC",
  "/rpc?%ff",
  "/rpc#frag",
  "*",
  "http://evil.invalid/rpc",
  "rpc",
  "/schedules/\u00e9",
  "/schedules/a\tb",
  `/webhook/trigger/${"x".repeat(20_000)}`,
  `/schedules?${"a=b&".repeat(5_000)}`,
];

const visibleAscii = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));

const rawRequest = fc.record({
  method: fc.constantFrom("POST", "GET", "PUT", "PATCH", "DELETE"),
  target: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...RAW_TARGETS) },
    { weight: 1, arbitrary: fc.string({ unit: visibleAscii, maxLength: 40 }).map((t) => `/${t}`) },
    { weight: 1, arbitrary: otherSegment.map((segment) => `/webhook/trigger/${segment}`) },
  ),
  version: fc.oneof({ weight: 6, arbitrary: fc.constant("HTTP/1.1") }, {
    weight: 1,
    arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "http/1.1"),
  }),
  admin: fc.boolean(),
  body: fc.oneof(call.map((entry) => encoder.encode(JSON.stringify(entry))), brokenBody),
  framing: fc.oneof(
    { weight: 6, arbitrary: fc.constant("exact") },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "short",
        "none",
        "chunked",
        "broken chunks",
        "bad length",
        "two lengths",
        "length and chunked",
      ),
    },
  ),
  extraHeaders: fc.oneof({ weight: 4, arbitrary: fc.constant<string[]>([]) }, {
    weight: 1,
    arbitrary: fc.array(
      fc.constantFrom(
        "X-Thing: \u0001",
        "NoColon",
        " folded: continuation",
        "Content-Type: text/plain",
        "Content-Type: application/json",
        "Transfer-Encoding: gzip",
        "Expect: 100-continue",
        "X-Request-Id: \u00ff\u00fe",
        "Host: evil.invalid",
      ),
      { minLength: 1, maxLength: 3 },
    ),
  }),
});

/** A request as the bytes a client would send, and whether it half-closes after them. */
function rawBytes(
  request: ValueOf<typeof rawRequest>,
  port: number,
): { bytes: Uint8Array; halfClose: boolean } {
  const { body } = request;
  const head = [
    `${request.method} ${request.target} ${request.version}`,
    `Host: 127.0.0.1:${port}`,
    "Connection: close",
    "Content-Type: application/json",
    ...(request.admin ? [`Authorization: Bearer ${ADMIN}`] : []),
    ...request.extraHeaders,
  ];
  let payload = body;
  switch (request.framing) {
    case "exact":
      head.push(`Content-Length: ${body.length}`);
      break;
    case "short":
      head.push(`Content-Length: ${body.length + 10}`);
      break;
    case "none":
      break;
    case "chunked":
      head.push("Transfer-Encoding: chunked");
      payload = concat(
        encoder.encode(`${body.length.toString(16)}\r\n`),
        body,
        encoder.encode("\r\n0\r\n\r\n"),
      );
      break;
    case "broken chunks":
      head.push("Transfer-Encoding: chunked");
      payload = concat(encoder.encode("zz\r\n"), body, encoder.encode("\r\n"));
      break;
    case "bad length":
      head.push("Content-Length: 99999999999999999999999");
      break;
    case "two lengths":
      head.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case "length and chunked":
      head.push(`Content-Length: ${body.length}`, "Transfer-Encoding: chunked");
      break;
  }
  const headBytes = Uint8Array.from(
    [...`${head.join("\r\n")}\r\n\r\n`],
    (c) => c.charCodeAt(0) & 0xff,
  );
  // A client that stops sending half-closes; one that has sent everything waits for the reply
  // (the server drops a request whose client half-closes before it has answered).
  return { bytes: concat(headBytes, payload), halfClose: request.framing === "short" };
}

interface RawReply {
  status: number | null;
  head: string;
  body: string;
}

/** Sends bytes on a fresh connection and reads until the server closes it. */
async function exchange(port: number, request: Uint8Array, halfClose: boolean): Promise<RawReply> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  const received: Uint8Array[] = [];
  const deadline = setTimeout(() => connection.close(), REPLY_TIMEOUT_MS);
  let timedOut = true;
  try {
    try {
      for (let at = 0; at < request.length;) at += await connection.write(request.subarray(at));
      if (halfClose) await connection.closeWrite();
    } catch {
      // The server may answer and close before it has read everything.
    }
    const buffer = new Uint8Array(65_536);
    while (true) {
      const count = await connection.read(buffer).catch(() => null);
      if (count === null) break;
      received.push(buffer.slice(0, count));
    }
    timedOut = false;
  } finally {
    clearTimeout(deadline);
    try {
      connection.close();
    } catch {
      // Closed by the deadline.
    }
  }
  const reply = new TextDecoder().decode(concat(...received));
  const end = reply.indexOf("\r\n\r\n");
  const head = end === -1 ? reply : reply.slice(0, end);
  let body = end === -1 ? "" : reply.slice(end + 4);
  if (/^transfer-encoding:\s*chunked/im.test(head)) body = dechunk(body);
  const status = head.match(/^HTTP\/1\.[01] (\d{3})/)?.[1];
  if (timedOut && status === undefined) throw new Error("No reply within the time limit");
  return { status: status === undefined ? null : Number(status), head, body };
}

function dechunk(body: string): string {
  let out = "";
  let rest = body;
  while (rest.length > 0) {
    const line = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, line), 16);
    if (!(size > 0)) break;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The log before and after
// ---------------------------------------------------------------------------------------------

interface LogView {
  tasks: unknown[];
  events: { position: number; task_id: string; version: number; type: string }[];
  runs: number;
}

async function call200(url: string, method: string, params: Params): Promise<Params> {
  const reply = await rpc(url, { method, params, id: 1 }, ADMIN);
  const body = reply.body as { result?: Params; error?: unknown };
  assert(body.result !== undefined, `${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** Every task, every event and the number of runs, as the API shows them to an admin. */
async function readLog(url: string): Promise<LogView> {
  const page = await call200(url, "tasks.list", { limit: 1000 });
  const tasks = page.tasks as Params[];
  const events: LogView["events"] = [];
  let runs = 0;
  for (const task of tasks) {
    const id = task.id as string;
    const stream = await call200(url, "tasks.events", { task_id: id, limit: 1000 });
    for (const event of stream.events as Params[]) {
      events.push({
        position: event.position as number,
        task_id: id,
        version: event.version as number,
        type: event.type as string,
      });
    }
    runs += ((await call200(url, "tasks.runs", { task_id: id })).runs as unknown[]).length;
  }
  events.sort((a, b) => a.position - b.position);
  const summary = tasks.map((task) => ({
    id: task.id,
    version: task.version,
    updated_at: task.updated_at,
    next_run_at: task.next_run_at,
    schedule_enabled: task.schedule_enabled,
    run_count: task.run_count,
    status: task.status,
  }));
  return { tasks: summary, events, runs };
}

async function seed(url: string): Promise<void> {
  const later = { schedule_type: "interval", schedule_expression: "86400" };
  await call200(url, "tasks.create", {
    id: SEEDS.scheduled,
    name: "nightly report",
    inputs: { report: "daily" },
    ...later,
  });
  await call200(url, "tasks.create", {
    id: SEEDS.mallorys,
    name: "mallory's queue task",
    user_id: "mallory",
    executor: { type: "queue", capability: "fuzz" },
    // The next 29 February at 09:00 in New York: years away, and a DST zone to compute in.
    schedule_type: "cron",
    schedule_expression: "0 9 29 2 *",
    schedule_timezone: "America/New_York",
  });
  await call200(url, "tasks.create", {
    id: SEEDS.child,
    name: "child with an http executor",
    parent_id: SEEDS.scheduled,
    executor: {
      type: "http",
      url: "https://example.invalid/hook",
      headers: { authorization: "Bearer not-for-the-log" },
    },
  });
}

/** Fails with the ERROR lines the service logged since its output was `from` long. */
function checkNoErrorLogged(service: Service, from: number): void {
  const errors = service.output().slice(from).split("\n").filter((line) => / ERROR /.test(line));
  assert(
    errors.length === 0,
    `The service logged ${errors.length} errors, the first:\n${
      errors.slice(0, 3).map((line) => line.slice(0, 400)).join("\n")
    }`,
  );
}

/** Runs every case and fails with all their failures, not only the first. */
async function everyCase(cases: (() => Promise<void>)[]): Promise<void> {
  const failures: string[] = [];
  for (const run of cases) {
    try {
      await run();
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  assert(
    failures.length === 0,
    `${failures.length} of ${cases.length} cases failed:\n\n${failures.join("\n\n")}`,
  );
}

function rpcProbe(body: string, who: Auth = ADMIN_AUTH, path = "/rpc"): Probe {
  return { method: "POST", path, auth: who, contentType: JSON_TYPE, body };
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

Deno.test("fuzzing /rpc, REST and webhooks gets well-formed refusals and leaves the log as it was", async (t) => {
  const dataDir = await pgliteDir();
  const service = await startService({
    CHRONOLOG_JWT_SECRET: JWT_SECRET,
    CHRONOLOG_WEBHOOK_SECRET: WEBHOOK_SECRET,
    CHRONOLOG_WEBHOOK_RATE_LIMIT: "1000000",
  }, { dataDir });
  const { url } = service;
  const port = Number(new URL(url).port);
  let stopped = false;
  try {
    await seed(url);
    const before = await readLog(url);
    assertEquals(before.tasks.length, SEED_IDS.length);

    // Failures the fuzz found, minimised and kept as fixed cases with the siblings of each.
    await t.step(
      "inputs and results nested 10,000 deep are refused, not answered with a 500",
      async () => {
        const deep = nested(10_000, "array");
        const deepObject = nested(10_000, "object");
        const calls = [
          rpcText("tasks.create", `{"name":"deep","id":"!refused","inputs":${deep}}`, "7"),
          rpcText("tasks.update", `{"task_id":"nx-missing","inputs":${deepObject}}`, "7"),
          rpcText("tasks.scheduled.complete", `{"task_id":"nx-missing","result":${deep}}`, "7"),
          rpcText("runs.complete", `{"run_id":"nx-run","worker_id":"w","result":${deep}}`, "7"),
          // One deep call must not take the other calls of its batch down with it.
          `[${rpcText("tasks.update", `{"task_id":"nx","inputs":${deep}}`, "7")},${
            rpcText("scheduler.status", "{}", "8")
          }]`,
        ];
        const rest: Probe[] = [
          { ...rpcProbe(`{"inputs":${deep}}`), method: "PATCH", path: "/schedules/nx-missing" },
          { ...rpcProbe(`{"name":5,"inputs":${deep}}`), path: "/schedules" },
        ];
        await everyCase([
          ...calls.map((body) => async () =>
            checkRpcReply(rpcProbe(body), await send(url, rpcProbe(body)))
          ),
          ...rest.map((probe) => async () => checkRestReply(probe, await send(url, probe))),
        ]);
      },
    );

    await t.step(
      "NUL in an id that reaches the store is refused, not an internal error",
      async () => {
        const calls = [
          rpcText("schedules.preview", '{"task_id":"x\\u0000"}'),
          rpcText("runs.heartbeat", '{"run_id":"x\\u0000","worker_id":"w"}'),
          rpcText("runs.complete", '{"run_id":"x\\u0000","worker_id":"w"}'),
        ];
        const users: Auth[] = [ADMIN_AUTH, { kind: "user" }];
        const webhooks = [`Bearer ${ADMIN}`, `Bearer ${USER}`].map((authorization): Probe => ({
          method: "POST",
          path: "/webhook/trigger/x%00",
          auth: { kind: "refused", header: null },
          contentType: JSON_TYPE,
          headers: { authorization },
          body: "{}",
        }));
        await everyCase([
          ...users.flatMap((who) =>
            calls.map((body) => async () =>
              checkRpcReply(rpcProbe(body, who), await send(url, rpcProbe(body, who)))
            )
          ),
          ...webhooks.map((probe) => async () => checkRestReply(probe, await send(url, probe))),
        ]);
      },
    );

    await t.step("a body that ends before its Content-Length is refused, not a 500", async () => {
      const body = rpcText("scheduler.status", "{}");
      await everyCase(
        ["/rpc", "/schedules", "/webhook/trigger/nx-missing"].map((path) => async () => {
          const request = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
            `Content-Type: application/json\r\nAuthorization: Bearer ${ADMIN}\r\n` +
            `Content-Length: ${body.length + 10}\r\n\r\n${body}`;
          const reply = await exchange(port, encoder.encode(request), true);
          assert(
            reply.status === null || reply.status < 500,
            `POST ${path} with 10 bytes of its body missing -> ${reply.head.split("\r\n")[0]}: ${
              reply.body.slice(0, 200)
            }`,
          );
        }),
      );
    });

    await t.step("a __proto__ key is refused, not silently dropped", async () => {
      const body = rpcText(
        "schedules.validate",
        '{"schedule_type":"daily","schedule_expression":"09:00","__proto__":{}}',
      );
      const reply = await send(url, rpcProbe(body));
      const error = (JSON.parse(reply.text) as { error?: { code: number; message: string } })
        .error;
      assert(
        error?.code === -32600 && error.message.includes("__proto__"),
        `${body}\n  -> ${reply.text.slice(0, 300)}`,
      );
    });

    /** Runs a property as a step, then checks that the log and the service's output are clean. */
    const fuzz = async <T>(
      name: string,
      arbitrary: fc.Arbitrary<T>,
      check: (value: T) => Promise<void>,
      numRuns: number,
    ) => {
      await t.step(name, async () => {
        const from = service.output().length;
        try {
          // The time limit bounds shrinking (a batch of 100 calls shrinks for minutes); a run
          // that passes takes a few seconds.
          await fc.assert(fc.asyncProperty(arbitrary, check), {
            numRuns,
            plugins: [fc.interruptAfterTimeLimit(SHRINK_TIME_LIMIT_MS)],
          });
        } finally {
          // The lifecycle methods may have paused the scheduler; nothing is due either way.
          await call200(url, "scheduler.resume", {});
        }
        assertEquals(await readLog(url), before, `the log changed during "${name}"`);
        checkNoErrorLogged(service, from);
      });
    };

    await fuzz(
      "single calls: real and strange methods, wrong types, unknown fields, any JSON",
      fc.record({ auth, contentType, path: RPC_PATH, body: rpcBody }),
      async ({ auth, contentType, path, body }) => {
        const probe: Probe = { method: "POST", path, auth, contentType, body };
        checkRpcReply(probe, await send(url, probe));
      },
      3000,
    );

    await fuzz(
      "batches: empty, mixed, notifications only, and over the limit",
      fc.record({ auth, path: RPC_PATH, body: batchBody }),
      async ({ auth, path, body }) => {
        const probe: Probe = { method: "POST", path, auth, contentType: JSON_TYPE, body };
        checkRpcReply(probe, await send(url, probe));
      },
      400,
    );

    await fuzz(
      "random bytes, invalid UTF-8, lone surrogates, NUL, BOM and truncated JSON",
      fc.record({ auth, contentType, path: RPC_PATH, body: brokenBody }),
      async ({ auth, contentType, path, body }) => {
        const probe: Probe = { method: "POST", path, auth, contentType, body };
        checkRpcReply(probe, await send(url, probe));
      },
      1500,
    );

    await fuzz(
      "deep nesting: 1,000 to 100,000 levels anywhere in a request",
      deepRecipe,
      async (recipe) => {
        const { probe, rpc } = deepProbe(recipe);
        const reply = await send(url, probe);
        if (rpc) checkRpcReply(probe, reply);
        else checkRestReply(probe, reply);
      },
      200,
    );

    await fuzz(
      "huge strings and bodies: 100 KB to 2 MB, with and without Content-Length",
      hugeRecipe,
      async (recipe) => {
        const { probe, rpc } = hugeProbe(recipe);
        const reply = await send(url, probe);
        if (rpc) return checkRpcReply(probe, reply);
        const size = bytes(probe.body).length;
        const limit = probe.path.startsWith("/webhook/") ? MAX_WEBHOOK_BODY : MAX_BODY_BYTES;
        checkRestReply(probe, reply, { status: size > limit ? 413 : undefined });
      },
      100,
    );

    await fuzz(
      "REST routes: any method, path, id, query and body",
      restRequest,
      async ({ probe, maySucceed }) => {
        const reply = await send(url, probe);
        const pathname = new URL(`${url}${probe.path}`).pathname;
        // The JWT check guards every route but these (the webhook route has its own chain).
        const open = pathname === "/health" || pathname.startsWith("/webhook/");
        checkRestReply(probe, reply, {
          maySucceed,
          status: probe.auth.kind === "refused" && !open ? 401 : undefined,
          rpcPath: (RPC_PATHS as readonly string[]).includes(pathname),
        });
      },
      2500,
    );

    await fuzz(
      "webhooks: forged, stale and garbage signatures and tokens, odd ids and bodies",
      webhookRequest,
      async (request) => {
        // Valid credentials never aim at a seeded task: that would rightly start a run.
        const seeded = request.aimAtSeed && !request.credentials.valid;
        const segment = seeded ? encodeURIComponent(request.seeded) : request.segment;
        const body = request.body;
        const headers = await request.credentials.headers(body);
        if (request.requestId !== undefined) headers["x-request-id"] = request.requestId;
        const probe: Probe = {
          method: request.method,
          path: `/webhook/trigger/${segment}${request.tail}`,
          auth: { kind: "refused", header: null },
          contentType: request.contentType,
          headers,
          body,
        };
        const reply = await send(url, probe);
        const pathname = new URL(`${url}${probe.path}`).pathname;
        const exact = request.method === "POST" && /^\/webhook\/trigger\/[^/]+$/.test(pathname);
        const status = !exact
          ? undefined
          : body.length > MAX_WEBHOOK_BODY
          ? 413
          : !request.credentials.valid
          ? 401
          : undefined;
        try {
          checkRestReply(probe, reply, { status });
        } catch (error) {
          throw new Error(
            `${(error as Error).message}\n  credentials: ${request.credentials.label}`,
          );
        }
      },
      1500,
    );

    await fuzz(
      "raw HTTP: odd request targets, versions, headers and body framing",
      rawRequest,
      async (request) => {
        const { bytes: sent, halfClose } = rawBytes(request, port);
        const reply = await exchange(port, sent, halfClose);
        const describeRaw = () =>
          `${JSON.stringify(new TextDecoder().decode(sent.subarray(0, 600)))}\n  -> ${
            JSON.stringify(`${reply.head}\r\n\r\n${reply.body}`.slice(0, 600))
          }`;
        // A connection closed without a reply is a refusal too; a reply must be a sound one.
        if (reply.status === null) return;
        assert(reply.status < 500, `HTTP ${reply.status} to ${describeRaw()}`);
        assert(!/\n\s+at /.test(reply.body), `A stack trace in reply to ${describeRaw()}`);
        if (/^content-type:\s*application\/json/im.test(reply.head) && reply.body !== "") {
          try {
            JSON.parse(reply.body);
          } catch {
            throw new Error(`A reply that does not parse as JSON to ${describeRaw()}`);
          }
        }
      },
      800,
    );

    await t.step(
      "the log holds exactly the seeded events once the service has stopped",
      async () => {
        assertEquals(await readLog(url), before);
        await service.stop();
        stopped = true;
        const store = await openStore({ dataDir });
        try {
          const events = await store.readAll(0, 100_000);
          assertEquals(
            events.map((recorded) => ({
              position: recorded.position,
              task_id: recorded.streamId,
              version: recorded.version,
              type: recorded.event.type,
            })),
            before.events,
          );
          assertEquals(await store.counts(), {
            events: before.events.length,
            streams: SEED_IDS.length,
            snapshots: SEED_IDS.length,
            runs: 0,
          });
        } finally {
          await store.close();
        }
      },
    );
  } finally {
    if (!stopped) await service.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
