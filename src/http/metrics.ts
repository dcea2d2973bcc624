/**
 * `GET /metrics` (SPEC §4): the Prometheus text exposition of this process, built with
 * prom-client. Counters the firing pipeline reports as it goes (FiringObserver), gauges read at
 * scrape time from the actors, the store and the scheduler, and every HTTP request counted by
 * route pattern (never the raw path, so ids cannot blow up the label set).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RunTrigger } from "../domain/task.ts";
import type { FiringObserver, Scheduler } from "../runtime/firing.ts";

/** What the scrape-time gauges read. */
export interface MetricSources {
  /** Live tasks in memory, and how many are due now but not yet fired. */
  actors?: { readonly size: number; countDue(now: number): number };
  /** Events appended by this process. */
  store?: { readonly appendedEvents: number };
}

/** Buckets of the fire lateness histogram, in seconds: 1 ms to a minute. */
const LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets of the HTTP request duration histogram, in seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
const SCHEDULER_STATES = ["stopped", "running", "paused", "stopping"] as const;

/** The metrics of one process. */
export class Metrics {
  readonly registry = new Registry();
  /** Hand this to the Scheduler (`observer`). */
  readonly firing: FiringObserver;
  readonly #requests: Counter<"route" | "method" | "status">;
  readonly #durations: Histogram<"route">;
  #scheduler: Scheduler | null = null;

  constructor(sources: MetricSources = {}) {
    const scheduler = () => this.#scheduler?.status();
    const registers = [this.registry];
    const due = new Counter({
      name: "chronolog_schedules_due_total",
      help: "Occurrences that came due and were decided (fired, skipped, caught up) here",
      registers,
    });
    const emitted = new Counter({
      name: "chronolog_runs_emitted_total",
      help: "Runs started, by trigger (schedule, catchup, webhook, manual)",
      labelNames: ["trigger"] as const,
      registers,
    });
    const skipped = new Counter({
      name: "chronolog_runs_skipped_overlap_total",
      help: "Occurrences skipped because the task's previous run was still going",
      registers,
    });
    const failedLaunch = new Counter({
      name: "chronolog_runs_failed_launch_total",
      help: "Due occurrences that could not be recorded, or runs whose executor could not start",
      registers,
    });
    const lateness = new Histogram({
      name: "chronolog_fire_lateness_seconds",
      help: "How long after its (jittered) instant a scheduled run started",
      buckets: LATENESS_BUCKETS,
      registers,
    });
    this.firing = {
      due: () => due.inc(),
      started: (trigger: RunTrigger, latenessMs: number | null) => {
        emitted.inc({ trigger });
        if (latenessMs !== null) lateness.observe(latenessMs / 1000);
      },
      skippedOverlap: () => skipped.inc(),
      failedLaunch: () => failedLaunch.inc(),
    };

    let appendedSeen = 0;
    new Counter({
      name: "chronolog_events_appended_total",
      help: "Events this process appended to the log",
      registers,
      collect() {
        const appended = sources.store?.appendedEvents ?? 0;
        this.inc(appended - appendedSeen);
        appendedSeen = appended;
      },
    });
    new Gauge({
      name: "chronolog_tasks_loaded",
      help: "Live tasks held by this process's actors",
      registers,
      collect() {
        this.set(sources.actors?.size ?? 0);
      },
    });
    new Gauge({
      name: "chronolog_schedules_due",
      help: "Enabled tasks whose fire time has passed and that have not fired yet (the backlog)",
      registers,
      collect() {
        this.set(sources.actors?.countDue(Date.now()) ?? 0);
      },
    });
    new Gauge({
      name: "chronolog_timers_armed",
      help: "Timers in the timer wheel",
      registers,
      collect() {
        this.set(scheduler()?.timersArmed ?? 0);
      },
    });
    new Gauge({
      name: "chronolog_runs_active",
      help: "Runs executing in this process now",
      registers,
      collect() {
        this.set(scheduler()?.active ?? 0);
      },
    });
    new Gauge({
      name: "chronolog_scheduler_state",
      help: "1 for the scheduler's current state",
      labelNames: ["state"] as const,
      registers,
      collect() {
        const state = scheduler()?.state ?? "stopped";
        for (const each of SCHEDULER_STATES) this.set({ state: each }, each === state ? 1 : 0);
      },
    });
    new Gauge({
      name: "chronolog_process_resident_memory_bytes",
      help: "Resident memory of this process",
      registers,
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });

    this.#requests = new Counter({
      name: "chronolog_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status",
      labelNames: ["route", "method", "status"] as const,
      registers,
    });
    this.#durations = new Histogram({
      name: "chronolog_http_request_duration_seconds",
      help: "Time to answer HTTP requests, by route pattern",
      labelNames: ["route"] as const,
      buckets: DURATION_BUCKETS,
      registers,
    });
  }

  /** Reads the scheduler's gauges from now on (it is built after the metrics it reports to). */
  watch(scheduler: Scheduler): void {
    this.#scheduler = scheduler;
  }

  /** Counts one answered request; `route` is the matched pattern, e.g. `/schedules/:id`. */
  request(route: string, method: string, status: number, seconds: number): void {
    this.#requests.inc({ route, method, status: String(status) });
    this.#durations.observe({ route }, seconds);
  }

  /** The exposition text, and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
