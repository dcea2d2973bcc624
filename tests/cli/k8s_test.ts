import fc from "fast-check";
import { parse } from "yaml";
import {
  cronJobManifest,
  type CronJobOptions,
  DEFAULT_IMAGE,
  MAX_NAME_LENGTH,
  type TaskWire,
  TRIGGER_SCRIPT,
} from "../../src/cli/k8s.ts";
import { parseSchedule, type Schedule } from "../../src/domain/schedule/mod.ts";
import { assert, assertEquals } from "../_helpers.ts";

const NOW = Date.parse("2026-01-10T12:00:00Z");
const SERVICE_URL = "http://chronolog.jobs.svc:8000";
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE_PATTERN = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

/** A task as tasks.get returns it, with a weekday cron schedule unless overridden. */
function task(overrides: Partial<TaskWire> = {}): TaskWire {
  return {
    id: "report-1",
    name: "Morning report",
    schedule_type: "cron",
    schedule_expression: "0 9 * * 1-5",
    schedule_timezone: "America/New_York",
    schedule_enabled: true,
    schedule_start_at: null,
    schedule_end_at: null,
    max_runs: null,
    dst_policy: null,
    next_run_at: null,
    overlap_policy: "skip",
    catchup_policy: "latest",
    catchup_window_s: 86_400,
    jitter_ms: 0,
    ...overrides,
  };
}

// deno-lint-ignore no-explicit-any
type Manifest = any;

/** The manifest parsed back from its YAML; fails the test on a refusal. */
function manifestOf(
  wire: TaskWire,
  options: Partial<CronJobOptions> = {},
): { manifest: Manifest; name: string; yaml: string } {
  const result = cronJobManifest(wire, { serviceUrl: SERVICE_URL, now: NOW, ...options });
  if ("error" in result) throw new Error(`refused: ${result.error}`);
  return { manifest: parse(result.yaml), name: result.name, yaml: result.yaml };
}

/** The reason a task gets no manifest; fails the test when it gets one. */
function refusal(wire: TaskWire, options: Partial<CronJobOptions> = {}): string {
  const result = cronJobManifest(wire, { serviceUrl: SERVICE_URL, now: NOW, ...options });
  if (!("error" in result)) throw new Error(`expected a refusal, got:\n${result.yaml}`);
  return result.error;
}

function containerOf(manifest: Manifest): Manifest {
  return manifest.spec.jobTemplate.spec.template.spec.containers[0];
}

Deno.test("a weekday cron becomes a batch/v1 CronJob that signs and posts the task's webhook", () => {
  const { manifest, name } = manifestOf(task());
  assertEquals(manifest.apiVersion, "batch/v1");
  assertEquals(manifest.kind, "CronJob");
  assertEquals(manifest.metadata.name, name);
  assert(name.startsWith("chronolog-morning-report-"), name);
  assertEquals(manifest.metadata.namespace, undefined);
  assertEquals(manifest.metadata.annotations["chronolog/task-id"], "report-1");
  assertEquals(manifest.metadata.labels["app.kubernetes.io/managed-by"], "chronolog");
  assertEquals(manifest.spec.schedule, "0 9 * * 1-5");
  assertEquals(manifest.spec.timeZone, "America/New_York");
  assertEquals(manifest.spec.concurrencyPolicy, "Forbid");
  assertEquals(manifest.spec.startingDeadlineSeconds, 86_400);
  assertEquals(manifest.spec.suspend, false);
  const job = manifest.spec.jobTemplate.spec;
  assertEquals(job.backoffLimit, 0);
  assertEquals(job.template.spec.restartPolicy, "Never");
  assertEquals(job.template.metadata.labels, manifest.metadata.labels);
  const container = containerOf(manifest);
  assertEquals(container.image, DEFAULT_IMAGE);
  assertEquals(container.command, ["sh", "-c", TRIGGER_SCRIPT]);
  assertEquals(container.env, [
    { name: "CHRONOLOG_TRIGGER_URL", value: `${SERVICE_URL}/webhook/trigger/report-1` },
    {
      name: "CHRONOLOG_WEBHOOK_SECRET",
      valueFrom: { secretKeyRef: { name: "chronolog-webhook", key: "secret" } },
    },
  ]);
});

Deno.test("the options name the namespace, the Secret, its key and the image", () => {
  const { manifest } = manifestOf(task(), {
    namespace: "batch",
    secretName: "hooks",
    secretKey: "chronolog",
    image: "registry.local/tools:1",
  });
  assertEquals(manifest.metadata.namespace, "batch");
  const container = containerOf(manifest);
  assertEquals(container.image, "registry.local/tools:1");
  assertEquals(container.env[1].valueFrom.secretKeyRef, { name: "hooks", key: "chronolog" });
});

