/**
 * The http executor's target for tests/e2e/runtime_test.ts: a Hono app in the test process that
 * records every delivery (when it arrived, when it was answered or aborted, its idempotency key)
 * and answers as its route says:
 *
 * - `POST /slow/:name?ms=N` answers 200 `{waited: N}` after N ms, unless the caller aborts first;
 * - `POST /flaky/:name?failures=N` answers 500 to its first N deliveries, then 200
 *   `{delivery: k}` (k counts the deliveries to that name);
 * - `POST /fail/:name` always answers 500.
 */
import { Hono } from "hono";

/** One request the target received. */
export interface Delivery {
  /** The route and name, e.g. `slow/skip`. */
  route: string;
  /** The Idempotency-Key header: the run id. */
  runId: string | null;
  /** The X-Chronolog-Scheduled-For header. */
  scheduledFor: string | null;
  /** The attempt in the body. */
  attempt: number | null;
  /** Epoch ms. */
  arrivedAt: number;
  /** Epoch ms of the reply or the abort; null while the request is open. */
  endedAt: number | null;
  /** Whether the caller went away before the reply. */
  aborted: boolean;
}

/** A running target; `new Target()` serves it on a free port of 127.0.0.1. */
export class Target {
  readonly #deliveries: Delivery[] = [];
  /** Requests open now and at most, per route. */
  readonly #open = new Map<string, number>();
  readonly #peak = new Map<string, number>();
  /** Deliveries so far per flaky route. */
  readonly #counts = new Map<string, number>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    const app = new Hono()
      .post("/slow/:name", async (c) => {
        const delivery = await this.#receive(`slow/${c.req.param("name")}`, c.req.raw);
        const ms = Number(c.req.query("ms") ?? "2500");
        delivery.aborted = await aborted(c.req.raw.signal, ms);
        this.#end(delivery);
        return c.json({ waited: ms });
      })
      .post("/flaky/:name", async (c) => {
        const route = `flaky/${c.req.param("name")}`;
        const delivery = await this.#receive(route, c.req.raw);
        const count = (this.#counts.get(route) ?? 0) + 1;
        this.#counts.set(route, count);
        this.#end(delivery);
        return count <= Number(c.req.query("failures") ?? "0")
          ? c.text(`not yet (delivery ${count})`, 500)
          : c.json({ delivery: count });
      })
      .post("/fail/:name", async (c) => {
        this.#end(await this.#receive(`fail/${c.req.param("name")}`, c.req.raw));
        return c.text("always broken", 500);
      });
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  }

  /** The URL of a route on this target, e.g. `url("slow/skip?ms=2500")`. */
  url(route: string): string {
    return `http://127.0.0.1:${this.#server.addr.port}/${route}`;
  }

  /** The deliveries to one route, in arrival order. */
  deliveries(route: string): Delivery[] {
    return this.#deliveries.filter((delivery) => delivery.route === route);
  }

  /** The most requests a route had open at once. */
  peakConcurrency(route: string): number {
    return this.#peak.get(route) ?? 0;
  }

  /** Stops serving; requests still open finish first. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  async #receive(route: string, request: Request): Promise<Delivery> {
    const body = await request.json().catch(() => null) as { attempt?: number } | null;
    const delivery: Delivery = {
      route,
      runId: request.headers.get("Idempotency-Key"),
      scheduledFor: request.headers.get("X-Chronolog-Scheduled-For"),
      attempt: body?.attempt ?? null,
      arrivedAt: Date.now(),
      endedAt: null,
      aborted: false,
    };
    this.#deliveries.push(delivery);
    const open = (this.#open.get(route) ?? 0) + 1;
    this.#open.set(route, open);
    this.#peak.set(route, Math.max(this.#peak.get(route) ?? 0, open));
    return delivery;
  }

  #end(delivery: Delivery): void {
    delivery.endedAt = Date.now();
    this.#open.set(delivery.route, this.#open.get(delivery.route)! - 1);
  }
}

/** Waits `ms`; true when the request's signal aborted first (the caller went away). */
function aborted(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    // The listener is removed before the reply: Deno's legacy signal also aborts on a
    // successful response, and only a client that went away counts here.
    const settle = (wasAborted: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(wasAborted);
    };
    const onAbort = () => settle(true);
    const timer = setTimeout(() => settle(false), ms);
    signal.addEventListener("abort", onAbort);
  });
}
