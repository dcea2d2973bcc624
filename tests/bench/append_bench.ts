/**
 * Batched append on real PostgreSQL (issue 3). Ten thousand tasks append at once, as their actors
 * do in a firing storm, and group commit packs the appends into transactions of up to 1,000;
 * appendBatch is also timed on its own. Every event comes from `decide` and every snapshot from
 * `evolve`, so the runs rows and snapshots are written as in production. Target: ≥ 20,000
 * events/s.
 */
import { TaskActors } from "../../src/runtime/actors.ts";
import type { TaskState } from "../../src/domain/task.ts";
import { isDomainError } from "../../src/domain/errors.ts";
import type { AppendRequest, AppendResult } from "../../src/store/event_store.ts";
import { openStore } from "../../src/store/mod.ts";
import {
  BENCH_METADATA,
  BENCH_NOW,
  benchDatabase,
  completeCommand,
  createCommand,
  decideAppend,
  formatNumber,
  median,
} from "./_seed.ts";

const CONCURRENT = 10_000;
const BATCH = 1000;

const url = await benchDatabase("append");
if (url !== null) {
  const store = await openStore({ databaseUrl: url });
  const rates = new Map<string, number[]>();
  const record = (name: string, events: number, ms: number) => {
    rates.set(name, [...rates.get(name) ?? [], events / (ms / 1000)]);
  };
  globalThis.addEventListener("unload", () => {
    for (const [name, samples] of rates) {
      console.log(
        `${name}: ${formatNumber(median(samples))} events/s (median of ${samples.length} calls, ` +
          `${formatNumber(Math.min(...samples))}–${formatNumber(Math.max(...samples))})`,
      );
    }
  });

  const created = (count: number): AppendRequest[] =>
    Array.from(
      { length: count },
      (_, i) => decideAppend(null, createCommand(crypto.randomUUID(), i, BENCH_NOW)),
    );
  // Tasks that the CompleteOccurrence benches move one occurrence further on every call.
  const live: TaskState[] = [];
  for (let i = 0; i < CONCURRENT; i += BATCH) {
    const requests = created(BATCH);
    expectAccepted(await store.appendBatch(requests));
    live.push(...requests.map((request) => request.state));
  }
  const completions = (states: TaskState[]): AppendRequest[] =>
    states.map((state) =>
      decideAppend(
        state,
        completeCommand(crypto.randomUUID(), (state.nextRunAt ?? state.updatedAt) + 1500),
      )
    );

  const storm = `append (group commit, ${formatNumber(CONCURRENT)} concurrent CreateTask)`;
  Deno.bench(storm, { n: 5, warmup: 1 }, async (b) => {
    const requests = created(CONCURRENT);
    b.start();
    const started = performance.now();
    const results = await Promise.all(requests.map((request) => store.append(request)));
    const elapsed = performance.now() - started;
    b.end();
    expectAccepted(results);
    record(storm, countEvents(requests), elapsed);
  });

  const runs = `append (group commit, ${formatNumber(CONCURRENT)} concurrent CompleteOccurrence)`;
  Deno.bench(runs, { n: 5, warmup: 1 }, async (b) => {
    const requests = completions(live);
    b.start();
    const started = performance.now();
    const results = await Promise.all(requests.map((request) => store.append(request)));
    const elapsed = performance.now() - started;
    b.end();
    expectAccepted(results);
    requests.forEach((request, i) => live[i] = request.state);
    record(runs, countEvents(requests), elapsed);
  });

  const batch = `appendBatch (${formatNumber(BATCH)} CompleteOccurrence in one call)`;
  let slice = 0;
  Deno.bench(batch, { n: 20, warmup: 2 }, async (b) => {
    const from = (slice++ % (CONCURRENT / BATCH)) * BATCH;
    const requests = completions(live.slice(from, from + BATCH));
    b.start();
    const started = performance.now();
    const results = await store.appendBatch(requests);
    const elapsed = performance.now() - started;
    b.end();
    expectAccepted(results);
    requests.forEach((request, i) => live[from + i] = request.state);
    record(batch, countEvents(requests), elapsed);
  });

  // The whole command path: each actor reads its snapshot, decides, then appends.
  const actors = new TaskActors(store, { clock: () => BENCH_NOW });
  const commands = `TaskActors.execute (${
    formatNumber(CONCURRENT)
  } concurrent CompleteOccurrence commands)`;
  Deno.bench(commands, { n: 5, warmup: 1 }, async (b) => {
    const ids = live.map((state) => state.id);
    b.start();
    const started = performance.now();
    const outcomes = await Promise.all(ids.map((id) =>
      actors.execute(
        id,
        (_, state) =>
          completeCommand(crypto.randomUUID(), (state!.nextRunAt ?? state!.updatedAt) + 1500),
        BENCH_METADATA,
      )
    ));
    const elapsed = performance.now() - started;
    b.end();
    let events = 0;
    outcomes.forEach((outcome, i) => {
      if (isDomainError(outcome)) throw outcome;
      live[i] = outcome.state;
      events += outcome.events.length;
    });
    record(commands, events, elapsed);
  });
}

function countEvents(requests: AppendRequest[]): number {
  return requests.reduce((sum, request) => sum + request.events.length, 0);
}

function expectAccepted(results: AppendResult[]): void {
  const refused = results.find(isDomainError);
  if (refused !== undefined) throw refused;
}
