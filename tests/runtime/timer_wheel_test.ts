/**
 * The timer wheel against a hand-moved clock and runtime timer: due order across every level,
 * cascades, cancel and reschedule, past due times, late wakes, one armed timer, and a property
 * test against a plain model (a Map, sorted at each advance).
 */
import { assert, assertEquals } from "../_helpers.ts";
import fc from "fast-check";
import { TimerWheel } from "../../src/runtime/timer_wheel.ts";

const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);
const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const YEAR = 365 * DAY;

/** One delivered timer. */
type Fired = [id: string, dueAt: number];

/** A clock and a runtime timer moved by hand, recording how the wheel arms it. */
interface ManualTimers {
  now: number;
  /** How many times the wheel armed a timer. */
  armings: number;
  /** The most timers armed at the same time. */
  mostArmed: number;
  /** The armed timer's delay, or null when none is armed. */
  armedDelay(): number | null;
  /** When the armed timer is due (the clock when it was armed plus its delay), or null. */
  armedAt(): number | null;
  /** Runs the armed timer's callback now, whatever the clock says (a wake at any time). */
  wake(): void;
}

/** A wheel on a manual clock and timer, recording what it fires. */
function manualWheel(
  start = T0,
  options: { tickMs?: number; onDue?: (id: string, dueAt: number) => void } = {},
): { wheel: TimerWheel; timers: ManualTimers; fired: Fired[] } {
  const armed = new Map<number, { callback: () => void; delay: number; at: number }>();
  let nextHandle = 1;
  const fired: Fired[] = [];
  const timers: ManualTimers = {
    now: start,
    armings: 0,
    mostArmed: 0,
    armedDelay: () => armed.size === 0 ? null : [...armed.values()][0].delay,
    armedAt: () => armed.size === 0 ? null : [...armed.values()][0].at,
    wake: () => {
      assertEquals(armed.size, 1, "exactly one timer is armed");
      const [[handle, { callback }]] = armed;
      armed.delete(handle);
      callback();
    },
  };
  const wheel = new TimerWheel({
    tickMs: options.tickMs,
    now: () => timers.now,
    onDue: (id, dueAt) => {
      fired.push([id, dueAt]);
      options.onDue?.(id, dueAt);
    },
    setTimer: (callback, delay) => {
      const handle = nextHandle++;
      armed.set(handle, { callback, delay, at: timers.now + delay });
      timers.armings++;
      timers.mostArmed = Math.max(timers.mostArmed, armed.size);
      return handle;
    },
    clearTimer: (handle) => {
      assert(typeof handle === "number" && armed.delete(handle), "clears an armed timer");
    },
  });
  return { wheel, timers, fired };
}

/** Moves the clock from wake to wake up to `until`; returns how many wakes ran. */
function runTimers(timers: ManualTimers, until: number): number {
  let wakes = 0;
  for (let at = timers.armedAt(); at !== null && at <= until; at = timers.armedAt()) {
    timers.now = Math.max(timers.now, at);
    timers.wake();
    wakes++;
  }
  return wakes;
}

/** Removes and returns what was fired so far. */
function drain(fired: Fired[]): Fired[] {
  return fired.splice(0, fired.length);
}

/** Whether `run` throws a RangeError. */
function throwsRangeError(run: () => unknown): boolean {
  try {
    run();
  } catch (error) {
    return error instanceof RangeError;
  }
  return false;
}

Deno.test("timers ms, seconds, hours, days and years away fire at their due times, in order", () => {
  const { wheel, fired } = manualWheel();
  const offsets: [string, number][] = [
    ["years", 3 * YEAR + 17],
    ["ms", 5],
    ["days", 9 * DAY + 123],
    ["seconds", 3 * SECOND + 1],
    ["decades", 40 * YEAR],
    ["hours", 2 * HOUR + 59_999],
    ["centuries", 300 * YEAR + 1],
  ];
  for (const [id, offset] of offsets) wheel.schedule(id, T0 + offset);
  assertEquals(wheel.size, offsets.length);
  const inOrder = [...offsets].sort((a, b) => a[1] - b[1]);
  for (const [id, offset] of inOrder) {
    assertEquals(wheel.advance(T0 + offset - 1), 0, `${id} does not fire a ms early`);
    assertEquals(wheel.advance(T0 + offset), 1, `${id} fires at its due time`);
    assertEquals(drain(fired), [[id, T0 + offset]]);
  }
  assertEquals(wheel.size, 0);
});

