/**
 * The timer wheel (src/runtime/timer_wheel.ts): schedules, cancels and fires per second with a
 * million timers due over the next 30 days, the memory one timer costs (a fresh process with a
 * full GC before and after), and how late 10,000 timers due within one second fire on the real
 * clock and the default runtime timer. Targets on the reference 2-core machine: schedule
 * ≥ 1,000,000/s, a million timers held, p99 lateness ≤ 5 ms.
 */
import { TimerWheel } from "../../src/runtime/timer_wheel.ts";
import { BENCH_NOW, formatNumber, median, percentile, settledMemory } from "./_seed.ts";

const TIMERS = 1_000_000;
const DAY_MS = 86_400_000;
/** How far ahead the million timers are spread, as a scheduler's next runs are. */
const HORIZON_MS = 30 * DAY_MS;
const BURST = 10_000;

/** What the memory-measuring child process reports. */
interface MemoryFigures {
  timers: number;
  rssBytes: number;
  heapBytes: number;
  /** Outside the V8 heap: the typed arrays' buffers. */
  externalBytes: number;
  gc: boolean;
}

if (import.meta.main) {
  console.log(JSON.stringify(await measureMemory(Deno.args[0] === "warm")));
} else {
  const ids = taskIds(TIMERS);
  const dues = spreadDues(TIMERS, BENCH_NOW, HORIZON_MS);
  const cancelOrder = shuffled(ids);
  const rates = { schedule: [] as number[], cancel: [] as number[], fire: [] as number[] };
  const memory = { cold: [] as MemoryFigures[], warm: [] as MemoryFigures[] };
  const lateness = { alone: [] as number[], loaded: [] as number[] };

  globalThis.addEventListener("unload", () => {
    for (const [what, samples] of Object.entries(rates)) {
      if (samples.length === 0) continue;
      console.log(
        `${what}: ${formatNumber(median(samples))} timers/s ` +
          `(${formatNumber(Math.min(...samples))}–${formatNumber(Math.max(...samples))}, ` +
          `median of ${samples.length} runs of ${formatNumber(TIMERS)})`,
      );
    }
    for (const [kind, runs] of Object.entries(memory)) {
      if (runs.length === 0) continue;
      const perTimer = (bytes: (run: MemoryFigures) => number): string =>
        formatNumber(median(runs.map((run) => bytes(run) / run.timers)));
      const gc = runs.every((run) => run.gc) ? "after a full GC" : "without --expose-gc";
      console.log(
        `memory per timer, ${kind} process (${formatNumber(TIMERS)} timers, ids already in ` +
          `memory, ${gc}): RSS ${perTimer((run) => run.rssBytes)} B, V8 heap ` +
          `${perTimer((run) => run.heapBytes)} B + typed arrays ` +
          `${perTimer((run) => run.externalBytes)} B (median of ${runs.length})`,
      );
    }
    for (const [label, samples] of Object.entries(lateness)) {
      if (samples.length === 0) continue;
      const held = label === "loaded" ? `, ${formatNumber(TIMERS)} more timers held` : "";
      console.log(
        `lateness, ${formatNumber(BURST)} timers due within one second${held}: ` +
          `p50 ${formatNumber(percentile(samples, 50), 2)} ms, ` +
          `p99 ${formatNumber(percentile(samples, 99), 2)} ms, ` +
          `max ${formatNumber(percentile(samples, 100), 2)} ms ` +
          `(${formatNumber(samples.length)} timers over ${samples.length / BURST} runs)`,
      );
    }
  });

  Deno.bench(
    `timer wheel: schedule ${formatNumber(TIMERS)} timers due over 30 days`,
    { group: "timer wheel", n: 10, warmup: 2 },
    (b) => {
      const wheel = idleWheel();
      b.start();
      const started = performance.now();
      for (let i = 0; i < TIMERS; i++) wheel.schedule(ids[i], dues[i]);
      rates.schedule.push(TIMERS / ((performance.now() - started) / 1000));
      b.end();
    },
  );

  Deno.bench(
    `timer wheel: cancel ${formatNumber(TIMERS)} timers in random order`,
    { group: "timer wheel", n: 10, warmup: 2 },
    (b) => {
      const wheel = filledWheel(ids, dues);
      b.start();
      const started = performance.now();
      for (let i = 0; i < TIMERS; i++) wheel.cancel(cancelOrder[i]);
      rates.cancel.push(TIMERS / ((performance.now() - started) / 1000));
      b.end();
      if (wheel.size !== 0) throw new Error(`${wheel.size} timers left after cancelling all`);
    },
  );

  Deno.bench(
    `timer wheel: fire ${formatNumber(TIMERS)} timers (one advance over 30 days)`,
    { group: "timer wheel", n: 10, warmup: 2 },
    (b) => {
      const wheel = filledWheel(ids, dues);
      b.start();
      const started = performance.now();
      const fired = wheel.advance(BENCH_NOW + HORIZON_MS);
      rates.fire.push(TIMERS / ((performance.now() - started) / 1000));
      b.end();
      if (fired !== TIMERS) throw new Error(`Fired ${fired} of ${TIMERS} timers`);
    },
  );

  for (const kind of ["cold", "warm"] as const) {
    Deno.bench(
      `timer wheel: memory, ${kind} process holding ${formatNumber(TIMERS)} timers`,
      { group: "timer wheel memory", n: 2, warmup: 0 },
      async () => {
        memory[kind].push(await measureInChild(kind));
      },
    );
  }

  Deno.bench(
    `timer wheel: lateness, ${formatNumber(BURST)} timers due within one second (real clock)`,
    { group: "timer wheel lateness", n: 5, warmup: 0 },
    async () => {
      lateness.alone.push(...await burstLateness(null));
    },
  );

  Deno.bench(
    `timer wheel: lateness, ${formatNumber(BURST)} timers due within one second, ` +
      `${formatNumber(TIMERS)} more held`,
    { group: "timer wheel lateness", n: 5, warmup: 0 },
    async () => {
      lateness.loaded.push(...await burstLateness({ ids, dues }));
    },
  );
}