Deno.test("the task id is percent-encoded in the webhook path under the service's base path", () => {
  const { manifest } = manifestOf(task({ id: "team:a@b.c_d-1" }), {
    serviceUrl: "https://tools.example/chronolog/",
  });
  assertEquals(
    containerOf(manifest).env[0].value,
    "https://tools.example/chronolog/webhook/trigger/team%3Aa%40b.c_d-1",
  );
  assertEquals(manifest.metadata.annotations["chronolog/task-id"], "team:a@b.c_d-1");
});

Deno.test("a service URL that is not a plain http(s) base URL is refused", () => {
  for (const serviceUrl of ["chronolog:8000", "ftp://host/", "http://host/?x=1", "not a url"]) {
    assert(/service URL/.test(refusal(task(), { serviceUrl })), serviceUrl);
  }
});

Deno.test("the YAML round-trips cron lines that start with a star and carries no aliases", () => {
  const { manifest, yaml } = manifestOf(task({ schedule_expression: "*/15 * * * *" }));
  assertEquals(manifest.spec.schedule, "*/15 * * * *");
  assert(!/[&*]a\d/.test(yaml), yaml);
});

// Each schedule type as the cron line Kubernetes gets; instants are compared besides.
const MAPPINGS: [string, Partial<TaskWire>, string, string][] = [
  ["weekday cron", {}, "0 9 * * 1-5", "America/New_York"],
  [
    "names and macros",
    { schedule_expression: "0 9 * JAN-MAR MON,FRI" },
    "0 9 * 1-3 1,5",
    "America/New_York",
  ],
  [
    "@daily",
    { schedule_expression: "@daily", schedule_timezone: "Europe/Berlin" },
    "0 0 * * *",
    "Europe/Berlin",
  ],
  [
    "seconds field 0",
    { schedule_expression: "0 30 9 * * *", schedule_timezone: "UTC" },
    "30 9 * * *",
    "UTC",
  ],
  [
    "Sunday as 7",
    { schedule_expression: "0 12 * * 7", schedule_timezone: "UTC" },
    "0 12 * * 0",
    "UTC",
  ],
  [
    "either day field (Vixie OR)",
    { schedule_expression: "0 0 1,15 * 5", schedule_timezone: "UTC" },
    "0 0 1,15 * 5",
    "UTC",
  ],
  [
    "day-of-month step, any weekday",
    { schedule_expression: "0 6 */2 * *", schedule_timezone: "UTC" },
    "0 6 1-31/2 * *",
    "UTC",
  ],
  [
    "weekday step, any day",
    { schedule_expression: "0 6 * * */2", schedule_timezone: "UTC" },
    "0 6 * * 0-6/2",
    "UTC",
  ],
  [
    "hour * in a DST zone",
    { schedule_expression: "*/15 * * * *" },
    "*/15 * * * *",
    "America/New_York",
  ],
  [
    "minute list",
    { schedule_expression: "5,20,35,50 8-18 * * *", schedule_timezone: "UTC" },
    "5-50/15 8-18 * * *",
    "UTC",
  ],
  [
    "daily one time",
    { schedule_type: "daily", schedule_expression: "9:00" },
    "0 9 * * *",
    "America/New_York",
  ],
  [
    "daily same minute",
    { schedule_type: "daily", schedule_expression: "09:00,17:00" },
    "0 9,17 * * *",
    "America/New_York",
  ],
  [
    "daily hours × minutes",
    { schedule_type: "daily", schedule_expression: "09:00, 09:30,17:00,17:30" },
    "0,30 9,17 * * *",
    "America/New_York",
  ],
  [
    "weekly",
    { schedule_type: "weekly", schedule_expression: "1,3,5 09:00" },
    "0 9 * * 1,3,5",
    "America/New_York",
  ],
  [
    "weekly with Sunday",
    { schedule_type: "weekly", schedule_expression: "6-7 10:15" },
    "15 10 * * 0,6",
    "America/New_York",
  ],
  [
    "monthly",
    { schedule_type: "monthly", schedule_expression: "1,15 09:00" },
    "0 9 1,15 * *",
    "America/New_York",
  ],
  [
    "monthly 31st",
    { schedule_type: "monthly", schedule_expression: "31 23:59", schedule_timezone: "UTC" },
    "59 23 31 * *",
    "UTC",
  ],
  [
    "monthly 02:30 on a day no change falls on",
    { schedule_type: "monthly", schedule_expression: "20 02:30" },
    "30 2 20 * *",
    "America/New_York",
  ],
  [
    "fold time with dst_policy skip/both",
    { schedule_expression: "30 1 * * *", dst_policy: { gap: "skip", repeat: "both" } },
    "30 1 * * *",
    "America/New_York",
  ],
  [
    "gap time with dst_policy skip/both",
    {
      schedule_type: "daily",
      schedule_expression: "02:30",
      dst_policy: { gap: "skip", repeat: "both" },
    },
    "30 2 * * *",
    "America/New_York",
  ],
  [
    "daily noon where midnight is skipped",
    { schedule_type: "daily", schedule_expression: "12:00", schedule_timezone: "Atlantic/Azores" },
    "0 12 * * *",
    "Atlantic/Azores",
  ],
  [
    "hour * at a 30-minute change",
    { schedule_expression: "*/10 * * * *", schedule_timezone: "Australia/Lord_Howe" },
    "*/10 * * * *",
    "Australia/Lord_Howe",
  ],
  [
    "interval 15 min",
    {
      schedule_type: "interval",
      schedule_expression: "PT15M",
      next_run_at: "2026-01-10T12:05:00.000Z",
    },
    "5-50/15 * * * *",
    "Etc/UTC",
  ],
  [
    "interval 1 min",
    {
      schedule_type: "interval",
      schedule_expression: "60",
      next_run_at: "2026-01-10T12:01:00.000Z",
    },
    "* * * * *",
    "Etc/UTC",
  ],
  [
    "interval 30 min from a past start",
    {
      schedule_type: "interval",
      schedule_expression: "1800",
      schedule_start_at: "2025-06-01T00:10:00.000Z",
    },
    "10,40 * * * *",
    "Etc/UTC",
  ],
  [
    "interval 1 hour",
    {
      schedule_type: "interval",
      schedule_expression: "PT1H",
      next_run_at: "2026-01-10T12:45:00.000Z",
    },
    "45 * * * *",
    "Etc/UTC",
  ],
  [
    "interval 6 hours",
    {
      schedule_type: "interval",
      schedule_expression: "PT6H",
      next_run_at: "2026-01-10T14:05:00.000Z",
    },
    "5 2-20/6 * * *",
    "Etc/UTC",
  ],
  [
    "interval 1 day",
    {
      schedule_type: "interval",
      schedule_expression: "P1D",
      next_run_at: "2026-01-11T03:00:00.000Z",
    },
    "0 3 * * *",
    "Etc/UTC",
  ],
  [
    "interval 1 week",
    {
      schedule_type: "interval",
      schedule_expression: "P1W",
      next_run_at: "2026-01-13T14:05:00.000Z",
    },
    "5 14 * * 2",
    "Etc/UTC",
  ],
];

