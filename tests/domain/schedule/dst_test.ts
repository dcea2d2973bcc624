/**
 * The daylight-saving rules of SPEC §1, zone by zone, at the 2026 (and some 2027) transitions.
 *
 * Every expected instant is derived by hand from the zone's rules written above its table, and
 * was cross-checked against Temporal's disambiguation ("compatible" reads a skipped local time
 * with the offset before the gap, "earlier"/"later" pick the instants of a repeated one). Defaults:
 * wall-clock schedules {gap: shift, repeat: first}; cron with hour `*` runs in real time
 * {gap: skip, repeat: both}; rrule follows RFC 5545 §3.3.10 {gap: skip, repeat: first}.
 */
import assert from "node:assert/strict";
import {
  type DstEdge,
  nextOccurrences,
  type ScheduleSpec,
} from "../../../src/domain/schedule/mod.ts";
import { mustParse } from "../../_helpers.ts";

/** One expected run: its instant and how its local time met a DST edge. */
type Run = readonly [at: string, dst: DstEdge];

/** A schedule at a DST edge, the instant to look from, and every run expected after it. */
interface DstCase {
  /** The behaviour checked, used as the test's name. */
  name: string;
  schedule: Omit<ScheduleSpec, "timezone">;
  /** Runs are asked for strictly after this instant. */
  from: string;
  runs: readonly Run[];
  /** How many runs to ask for when more than `runs`: the schedule must end there. */
  ask?: number;
}

/** Registers one test per case, each schedule read in `timezone`. */
function testZone(timezone: string, cases: readonly DstCase[]): void {
  for (const { name, schedule, from, runs, ask } of cases) {
    Deno.test(name, () => {
      const parsed = mustParse({ ...schedule, timezone });
      const occurrences = nextOccurrences(parsed, Date.parse(from), {
        count: ask ?? runs.length,
      });
      const actual = occurrences.map(({ at, dst }) => [new Date(at).toISOString(), dst]);
      assert.deepEqual(actual, runs);
    });
  }
}

