/**
 * The http executor's target for tests/e2e/runtime_test.ts: a Hono app in the test process that
 * records every delivery (when it arrived, when it was answered or aborted, its idempotency key)
 * and answers as its route says:
 *
 * - `POST /slow/:name?ms=N` answers 200 at once and sends `{waited: N}` over N ms, unless the
 *   caller goes away first;
 * - `POST /silent/:name?ms=N` says nothing for N ms (or until the target closes), then answers 200;
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
  /** Whether the caller went away before the reply's body ended (seen on `slow` routes). */
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
  /** Aborted by close(): silent replies end so that the server can shut down. */
  readonly #closing = new AbortController();

  constructor() {
    const app = new Hono()
      .post("/slow/:name", async (c) => {
        const delivery = await this.#receive(`slow/${c.req.param("name")}`, c.req.raw);
        const ms = Number(c.req.query("ms") ?? "2500");
        return c.body(this.#trickle(delivery, ms), 200, { "Content-Type": "application/json" });
      })
      .post("/silent/:name", async (c) => {
        const delivery = await this.#receive(`silent/${c.req.param("name")}`, c.req.raw);
        await delay(Number(c.req.query("ms") ?? "5000"), this.#closing.signal);
        this.#end(delivery);
        return c.json({ silent: true });
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

  /** Stops serving; silent requests are answered at once, slow ones finish first. */
  async close(): Promise<void> {
    this.#closing.abort();
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

  /**
   * A reply body that takes `ms`: whitespace every 50 ms, then `{"waited": ms}`. Writing is what
   * notices a caller that went away (a closed socket refuses the next chunk and the server
   * cancels the body): Deno.serve left a request whose peer had closed its end in CLOSE-WAIT
   * without aborting its signal.
   */
  #trickle(delivery: Delivery, ms: number): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    let ticker: ReturnType<typeof setInterval> | undefined;
    let finish: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      clearInterval(ticker);
      clearTimeout(finish);
    };
    return new ReadableStream({
      start: (controller) => {
        ticker = setInterval(() => controller.enqueue(encoder.encode(" ")), 50);
        finish = setTimeout(() => {
          stop();
          controller.enqueue(encoder.encode(JSON.stringify({ waited: ms })));
          controller.close();
          this.#end(delivery);
        }, ms);
      },
      cancel: () => {
        stop();
        delivery.aborted = true;
        this.#end(delivery);
      },
    });
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