for (const [what, overrides, schedule, timeZone] of MAPPINGS) {
  Deno.test(`mapping: ${what} → "${schedule}" in ${timeZone}`, () => {
    const wire = task(overrides);
    const { manifest } = manifestOf(wire);
    assertEquals(manifest.spec.schedule, schedule);
    assertEquals(manifest.spec.timeZone, timeZone);
    assertEquals(robfigRuns(manifest, NOW, 50), chronologRuns(wire, NOW, 50));
  });
}

// Each refusal, with the words its one-line reason must hold.
const REFUSALS: [string, Partial<TaskWire>, RegExp][] = [
  ["no schedule", { schedule_type: null, schedule_expression: null }, /no schedule/],
  [
    "once",
    { schedule_type: "once", schedule_expression: "2026-02-01T09:00:00Z" },
    /once schedule runs a single time/,
  ],
  [
    "rrule",
    { schedule_type: "rrule", schedule_expression: "RRULE:FREQ=WEEKLY;BYDAY=MO" },
    /rrule .*no exact cron form/,
  ],
  ["cron L", { schedule_expression: "0 18 L * *" }, /uses L\b/],
  ["cron W", { schedule_expression: "0 9 15W * *" }, /uses W\b/],
  ["cron #", { schedule_expression: "0 9 * * 1#2" }, /uses #/],
  ["cron last Friday", { schedule_expression: "0 9 * * 5L" }, /uses L \(last weekday\)/],
  ["cron seconds", { schedule_expression: "30 0 9 * * *" }, /seconds past the minute/],
  ["cron AND of two partial day fields", { schedule_expression: "0 0 */2 * 5" }, /match together/],
  ["invalid cron", { schedule_expression: "61 * * * *" }, /^schedule_expression: minute 61/],
  [
    "monthly last day",
    { schedule_type: "monthly", schedule_expression: "L 18:00" },
    /last day of the month/,
  ],
  ["daily times that are no product", {
    schedule_type: "daily",
    schedule_expression: "09:00,17:30",
  }, /more than one cron line/],
  [
    "daily time with seconds",
    { schedule_type: "daily", schedule_expression: "09:00:30" },
    /has seconds/,
  ],
  ["max_runs", { max_runs: 10 }, /max_runs 10/],
  ["schedule_end_at", { schedule_end_at: "2027-01-01T00:00:00.000Z" }, /schedule_end_at/],
  [
    "future start",
    { schedule_start_at: "2026-06-01T00:00:00.000Z" },
    /schedule_start_at .* future/,
  ],
  ["jitter", { jitter_ms: 5000 }, /jitter_ms 5000/],
  ["interval of 7 minutes", {
    schedule_type: "interval",
    schedule_expression: "PT7M",
    next_run_at: "2026-01-10T12:07:00.000Z",
  }, /7 minutes does not divide/],
  ["interval of 90 minutes", {
    schedule_type: "interval",
    schedule_expression: "PT90M",
    next_run_at: "2026-01-10T13:00:00.000Z",
  }, /90 minutes does not divide/],
  ["interval of 2 days", {
    schedule_type: "interval",
    schedule_expression: "P2D",
    next_run_at: "2026-01-11T00:00:00.000Z",
  }, /2 days does not divide/],
  ["interval of 90 s", {
    schedule_type: "interval",
    schedule_expression: "90",
    next_run_at: "2026-01-10T12:01:30.000Z",
  }, /90 s is not a whole number of minutes/],
  ["interval off the minute", {
    schedule_type: "interval",
    schedule_expression: "PT15M",
    next_run_at: "2026-01-10T12:05:30.000Z",
  }, /not on whole minutes/],
  ["disabled interval without a start", {
    schedule_type: "interval",
    schedule_expression: "PT15M",
    schedule_enabled: false,
  }, /starts anew whenever the schedule is enabled/],
  [
    "gap time in New York",
    { schedule_type: "daily", schedule_expression: "02:30" },
    /America\/New_York changes its clocks on 2026-03-08 \(02:00 becomes 03:00\): Chronolog fires 2026-03-08T03:30-04:00 where Kubernetes fires nothing/,
  ],
  [
    "fold time in New York",
    { schedule_expression: "30 1 * * *" },
    /on 2026-11-01 \(02:00 becomes 01:00\): Chronolog fires nothing where Kubernetes fires 2026-11-01T01:30-05:00/,
  ],
  ["hour range through a fold", {
    schedule_expression: "0 0-23 * * *",
    schedule_timezone: "Europe/Berlin",
  }, /Europe\/Berlin changes its clocks on 2026-10-25/],
  ["weekly Sunday 02:30 in Berlin", {
    schedule_type: "weekly",
    schedule_expression: "7 02:30",
    schedule_timezone: "Europe/Berlin",
  }, /2026-03-29/],
  ["monthly 02:30 on a possible change day", {
    schedule_type: "monthly",
    schedule_expression: "8 02:30",
  }, /America\/New_York changes its clocks/],
  ["weekly where midnight is skipped", {
    schedule_type: "weekly",
    schedule_expression: "7 12:00",
    schedule_timezone: "Atlantic/Azores",
  }, /skipping midnight/],
  ["restricted hour at a 30-minute change", {
    schedule_type: "daily",
    schedule_expression: "05:00",
    schedule_timezone: "Australia/Lord_Howe",
  }, /not a whole hour on the hour/],
];

for (const [what, overrides, reason] of REFUSALS) {
  Deno.test(`refusal: ${what}`, () => {
    const error = refusal(task(overrides));
    assert(reason.test(error), error);
    assert(!error.includes("\n") && !error.endsWith("."), error);
  });
}

Deno.test("overlap_policy maps onto concurrencyPolicy; queue says Kubernetes cannot queue", () => {
  const table: [string, string][] = [
    ["skip", "Forbid"],
    ["allow", "Allow"],
    ["cancel_previous", "Replace"],
    ["queue", "Forbid"],
  ];
  for (const [overlap, concurrency] of table) {
    const { manifest } = manifestOf(task({ overlap_policy: overlap }));
    assertEquals(manifest.spec.concurrencyPolicy, concurrency, overlap);
    const notes: string = manifest.metadata.annotations["chronolog/notes"] ?? "";
    assertEquals(notes.includes("cannot queue"), overlap === "queue", overlap);
  }
});

Deno.test("catchup_policy sets startingDeadlineSeconds", () => {
  const deadline = (overrides: Partial<TaskWire>) =>
    manifestOf(task(overrides)).manifest.spec.startingDeadlineSeconds;
  assertEquals(deadline({ catchup_policy: "latest", catchup_window_s: 3600 }), 3600);
  assertEquals(deadline({ catchup_policy: "none" }), 10);
  const all = manifestOf(task({ catchup_policy: "all", catchup_window_s: 600 })).manifest;
  assertEquals(all.spec.startingDeadlineSeconds, 600);
  assert(/only the most recent missed run/.test(all.metadata.annotations["chronolog/notes"]));
});

Deno.test("the CronJob takes the schedule over: never suspended, a note while both would fire", () => {
  const disabled = manifestOf(task({ schedule_enabled: false })).manifest;
  const enabled = manifestOf(task({ schedule_enabled: true })).manifest;
  assertEquals([disabled.spec.suspend, enabled.spec.suspend], [false, false]);
  assert(String(enabled.metadata.annotations["chronolog/notes"]).includes("runs twice"));
  assert(!String(disabled.metadata.annotations["chronolog/notes"] ?? "").includes("twice"));
});

const taskIds = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/);
const taskNames = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.constantFrom(
    "",
    "!!!",
    "---",
    "Café crème ☕",
    "日本語のタスク",
    "a".repeat(500),
    "-a-",
    "Ω≈ç√",
  ),
);

