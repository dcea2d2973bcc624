/**
 * The feed is exactly the schedule: each task's VEVENTs, parsed back and expanded by two
 * independent iCalendar libraries (ical.js, with the feed's own VTIMEZONE blocks; node-ical, with
 * the runtime's zone data and its own readings of DST edges), give over 90
 * days exactly the instants the task's preview gives (TaskService.preview, what
 * `schedules.preview {task_id}` answers) — in several zones, across DST gaps and folds, with
 * skipped and moved occurrences, max_runs and end dates, and for schedules RFC 5545 cannot state
 * as a rule (listed as RDATEs).
 */
import { buildFeed, FEED_HORIZON_DAYS, FeedCache } from "../../src/calendar/ical.ts";
import { isDomainError } from "../../src/domain/errors.ts";
import { calendarSlots, type ScheduleFields } from "../../src/domain/task.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import { openStore } from "../../src/store/mod.ts";
import { assert, assertEquals, scheduleFields, taskSettings, TEST_METADATA } from "../_helpers.ts";
import { expand } from "./_expand.ts";
import { expandSecond } from "./_expand_second.ts";

const DAY = 86_400_000;
const WINDOW = 90 * DAY;

interface Case {
  id: string;
  schedule: Partial<ScheduleFields>;
  /** Occurrences (index among the first runs) to skip, or to move by an offset. */
  skip?: number[];
  move?: [number, number][];
}

const at = (iso: string) => Date.parse(iso);