Deno.test("one advance over every level fires all due timers in due order", () => {
  const { wheel, fired } = manualWheel();
  const offsets = [40 * YEAR, 5, 9 * DAY, 3 * SECOND, 2 * HOUR, 3 * YEAR, 64 ** 3, 1, 300 * YEAR];
  offsets.forEach((offset, i) => wheel.schedule(`t${i}`, T0 + offset));
  assertEquals(wheel.advance(T0 + 40 * YEAR), offsets.length - 1);
  const expected = offsets
    .map((offset, i): Fired => [`t${i}`, T0 + offset])
    .filter(([, dueAt]) => dueAt <= T0 + 40 * YEAR)
    .sort((a, b) => a[1] - b[1]);
  assertEquals(drain(fired), expected);
  assertEquals(wheel.advance(T0 + 300 * YEAR), 1);
  assertEquals(drain(fired), [["t8", T0 + 300 * YEAR]]);
});

Deno.test("cascading keeps exact due times at every slot and level boundary", () => {
  // Start on a boundary of the whole wheel, so every level's slots line up with the offsets.
  const start = 2 ** 42;
  const { wheel, fired } = manualWheel(start);
  const offsets: number[] = [];
  for (let level = 1; level <= 7; level++) {
    const span = 64 ** level;
    offsets.push(span - 1, span, span + 1, 3 * span - 1, 3 * span + 7);
  }
  offsets.forEach((offset, i) => wheel.schedule(`b${i}`, start + offset));
  // Probes a ms before and at each due time, so the wheel's time lands around each boundary.
  let now = start;
  const seen = new Set<string>();
  for (const offset of [...offsets].sort((a, b) => a - b)) {
    for (const probe of [offset - 1, offset]) {
      now = start + probe;
      wheel.advance(now);
      for (const [id, dueAt] of drain(fired)) {
        assert(dueAt <= now, `${id} (due ${dueAt - start}) fired early at ${now - start}`);
        assert(!seen.has(id), `${id} fired twice`);
        seen.add(id);
      }
      assertEquals(
        wheel.dueAt(`b${offsets.indexOf(offset)}`),
        probe < offset ? start + offset : null,
      );
    }
  }
  assertEquals(seen.size, offsets.length);
});

Deno.test("timers due at the same instant fire in the order they were scheduled, across levels", () => {
  const { wheel, fired } = manualWheel();
  const due = T0 + 5 * HOUR;
  // The first sits at a high level, the later ones lower as the wheel's time gets closer.
  wheel.schedule("first", due);
  wheel.advance(T0 + 4 * HOUR);
  wheel.schedule("second", due);
  wheel.schedule("early", due - 1);
  wheel.advance(due - 100);
  wheel.schedule("third", due);
  wheel.advance(due - 1);
  assertEquals(drain(fired), [["early", due - 1]]);
  wheel.schedule("fourth", due);
  wheel.advance(due + 10_000);
  assertEquals(drain(fired).map(([id]) => id), ["first", "second", "third", "fourth"]);
});