function checkName(name: string): void {
  assert(name.length <= MAX_NAME_LENGTH, name);
  assert(NAME_PATTERN.test(name), name);
  assert(name.startsWith("chronolog-"), name);
}

Deno.test("property: every name is a DNS-1123 label of at most 52 characters", () => {
  fc.assert(
    fc.property(taskIds, taskNames, (id, name) => {
      const { manifest, name: cronJobName } = manifestOf(task({ id, name }));
      checkName(cronJobName);
      assertEquals(manifest.metadata.name, cronJobName);
      for (const value of Object.values(manifest.metadata.labels as Record<string, string>)) {
        assert(value.length <= 63 && LABEL_VALUE_PATTERN.test(value), value);
      }
      assertEquals(manifest.metadata.annotations["chronolog/task-id"], id);
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: two task ids never share a name, whatever their names", () => {
  fc.assert(
    fc.property(taskIds, taskIds, taskNames, (first, second, name) => {
      fc.pre(first !== second);
      const a = manifestOf(task({ id: first, name })).name;
      const b = manifestOf(task({ id: second, name })).name;
      assert(a !== b, `${first} and ${second} both named ${a}`);
    }),
    { numRuns: 300 },
  );
});

Deno.test("names: awkward names and ids that differ only in case or punctuation", () => {
  const named = (id: string, name: string | null) => manifestOf(task({ id, name })).name;
  const ids = ["Report-1", "report-1", "report.1", "report_1", "report:1", "report@1", "report-1-"];
  assert(ids.every((id) => TASK_ID_PATTERN.test(id)));
  const names = ids.map((id) => named(id, "Report"));
  assertEquals(new Set(names).size, ids.length);
  names.forEach(checkName);
  assert(named("x1", "Café crème").startsWith("chronolog-cafe-creme-"));
  assert(/^chronolog-x1-[0-9a-f]{8}$/.test(named("x1", "!!!")));
  assert(/^chronolog-x1-[0-9a-f]{8}$/.test(named("x1", "日本語")));
  const long = named("long-1", "quarterly-report-".repeat(20));
  assertEquals(long.length, MAX_NAME_LENGTH);
  checkName(long);
  checkName(named("a".repeat(128), null));
  assertEquals(named("report-1", "Morning report"), named("report-1", "Morning report"));
});

// An oracle for what Kubernetes does: robfig/cron v3's ParseStandard and SpecSchedule.Next
// (spec.go), ported line for line, with Go's time.Date normalization (time.go) over Temporal.

interface RobfigSpec {
  minute: bigint;
  hour: bigint;
  dom: bigint;
  month: bigint;
  dow: bigint;
}

const STAR_BIT = 1n << 63n;

function robfigParse(line: string): RobfigSpec {
  const [minute, hour, dom, month, dow] = line.split(" ");
  const field = (text: string, min: number, max: number): bigint => {
    let bits = 0n;
    for (const expr of text.split(",").filter((item) => item !== "")) {
      const [rangeText, stepText] = expr.split("/");
      const lowAndHigh = rangeText.split("-");
      let start: number, end: number;
      let extra = 0n;
      if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
        [start, end, extra] = [min, max, STAR_BIT];
      } else {
        start = Number(lowAndHigh[0]);
        end = lowAndHigh.length === 2 ? Number(lowAndHigh[1]) : start;
      }
      let step = 1;
      if (stepText !== undefined) {
        step = Number(stepText);
        if (lowAndHigh.length === 1) end = max;
        if (step > 1) extra = 0n;
      }
      assert(start >= min && end <= max && start <= end && step > 0, `bad field ${text}`);
      for (let v = start; v <= end; v += step) bits |= 1n << BigInt(v);
      bits |= extra;
    }
    return bits;
  };
  return {
    minute: field(minute, 0, 59),
    hour: field(hour, 0, 23),
    dom: field(dom, 1, 31),
    month: field(month, 1, 12),
    dow: field(dow, 0, 6),
  };
}

/** A Go time.Time in a location: unix seconds and the zone. */
class GoTime {
  constructor(readonly unix: number, readonly zone: string) {}
  get #local(): Temporal.ZonedDateTime {
    return Temporal.Instant.fromEpochMilliseconds(this.unix * 1000).toZonedDateTimeISO(this.zone);
  }
  fields() {
    const t = this.#local;
    return {
      year: t.year,
      month: t.month,
      day: t.day,
      hour: t.hour,
      minute: t.minute,
      second: t.second,
      weekday: t.dayOfWeek % 7,
    };
  }
  add(seconds: number): GoTime {
    return new GoTime(this.unix + seconds, this.zone);
  }
  /** t.AddDate(0, months, days): time.Date with the fields moved. */
  addDate(months: number, days: number): GoTime {
    const f = this.fields();
    return goDate(this.zone, [f.year, f.month + months, f.day + days, f.hour, f.minute, f.second]);
  }
}

/** Go's time.Date: normalize the fields, then read them with the offset Go's lookup picks. */
function goDate(zone: string, fields: number[]): GoTime {
  const [year, month, day, hour, minute, second] = fields;
  const unix = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
  const lookup = (at: number) => {
    const t = Temporal.Instant.fromEpochMilliseconds(at * 1000).toZonedDateTimeISO(zone);
    const previous = t.getTimeZoneTransition("previous");
    const next = t.getTimeZoneTransition("next");
    const startsHere = t.subtract({ nanoseconds: 1 }).offsetNanoseconds !== t.offsetNanoseconds;
    return {
      offset: t.offsetNanoseconds / 1e9,
      start: startsHere ? at : previous === null ? -Infinity : previous.epochMilliseconds / 1000,
      end: next === null ? Infinity : next.epochMilliseconds / 1000,
    };
  };
  let { offset, start, end } = lookup(unix);
  if (offset !== 0) {
    const utc = unix - offset;
    if (utc < start || utc >= end) offset = lookup(utc).offset;
  }
  return new GoTime(unix - offset, zone);
}

/** robfig/cron v3 SpecSchedule.Next (seconds field fixed at 0, as ParseStandard sets it). */
function robfigNext(spec: RobfigSpec, zone: string, afterMs: number): number | null {
  const has = (bits: bigint, value: number) => (bits & (1n << BigInt(value))) !== 0n;
  const dayMatches = (t: GoTime) => {
    const { day, weekday } = t.fields();
    const domMatch = has(spec.dom, day);
    const dowMatch = has(spec.dow, weekday);
    if ((spec.dom & STAR_BIT) !== 0n || (spec.dow & STAR_BIT) !== 0n) return domMatch && dowMatch;
    return domMatch || dowMatch;
  };
  let t = new GoTime(Math.floor(afterMs / 1000) + 1, zone);
  let added = false;
  const yearLimit = t.fields().year + 5;
  wrap: for (;;) {
    if (t.fields().year > yearLimit) return null;
    while (!has(spec.month, t.fields().month)) {
      if (!added) {
        added = true;
        const f = t.fields();
        t = goDate(zone, [f.year, f.month, 1, 0, 0, 0]);
      }
      t = t.addDate(1, 0);
      if (t.fields().month === 1) continue wrap;
    }
    while (!dayMatches(t)) {
      if (!added) {
        added = true;
        const f = t.fields();
        t = goDate(zone, [f.year, f.month, f.day, 0, 0, 0]);
      }
      t = t.addDate(0, 1);
      const hour = t.fields().hour;
      if (hour !== 0) t = t.add(hour > 12 ? (24 - hour) * 3600 : -hour * 3600);
      if (t.fields().day === 1) continue wrap;
    }
    while (!has(spec.hour, t.fields().hour)) {
      if (!added) {
        added = true;
        const f = t.fields();
        t = goDate(zone, [f.year, f.month, f.day, f.hour, 0, 0]);
      }
      t = t.add(3600);
      if (t.fields().hour === 0) continue wrap;
    }
    while (!has(spec.minute, t.fields().minute)) {
      if (!added) {
        added = true;
        t = t.add(-(((t.unix % 60) + 60) % 60));
      }
      t = t.add(60);
      if (t.fields().minute === 0) continue wrap;
    }
    const second = t.fields().second;
    if (second !== 0) {
      // Each step of the seconds loop fails until the minute turns, which wraps.
      added = true;
      t = t.add(60 - second);
      continue wrap;
    }
    return t.unix * 1000;
  }
}

/** The instants Kubernetes fires a manifest at: the first `count` after `from`. */
function robfigRuns(manifest: Manifest, from: number, count: number): string[] {
  const spec = robfigParse(manifest.spec.schedule);
  const runs: string[] = [];
  let after = from;
  while (runs.length < count) {
    const next = robfigNext(spec, manifest.spec.timeZone, after);
    if (next === null) break;
    runs.push(new Date(next).toISOString());
    after = next;
  }
  return runs;
}

function taskSchedule(wire: TaskWire): Schedule {
  const interval = wire.schedule_type === "interval" && wire.schedule_start_at == null;
  const anchor = interval
    ? Date.parse(wire.next_run_at!) - intervalMs(wire.schedule_expression!)
    : null;
  const schedule = parseSchedule({
    type: wire.schedule_type as Schedule["type"],
    expression: wire.schedule_expression!,
    timezone: wire.schedule_timezone,
    startAt: wire.schedule_start_at == null ? null : Date.parse(wire.schedule_start_at),
    dstPolicy: wire.dst_policy,
    anchor,
  });
  if (!("next" in schedule)) throw schedule;
  return schedule;
}

function intervalMs(expression: string): number {
  const seconds = /^\d+$/.test(expression)
    ? Number(expression)
    : Temporal.Duration.from(expression).total({ unit: "seconds", relativeTo: "2026-01-01" });
  return seconds * 1000;
}

/** The instants Chronolog fires the task at: the first `count` after `from`. */
function chronologRuns(wire: TaskWire, from: number, count: number): string[] {
  const schedule = taskSchedule(wire);
  const runs: string[] = [];
  let occurrence = schedule.next(from);
  while (occurrence !== null && runs.length < count) {
    runs.push(new Date(occurrence.at).toISOString());
    occurrence = schedule.next(occurrence.at);
  }
  return runs;
}

function between(next: (after: number) => number | null, from: number, to: number): string[] {
  const runs: string[] = [];
  for (let at = next(from - 1); at !== null && at <= to; at = next(at)) {
    runs.push(new Date(at).toISOString());
  }
  return runs;
}

/** The zone's clock changes in the two years after NOW. */
function changesOf(zone: string): number[] {
  const changes: number[] = [];
  let cursor = Temporal.Instant.fromEpochMilliseconds(NOW).toZonedDateTimeISO(zone);
  for (;;) {
    const next = cursor.getTimeZoneTransition("next");
    if (next === null || next.epochMilliseconds > NOW + 2 * 366 * 86_400_000) return changes;
    changes.push(next.epochMilliseconds);
    cursor = next;
  }
}

Deno.test("the robfig oracle skips a gap time and fires a fold time twice (kubernetes#121594)", () => {
  const next = (line: string) => (after: number) =>
    robfigNext(robfigParse(line), "America/New_York", after);
  assertEquals(
    between(
      next("30 2 * * *"),
      Date.parse("2026-03-07T00:00:00Z"),
      Date.parse("2026-03-10T00:00:00Z"),
    ),
    ["2026-03-07T07:30:00.000Z", "2026-03-09T06:30:00.000Z"],
  );
  assertEquals(
    between(
      next("30 1 * * *"),
      Date.parse("2026-10-31T12:00:00Z"),
      Date.parse("2026-11-01T12:00:00Z"),
    ),
    ["2026-11-01T05:30:00.000Z", "2026-11-01T06:30:00.000Z"],
  );
});

Deno.test("the refused hazard is real: robfig fires a Saturday job on Sunday in the Azores", () => {
  // 2026-03-29 00:00 does not exist in Atlantic/Azores: robfig's hour loop walks from Saturday
  // 23:00 to Sunday 01:00 without wrapping, so it never checks that Sunday is not Saturday.
  const runs = between(
    (after) => robfigNext(robfigParse("0 12 * * 6"), "Atlantic/Azores", after),
    Date.parse("2026-03-21T00:00:00Z"),
    Date.parse("2026-04-05T00:00:00Z"),
  );
  assertEquals(runs, [
    "2026-03-21T13:00:00.000Z",
    "2026-03-28T13:00:00.000Z",
    "2026-03-29T12:00:00.000Z",
    "2026-04-04T12:00:00.000Z",
  ]);
  assert(/skipping midnight/.test(refusal(task({
    schedule_expression: "0 12 * * 6",
    schedule_timezone: "Atlantic/Azores",
  }))));
});

const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "Australia/Lord_Howe",
  "Atlantic/Azores",
  "America/Santiago",
  "Asia/Kolkata",
  "Australia/Adelaide",
  "America/St_Johns",
  "Africa/Cairo",
  "America/Havana",
];

