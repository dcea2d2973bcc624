/**
 * The calendar feed's cost per task (issue 6): buildFeed on one task of each kind, its window
 * (400 days, at most 2,000 runs) reconciled against the task's real future. A subscribed
 * calendar refreshes every few minutes to hours, so this is the price of each refresh per task.
 */
import { buildFeed, FeedCache } from "../../src/calendar/ical.ts";
import { isDomainError } from "../../src/domain/errors.ts";
import type { ScheduleFields, TaskState } from "../../src/domain/task.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import { openStore } from "../../src/store/mod.ts";
import { scheduleFields, taskSettings, TEST_METADATA } from "../_helpers.ts";

const zone = "America/New_York";
const start = Date.parse("2027-01-01T00:00:00Z");
const kinds: [string, Partial<ScheduleFields>][] = [
  ["daily 09:00", { type: "daily", expression: "09:00" }],
  ["weekly 1-5 02:30 (gap)", { type: "weekly", expression: "1-5 02:30" }],
  ["monthly 1,15,L 09:00", { type: "monthly", expression: "1,15,L 09:00" }],
  ["cron 0 9 * * 1-5", { type: "cron", expression: "0 9 * * 1-5" }],
  ["cron 0 * * * * (hourly)", { type: "cron", expression: "0 * * * *" }],
  ["cron * * * * * (every minute)", { type: "cron", expression: "* * * * *" }],
  ["cron 0 9 1,15 * 1 (RDATE list)", { type: "cron", expression: "0 9 1,15 * 1" }],
  ["interval 1h", { type: "interval", expression: "3600" }],
  ["rrule weekly", { type: "rrule", expression: "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9" }],
];

const store = await openStore({ databaseUrl: null, dataDir: null });
const actors = new TaskActors(store);
await actors.load();
const tasks = new TaskService(store, actors);
const states = new Map<string, TaskState>();
for (const [index, [name, schedule]] of kinds.entries()) {
  const id = `bench-${index}`;
  const created = await tasks.create({
    id,
    settings: taskSettings({ name }),
    schedule: scheduleFields({ timezone: zone, startAt: start, ...schedule }),
  }, TEST_METADATA);
  if (isDomainError(created)) throw created;
  const state = await tasks.get(id);
  if (isDomainError(state)) throw state;
  states.set(name, state);
}

for (const [name, state] of states) {
  Deno.bench(
    `feed of one task: ${name}`,
    { group: "feed", baseline: name === "daily 09:00" },
    () => {
      buildFeed([state], { calendarName: "bench", baseUrl: null, now: start });
    },
  );
}

const all = [...states.values()];
Deno.bench(`feed of ${all.length} tasks (one of each)`, () => {
  buildFeed(all, { calendarName: "bench", baseUrl: null, now: start });
});

// What the service does between polls: each task's events kept until it changes or the day ends.
const cache = new FeedCache();
Deno.bench(`feed of ${all.length} tasks (one of each), cached`, () => {
  buildFeed(all, { calendarName: "bench", baseUrl: null, now: start }, cache);
});

globalThis.addEventListener("unload", () => void store.close());
