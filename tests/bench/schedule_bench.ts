/**
 * Next-run computations per second, per schedule type (issue 2). Each iteration asks for the
 * first run after a different instant, as the runtime does after every fire. Targets on the
 * reference 2-core machine: daily ≥ 200,000/s, typical cron in a DST zone ≥ 50,000/s.
 */
import {
  nextRuns,
  parseSchedule,
  type Schedule,
  type ScheduleSpec,
} from "../../src/domain/schedule/mod.ts";
import { isDomainError } from "../../src/domain/errors.ts";

const zone = "America/New_York";
const start = Date.parse("2026-01-01T00:00:00Z");
const specs: [string, ScheduleSpec][] = [
  ["daily 09:00", { type: "daily", expression: "09:00", timezone: zone }],
  ["daily 09:00,17:30", { type: "daily", expression: "09:00,17:30", timezone: zone }],
  ["weekly 1,3,5 09:00", { type: "weekly", expression: "1,3,5 09:00", timezone: zone }],
  ["monthly 1,15 09:00", { type: "monthly", expression: "1,15 09:00", timezone: zone }],
  ["cron 0 9 * * 1-5", { type: "cron", expression: "0 9 * * 1-5", timezone: zone }],
  ["cron */15 * * * *", { type: "cron", expression: "*/15 * * * *", timezone: zone }],
  ["cron 30 2 * * *", { type: "cron", expression: "30 2 * * *", timezone: zone }],
  ["cron 0 0 L * *", { type: "cron", expression: "0 0 L * *", timezone: zone }],
  ["interval PT15M", { type: "interval", expression: "PT15M", timezone: zone, startAt: start }],
  ["once", { type: "once", expression: "2030-01-01T09:00", timezone: zone }],
  ["rrule weekly", {
    type: "rrule",
    expression: "DTSTART:20260105T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR",
    timezone: zone,
  }],
];

for (const [name, spec] of specs) {
  const schedule = parseSchedule(spec) as Schedule;
  if (isDomainError(schedule)) throw schedule;
  let i = 0;
  Deno.bench(`next run: ${name}`, { group: "next run", baseline: name === "daily 09:00" }, () => {
    // Walk through three years of instants, 37 minutes apart, to cross DST transitions.
    i = (i + 1) % 42_000;
    nextRuns(schedule, start + i * 2_220_000, { count: 1 });
  });
}

Deno.bench("parse: cron 0 9 * * 1-5", { group: "parse" }, () => {
  parseSchedule({ type: "cron", expression: "0 9 * * 1-5", timezone: zone });
});