const schedules: fc.Arbitrary<Partial<TaskWire>> = fc.oneof(
  fc.record({
    schedule_type: fc.constant("cron"),
    schedule_expression: fc.tuple(
      fc.constantFrom("0", "30", "*/15", "5,35", "59"),
      fc.constantFrom("*", "0", "1", "2", "3", "9", "23", "1-3", "*/6", "0-23"),
      fc.constantFrom("*", "1", "8", "15", "1,15", "*/2", "31", "?"),
      fc.constantFrom("*", "3", "10-11", "*/2"),
      fc.constantFrom("*", "0", "1-5", "6", "SUN", "?"),
    ).map((fields) => fields.join(" ")),
  }),
  fc.record({
    schedule_type: fc.constant("daily"),
    schedule_expression: fc.constantFrom(
      "00:00",
      "00:30",
      "01:30",
      "02:30",
      "09:00",
      "09:00,21:00",
    ),
  }),
  fc.record({
    schedule_type: fc.constant("weekly"),
    schedule_expression: fc.tuple(
      fc.constantFrom("7", "1-5", "6,7", "5"),
      fc.constantFrom("00:00", "01:30", "02:30", "12:00"),
    ).map((parts) => parts.join(" ")),
  }),
  fc.record({
    schedule_type: fc.constant("monthly"),
    schedule_expression: fc.tuple(
      fc.constantFrom("1", "8", "15", "1,15", "31"),
      fc.constantFrom("00:00", "01:30", "02:30", "12:00"),
    ).map((parts) => parts.join(" ")),
  }),
);