Deno.test("a cancelled timer never fires, and cancel says whether one was pending", () => {
  const { wheel, fired } = manualWheel();
  wheel.schedule("keep", T0 + 10);
  wheel.schedule("drop", T0 + 10);
  wheel.schedule("far", T0 + 200 * YEAR);
  assertEquals(wheel.cancel("drop"), true);
  assertEquals(wheel.cancel("drop"), false);
  assertEquals(wheel.cancel("unknown"), false);
  assertEquals(wheel.cancel("far"), true);
  assertEquals([wheel.has("drop"), wheel.has("keep"), wheel.size], [false, true, 1]);
  assertEquals(wheel.advance(T0 + 300 * YEAR), 1);
  assertEquals(drain(fired), [["keep", T0 + 10]]);
  assertEquals(wheel.cancel("keep"), false, "a fired timer is no longer pending");
});

Deno.test("rescheduling moves a timer, earlier or later, and it fires once", () => {
  const { wheel, fired } = manualWheel();
  wheel.schedule("later", T0 + 10);
  wheel.schedule("earlier", T0 + 9 * DAY);
  wheel.schedule("later", T0 + 2 * DAY);
  wheel.schedule("earlier", T0 + 20);
  assertEquals(wheel.size, 2);
  assertEquals(wheel.dueAt("later"), T0 + 2 * DAY);
  assertEquals(wheel.advance(T0 + DAY), 1);
  assertEquals(drain(fired), [["earlier", T0 + 20]]);
  assertEquals(wheel.advance(T0 + 10 * DAY), 1);
  assertEquals(drain(fired), [["later", T0 + 2 * DAY]]);
});

Deno.test("a timer scheduled in the past fires at the next advance, before later ones", () => {
  const { wheel, fired } = manualWheel();
  wheel.advance(T0 + HOUR);
  wheel.schedule("due now", T0 + HOUR + 1);
  wheel.schedule("yesterday", T0 - DAY);
  wheel.schedule("a minute ago", T0 + HOUR - 60_000);
  wheel.schedule("at the wheel's time", T0 + HOUR);
  // Even an advance to an earlier time: the wheel's time does not go back.
  assertEquals(wheel.advance(T0), 3);
  assertEquals(drain(fired).map(([id]) => id), [
    "yesterday",
    "a minute ago",
    "at the wheel's time",
  ]);
  assertEquals(wheel.advance(T0 + HOUR + 1), 1);
  assertEquals(drain(fired), [["due now", T0 + HOUR + 1]]);
});

Deno.test("a coarser tick never fires a timer before its due time", () => {
  const { wheel, fired } = manualWheel(0, { tickMs: 10 });
  wheel.schedule("b", 105);
  wheel.schedule("a", 101);
  wheel.schedule("c", 110);
  assertEquals(wheel.advance(109), 0);
  assertEquals(wheel.advance(110), 3);
  assertEquals(drain(fired), [["a", 101], ["b", 105], ["c", 110]]);
});

Deno.test("non-finite due times and ticks are refused", () => {
  const { wheel } = manualWheel();
  for (const dueAt of [NaN, Infinity, -Infinity]) {
    assert(throwsRangeError(() => wheel.schedule("x", dueAt)), `due time ${dueAt} is refused`);
  }
  assertEquals(wheel.size, 0);
  wheel.schedule("later", T0 + DAY);
  assert(throwsRangeError(() => wheel.advance(NaN)), "advancing to NaN is refused");
  assertEquals(wheel.size, 1, "and fires nothing");
  assert(throwsRangeError(() => new TimerWheel({ tickMs: 0, onDue: () => {} })), "a 0 ms tick");
});

Deno.test("a late wake fires everything that fell due once, in order, and re-arms from the clock", () => {
  const { wheel, timers, fired } = manualWheel();
  const dues = Array.from({ length: 100 }, (_, i) => T0 + 10 * (i + 1));
  for (const [i, dueAt] of [...dues.entries()].reverse()) wheel.schedule(`t${i}`, dueAt);
  wheel.schedule("after", T0 + 6_000);
  wheel.start();
  assertEquals(timers.armedDelay(), 10);
  // The event loop was busy: the wake comes 5 s late.
  timers.now = T0 + 5_000;
  timers.wake();
  assertEquals(drain(fired), dues.map((dueAt, i): Fired => [`t${i}`, dueAt]));
  const delay = timers.armedDelay();
  assert(delay !== null && delay > 0 && delay <= 1_000, `re-armed from the actual time: ${delay}`);
  runTimers(timers, T0 + 6_000);
  assertEquals(drain(fired), [["after", T0 + 6_000]]);
  assertEquals(timers.now, T0 + 6_000, "the last wake is at the due time");
  assertEquals(timers.armedDelay(), null, "an empty wheel arms nothing");
  assertEquals(timers.mostArmed, 1);
  wheel.stop();
});