/**
 * Schedules BURST timers spread over one second starting a second from now, starts the wheel
 * with the real clock and timer, and returns how late (now - dueAt, ms) each fired. With
 * `held`, a million more timers due after the burst sit in the wheel meanwhile.
 */
async function burstLateness(
  held: { ids: string[]; dues: Float64Array } | null,
): Promise<number[]> {
  const samples: number[] = [];
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const wheel = new TimerWheel({
    onDue: (_id, dueAt) => {
      samples.push(Date.now() - dueAt);
      if (samples.length === BURST) resolve();
    },
  });
  if (held !== null) {
    // Shifted past the burst, so only the burst fires during the measurement.
    const shift = Date.now() + 10_000 - BENCH_NOW;
    for (let i = 0; i < held.ids.length; i++) wheel.schedule(held.ids[i], held.dues[i] + shift);
  }
  const start = Date.now() + 1000;
  for (let i = 0; i < BURST; i++) {
    wheel.schedule(`burst-${i}`, start + Math.floor(Math.random() * 1000));
  }
  wheel.start();
  await done;
  wheel.stop();
  if (samples.some((late) => late < 0)) throw new Error("A timer fired before its due time");
  return samples;
}

/** Runs this file as a program with a full GC at hand, and returns what it measured. */
async function measureInChild(kind: "cold" | "warm"): Promise<MemoryFigures> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-env",
      "--v8-flags=--expose-gc",
      `--config=${new URL("../../deno.json", import.meta.url).pathname}`,
      import.meta.url,
      kind,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`The measuring process failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/**
 * A million timers into a wheel, heap and RSS measured around it. A cold process has not held
 * a wheel before, so its RSS also grows by what V8 and the allocator keep once they have grown;
 * a warm one built and dropped a wheel of the same size first, as a running scheduler has.
 */
async function measureMemory(warm: boolean): Promise<MemoryFigures> {
  // The ids exist before the wheel (the actors hold them), so they are not the wheel's cost.
  const ids = taskIds(TIMERS);
  const dues = spreadDues(TIMERS, BENCH_NOW, HORIZON_MS);
  if (warm) filledWheel(ids, dues);
  const before = await settledMemory();
  const wheel = filledWheel(ids, dues);
  const after = await settledMemory();
  if (wheel.size !== TIMERS) throw new Error(`The wheel holds ${wheel.size} timers`);
  return {
    timers: wheel.size,
    rssBytes: after.rss - before.rss,
    heapBytes: after.heapUsed - before.heapUsed,
    externalBytes: after.external - before.external,
    gc: "gc" in globalThis,
  };
}

/** A wheel on a fixed clock, never started: what is timed is the wheel's own work. */
function idleWheel(): TimerWheel {
  return new TimerWheel({ now: () => BENCH_NOW, onDue: () => {} });
}

function filledWheel(ids: string[], dues: Float64Array): TimerWheel {
  const wheel = idleWheel();
  for (let i = 0; i < ids.length; i++) wheel.schedule(ids[i], dues[i]);
  return wheel;
}

/** Ids shaped as the store's (UUIDs), made once. */
function taskIds(count: number): string[] {
  return Array.from({ length: count }, () => crypto.randomUUID());
}

/** Whole ms spread uniformly over [from, from + span), in random order. */
function spreadDues(count: number, from: number, span: number): Float64Array {
  return Float64Array.from({ length: count }, () => from + Math.floor(Math.random() * span));
}

function shuffled<T>(values: T[]): T[] {
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