Deno.test("property: an emitted CronJob fires, per the robfig oracle, exactly when the task does", () => {
  let emitted = 0;
  fc.assert(
    fc.property(
      schedules,
      fc.constantFrom(...ZONES),
      fc.constantFrom(null, { gap: "skip", repeat: "both" }, { gap: "skip", repeat: "first" }),
      (schedule, zone, dstPolicy) => {
        const wire = task({ ...schedule, schedule_timezone: zone, dst_policy: dstPolicy });
        const result = cronJobManifest(wire, { serviceUrl: SERVICE_URL, now: NOW });
        if ("error" in result) return;
        emitted++;
        const manifest = parse(result.yaml);
        assertEquals(robfigRuns(manifest, NOW, 40), chronologRuns(wire, NOW, 40));
        const spec = robfigParse(manifest.spec.schedule);
        const chronolog = taskSchedule(wire);
        for (const change of changesOf(manifest.spec.timeZone)) {
          const [from, to] = [change - 86_400_000, change + 86_400_000];
          assertEquals(
            between((after) => robfigNext(spec, manifest.spec.timeZone, after), from, to),
            between((after) => chronolog.next(after)?.at ?? null, from, to),
            `${manifest.spec.schedule} in ${zone} around ${new Date(change).toISOString()}`,
          );
        }
      },
    ),
    { numRuns: 150 },
  );
  assert(emitted > 30, `only ${emitted} schedules got a manifest`);
});