const CASES: Case[] = [
  // New York springs forward on 2027-03-14 (02:00 → 03:00) and falls back on 2027-11-07.
  {
    id: "ny-daily-gap",
    schedule: {
      type: "daily",
      expression: "02:30",
      timezone: "America/New_York",
      startAt: at("2027-03-01T00:00:00Z"),
    },
  },
  {
    id: "ny-daily-fold",
    schedule: {
      type: "daily",
      expression: "01:30,13:15",
      timezone: "America/New_York",
      startAt: at("2027-10-20T00:00:00Z"),
    },
  },
  {
    id: "ny-fold-both",
    schedule: {
      type: "daily",
      expression: "01:30",
      timezone: "America/New_York",
      startAt: at("2027-10-20T00:00:00Z"),
      dstPolicy: { repeat: "both" },
    },
  },
  {
    id: "ny-gap-skip",
    schedule: {
      type: "weekly",
      expression: "7 02:30",
      timezone: "America/New_York",
      startAt: at("2027-03-01T00:00:00Z"),
      dstPolicy: { gap: "skip" },
    },
  },
  {
    id: "berlin-monthly",
    schedule: {
      type: "monthly",
      expression: "1,15,31,L 09:00",
      timezone: "Europe/Berlin",
      startAt: at("2027-01-10T00:00:00Z"),
    },
  },
  // Berlin springs forward on 2027-03-28 (02:00 → 03:00).
  {
    id: "berlin-cron-gap",
    schedule: {
      type: "cron",
      expression: "*/30 1-3 * * *",
      timezone: "Europe/Berlin",
      startAt: at("2027-03-20T00:00:00Z"),
    },
  },
  {
    id: "cron-first-monday",
    schedule: {
      type: "cron",
      expression: "0 10 ? * 1#1",
      timezone: "Asia/Tokyo",
      startAt: at("2027-01-01T00:00:00Z"),
    },
  },
  {
    // Both day fields restricted: Vixie's OR has no RRULE form (RDATEs instead).
    id: "cron-day-or",
    schedule: {
      type: "cron",
      expression: "0 9 1,15 * 1",
      timezone: "America/Sao_Paulo",
      startAt: at("2027-01-01T00:00:00Z"),
    },
  },
  // Sydney falls back on 2027-04-04 (03:00 → 02:00): real-time intervals ignore it.
  {
    id: "sydney-interval",
    schedule: {
      type: "interval",
      expression: "5400",
      timezone: "Australia/Sydney",
      startAt: at("2027-03-25T00:10:00Z"),
    },
  },
  {
    id: "rrule-sundays",
    schedule: {
      type: "rrule",
      expression: "RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=2,14;BYMINUTE=30",
      timezone: "America/New_York",
      startAt: at("2027-03-01T00:00:00Z"),
    },
  },
  {
    id: "skips-moves-max-runs",
    schedule: {
      type: "daily",
      expression: "09:00",
      timezone: "Europe/London",
      startAt: at("2027-03-20T00:00:00Z"),
      maxRuns: 20,
    },
    skip: [2, 5],
    move: [[7, 3 * 3600_000]],
  },
  {
    id: "ends",
    schedule: {
      type: "weekly",
      expression: "1-5 17:45",
      timezone: "Asia/Kolkata",
      startAt: at("2027-02-01T00:00:00Z"),
      endAt: at("2027-03-10T00:00:00Z"),
    },
  },
  // Found by review: each failed before its fix.
  {
    // ical.js loops forever on a DAILY rule with a negative BYMONTHDAY.
    id: "cron-last-day",
    schedule: {
      type: "cron",
      expression: "0 0 1,L * *",
      timezone: "Europe/Berlin",
      startAt: at("2027-01-01T00:00:00Z"),
    },
  },
  {
    // An EXDATE at 02:00 (gap) made ical.js remove the real 01:00 run.
    id: "hourly-across-gap",
    schedule: {
      type: "cron",
      expression: "0 * * * *",
      timezone: "America/New_York",
      startAt: at("2027-03-13T00:00:00Z"),
    },
  },
  {
    // An alias: the VTIMEZONE library writes it under its canonical name.
    id: "alias-zone",
    schedule: {
      type: "daily",
      expression: "09:00",
      timezone: "US/Eastern",
      startAt: at("2027-01-01T00:00:00Z"),
    },
  },
  {
    id: "rrule-lowercase-setpos",
    schedule: {
      type: "rrule",
      expression: "RRULE:freq=daily;byhour=9,17;byminute=0;bysetpos=1",
      timezone: "Asia/Tokyo",
      startAt: at("2027-01-01T00:00:00Z"),
    },
  },
  {
    // `*/2` in a day field is "unrestricted" to Vixie's OR rule, yet limits the days.
    id: "cron-day-steps",
    schedule: {
      type: "cron",
      expression: "0 9 */2 * 1",
      timezone: "Europe/Madrid",
      startAt: at("2027-01-01T00:00:00Z"),
    },
  },
  {
    // The first run is the shifted one of the spring-forward gap.
    id: "first-run-in-gap",
    schedule: {
      type: "daily",
      expression: "02:30",
      timezone: "America/New_York",
      startAt: at("2027-03-14T05:00:00Z"),
    },
  },
  {
    // The first run is in the fall-back fold.
    id: "first-run-in-fold",
    schedule: {
      type: "daily",
      expression: "01:30",
      timezone: "America/New_York",
      startAt: at("2027-11-07T04:00:00Z"),
    },
  },
  {
    // Casablanca leaves +01 for Ramadan (02-07: 03:00 → 02:00) and returns (03-14: 02:00 →
    // 03:00); timezones-ical-library's VTIMEZONE had other dates than the engine.
    id: "casablanca-ramadan",
    schedule: {
      type: "daily",
      expression: "02:30",
      timezone: "Africa/Casablanca",
      startAt: at("2027-01-25T00:00:00Z"),
    },
  },
  {
    id: "vancouver-weekly",
    schedule: {
      type: "weekly",
      expression: "1,3 08:15",
      timezone: "America/Vancouver",
      startAt: at("2027-03-01T00:00:00Z"),
    },
  },
  {
    // The last run (max_runs) is the first 01:30 of the fold (an UNTIL there was read as the
    // second one by ical.js, which dropped the run).
    id: "until-in-fold",
    schedule: {
      type: "daily",
      expression: "01:30",
      timezone: "America/New_York",
      startAt: at("2027-11-01T04:00:00Z"),
      maxRuns: 7,
    },
  },
  {
    // 2,000 slots (the feed's cap per task) reach only a week: the series ends there, so the
    // spring-forward the window does not pin is not left to a bare RRULE.
    id: "dense-cron",
    schedule: {
      type: "cron",
      expression: "*/5 * * * *",
      timezone: "America/New_York",
      startAt: at("2027-03-07T05:00:00Z"),
    },
  },
  {
    id: "once",
    schedule: { type: "once", expression: "2027-05-01T12:00:00", timezone: "Europe/Paris" },
  },
  {
    id: "utc-daily",
    schedule: { type: "daily", expression: "00:00,12:00", startAt: at("2027-01-01T00:00:00Z") },
  },
];

