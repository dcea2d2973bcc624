/**
 * Chronolog in a Hono (or any fetch-handler) app: the scheduler starts when the server starts
 * listening and stops, letting runs finish, when the process is asked to stop.
 */
import { describeError } from "../log.ts";
import type { ChronologScheduler } from "./scheduler.ts";

/** serveWithScheduler's options: Deno.serve's, plus how shutdown goes. */
export type ServeWithSchedulerOptions = Deno.ServeTcpOptions & {
  /** The signals that stop the server and the scheduler (default SIGTERM and SIGINT). */
  signals?: readonly Deno.Signal[];
  /** How long runs in flight may finish at shutdown, seconds (default 30). */
  shutdownTimeoutS?: number;
};

/** What serveWithScheduler started. */
export interface ScheduledServer {
  /** Deno's server. */
  server: Deno.HttpServer;
  /** Stops the server, then the scheduler (what the signals do). */
  stop(): Promise<void>;
  /**
   * Settles when the server and the scheduler have both stopped; rejects with the reason when
   * the scheduler could not start (the server is stopped then) or could not stop cleanly.
   */
  stopped: Promise<void>;
}

/**
 * Serves `app` with Deno.serve and runs the scheduler alongside: start() when the server
 * listens, and on SIGTERM/SIGINT the server stops taking requests, the scheduler lets runs finish
 * (up to shutdownTimeoutS) and closes its log.
 */
export function serveWithScheduler(
  scheduler: ChronologScheduler,
  app: { fetch: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response> },
  options: ServeWithSchedulerOptions = {},
): ScheduledServer {
  const { signals = ["SIGTERM", "SIGINT"], shutdownTimeoutS = 30, ...serveOptions } = options;
  let started: Promise<void> = Promise.resolve();
  let failure: unknown = null;
  const server = Deno.serve({
    ...serveOptions,
    onListen(address) {
      // A scheduler that cannot start (its log is unreachable) takes the server down with it.
      started = scheduler.start().catch((error) => {
        failure ??= error;
        console.error(`chronolog: the scheduler did not start: ${describeError(error)}`);
        void stop();
      });
      if (serveOptions.onListen !== undefined) serveOptions.onListen(address);
    },
  }, (request, info) => app.fetch(request, info));
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
      await server.shutdown();
      await started;
      await scheduler.shutdown({ wait: true, timeoutS: shutdownTimeoutS }).catch((error) => {
        failure ??= error;
      });
      if (failure !== null) throw failure;
    })();
    return stopping;
  };
  const onSignal = () => void stop().catch(() => {});
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // Stopped some other way (an abort signal): the scheduler stops with the server.
  const stopped = server.finished.then(stop);
  return { server, stop, stopped };
}

/** The part of Hono's context schedulerMiddleware uses. */
export interface SchedulerContext {
  /** Hono's `c.set`: the middleware sets "scheduler". */
  set(key: "scheduler", value: ChronologScheduler): void;
}

/**
 * Hono middleware that starts the scheduler on the first request (for servers you start
 * yourself) and hands it to handlers as `c.get("scheduler")`
 * (`new Hono<{ Variables: { scheduler: ChronologScheduler } }>()`).
 */
export function schedulerMiddleware(
  scheduler: ChronologScheduler,
): (c: SchedulerContext, next: () => Promise<void>) => Promise<void> {
  let started: Promise<void> | null = null;
  return async (c, next) => {
    // A start that failed is tried again by the next request.
    started ??= scheduler.start().catch((error) => {
      started = null;
      throw error;
    });
    await started;
    c.set("scheduler", scheduler);
    await next();
  };
}
