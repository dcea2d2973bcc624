import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { matchedRoutes } from "hono/route";
import { isDomainError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import type { Scheduler } from "../runtime/firing.ts";
import type { EventStore } from "../store/event_store.ts";
import type { CalendarFeeds } from "../calendar/feeds.ts";
import { registerCalendarMethods } from "./methods/calendar.ts";
import { SCHEDULE_TYPES } from "../domain/schedule/mod.ts";
import { Authenticator, type Caller, taskGuard } from "./auth.ts";
import { DOMAIN_ERROR_MAPPINGS } from "./errors.ts";
import { failure, INTERNAL_ERROR, INVALID_REQUEST, MethodRegistry } from "./jsonrpc.ts";
import type { Metrics } from "./metrics.ts";
import { registerRuntimeMethods } from "./methods/runtime.ts";
import { registerScheduleMethods } from "./methods/schedules.ts";
import { registerTaskMethods, type TaskMethodDeps } from "./methods/tasks.ts";
import {
  BODY_TIMEOUT_MS,
  type BodyLimits,
  isJsonType,
  problem,
  readBody,
  readText,
  refusalReply,
} from "./request.ts";
import { addRestRoutes, type AppEnv } from "./rest.ts";
import { addWebhookRoute, type WebhookOptions } from "./webhook.ts";

/** The largest request body accepted, in bytes (1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The paths that serve JSON-RPC: `/rpc`, and `/tasks` and `/tasks/` for APFlow clients. */
export const RPC_PATHS = ["/rpc", "/tasks", "/tasks/"] as const;

/** How long /health waits for the store before calling it unreachable. */
const HEALTH_TIMEOUT_MS = 2000;

/** The HTTP methods counted by name in metrics; any other is counted as OTHER. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** What the HTTP edge needs from the rest of the service. */
export interface AppDeps {
  /** The service version, reported by /health and rpc.discover. */
  version: string;
  logger: Logger;
  /** The task facade and the settings its methods apply; without it only schedules.* serve. */
  tasks?: TaskMethodDeps;
  /** The scheduler: manual runs, workers, lifecycle. */
  scheduler?: Scheduler;
  /** The webhook route's secrets and limits (served with a scheduler and tasks). */
  webhook?: Omit<WebhookOptions, "scheduler" | "authenticator" | "owns">;
  /** CHRONOLOG_JWT_SECRET: with it every route but /health takes a JWT; without, loopback only. */
  jwtSecret?: string | null;
  /** The store /health checks. */
  store?: Pick<EventStore, "kind" | "ping">;
  /** The process's metrics, served at /metrics and fed with every request. */
  metrics?: Metrics;
  /** How long a client may take to send a body (default BODY_TIMEOUT_MS). */
  bodyTimeoutMs?: number;
  /** The calendar export and the subscription feed (GET /calendar.ics). */
  feeds?: CalendarFeeds;
}

/** The Hono application: every route of the service. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { version, logger, metrics } = deps;
  const authenticator = new Authenticator(deps.jwtSecret ?? null);
  const guard = deps.tasks === undefined ? undefined : taskGuard(deps.tasks.tasks);
  const registry = new MethodRegistry({ version, logger, authorize: guard });
  registerScheduleMethods(registry, deps.tasks?.tasks);
  if (deps.tasks !== undefined) registerTaskMethods(registry, deps.tasks);
  if (deps.tasks !== undefined && deps.scheduler !== undefined) {
    registerRuntimeMethods(registry, { tasks: deps.tasks.tasks, scheduler: deps.scheduler });
  }
  if (deps.feeds !== undefined) registerCalendarMethods(registry, deps.feeds);
  const bodyTimeoutMs = deps.bodyTimeoutMs ?? BODY_TIMEOUT_MS;

  const app = new Hono<AppEnv>({ strict: true });

  if (metrics !== undefined) {
    app.use(async (c, next) => {
      const started = performance.now();
      await next();
      // The last route that is not a wildcard middleware: the one that answered, even when a
      // middleware registered after it matches too (the auth "/*" comes after /health).
      const route = matchedRoutes(c).findLast((each) => !each.path.endsWith("*"))?.path;
      metrics.request(
        route ?? "unmatched",
        KNOWN_METHODS.has(c.req.method) ? c.req.method : "OTHER",
        c.res.status,
        (performance.now() - started) / 1000,
      );
    });
  }

  app.get("/health", async (c) => {
    const store = deps.store === undefined ? null : await ping(deps.store);
    const healthy = store === null || store.reachable;
    return c.json({
      status: healthy ? "ok" : "unavailable",
      version,
      store,
      scheduler: deps.scheduler === undefined ? null : { state: deps.scheduler.status().state },
    }, healthy ? 200 : 503);
  });

  const feeds = deps.feeds;
  if (feeds !== undefined) {
    // Calendar apps cannot send a JWT: the feed's own token (tasks.scheduled.rotate-feed-token)
    // says whose tasks it shows.
    app.get("/calendar.ics", async (c) => {
      const owner = await feeds.owner(c.req.query("token") ?? "");
      // A token issued while the service had no JWT auth (the loopback operator's) shows every
      // task: once auth is on, it no longer stands for anyone.
      if (owner === null || (authenticator.required && owner.userId === null)) {
        return problem(
          c,
          401,
          "unauthorized",
          "Add ?token= with a current feed token (tasks.scheduled.rotate-feed-token)",
          "token",
        );
      }
      const type = c.req.query("schedule_type") ?? null;
      if (type !== null && !(SCHEDULE_TYPES as readonly string[]).includes(type)) {
        return problem(c, 400, "invalid_params", "Unknown schedule type", "schedule_type");
      }
      const feed = await feeds.export({
        userId: owner.admin ? null : owner.userId,
        scheduleType: type as (typeof SCHEDULE_TYPES)[number] | null,
        enabledOnly: true,
        limit: 1000,
        calendarName: "Chronolog",
        baseUrl: feeds.publicUrl ?? new URL(c.req.url).origin,
        now: Date.now(),
      });
      return c.body(feed.content, 200, {
        "Content-Type": "text/calendar; charset=utf-8",
        "Cache-Control": "private, max-age=300",
      });
    });
  }

  // Every route below takes a JWT when the service has a secret (the webhook route has its
  // own chain: JWT, verify hook or HMAC signature; the calendar feed its token).
  app.use(async (c, next) => {
    if (c.req.path.startsWith("/webhook/") || c.req.path === "/calendar.ics") return await next();
    const caller = await authenticator.authenticate(c.req.header("authorization"));
    if (isDomainError(caller)) {
      c.header("WWW-Authenticate", 'Bearer realm="chronolog"');
      const data = { code: "unauthorized" };
      return isRpcPath(c.req.path)
        ? c.json(
          failure(null, {
            code: DOMAIN_ERROR_MAPPINGS.unauthorized.rpcCode,
            message: caller.message,
            data,
          }),
          401,
        )
        : problem(c, 401, "unauthorized", caller.message);
    }
    c.set("caller", caller);
    await next();
  });

  if (metrics !== undefined) {
    app.get("/metrics", async (c) => {
      if (!c.get("caller").admin) {
        return problem(c, 403, "forbidden", 'Metrics are for admins (roles: ["admin"])');
      }
      const { body, contentType } = await metrics.render();
      return c.body(body, 200, { "Content-Type": contentType });
    });
  }

  const limits: BodyLimits = { maxBytes: MAX_BODY_BYTES, timeoutMs: bodyTimeoutMs };

  for (const path of RPC_PATHS) {
    app.post(path, async (c) => {
      const receivedAt = Date.now();
      // A JSON content type makes browsers send a CORS preflight, which this service never
      // grants, so a web page cannot drive the API of a service running on the user's machine.
      if (!isJsonType(c.req.header("content-type"))) {
        return c.json(
          failure(null, {
            code: INVALID_REQUEST,
            message: "Invalid request: Content-Type must be application/json",
          }),
          415,
        );
      }
      const body = await readBody(c, limits);
      if (!(body instanceof Uint8Array)) {
        const { status, message } = refusalReply(body, limits);
        const reason = message[0].toLowerCase() + message.slice(1);
        const error = { code: INVALID_REQUEST, message: `Invalid request: ${reason}` };
        // The rest of the body was not read: the client must not reuse the connection.
        c.header("Connection", "close");
        return c.json(failure(null, error), status);
      }
      const reply = await registry.handle(new TextDecoder().decode(body), {
        receivedAt,
        caller: c.get("caller"),
        origin: new URL(c.req.url).origin,
      });
      return reply === null ? c.body(null, 204) : c.json(reply);
    });
    app.all(path, (c) => {
      c.header("Allow", "POST");
      return notFoundOrNotAllowed(c, 405);
    });
  }

  if (deps.tasks !== undefined && deps.scheduler !== undefined) {
    addRestRoutes(app, {
      registry,
      defaultTimeoutS: deps.tasks.defaultTimeoutS,
      readBody: (c) => readText(c, limits),
    });
  }

  if (deps.scheduler !== undefined && deps.webhook !== undefined && deps.tasks !== undefined) {
    const { tasks } = deps.tasks;
    addWebhookRoute(app, {
      ...deps.webhook,
      scheduler: deps.scheduler,
      authenticator,
      owns: async (caller: Caller, taskId: string) =>
        caller.admin || (await tasks.owner(taskId))?.userId === caller.user,
      bodyTimeoutMs,
    });
  }

  app.notFound((c) => notFoundOrNotAllowed(c, 404));

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    logger.error(`Unhandled error on ${c.req.method} ${c.req.path}`, { error });
    return isRpcPath(c.req.path)
      ? c.json(failure(null, { code: INTERNAL_ERROR, message: "Internal error" }), 500)
      : c.json({ error: { code: "internal", message: "Internal error", field: null } }, 500);
  });

  return app;
}

async function ping(
  store: Pick<EventStore, "kind" | "ping">,
): Promise<{ kind: string; reachable: boolean; latency_ms: number | null }> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
  });
  try {
    const reachable = await Promise.race([store.ping().then(() => true), timedOut]);
    const latency = Math.round((performance.now() - started) * 10) / 10;
    return { kind: store.kind, reachable, latency_ms: reachable ? latency : null };
  } catch {
    return { kind: store.kind, reachable: false, latency_ms: null };
  } finally {
    clearTimeout(timer);
  }
}

function isRpcPath(path: string): boolean {
  return (RPC_PATHS as readonly string[]).includes(path);
}

function notFoundOrNotAllowed(c: Context, status: 404 | 405): Response {
  const error = status === 404
    ? { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` }
    : { code: "method_not_allowed", message: `${c.req.path} accepts POST only` };
  return c.json({ error }, status);
}