Deno.test("one runtime timer is armed at a time, for the earliest slot", () => {
  const { wheel, timers, fired } = manualWheel();
  wheel.start();
  assertEquals(timers.armings, 0, "an empty wheel arms nothing");
  for (let i = 0; i < 1000; i++) wheel.schedule(`t${i}`, T0 + 1000 + i * 1000);
  assertEquals(timers.armings, 1, "later timers do not re-arm");
  // It wakes when the earliest timer's slot starts: at its due time, or sooner to cascade it.
  assert(timers.armedDelay()! <= 1000);
  wheel.schedule("sooner", T0 + 100);
  assertEquals(timers.armings, 2);
  const delay = timers.armedDelay()!;
  assert(delay <= 100);
  wheel.schedule("a ms sooner", T0 + delay - 1);
  assertEquals([timers.armings, timers.armedDelay()], [3, delay - 1]);
  wheel.schedule("overdue", T0 - 100);
  wheel.schedule("overdue too", T0 - 50);
  assertEquals([timers.armings, timers.armedDelay()], [4, 0]);
  timers.wake();
  assertEquals(drain(fired).map(([id]) => id), ["overdue", "overdue too"]);
  const wakes = runTimers(timers, Infinity);
  assertEquals(fired.length, 1002);
  assert(wakes <= 3 * 1002, `${wakes} wakes for 1002 timers`);
  assertEquals(timers.mostArmed, 1);
  wheel.stop();
});

Deno.test("the runtime timer is capped at setTimeout's longest delay", () => {
  const { wheel, timers, fired } = manualWheel();
  wheel.schedule("in 100 days", T0 + 100 * DAY);
  wheel.start();
  assertEquals(timers.armedDelay(), 2 ** 31 - 1);
  runTimers(timers, Infinity);
  assertEquals(fired, [["in 100 days", T0 + 100 * DAY]]);
  assert(timers.now === T0 + 100 * DAY, "fires on its due time, not at a capped wake");
  wheel.stop();
  assertEquals(timers.armedDelay(), null);
});

Deno.test("stop disarms the runtime timer and start arms it again", () => {
  const { wheel, timers } = manualWheel();
  wheel.schedule("a", T0 + 50);
  wheel.start();
  wheel.stop();
  assertEquals(timers.armedDelay(), null);
  wheel.schedule("b", T0 + 10);
  assertEquals(timers.armedDelay(), null, "a stopped wheel arms nothing");
  wheel.start();
  assertEquals(timers.armedDelay(), 10);
  wheel.stop();
});

Deno.test("a due callback may cancel and reschedule timers", () => {
  let rescheduled = false;
  const { wheel, fired } = manualWheel(T0, {
    onDue: (id, dueAt) => {
      if (id === "first" && !rescheduled) {
        rescheduled = true;
        wheel.cancel("cancelled");
        wheel.schedule("moved", T0 + 50);
        // Due already: it waits for the next advance instead of firing in this one.
        wheel.schedule("first", dueAt);
      }
    },
  });
  wheel.schedule("first", T0 + 1);
  wheel.schedule("cancelled", T0 + 2);
  wheel.schedule("moved", T0 + 3);
  wheel.schedule("last", T0 + 4);
  assertEquals(wheel.advance(T0 + 10), 2);
  assertEquals(drain(fired).map(([id]) => id), ["first", "last"]);
  assertEquals(wheel.advance(T0 + 10), 1);
  assertEquals(drain(fired), [["first", T0 + 1]]);
  assertEquals(wheel.advance(T0 + 50), 1);
  assertEquals(drain(fired), [["moved", T0 + 50]]);
});