// America/New_York: EST −05:00, EDT −04:00.
// 2026-03-08 02:00 EST → 03:00 EDT (07:00Z): local 02:00–02:59 does not exist.
// 2026-11-01 02:00 EDT → 01:00 EST (06:00Z): local 01:00–01:59 happens twice (05:xxZ, then 06:xxZ).
// 2027: the same on 03-14 and 11-07.
testZone("America/New_York", [
  {
    name: "daily 02:30 in New York on the spring-forward night fires at 03:30 EDT",
    schedule: { type: "daily", expression: "02:30" },
    from: "2026-03-07T00:00:00.000Z",
    runs: [
      ["2026-03-07T07:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-03-09T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:00 in New York, the first skipped minute, fires at 03:00 EDT",
    schedule: { type: "daily", expression: "02:00" },
    from: "2026-03-08T00:00:00.000Z",
    runs: [
      ["2026-03-08T07:00:00.000Z", "gap_shifted"],
      ["2026-03-09T06:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:00 in New York, the first minute after the gap, fires at 03:00 EDT",
    schedule: { type: "daily", expression: "03:00" },
    from: "2026-03-08T00:00:00.000Z",
    runs: [
      ["2026-03-08T07:00:00.000Z", "none"],
      ["2026-03-09T07:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30,03:15 in New York fires at 03:15 EDT, then the shifted 02:30 at 03:30 EDT",
    schedule: { type: "daily", expression: "02:30,03:15" },
    from: "2026-03-08T05:00:00.000Z",
    runs: [
      ["2026-03-08T07:15:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-03-09T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in New York asked from 03:10 EDT on the spring-forward night fires at 03:30",
    schedule: { type: "daily", expression: "02:30" },
    from: "2026-03-08T07:10:00.000Z",
    runs: [
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-03-09T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in New York asked from its shifted instant fires next the day after",
    schedule: { type: "daily", expression: "02:30" },
    from: "2026-03-08T07:30:00.000Z",
    runs: [["2026-03-09T06:30:00.000Z", "none"]],
  },
  {
    name: "daily 01:30 in New York on the fall-back night fires once, at 01:30 EDT",
    schedule: { type: "daily", expression: "01:30" },
    from: "2026-10-31T00:00:00.000Z",
    runs: [
      ["2026-10-31T05:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:00 in New York, the first repeated minute, fires once at 01:00 EDT",
    schedule: { type: "daily", expression: "01:00" },
    from: "2026-11-01T00:00:00.000Z",
    runs: [
      ["2026-11-01T05:00:00.000Z", "fold_first"],
      ["2026-11-02T06:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:00 in New York, just after the repeated hour, fires once at 02:00 EST",
    schedule: { type: "daily", expression: "02:00" },
    from: "2026-11-01T00:00:00.000Z",
    runs: [
      ["2026-11-01T07:00:00.000Z", "none"],
      ["2026-11-02T07:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:30 in New York asked from the first 01:30 does not fire at the second",
    schedule: { type: "daily", expression: "01:30" },
    from: "2026-11-01T05:30:00.000Z",
    runs: [["2026-11-02T06:30:00.000Z", "none"]],
  },
  {
    name: "daily 01:30 in New York asked from 01:00 EST, inside the second pass, waits a day",
    schedule: { type: "daily", expression: "01:30" },
    from: "2026-11-01T06:00:00.000Z",
    runs: [["2026-11-02T06:30:00.000Z", "none"]],
  },
  {
    name: "daily 02:30 in New York with gap shift fires at 03:30 EDT on the spring-forward night",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { gap: "shift" } },
    from: "2026-03-07T00:00:00.000Z",
    runs: [
      ["2026-03-07T07:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-03-09T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in New York with gap skip does not fire on the spring-forward night",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { gap: "skip" } },
    from: "2026-03-07T00:00:00.000Z",
    runs: [
      ["2026-03-07T07:30:00.000Z", "none"],
      ["2026-03-09T06:30:00.000Z", "none"],
      ["2026-03-10T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:30 in New York with repeat first fires only at 01:30 EDT",
    schedule: { type: "daily", expression: "01:30", dstPolicy: { repeat: "first" } },
    from: "2026-10-31T00:00:00.000Z",
    runs: [
      ["2026-10-31T05:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:30 in New York with repeat both fires at 01:30 EDT and at 01:30 EST",
    schedule: { type: "daily", expression: "01:30", dstPolicy: { repeat: "both" } },
    from: "2026-10-31T00:00:00.000Z",
    runs: [
      ["2026-10-31T05:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-01T06:30:00.000Z", "fold_second"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:30 in New York with repeat both asked from the first 01:30 fires at the second",
    schedule: { type: "daily", expression: "01:30", dstPolicy: { repeat: "both" } },
    from: "2026-11-01T05:30:00.000Z",
    runs: [
      ["2026-11-01T06:30:00.000Z", "fold_second"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:30 in New York with repeat both counts both 01:30 runs toward max_runs",
    schedule: { type: "daily", expression: "01:30", dstPolicy: { repeat: "both" }, maxRuns: 2 },
    from: "2026-10-31T12:00:00.000Z",
    runs: [
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-01T06:30:00.000Z", "fold_second"],
    ],
    ask: 10,
  },
  {
    name: "daily 01:30 in New York with repeat last fires only at 01:30 EST",
    schedule: { type: "daily", expression: "01:30", dstPolicy: { repeat: "last" } },
    from: "2026-10-31T00:00:00.000Z",
    runs: [
      ["2026-10-31T05:30:00.000Z", "none"],
      ["2026-11-01T06:30:00.000Z", "fold_second"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:30 in New York with repeat last asked from the first 01:30 fires at the second",
    schedule: { type: "daily", expression: "01:30", dstPolicy: { repeat: "last" } },
    from: "2026-11-01T05:30:00.000Z",
    runs: [
      ["2026-11-01T06:30:00.000Z", "fold_second"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 02:30 in New York on the spring-forward Sunday fires at 03:30 EDT",
    schedule: { type: "weekly", expression: "7 02:30" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-01T07:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-03-15T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 02:30 in New York with gap skip skips the spring-forward Sunday",
    schedule: { type: "weekly", expression: "7 02:30", dstPolicy: { gap: "skip" } },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-01T07:30:00.000Z", "none"],
      ["2026-03-15T06:30:00.000Z", "none"],
      ["2026-03-22T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 01:30 in New York on the fall-back Sunday fires once, at 01:30 EDT",
    schedule: { type: "weekly", expression: "7 01:30" },
    from: "2026-10-25T00:00:00.000Z",
    runs: [
      ["2026-10-25T05:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-08T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 8 02:30 in New York on 2026-03-08 fires at 03:30 EDT",
    schedule: { type: "monthly", expression: "8 02:30" },
    from: "2026-02-01T00:00:00.000Z",
    runs: [
      ["2026-02-08T07:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-04-08T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 1 01:30 in New York on 2026-11-01 fires once, at 01:30 EDT",
    schedule: { type: "monthly", expression: "1 01:30" },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-01T05:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-12-01T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 2 * * * in New York on the spring-forward night fires at 03:30 EDT",
    schedule: { type: "cron", expression: "30 2 * * *" },
    from: "2026-03-07T00:00:00.000Z",
    runs: [
      ["2026-03-07T07:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-03-09T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 1 * * * in New York on the fall-back night fires once, at 01:30 EDT",
    schedule: { type: "cron", expression: "30 1 * * *" },
    from: "2026-10-31T00:00:00.000Z",
    runs: [
      ["2026-10-31T05:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 2 * * * in New York on the 2027 spring-forward night fires at 03:30 EDT",
    schedule: { type: "cron", expression: "30 2 * * *" },
    from: "2027-03-13T00:00:00.000Z",
    runs: [
      ["2027-03-13T07:30:00.000Z", "none"],
      ["2027-03-14T07:30:00.000Z", "gap_shifted"],
      ["2027-03-15T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 1 * * * in New York on the 2027 fall-back night fires once, at 01:30 EDT",
    schedule: { type: "cron", expression: "30 1 * * *" },
    from: "2027-11-06T00:00:00.000Z",
    runs: [
      ["2027-11-06T05:30:00.000Z", "none"],
      ["2027-11-07T05:30:00.000Z", "fold_first"],
      ["2027-11-08T06:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 0-23 * * * in New York is wall-clock: the repeated 01:30 fires once",
    schedule: { type: "cron", expression: "30 0-23 * * *" },
    from: "2026-11-01T04:00:00.000Z",
    runs: [
      ["2026-11-01T04:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-01T07:30:00.000Z", "none"],
      ["2026-11-01T08:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in New York runs in real time: the skipped 02:30 never fires",
    schedule: { type: "cron", expression: "30 * * * *" },
    from: "2026-03-08T05:00:00.000Z",
    runs: [
      ["2026-03-08T05:30:00.000Z", "none"],
      ["2026-03-08T06:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "none"],
      ["2026-03-08T08:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in New York runs in real time: the repeated 01:30 fires twice",
    schedule: { type: "cron", expression: "30 * * * *" },
    from: "2026-11-01T04:00:00.000Z",
    runs: [
      ["2026-11-01T04:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-01T06:30:00.000Z", "fold_second"],
      ["2026-11-01T07:30:00.000Z", "none"],
      ["2026-11-01T08:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in New York with repeat first fires the repeated 01:30 at EDT only",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { repeat: "first" } },
    from: "2026-11-01T04:00:00.000Z",
    runs: [
      ["2026-11-01T04:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-01T07:30:00.000Z", "none"],
      ["2026-11-01T08:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in New York with repeat last fires the repeated 01:30 at EST only",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { repeat: "last" } },
    from: "2026-11-01T04:00:00.000Z",
    runs: [
      ["2026-11-01T04:30:00.000Z", "none"],
      ["2026-11-01T06:30:00.000Z", "fold_second"],
      ["2026-11-01T07:30:00.000Z", "none"],
      ["2026-11-01T08:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in New York with repeat first asked from 01:00 EST skips 01:30 EST",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { repeat: "first" } },
    from: "2026-11-01T06:00:00.000Z",
    runs: [
      ["2026-11-01T07:30:00.000Z", "none"],
      ["2026-11-01T08:30:00.000Z", "none"],
    ],
  },
  {
    // The skipped 02:30 read with EST is 03:30 EDT, an instant the schedule fires anyway: once.
    name: "cron 30 * * * * in New York with gap shift fires once at 03:30 EDT, where 02:30 lands",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { gap: "shift" } },
    from: "2026-03-08T05:00:00.000Z",
    runs: [
      ["2026-03-08T05:30:00.000Z", "none"],
      ["2026-03-08T06:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "none"],
      ["2026-03-08T08:30:00.000Z", "none"],
    ],
  },
  {
    name: "once 2026-03-08T02:30 in New York fires at 03:30 EDT",
    schedule: { type: "once", expression: "2026-03-08T02:30" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [["2026-03-08T07:30:00.000Z", "gap_shifted"]],
    ask: 2,
  },
  {
    name: "once 2026-03-08T02:30 in New York with gap skip never fires",
    schedule: { type: "once", expression: "2026-03-08T02:30", dstPolicy: { gap: "skip" } },
    from: "2026-03-01T00:00:00.000Z",
    runs: [],
    ask: 2,
  },
  {
    name: "once 2026-11-01T01:30 in New York fires once, at 01:30 EDT",
    schedule: { type: "once", expression: "2026-11-01T01:30" },
    from: "2026-10-01T00:00:00.000Z",
    runs: [["2026-11-01T05:30:00.000Z", "fold_first"]],
    ask: 2,
  },
  {
    name: "once 2026-11-01T01:30 in New York with repeat last fires at 01:30 EST",
    schedule: { type: "once", expression: "2026-11-01T01:30", dstPolicy: { repeat: "last" } },
    from: "2026-10-01T00:00:00.000Z",
    runs: [["2026-11-01T06:30:00.000Z", "fold_second"]],
    ask: 2,
  },
  {
    name:
      "interval P1D in New York is 24 elapsed hours: after spring-forward it fires at 03:30 EDT",
    schedule: {
      type: "interval",
      expression: "P1D",
      startAt: Date.parse("2026-03-07T07:30:00.000Z"),
    },
    from: "2026-03-07T08:00:00.000Z",
    runs: [
      ["2026-03-08T07:30:00.000Z", "none"],
      ["2026-03-09T07:30:00.000Z", "none"],
    ],
  },
  {
    name: "interval P1D in New York is 24 elapsed hours: after fall-back it fires at 07:00 EST",
    schedule: {
      type: "interval",
      expression: "P1D",
      startAt: Date.parse("2026-10-31T12:00:00.000Z"),
    },
    from: "2026-10-31T13:00:00.000Z",
    runs: [
      ["2026-11-01T12:00:00.000Z", "none"],
      ["2026-11-02T12:00:00.000Z", "none"],
    ],
  },
  {
    name: "rrule daily at 02:30 in New York drops 2026-03-08 and does not count it toward COUNT",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/New_York:20260306T023000\nRRULE:FREQ=DAILY;COUNT=4",
    },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-06T07:30:00.000Z", "none"],
      ["2026-03-07T07:30:00.000Z", "none"],
      ["2026-03-09T06:30:00.000Z", "none"],
      ["2026-03-10T06:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name:
      "rrule hourly at :30 in New York skips 02:30 on the spring-forward night without counting it",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/New_York:20260308T003000\nRRULE:FREQ=HOURLY;COUNT=4",
    },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-08T05:30:00.000Z", "none"],
      ["2026-03-08T06:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "none"],
      ["2026-03-08T08:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule daily at 01:30 in New York fires the repeated 01:30 once, at EDT",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/New_York:20261031T013000\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-31T05:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule hourly at :30 in New York fires the repeated 01:30 once, at EDT",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/New_York:20261101T003000\nRRULE:FREQ=HOURLY;COUNT=4",
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-11-01T04:30:00.000Z", "none"],
      ["2026-11-01T05:30:00.000Z", "fold_first"],
      ["2026-11-01T07:30:00.000Z", "none"],
      ["2026-11-01T08:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name:
      "rrule daily at 02:30 in New York with gap shift fires 2026-03-08 at 03:30 EDT and counts it",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/New_York:20260306T023000\nRRULE:FREQ=DAILY;COUNT=4",
      dstPolicy: { gap: "shift" },
    },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-06T07:30:00.000Z", "none"],
      ["2026-03-07T07:30:00.000Z", "none"],
      ["2026-03-08T07:30:00.000Z", "gap_shifted"],
      ["2026-03-09T06:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule daily at 01:30 in New York with repeat last fires the repeated 01:30 at EST",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/New_York:20261031T013000\nRRULE:FREQ=DAILY;COUNT=3",
      dstPolicy: { repeat: "last" },
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-31T05:30:00.000Z", "none"],
      ["2026-11-01T06:30:00.000Z", "fold_second"],
      ["2026-11-02T06:30:00.000Z", "none"],
    ],
    ask: 10,
  },
]);

// Europe/Berlin: CET +01:00, CEST +02:00; both changes at 01:00Z.
// 2026-03-29 02:00 CET → 03:00 CEST: local 02:00–02:59 does not exist.
// 2026-10-25 03:00 CEST → 02:00 CET: local 02:00–02:59 happens twice (00:xxZ, then 01:xxZ).
// 2027: the same on 03-28 and 10-31.
testZone("Europe/Berlin", [
  {
    name: "daily 02:30 in Berlin on the spring-forward night fires at 03:30 CEST",
    schedule: { type: "daily", expression: "02:30" },
    from: "2026-03-28T00:00:00.000Z",
    runs: [
      ["2026-03-28T01:30:00.000Z", "none"],
      ["2026-03-29T01:30:00.000Z", "gap_shifted"],
      ["2026-03-30T00:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in Berlin on the fall-back night fires once, at 02:30 CEST",
    schedule: { type: "daily", expression: "02:30" },
    from: "2026-10-24T00:00:00.000Z",
    runs: [
      ["2026-10-24T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-26T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in Berlin with gap shift fires at 03:30 CEST on the spring-forward night",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { gap: "shift" } },
    from: "2026-03-28T00:00:00.000Z",
    runs: [
      ["2026-03-28T01:30:00.000Z", "none"],
      ["2026-03-29T01:30:00.000Z", "gap_shifted"],
      ["2026-03-30T00:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in Berlin with gap skip does not fire on the spring-forward night",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { gap: "skip" } },
    from: "2026-03-28T00:00:00.000Z",
    runs: [
      ["2026-03-28T01:30:00.000Z", "none"],
      ["2026-03-30T00:30:00.000Z", "none"],
      ["2026-03-31T00:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in Berlin with repeat first fires only at 02:30 CEST",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { repeat: "first" } },
    from: "2026-10-24T00:00:00.000Z",
    runs: [
      ["2026-10-24T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-26T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in Berlin with repeat both fires at 02:30 CEST and at 02:30 CET",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { repeat: "both" } },
    from: "2026-10-24T00:00:00.000Z",
    runs: [
      ["2026-10-24T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-25T01:30:00.000Z", "fold_second"],
      ["2026-10-26T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in Berlin with repeat last fires only at 02:30 CET",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { repeat: "last" } },
    from: "2026-10-24T00:00:00.000Z",
    runs: [
      ["2026-10-24T00:30:00.000Z", "none"],
      ["2026-10-25T01:30:00.000Z", "fold_second"],
      ["2026-10-26T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 02:30 in Berlin on the spring-forward Sunday fires at 03:30 CEST",
    schedule: { type: "weekly", expression: "7 02:30" },
    from: "2026-03-22T00:00:00.000Z",
    runs: [
      ["2026-03-22T01:30:00.000Z", "none"],
      ["2026-03-29T01:30:00.000Z", "gap_shifted"],
      ["2026-04-05T00:30:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 02:30 in Berlin on the fall-back Sunday fires once, at 02:30 CEST",
    schedule: { type: "weekly", expression: "7 02:30" },
    from: "2026-10-18T00:00:00.000Z",
    runs: [
      ["2026-10-18T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-11-01T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 29 02:30 in Berlin skips February 2026 and fires on 2026-03-29 at 03:30 CEST",
    schedule: { type: "monthly", expression: "29 02:30" },
    from: "2026-01-01T00:00:00.000Z",
    runs: [
      ["2026-01-29T01:30:00.000Z", "none"],
      ["2026-03-29T01:30:00.000Z", "gap_shifted"],
      ["2026-04-29T00:30:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 25 02:30 in Berlin on 2026-10-25 fires once, at 02:30 CEST",
    schedule: { type: "monthly", expression: "25 02:30" },
    from: "2026-09-01T00:00:00.000Z",
    runs: [
      ["2026-09-25T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-11-25T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 25 02:30 in Berlin with repeat last fires on 2026-10-25 at 02:30 CET",
    schedule: { type: "monthly", expression: "25 02:30", dstPolicy: { repeat: "last" } },
    from: "2026-09-01T00:00:00.000Z",
    runs: [
      ["2026-09-25T00:30:00.000Z", "none"],
      ["2026-10-25T01:30:00.000Z", "fold_second"],
      ["2026-11-25T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 2 * * * in Berlin on the 2027 spring-forward night fires at 03:30 CEST",
    schedule: { type: "cron", expression: "30 2 * * *" },
    from: "2027-03-27T00:00:00.000Z",
    runs: [
      ["2027-03-27T01:30:00.000Z", "none"],
      ["2027-03-28T01:30:00.000Z", "gap_shifted"],
      ["2027-03-29T00:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 2 * * * in Berlin on the 2027 fall-back night fires once, at 02:30 CEST",
    schedule: { type: "cron", expression: "30 2 * * *" },
    from: "2027-10-30T00:00:00.000Z",
    runs: [
      ["2027-10-30T00:30:00.000Z", "none"],
      ["2027-10-31T00:30:00.000Z", "fold_first"],
      ["2027-11-01T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 0 30 2 * * * (seconds first) in Berlin on the fall-back night fires once, at CEST",
    schedule: { type: "cron", expression: "0 30 2 * * *" },
    from: "2026-10-24T00:00:00.000Z",
    runs: [
      ["2026-10-24T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-26T01:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 */1 * * * in Berlin is wall-clock: the repeated 02:30 fires once",
    schedule: { type: "cron", expression: "30 */1 * * *" },
    from: "2026-10-24T23:00:00.000Z",
    runs: [
      ["2026-10-24T23:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-25T02:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Berlin runs in real time: the skipped 02:30 never fires",
    schedule: { type: "cron", expression: "30 * * * *" },
    from: "2026-03-28T23:00:00.000Z",
    runs: [
      ["2026-03-28T23:30:00.000Z", "none"],
      ["2026-03-29T00:30:00.000Z", "none"],
      ["2026-03-29T01:30:00.000Z", "none"],
      ["2026-03-29T02:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Berlin runs in real time: the repeated 02:30 fires twice",
    schedule: { type: "cron", expression: "30 * * * *" },
    from: "2026-10-24T22:00:00.000Z",
    runs: [
      ["2026-10-24T22:30:00.000Z", "none"],
      ["2026-10-24T23:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-25T01:30:00.000Z", "fold_second"],
      ["2026-10-25T02:30:00.000Z", "none"],
      ["2026-10-25T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "@hourly in Berlin runs in real time: the repeated 02:00 fires twice",
    schedule: { type: "cron", expression: "@hourly" },
    from: "2026-10-24T22:30:00.000Z",
    runs: [
      ["2026-10-24T23:00:00.000Z", "none"],
      ["2026-10-25T00:00:00.000Z", "fold_first"],
      ["2026-10-25T01:00:00.000Z", "fold_second"],
      ["2026-10-25T02:00:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Berlin with repeat first fires the repeated 02:30 at CEST only",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { repeat: "first" } },
    from: "2026-10-24T23:00:00.000Z",
    runs: [
      ["2026-10-24T23:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-25T02:30:00.000Z", "none"],
      ["2026-10-25T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Berlin with repeat last fires the repeated 02:30 at CET only",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { repeat: "last" } },
    from: "2026-10-24T23:00:00.000Z",
    runs: [
      ["2026-10-24T23:30:00.000Z", "none"],
      ["2026-10-25T01:30:00.000Z", "fold_second"],
      ["2026-10-25T02:30:00.000Z", "none"],
      ["2026-10-25T03:30:00.000Z", "none"],
    ],
  },
  {
    // The skipped 02:30 read with CET is 03:30 CEST, an instant the schedule fires anyway: once.
    name: "cron 30 * * * * in Berlin with gap shift fires once at 03:30 CEST, where 02:30 lands",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { gap: "shift" } },
    from: "2026-03-28T23:00:00.000Z",
    runs: [
      ["2026-03-28T23:30:00.000Z", "none"],
      ["2026-03-29T00:30:00.000Z", "none"],
      ["2026-03-29T01:30:00.000Z", "none"],
      ["2026-03-29T02:30:00.000Z", "none"],
    ],
  },
  {
    name: "once 2026-03-29T02:30 in Berlin fires at 03:30 CEST",
    schedule: { type: "once", expression: "2026-03-29T02:30" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [["2026-03-29T01:30:00.000Z", "gap_shifted"]],
    ask: 2,
  },
  {
    name: "once 2026-10-25T02:30 in Berlin fires once, at 02:30 CEST",
    schedule: { type: "once", expression: "2026-10-25T02:30" },
    from: "2026-10-01T00:00:00.000Z",
    runs: [["2026-10-25T00:30:00.000Z", "fold_first"]],
    ask: 2,
  },
  {
    name: "rrule daily at 02:30 in Berlin drops 2026-03-29 and does not count it toward COUNT",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Europe/Berlin:20260327T023000\nRRULE:FREQ=DAILY;COUNT=4",
    },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-27T01:30:00.000Z", "none"],
      ["2026-03-28T01:30:00.000Z", "none"],
      ["2026-03-30T00:30:00.000Z", "none"],
      ["2026-03-31T00:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule weekly on Sundays at 02:30 in Berlin drops 2026-03-29 and does not count it",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Europe/Berlin:20260322T023000\nRRULE:FREQ=WEEKLY;BYDAY=SU;COUNT=3",
    },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-22T01:30:00.000Z", "none"],
      ["2026-04-05T00:30:00.000Z", "none"],
      ["2026-04-12T00:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule daily at 02:30 in Berlin fires the repeated 02:30 once, at CEST",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Europe/Berlin:20261024T023000\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-24T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-26T01:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name:
      "rrule daily at 02:30 in Berlin with repeat both fires the repeated 02:30 at CEST and CET",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Europe/Berlin:20261024T023000\nRRULE:FREQ=DAILY",
      dstPolicy: { repeat: "both" },
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-24T00:30:00.000Z", "none"],
      ["2026-10-25T00:30:00.000Z", "fold_first"],
      ["2026-10-25T01:30:00.000Z", "fold_second"],
      ["2026-10-26T01:30:00.000Z", "none"],
    ],
  },
]);

// Australia/Lord_Howe: +10:30 standard, +11:00 summer; a 30-minute shift at 02:00 local.
// 2026-04-05 02:00 +11:00 → 01:30 +10:30 (04-04T15:00Z): local 01:30–01:59 happens twice.
// 2026-10-04 02:00 +10:30 → 02:30 +11:00 (10-03T15:30Z): local 02:00–02:29 does not exist.
// 2027: the same on 04-04 (04-03T15:00Z) and 10-03 (10-02T15:30Z).
testZone("Australia/Lord_Howe", [
  {
    name: "daily 02:15 in Lord Howe on the spring-forward night fires at 02:45 +11:00",
    schedule: { type: "daily", expression: "02:15" },
    from: "2026-10-02T00:00:00.000Z",
    runs: [
      ["2026-10-02T15:45:00.000Z", "none"],
      ["2026-10-03T15:45:00.000Z", "gap_shifted"],
      ["2026-10-04T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:45 in Lord Howe on the spring-forward night exists past the 30-minute gap",
    schedule: { type: "daily", expression: "02:45" },
    from: "2026-10-03T00:00:00.000Z",
    runs: [
      ["2026-10-03T15:45:00.000Z", "none"],
      ["2026-10-04T15:45:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:45 in Lord Howe on the fall-back night fires once, at 01:45 +11:00",
    schedule: { type: "daily", expression: "01:45" },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T14:45:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-04-05T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:15 in Lord Howe on the fall-back night is before the 30-minute fold",
    schedule: { type: "daily", expression: "01:15" },
    from: "2026-04-04T00:00:00.000Z",
    runs: [
      ["2026-04-04T14:15:00.000Z", "none"],
      ["2026-04-05T14:45:00.000Z", "none"],
    ],
  },
  {
    name:
      "daily 02:15 in Lord Howe with gap shift fires at 02:45 +11:00 on the spring-forward night",
    schedule: { type: "daily", expression: "02:15", dstPolicy: { gap: "shift" } },
    from: "2026-10-02T00:00:00.000Z",
    runs: [
      ["2026-10-02T15:45:00.000Z", "none"],
      ["2026-10-03T15:45:00.000Z", "gap_shifted"],
      ["2026-10-04T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:15 in Lord Howe with gap skip does not fire on the spring-forward night",
    schedule: { type: "daily", expression: "02:15", dstPolicy: { gap: "skip" } },
    from: "2026-10-02T00:00:00.000Z",
    runs: [
      ["2026-10-02T15:45:00.000Z", "none"],
      ["2026-10-04T15:15:00.000Z", "none"],
      ["2026-10-05T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:45 in Lord Howe with repeat first fires only at 01:45 +11:00",
    schedule: { type: "daily", expression: "01:45", dstPolicy: { repeat: "first" } },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T14:45:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-04-05T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:45 in Lord Howe with repeat both fires at 01:45 +11:00 and at 01:45 +10:30",
    schedule: { type: "daily", expression: "01:45", dstPolicy: { repeat: "both" } },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T14:45:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-04-04T15:15:00.000Z", "fold_second"],
      ["2026-04-05T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:45 in Lord Howe with repeat last fires only at 01:45 +10:30",
    schedule: { type: "daily", expression: "01:45", dstPolicy: { repeat: "last" } },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T14:45:00.000Z", "none"],
      ["2026-04-04T15:15:00.000Z", "fold_second"],
      ["2026-04-05T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 02:15 in Lord Howe on the spring-forward Sunday fires at 02:45 +11:00",
    schedule: { type: "weekly", expression: "7 02:15" },
    from: "2026-09-26T00:00:00.000Z",
    runs: [
      ["2026-09-26T15:45:00.000Z", "none"],
      ["2026-10-03T15:45:00.000Z", "gap_shifted"],
      ["2026-10-10T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 01:45 in Lord Howe on the fall-back Sunday fires once, at 01:45 +11:00",
    schedule: { type: "weekly", expression: "7 01:45" },
    from: "2026-03-28T00:00:00.000Z",
    runs: [
      ["2026-03-28T14:45:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-04-11T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 4 02:15 in Lord Howe on 2026-10-04 fires at 02:45 +11:00",
    schedule: { type: "monthly", expression: "4 02:15" },
    from: "2026-09-01T00:00:00.000Z",
    runs: [
      ["2026-09-03T15:45:00.000Z", "none"],
      ["2026-10-03T15:45:00.000Z", "gap_shifted"],
      ["2026-11-03T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 5 01:45 in Lord Howe on 2026-04-05 fires once, at 01:45 +11:00",
    schedule: { type: "monthly", expression: "5 01:45" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-04T14:45:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-05-04T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 15 2 * * * in Lord Howe on the 2027 spring-forward night fires at 02:45 +11:00",
    schedule: { type: "cron", expression: "15 2 * * *" },
    from: "2027-10-01T00:00:00.000Z",
    runs: [
      ["2027-10-01T15:45:00.000Z", "none"],
      ["2027-10-02T15:45:00.000Z", "gap_shifted"],
      ["2027-10-03T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 45 1 * * * in Lord Howe on the 2027 fall-back night fires once, at 01:45 +11:00",
    schedule: { type: "cron", expression: "45 1 * * *" },
    from: "2027-04-02T00:00:00.000Z",
    runs: [
      ["2027-04-02T14:45:00.000Z", "none"],
      ["2027-04-03T14:45:00.000Z", "fold_first"],
      ["2027-04-04T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 15,45 * * * * in Lord Howe runs in real time: the skipped 02:15 never fires",
    schedule: { type: "cron", expression: "15,45 * * * *" },
    from: "2026-10-03T14:30:00.000Z",
    runs: [
      ["2026-10-03T14:45:00.000Z", "none"],
      ["2026-10-03T15:15:00.000Z", "none"],
      ["2026-10-03T15:45:00.000Z", "none"],
      ["2026-10-03T16:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 15,45 * * * * in Lord Howe runs in real time: the repeated 01:45 fires twice",
    schedule: { type: "cron", expression: "15,45 * * * *" },
    from: "2026-04-04T13:00:00.000Z",
    runs: [
      ["2026-04-04T13:15:00.000Z", "none"],
      ["2026-04-04T13:45:00.000Z", "none"],
      ["2026-04-04T14:15:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-04-04T15:15:00.000Z", "fold_second"],
      ["2026-04-04T15:45:00.000Z", "none"],
    ],
  },
  {
    name:
      "cron 15,45 * * * * in Lord Howe with repeat first fires the repeated 01:45 at +11:00 only",
    schedule: { type: "cron", expression: "15,45 * * * *", dstPolicy: { repeat: "first" } },
    from: "2026-04-04T13:00:00.000Z",
    runs: [
      ["2026-04-04T13:15:00.000Z", "none"],
      ["2026-04-04T13:45:00.000Z", "none"],
      ["2026-04-04T14:15:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-04-04T15:45:00.000Z", "none"],
    ],
  },
  {
    name:
      "cron 15,45 * * * * in Lord Howe with repeat last fires the repeated 01:45 at +10:30 only",
    schedule: { type: "cron", expression: "15,45 * * * *", dstPolicy: { repeat: "last" } },
    from: "2026-04-04T13:00:00.000Z",
    runs: [
      ["2026-04-04T13:15:00.000Z", "none"],
      ["2026-04-04T13:45:00.000Z", "none"],
      ["2026-04-04T14:15:00.000Z", "none"],
      ["2026-04-04T15:15:00.000Z", "fold_second"],
      ["2026-04-04T15:45:00.000Z", "none"],
    ],
  },
  {
    name: "cron 15 * * * * in Lord Howe with gap shift fires the skipped 02:15 at 02:45 +11:00",
    schedule: { type: "cron", expression: "15 * * * *", dstPolicy: { gap: "shift" } },
    from: "2026-10-03T14:30:00.000Z",
    runs: [
      ["2026-10-03T14:45:00.000Z", "none"],
      ["2026-10-03T15:45:00.000Z", "gap_shifted"],
      ["2026-10-03T16:15:00.000Z", "none"],
    ],
  },
  {
    name: "once 2026-10-04T02:15 in Lord Howe fires at 02:45 +11:00",
    schedule: { type: "once", expression: "2026-10-04T02:15" },
    from: "2026-10-01T00:00:00.000Z",
    runs: [["2026-10-03T15:45:00.000Z", "gap_shifted"]],
    ask: 2,
  },
  {
    name: "once 2026-04-05T01:45 in Lord Howe fires once, at 01:45 +11:00",
    schedule: { type: "once", expression: "2026-04-05T01:45" },
    from: "2026-04-01T00:00:00.000Z",
    runs: [["2026-04-04T14:45:00.000Z", "fold_first"]],
    ask: 2,
  },
  {
    name: "rrule daily at 02:15 in Lord Howe drops 2026-10-04 and does not count it toward COUNT",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Australia/Lord_Howe:20261002T021500\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-01T15:45:00.000Z", "none"],
      ["2026-10-02T15:45:00.000Z", "none"],
      ["2026-10-04T15:15:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule every 15 minutes in Lord Howe drops 02:00 and 02:15 without counting them",
    schedule: {
      type: "rrule",
      expression:
        "DTSTART;TZID=Australia/Lord_Howe:20261004T014500\nRRULE:FREQ=MINUTELY;INTERVAL=15;COUNT=4",
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-03T15:15:00.000Z", "none"],
      ["2026-10-03T15:30:00.000Z", "none"],
      ["2026-10-03T15:45:00.000Z", "none"],
      ["2026-10-03T16:00:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule daily at 01:45 in Lord Howe fires the repeated 01:45 once, at +11:00",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Australia/Lord_Howe:20260404T014500\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-04-01T00:00:00.000Z",
    runs: [
      ["2026-04-03T14:45:00.000Z", "none"],
      ["2026-04-04T14:45:00.000Z", "fold_first"],
      ["2026-04-05T15:15:00.000Z", "none"],
    ],
    ask: 10,
  },
]);

// Pacific/Chatham: +12:45 standard, +13:45 summer; the changes fall at 02:45 local standard time.
// 2026-04-05 03:45 +13:45 → 02:45 +12:45 (04-04T14:00Z): local 02:45–03:44 happens twice.
// 2026-09-27 02:45 +12:45 → 03:45 +13:45 (09-26T14:00Z): local 02:45–03:44 does not exist.
// 2027: the same on 04-04 (04-03T14:00Z) and 09-26 (09-25T14:00Z).
testZone("Pacific/Chatham", [
  {
    name: "daily 03:00 in Chatham on the spring-forward night fires at 04:00 +13:45",
    schedule: { type: "daily", expression: "03:00" },
    from: "2026-09-25T00:00:00.000Z",
    runs: [
      ["2026-09-25T14:15:00.000Z", "none"],
      ["2026-09-26T14:15:00.000Z", "gap_shifted"],
      ["2026-09-27T13:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:45 in Chatham, the first skipped minute, fires at 03:45 +13:45",
    schedule: { type: "daily", expression: "02:45" },
    from: "2026-09-26T00:00:00.000Z",
    runs: [
      ["2026-09-26T14:00:00.000Z", "gap_shifted"],
      ["2026-09-27T13:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:45 in Chatham, the first minute after the gap, fires at 03:45 +13:45",
    schedule: { type: "daily", expression: "03:45" },
    from: "2026-09-26T00:00:00.000Z",
    runs: [
      ["2026-09-26T14:00:00.000Z", "none"],
      ["2026-09-27T14:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:00 in Chatham on the fall-back night fires once, at 03:00 +13:45",
    schedule: { type: "daily", expression: "03:00" },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T13:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-04-05T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:45 in Chatham, the first repeated minute, fires once at 02:45 +13:45",
    schedule: { type: "daily", expression: "02:45" },
    from: "2026-04-04T00:00:00.000Z",
    runs: [
      ["2026-04-04T13:00:00.000Z", "fold_first"],
      ["2026-04-05T14:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:45 in Chatham, just after the repeated hour, fires once at 03:45 +12:45",
    schedule: { type: "daily", expression: "03:45" },
    from: "2026-04-04T00:00:00.000Z",
    runs: [
      ["2026-04-04T15:00:00.000Z", "none"],
      ["2026-04-05T15:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:00 in Chatham with gap shift fires at 04:00 +13:45 on the spring-forward night",
    schedule: { type: "daily", expression: "03:00", dstPolicy: { gap: "shift" } },
    from: "2026-09-25T00:00:00.000Z",
    runs: [
      ["2026-09-25T14:15:00.000Z", "none"],
      ["2026-09-26T14:15:00.000Z", "gap_shifted"],
      ["2026-09-27T13:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:00 in Chatham with gap skip does not fire on the spring-forward night",
    schedule: { type: "daily", expression: "03:00", dstPolicy: { gap: "skip" } },
    from: "2026-09-25T00:00:00.000Z",
    runs: [
      ["2026-09-25T14:15:00.000Z", "none"],
      ["2026-09-27T13:15:00.000Z", "none"],
      ["2026-09-28T13:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:00 in Chatham with repeat first fires only at 03:00 +13:45",
    schedule: { type: "daily", expression: "03:00", dstPolicy: { repeat: "first" } },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T13:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-04-05T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:00 in Chatham with repeat both fires at 03:00 +13:45 and at 03:00 +12:45",
    schedule: { type: "daily", expression: "03:00", dstPolicy: { repeat: "both" } },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T13:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-04-04T14:15:00.000Z", "fold_second"],
      ["2026-04-05T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "daily 03:00 in Chatham with repeat last fires only at 03:00 +12:45",
    schedule: { type: "daily", expression: "03:00", dstPolicy: { repeat: "last" } },
    from: "2026-04-03T00:00:00.000Z",
    runs: [
      ["2026-04-03T13:15:00.000Z", "none"],
      ["2026-04-04T14:15:00.000Z", "fold_second"],
      ["2026-04-05T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 03:00 in Chatham on the spring-forward Sunday fires at 04:00 +13:45",
    schedule: { type: "weekly", expression: "7 03:00" },
    from: "2026-09-19T00:00:00.000Z",
    runs: [
      ["2026-09-19T14:15:00.000Z", "none"],
      ["2026-09-26T14:15:00.000Z", "gap_shifted"],
      ["2026-10-03T13:15:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 03:00 in Chatham on the fall-back Sunday fires once, at 03:00 +13:45",
    schedule: { type: "weekly", expression: "7 03:00" },
    from: "2026-03-28T00:00:00.000Z",
    runs: [
      ["2026-03-28T13:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-04-11T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 27 03:00 in Chatham on 2026-09-27 fires at 04:00 +13:45",
    schedule: { type: "monthly", expression: "27 03:00" },
    from: "2026-08-01T00:00:00.000Z",
    runs: [
      ["2026-08-26T14:15:00.000Z", "none"],
      ["2026-09-26T14:15:00.000Z", "gap_shifted"],
      ["2026-10-26T13:15:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 5 03:00 in Chatham on 2026-04-05 fires once, at 03:00 +13:45",
    schedule: { type: "monthly", expression: "5 03:00" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-04T13:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-05-04T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 0 3 * * * in Chatham on the 2027 spring-forward night fires at 04:00 +13:45",
    schedule: { type: "cron", expression: "0 3 * * *" },
    from: "2027-09-24T00:00:00.000Z",
    runs: [
      ["2027-09-24T14:15:00.000Z", "none"],
      ["2027-09-25T14:15:00.000Z", "gap_shifted"],
      ["2027-09-26T13:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 0 3 * * * in Chatham on the 2027 fall-back night fires once, at 03:00 +13:45",
    schedule: { type: "cron", expression: "0 3 * * *" },
    from: "2027-04-02T00:00:00.000Z",
    runs: [
      ["2027-04-02T13:15:00.000Z", "none"],
      ["2027-04-03T13:15:00.000Z", "fold_first"],
      ["2027-04-04T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 0 * * * * in Chatham runs in real time: the skipped 03:00 never fires",
    schedule: { type: "cron", expression: "0 * * * *" },
    from: "2026-09-26T12:00:00.000Z",
    runs: [
      ["2026-09-26T12:15:00.000Z", "none"],
      ["2026-09-26T13:15:00.000Z", "none"],
      ["2026-09-26T14:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 0 * * * * in Chatham runs in real time: the repeated 03:00 fires twice",
    schedule: { type: "cron", expression: "0 * * * *" },
    from: "2026-04-04T12:00:00.000Z",
    runs: [
      ["2026-04-04T12:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-04-04T14:15:00.000Z", "fold_second"],
      ["2026-04-04T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 0 * * * * in Chatham with repeat first fires the repeated 03:00 at +13:45 only",
    schedule: { type: "cron", expression: "0 * * * *", dstPolicy: { repeat: "first" } },
    from: "2026-04-04T12:00:00.000Z",
    runs: [
      ["2026-04-04T12:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-04-04T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "cron 0 * * * * in Chatham with repeat last fires the repeated 03:00 at +12:45 only",
    schedule: { type: "cron", expression: "0 * * * *", dstPolicy: { repeat: "last" } },
    from: "2026-04-04T12:00:00.000Z",
    runs: [
      ["2026-04-04T12:15:00.000Z", "none"],
      ["2026-04-04T14:15:00.000Z", "fold_second"],
      ["2026-04-04T15:15:00.000Z", "none"],
    ],
  },
  {
    name: "once 2026-09-27T03:00 in Chatham fires at 04:00 +13:45",
    schedule: { type: "once", expression: "2026-09-27T03:00" },
    from: "2026-09-01T00:00:00.000Z",
    runs: [["2026-09-26T14:15:00.000Z", "gap_shifted"]],
    ask: 2,
  },
  {
    name: "once 2026-04-05T03:00 in Chatham fires once, at 03:00 +13:45",
    schedule: { type: "once", expression: "2026-04-05T03:00" },
    from: "2026-04-01T00:00:00.000Z",
    runs: [["2026-04-04T13:15:00.000Z", "fold_first"]],
    ask: 2,
  },
  {
    name: "rrule daily at 03:00 in Chatham drops 2026-09-27 and does not count it toward COUNT",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Pacific/Chatham:20260925T030000\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-09-20T00:00:00.000Z",
    runs: [
      ["2026-09-24T14:15:00.000Z", "none"],
      ["2026-09-25T14:15:00.000Z", "none"],
      ["2026-09-27T13:15:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule daily at 03:00 in Chatham fires the repeated 03:00 once, at +13:45",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Pacific/Chatham:20260404T030000\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-04-01T00:00:00.000Z",
    runs: [
      ["2026-04-03T13:15:00.000Z", "none"],
      ["2026-04-04T13:15:00.000Z", "fold_first"],
      ["2026-04-05T14:15:00.000Z", "none"],
    ],
    ask: 10,
  },
]);

// America/Santiago: −04:00 standard, −03:00 summer; the changes fall at local midnight.
// 2026-04-05 00:00 −03:00 → 2026-04-04 23:00 −04:00 (04-05T03:00Z): Saturday 23:00–23:59 twice.
// 2026-09-06 00:00 −04:00 → 01:00 −03:00 (09-06T04:00Z): Sunday 00:00–00:59 does not exist.
// 2027: the same on Saturday 04-03 (04-04T03:00Z) and Sunday 09-05 (09-05T04:00Z).
testZone("America/Santiago", [
  {
    name: "daily 00:30 in Santiago on the September change fires at 01:30 -03:00",
    schedule: { type: "daily", expression: "00:30" },
    from: "2026-09-05T00:00:00.000Z",
    runs: [
      ["2026-09-05T04:30:00.000Z", "none"],
      ["2026-09-06T04:30:00.000Z", "gap_shifted"],
      ["2026-09-07T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 00:00 in Santiago on the September change, a skipped midnight, fires at 01:00",
    schedule: { type: "daily", expression: "00:00" },
    from: "2026-09-05T00:00:00.000Z",
    runs: [
      ["2026-09-05T04:00:00.000Z", "none"],
      ["2026-09-06T04:00:00.000Z", "gap_shifted"],
      ["2026-09-07T03:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 01:00 in Santiago on the September change, the first minute after the gap, fires",
    schedule: { type: "daily", expression: "01:00" },
    from: "2026-09-05T00:00:00.000Z",
    runs: [
      ["2026-09-05T05:00:00.000Z", "none"],
      ["2026-09-06T04:00:00.000Z", "none"],
      ["2026-09-07T04:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 23:30 in Santiago on the April change fires once, at 23:30 -03:00",
    schedule: { type: "daily", expression: "23:30" },
    from: "2026-04-03T12:00:00.000Z",
    runs: [
      ["2026-04-04T02:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-06T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 23:00 in Santiago, the first repeated minute, fires once at 23:00 -03:00",
    schedule: { type: "daily", expression: "23:00" },
    from: "2026-04-04T12:00:00.000Z",
    runs: [
      ["2026-04-05T02:00:00.000Z", "fold_first"],
      ["2026-04-06T03:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 00:00 in Santiago after the April change fires once, at 00:00 -04:00",
    schedule: { type: "daily", expression: "00:00" },
    from: "2026-04-04T00:00:00.000Z",
    runs: [
      ["2026-04-04T03:00:00.000Z", "none"],
      ["2026-04-05T04:00:00.000Z", "none"],
      ["2026-04-06T04:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 00:30 in Santiago with gap shift fires at 01:30 -03:00 on the September change",
    schedule: { type: "daily", expression: "00:30", dstPolicy: { gap: "shift" } },
    from: "2026-09-05T00:00:00.000Z",
    runs: [
      ["2026-09-05T04:30:00.000Z", "none"],
      ["2026-09-06T04:30:00.000Z", "gap_shifted"],
      ["2026-09-07T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 00:30 in Santiago with gap skip does not fire on the September change",
    schedule: { type: "daily", expression: "00:30", dstPolicy: { gap: "skip" } },
    from: "2026-09-05T00:00:00.000Z",
    runs: [
      ["2026-09-05T04:30:00.000Z", "none"],
      ["2026-09-07T03:30:00.000Z", "none"],
      ["2026-09-08T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 23:30 in Santiago with repeat first fires only at 23:30 -03:00",
    schedule: { type: "daily", expression: "23:30", dstPolicy: { repeat: "first" } },
    from: "2026-04-03T12:00:00.000Z",
    runs: [
      ["2026-04-04T02:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-06T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 23:30 in Santiago with repeat both fires at 23:30 -03:00 and at 23:30 -04:00",
    schedule: { type: "daily", expression: "23:30", dstPolicy: { repeat: "both" } },
    from: "2026-04-03T12:00:00.000Z",
    runs: [
      ["2026-04-04T02:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-05T03:30:00.000Z", "fold_second"],
      ["2026-04-06T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "daily 23:30 in Santiago with repeat last fires only at 23:30 -04:00",
    schedule: { type: "daily", expression: "23:30", dstPolicy: { repeat: "last" } },
    from: "2026-04-03T12:00:00.000Z",
    runs: [
      ["2026-04-04T02:30:00.000Z", "none"],
      ["2026-04-05T03:30:00.000Z", "fold_second"],
      ["2026-04-06T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 00:30 in Santiago on the September change Sunday fires at 01:30 -03:00",
    schedule: { type: "weekly", expression: "7 00:30" },
    from: "2026-08-30T00:00:00.000Z",
    runs: [
      ["2026-08-30T04:30:00.000Z", "none"],
      ["2026-09-06T04:30:00.000Z", "gap_shifted"],
      ["2026-09-13T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 6 23:30 in Santiago on the April change Saturday fires once, at 23:30 -03:00",
    schedule: { type: "weekly", expression: "6 23:30" },
    from: "2026-03-28T00:00:00.000Z",
    runs: [
      ["2026-03-29T02:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-12T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "@weekly in Santiago fires the skipped Sunday midnight of the September change at 01:00",
    schedule: { type: "cron", expression: "@weekly" },
    from: "2026-08-30T00:00:00.000Z",
    runs: [
      ["2026-08-30T04:00:00.000Z", "none"],
      ["2026-09-06T04:00:00.000Z", "gap_shifted"],
      ["2026-09-13T03:00:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 6 00:30 in Santiago on 2026-09-06 fires at 01:30 -03:00",
    schedule: { type: "monthly", expression: "6 00:30" },
    from: "2026-08-01T00:00:00.000Z",
    runs: [
      ["2026-08-06T04:30:00.000Z", "none"],
      ["2026-09-06T04:30:00.000Z", "gap_shifted"],
      ["2026-10-06T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 4 23:30 in Santiago on 2026-04-04 fires once, at 23:30 -03:00",
    schedule: { type: "monthly", expression: "4 23:30" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-05T02:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-05-05T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 0 * * * in Santiago on the 2027 September change fires at 01:30 -03:00",
    schedule: { type: "cron", expression: "30 0 * * *" },
    from: "2027-09-04T00:00:00.000Z",
    runs: [
      ["2027-09-04T04:30:00.000Z", "none"],
      ["2027-09-05T04:30:00.000Z", "gap_shifted"],
      ["2027-09-06T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 23 * * * in Santiago on the 2027 April change fires once, at 23:30 -03:00",
    schedule: { type: "cron", expression: "30 23 * * *" },
    from: "2027-04-02T12:00:00.000Z",
    runs: [
      ["2027-04-03T02:30:00.000Z", "none"],
      ["2027-04-04T02:30:00.000Z", "fold_first"],
      ["2027-04-05T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 23 * * * in Santiago with repeat both fires at 23:30 -03:00 and -04:00",
    schedule: { type: "cron", expression: "30 23 * * *", dstPolicy: { repeat: "both" } },
    from: "2026-04-03T12:00:00.000Z",
    runs: [
      ["2026-04-04T02:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-05T03:30:00.000Z", "fold_second"],
      ["2026-04-06T03:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Santiago runs in real time: the skipped 00:30 never fires",
    schedule: { type: "cron", expression: "30 * * * *" },
    from: "2026-09-06T02:00:00.000Z",
    runs: [
      ["2026-09-06T02:30:00.000Z", "none"],
      ["2026-09-06T03:30:00.000Z", "none"],
      ["2026-09-06T04:30:00.000Z", "none"],
      ["2026-09-06T05:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Santiago runs in real time: the repeated 23:30 fires twice",
    schedule: { type: "cron", expression: "30 * * * *" },
    from: "2026-04-05T01:00:00.000Z",
    runs: [
      ["2026-04-05T01:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-05T03:30:00.000Z", "fold_second"],
      ["2026-04-05T04:30:00.000Z", "none"],
      ["2026-04-05T05:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Santiago with repeat first fires the repeated 23:30 at -03:00 only",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { repeat: "first" } },
    from: "2026-04-05T01:00:00.000Z",
    runs: [
      ["2026-04-05T01:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-05T04:30:00.000Z", "none"],
      ["2026-04-05T05:30:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Santiago with repeat last fires the repeated 23:30 at -04:00 only",
    schedule: { type: "cron", expression: "30 * * * *", dstPolicy: { repeat: "last" } },
    from: "2026-04-05T01:00:00.000Z",
    runs: [
      ["2026-04-05T01:30:00.000Z", "none"],
      ["2026-04-05T03:30:00.000Z", "fold_second"],
      ["2026-04-05T04:30:00.000Z", "none"],
      ["2026-04-05T05:30:00.000Z", "none"],
    ],
  },
  {
    name: "once 2026-09-06T00:30 in Santiago fires at 01:30 -03:00",
    schedule: { type: "once", expression: "2026-09-06T00:30" },
    from: "2026-09-01T00:00:00.000Z",
    runs: [["2026-09-06T04:30:00.000Z", "gap_shifted"]],
    ask: 2,
  },
  {
    name: "once 2026-04-04T23:30 in Santiago fires once, at 23:30 -03:00",
    schedule: { type: "once", expression: "2026-04-04T23:30" },
    from: "2026-04-01T00:00:00.000Z",
    runs: [["2026-04-05T02:30:00.000Z", "fold_first"]],
    ask: 2,
  },
  {
    name: "rrule daily at 00:30 in Santiago drops 2026-09-06 and does not count it toward COUNT",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/Santiago:20260904T003000\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-09-01T00:00:00.000Z",
    runs: [
      ["2026-09-04T04:30:00.000Z", "none"],
      ["2026-09-05T04:30:00.000Z", "none"],
      ["2026-09-07T03:30:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule weekly at Sunday midnight in Santiago drops the skipped 2026-09-06 midnight",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/Santiago:20260830T000000\nRRULE:FREQ=WEEKLY;COUNT=3",
    },
    from: "2026-08-01T00:00:00.000Z",
    runs: [
      ["2026-08-30T04:00:00.000Z", "none"],
      ["2026-09-13T03:00:00.000Z", "none"],
      ["2026-09-20T03:00:00.000Z", "none"],
    ],
    ask: 10,
  },
  {
    name: "rrule daily at 23:30 in Santiago fires the repeated 23:30 once, at -03:00",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=America/Santiago:20260403T233000\nRRULE:FREQ=DAILY;COUNT=3",
    },
    from: "2026-04-01T00:00:00.000Z",
    runs: [
      ["2026-04-04T02:30:00.000Z", "none"],
      ["2026-04-05T02:30:00.000Z", "fold_first"],
      ["2026-04-06T03:30:00.000Z", "none"],
    ],
    ask: 10,
  },
]);

// Asia/Kolkata: +05:30 all year: nothing is shifted, skipped or repeated on any zone's DST dates.
testZone("Asia/Kolkata", [
  {
    name: "daily 02:30 in Kolkata on New York's spring-forward date is plain 02:30 IST",
    schedule: { type: "daily", expression: "02:30" },
    from: "2026-03-07T00:00:00.000Z",
    runs: [
      ["2026-03-07T21:00:00.000Z", "none"],
      ["2026-03-08T21:00:00.000Z", "none"],
      ["2026-03-09T21:00:00.000Z", "none"],
    ],
  },
  {
    name: "daily 02:30 in Kolkata with gap skip and repeat both fires every day, once",
    schedule: { type: "daily", expression: "02:30", dstPolicy: { gap: "skip", repeat: "both" } },
    from: "2026-10-24T00:00:00.000Z",
    runs: [
      ["2026-10-24T21:00:00.000Z", "none"],
      ["2026-10-25T21:00:00.000Z", "none"],
      ["2026-10-26T21:00:00.000Z", "none"],
    ],
  },
  {
    name: "weekly 7 02:30 in Kolkata is plain 02:30 IST every Sunday",
    schedule: { type: "weekly", expression: "7 02:30" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [
      ["2026-03-07T21:00:00.000Z", "none"],
      ["2026-03-14T21:00:00.000Z", "none"],
      ["2026-03-21T21:00:00.000Z", "none"],
    ],
  },
  {
    name: "monthly 25 02:30 in Kolkata is plain 02:30 IST on Berlin's fall-back date",
    schedule: { type: "monthly", expression: "25 02:30" },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-24T21:00:00.000Z", "none"],
      ["2026-11-24T21:00:00.000Z", "none"],
      ["2026-12-24T21:00:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 2 * * * in Kolkata is plain 02:30 IST on Lord Howe's fall-back date",
    schedule: { type: "cron", expression: "30 2 * * *" },
    from: "2026-04-04T00:00:00.000Z",
    runs: [
      ["2026-04-04T21:00:00.000Z", "none"],
      ["2026-04-05T21:00:00.000Z", "none"],
    ],
  },
  {
    name: "cron 30 * * * * in Kolkata fires once an hour on New York's fall-back night",
    schedule: { type: "cron", expression: "30 * * * *" },
    from: "2026-11-01T05:00:00.000Z",
    runs: [
      ["2026-11-01T06:00:00.000Z", "none"],
      ["2026-11-01T07:00:00.000Z", "none"],
      ["2026-11-01T08:00:00.000Z", "none"],
    ],
  },
  {
    name: "once 2026-03-08T02:30 in Kolkata is plain 02:30 IST",
    schedule: { type: "once", expression: "2026-03-08T02:30" },
    from: "2026-03-01T00:00:00.000Z",
    runs: [["2026-03-07T21:00:00.000Z", "none"]],
    ask: 2,
  },
  {
    name: "rrule hourly in Kolkata on New York's fall-back date counts every hour once",
    schedule: {
      type: "rrule",
      expression: "DTSTART;TZID=Asia/Kolkata:20261101T013000\nRRULE:FREQ=HOURLY;COUNT=3",
    },
    from: "2026-10-01T00:00:00.000Z",
    runs: [
      ["2026-10-31T20:00:00.000Z", "none"],
      ["2026-10-31T21:00:00.000Z", "none"],
      ["2026-10-31T22:00:00.000Z", "none"],
    ],
    ask: 10,
  },
]);