Deno.test("the feed, expanded by ical.js and node-ical, gives exactly each task's preview over 90 days", async () => {
  const store = await openStore({ databaseUrl: null, dataDir: null });
  try {
    const actors = new TaskActors(store);
    await actors.load();
    const tasks = new TaskService(store, actors);
    // The feed writes exceptions FEED_HORIZON_DAYS ahead of now: every window here lies within.
    const now = at("2027-01-01T00:00:00Z");
    const windows = new Map<string, [number, number]>();
    const expected = new Map<string, number[]>();
    for (const item of CASES) {
      const created = await tasks.create({
        id: item.id,
        settings: taskSettings({ name: `Task ${item.id}` }),
        schedule: scheduleFields(item.schedule),
      }, TEST_METADATA);
      if (isDomainError(created)) throw created;
      const first = await tasks.preview(item.id, 30);
      if (isDomainError(first)) throw first;
      for (const index of item.skip ?? []) {
        const skipped = await tasks.excludeOccurrence(item.id, first[index], TEST_METADATA);
        if (isDomainError(skipped)) throw skipped;
      }
      for (const [index, by] of item.move ?? []) {
        const moved = await tasks.moveOccurrence(item.id, {
          scheduledFor: first[index],
          to: first[index] + by,
        }, TEST_METADATA);
        if (isDomainError(moved)) throw moved;
      }
      const runs = await tasks.preview(item.id, 1000);
      if (isDomainError(runs)) throw runs;
      assert(runs.length > 0, `${item.id} has no future run`);
      // 90 days, or as far as the preview's 1,000 runs reach.
      const reach = runs.length === 1000 ? runs[999] : Infinity;
      const window: [number, number] = [runs[0], Math.min(runs[0] + WINDOW, reach)];
      windows.set(`${item.id}@chronolog`, window);
      expected.set(`${item.id}@chronolog`, runs.filter((run) => run <= window[1]));
    }
    const states = await Promise.all(CASES.map(async (item) => {
      const state = await tasks.get(item.id);
      if (isDomainError(state)) throw state;
      return state;
    }));
    const feed = buildFeed(states, { calendarName: "Chronolog", baseUrl: null, now });
    assertEquals(feed.taskCount, CASES.length);
    // A cache (what the service keeps between requests) gives the same feed, first and again.
    const cache = new FeedCache();
    const options = { calendarName: "Chronolog", baseUrl: null, now };
    assertEquals(buildFeed(states, options, cache).content, feed.content);
    assertEquals(buildFeed(states, options, cache).content, feed.content);
    // The forms the feed must take: a rule wherever RFC 5545 has one, its exceptions, overrides
    // at DST edges, bounds; a list of dates where it has none.
    const forms: Record<string, RegExp[]> = {
      "ny-daily-gap": [/RRULE:FREQ=DAILY/, /RECURRENCE-ID;TZID=America\/New_York:20270314T023000/],
      "ny-daily-fold": [/RDATE:/],
      // A rule instance in a fold is one instant to ical.js and another to node-ical: a list.
      "ny-fold-both": [/RDATE:20271107T053000Z,20271107T063000Z/],
      "ny-gap-skip": [
        // A local time a gap removes cannot be an EXDATE (parsers read it differently): a list.
        /RDATE:/,
      ],
      "berlin-monthly": [/RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15,31,-1/],
      "berlin-cron-gap": [/RDATE:/],
      "cron-first-monday": [/RRULE:FREQ=MONTHLY;.*BYDAY=1MO/],
      "cron-day-or": [/RDATE:/],
      "sydney-interval": [/RRULE:FREQ=MINUTELY;INTERVAL=90/, /DTSTART:20270325T001000Z/],
      "rrule-sundays": [/RDATE:/],
      "skips-moves-max-runs": [/EXDATE;TZID=Europe\/London/, /RDATE:/, /UNTIL=/],
      "ends": [/RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR/, /UNTIL=20270309T121500Z/],
      "cron-last-day": [/RRULE:FREQ=MONTHLY;.*BYMONTHDAY=1,-1/],
      "hourly-across-gap": [/RDATE:/],
      "alias-zone": [/DTSTART;TZID=America\/New_York:20270101T090000/],
      "rrule-lowercase-setpos": [/RDATE:/],
      "cron-day-steps": [/RRULE:FREQ=MONTHLY;.*BYMONTHDAY=1,3,5.*;BYDAY=MO/],
      "first-run-in-gap": [
        /DTSTART;TZID=America\/New_York:20270315T023000/,
        /RDATE:20270314T073000Z/,
      ],
      "first-run-in-fold": [
        /DTSTART;TZID=America\/New_York:20271108T013000/,
        /RDATE:20271107T053000Z/,
      ],
      "once": [/DTSTART;TZID=Europe\/Paris:20270501T120000/],
      "casablanca-ramadan": [/RDATE:/],
      "vancouver-weekly": [/RRULE:FREQ=WEEKLY;BYDAY=MO,WE/, /DTSTART;TZID=America\/Vancouver/],
      "until-in-fold": [/RDATE:.*20271107T053000Z/],
      "dense-cron": [/UNTIL=20270314T/],
      "utc-daily": [/RRULE:FREQ=DAILY;BYHOUR=0,12;BYMINUTE=0/, /DTSTART:20270101T000000Z/],
    };
    for (const [id, patterns] of Object.entries(forms)) {
      const text = eventText(feed.content, `${id}@chronolog`);
      for (const pattern of patterns) assert(pattern.test(text), `${id}: ${pattern}\n${text}`);
    }
    assert(/BEGIN:VTIMEZONE\r\nTZID:America\/New_York/.test(feed.content), "no VTIMEZONE");
    assertExpands(feed.content, windows, expected);

    // The whole feed, not only 90 days: every run of the window (400 days or 2,000 slots), and
    // nothing after it however far a calendar expands.
    const whole = new Map<string, [number, number]>();
    const slots = new Map<string, number[]>();
    for (const state of states) {
      const runs = calendarSlots(state, { until: now + FEED_HORIZON_DAYS * DAY, limit: 2000 })
        .filter((slot) => !slot.excluded).map((slot) => slot.at);
      whole.set(`${state.id}@chronolog`, [runs[0], runs[0] + 3 * FEED_HORIZON_DAYS * DAY]);
      slots.set(`${state.id}@chronolog`, runs);
    }
    assertExpands(feed.content, whole, slots);
  } finally {
    await store.close();
  }
});

/** Each parser's expansion of each UID over its window is exactly the expected instants. */
function assertExpands(
  content: string,
  windows: Map<string, [number, number]>,
  expected: Map<string, number[]>,
): void {
  for (
    const [parser, found] of [
      ["ical.js", expand(content, windows)],
      ["node-ical", expandSecond(content, windows)],
    ] as const
  ) {
    for (const [uid, runs] of expected) {
      assertEquals(
        (found.get(uid) ?? []).map((run) => new Date(run).toISOString()),
        runs.map((run) => new Date(run).toISOString()),
        `${parser}: ${uid}\n${eventText(content, uid)}`,
      );
    }
  }
}

/** The feed's lines of one UID's events, for a failure message. */
function eventText(content: string, uid: string): string {
  return content.replace(/\r\n[ \t]/g, "").split("BEGIN:VEVENT").filter((block) =>
    block.includes(`UID:${uid}`)
  )
    .map((block) => block.split("\r\n").filter((line) => !/^(DESCRIPTION|SUMMARY)/.test(line)))
    .flat().join("\n").slice(0, 3000);
}