Deno.test("after a due callback throws, the undelivered timers fire at the next advance", () => {
  let failures = 1;
  const { wheel, fired } = manualWheel(T0, {
    onDue: (id) => {
      if (id === "b" && failures-- > 0) throw new Error("executor down");
    },
  });
  for (const [id, offset] of [["a", 1], ["b", 2], ["c", 3], ["d", 4]] as const) {
    wheel.schedule(id, T0 + offset);
  }
  let error: unknown = null;
  try {
    wheel.advance(T0 + 3);
  } catch (caught) {
    error = caught;
  }
  assert(error instanceof Error && error.message === "executor down");
  assertEquals(drain(fired).map(([id]) => id), ["a", "b"]);
  assertEquals([wheel.has("b"), wheel.has("c")], [false, true]);
  assertEquals(wheel.advance(T0 + 4), 2);
  assertEquals(drain(fired).map(([id]) => id), ["c", "d"]);
});

Deno.test("the wheel holds a million timers and fires each once", () => {
  const { wheel, fired } = manualWheel(0);
  const count = 1_000_000;
  for (let i = 0; i < count; i++) wheel.schedule(`task-${i}`, (i * 7919) % (30 * DAY));
  for (let i = 0; i < count; i += 2) wheel.cancel(`task-${i}`);
  assertEquals(wheel.size, count / 2);
  assertEquals(wheel.advance(30 * DAY), count / 2);
  for (let i = 1; i < fired.length; i++) assert(fired[i - 1][1] <= fired[i][1], "in due order");
  assertEquals(new Set(fired.map(([id]) => id)).size, count / 2);
});

Deno.test("real timers: each timer fires at or after its due time", async () => {
  const lateness = new Map<string, number>();
  const { promise: allFired, resolve } = Promise.withResolvers<void>();
  const wheel = new TimerWheel({
    onDue: (id, dueAt) => {
      lateness.set(id, Date.now() - dueAt);
      if (lateness.size === 5) resolve();
    },
  });
  const now = Date.now();
  for (const [i, ahead] of [100, 20, 60, 40, 80].entries()) wheel.schedule(`t${i}`, now + ahead);
  wheel.start();
  await allFired;
  wheel.stop();
  assertEquals([...lateness.keys()], ["t1", "t3", "t2", "t4", "t0"]);
  for (const [id, late] of lateness) assert(late >= 0, `${id} fired ${-late} ms early`);
});

/** One step of the property tests: time passing is an advance, or the clock moving on. */
type Step =
  | { kind: "schedule"; id: string; offset: number }
  | { kind: "cancel"; id: string }
  | { kind: "pass"; step: number };

const IDS = ["a", "b", "c", "d", "e", "f", "g", "h"];

/** Random scripts of steps, with due times and time steps up to `farthest` ms. */
function scripts(farthest: number): fc.Arbitrary<Step[]> {
  const id = fc.constantFrom(...IDS);
  const span = (most: number) => fc.integer({ min: 0, max: Math.min(most, farthest) });
  const boundaries = [63, 64, 65, 4095, 4096, 4097, 2 ** 42 - 1, 2 ** 42, 2 ** 42 + 1];
  const offset = fc.tuple(
    fc.oneof(
      fc.integer({ min: -5000, max: 0 }),
      span(200),
      span(300_000),
      span(2 ** 36),
      span(2 ** 45),
      fc.constantFrom(...boundaries.filter((boundary) => boundary <= farthest)),
    ),
    fc.boolean(),
  ).map(([whole, half]) => whole + (half ? 0.5 : 0));
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant("schedule" as const), id, offset }),
    fc.record({ kind: fc.constant("cancel" as const), id }),
    fc.record({
      kind: fc.constant("pass" as const),
      step: fc.oneof(
        fc.integer({ min: -20, max: 0 }),
        span(100),
        span(100_000),
        span(2 ** 40),
        span(2 ** 46),
      ),
    }),
  );
  return fc.array(step, { maxLength: 80, size: "max" });
}