// The container's script, run for real against a target that checks requests as
// src/http/webhook.ts does.

const TOOLS = await hasTools("curl", "openssl");
const SECRET = "a-webhook-secret-with-'quotes' and $dollars";

async function hasTools(...tools: string[]): Promise<boolean> {
  try {
    const found = await new Deno.Command("sh", {
      args: ["-c", tools.map((tool) => `command -v ${tool} >/dev/null`).join(" && ")],
    }).output();
    return found.success;
  } catch {
    return false;
  }
}

if (!TOOLS) console.log("k8s_test: curl or openssl is not installed; the script tests are skipped");

interface Received {
  taskId: string;
  contentType: string | null;
  body: string;
}

/** A webhook target that verifies like webhook.ts: timestamp, HMAC, replay; then records. */
function startTarget(secret: string, basePath: string) {
  const received: Received[] = [];
  const seen = new Set<string>();
  const key = crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const refuse = (message: string) => Response.json({ error: { message } }, { status: 401 });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    const timestamp = request.headers.get("x-webhook-timestamp");
    const signature = request.headers.get("x-webhook-signature");
    if (request.method !== "POST" || timestamp === null || signature === null) {
      return refuse("not signed");
    }
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) {
      return refuse("stale timestamp");
    }
    if (!/^[0-9a-f]{64}$/.test(signature)) return refuse("not a signature");
    const mac = Uint8Array.from(signature.match(/../g)!, (pair) => parseInt(pair, 16));
    const prefix = new TextEncoder().encode(`${timestamp}.`);
    const signed = new Uint8Array(prefix.length + body.length);
    signed.set(prefix);
    signed.set(body, prefix.length);
    if (!await crypto.subtle.verify("HMAC", await key, mac, signed)) return refuse("bad signature");
    if (seen.has(signature)) return refuse("replay");
    seen.add(signature);
    const path = new URL(request.url).pathname;
    const route = `${basePath}/webhook/trigger/`;
    if (!path.startsWith(route)) return new Response("not found", { status: 404 });
    received.push({
      taskId: decodeURIComponent(path.slice(route.length)),
      contentType: request.headers.get("content-type"),
      body: new TextDecoder().decode(body),
    });
    return Response.json({ run_id: "run-1", status: "pending" }, { status: 202 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}${basePath}`, received, server };
}

/** Runs the manifest's container command with its env, the Secret resolved from `secrets`. */
async function runContainer(
  manifest: Manifest,
  secrets: Record<string, Record<string, string>>,
): Promise<Deno.CommandOutput> {
  const container = containerOf(manifest);
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  for (const variable of container.env) {
    const ref = variable.valueFrom?.secretKeyRef;
    env[variable.name] = ref ? secrets[ref.name][ref.key] : variable.value;
  }
  const [program, ...args] = container.command;
  return await new Deno.Command(program, {
    args,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
}

Deno.test({
  name: "the container's sh script signs and posts a webhook the service accepts",
  ignore: !TOOLS,
  async fn() {
    const target = startTarget(SECRET, "/chronolog");
    try {
      const id = "team:a@b.c_d-1";
      const { manifest } = manifestOf(task({ id }), { serviceUrl: `${target.url}/` });
      const output = await runContainer(manifest, { "chronolog-webhook": { secret: SECRET } });
      const stderr = new TextDecoder().decode(output.stderr);
      assertEquals(output.code, 0, stderr);
      assertEquals(target.received, [{ taskId: id, contentType: "application/json", body: "{}" }]);
      assert(new TextDecoder().decode(output.stdout).includes('"run_id"'));
    } finally {
      await target.server.shutdown();
    }
  },
});

Deno.test({
  name: "the container's script fails the Job when the service refuses its signature",
  ignore: !TOOLS,
  async fn() {
    const target = startTarget(SECRET, "");
    try {
      const { manifest } = manifestOf(task(), { serviceUrl: target.url, secretName: "other" });
      const output = await runContainer(manifest, { other: { secret: "not the secret" } });
      assert(output.code !== 0);
      assert(/401/.test(new TextDecoder().decode(output.stderr)));
      assertEquals(target.received, []);
    } finally {
      await target.server.shutdown();
    }
  },
});