const starts = fc.constantFrom(0, T0, 2 ** 42 - 3000, 3 * 2 ** 42 - 10, -5000);
const ticks = fc.constantFrom(1, 1, 7, 10, 1000);

/** The reference: pending timers in a Map, sorted when time passes. */
class TimerModel {
  readonly timers = new Map<string, { dueAt: number; order: number }>();
  #order = 0;
  readonly #tickMs: number;

  constructor(tickMs: number) {
    this.#tickMs = tickMs;
  }

  schedule(id: string, dueAt: number): void {
    this.timers.set(id, { dueAt, order: this.#order++ });
  }

  /**
   * Removes and returns the timers due by `now`, in due order, ties in scheduling order; as the
   * wheel does, a timer is due once time reaches its due time rounded up to the tick.
   */
  fire(now: number): Fired[] {
    const reached = Math.floor(now / this.#tickMs);
    const due = [...this.timers]
      .filter(([, timer]) => Math.ceil(timer.dueAt / this.#tickMs) <= reached)
      .sort(([, a], [, b]) => a.dueAt - b.dueAt || a.order - b.order)
      .map(([id, timer]): Fired => [id, timer.dueAt]);
    for (const [id] of due) this.timers.delete(id);
    return due;
  }
}

Deno.test("the wheel fires what a sorted map fires, at the same advances, in the same order", () => {
  fc.assert(
    fc.property(starts, ticks, scripts(Infinity), (start, tickMs, steps) => {
      const { wheel, fired } = manualWheel(start, { tickMs });
      const model = new TimerModel(tickMs);
      let now = start;
      for (const step of steps) {
        if (step.kind === "schedule") {
          wheel.schedule(step.id, now + step.offset);
          model.schedule(step.id, now + step.offset);
        } else if (step.kind === "cancel") {
          assertEquals(wheel.cancel(step.id), model.timers.delete(step.id));
        } else {
          // An advance may go back in time; the wheel's time does not.
          const target = now + step.step;
          now = Math.max(now, target);
          const expected = model.fire(now);
          assertEquals(wheel.advance(target), expected.length);
          assertEquals(drain(fired), expected);
        }
        assertEquals(wheel.size, model.timers.size);
      }
      for (const id of IDS) assertEquals(wheel.dueAt(id), model.timers.get(id)?.dueAt ?? null);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("a started wheel woken only by its one timer fires what a sorted map fires", () => {
  // Two years at most: beyond that each capped wake (24.8 days) is one more step to run.
  fc.assert(
    fc.property(starts, ticks, scripts(2 ** 36), (start, tickMs, steps) => {
      const { wheel, timers, fired } = manualWheel(start, { tickMs });
      const model = new TimerModel(tickMs);
      wheel.start();
      for (const step of steps) {
        if (step.kind === "schedule") {
          wheel.schedule(step.id, timers.now + step.offset);
          model.schedule(step.id, timers.now + step.offset);
        } else if (step.kind === "cancel") {
          assertEquals(wheel.cancel(step.id), model.timers.delete(step.id));
        } else {
          const until = timers.now + Math.max(step.step, 0);
          runTimers(timers, until);
          timers.now = until;
          assertEquals(drain(fired), model.fire(until));
        }
      }
      // Whatever is left fires too, and then the wheel rests with nothing armed.
      runTimers(timers, Infinity);
      assertEquals(drain(fired), model.fire(timers.now));
      assertEquals([model.timers.size, timers.armedAt()], [0, null]);
      assertEquals(timers.mostArmed <= 1, true);
      wheel.stop();
    }),
    { numRuns: 500 },
  );
});
