import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "../log.ts";
import { failure, INTERNAL_ERROR, INVALID_REQUEST, MethodRegistry } from "./jsonrpc.ts";
import type { Scheduler } from "../runtime/firing.ts";
import { registerRuntimeMethods } from "./methods/runtime.ts";
import { registerScheduleMethods } from "./methods/schedules.ts";
import { addWebhookRoute, type WebhookOptions } from "./webhook.ts";
import { registerTaskMethods, type TaskMethodDeps } from "./methods/tasks.ts";

/** The largest request body accepted, in bytes (1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The paths that serve JSON-RPC: `/rpc`, and `/tasks` and `/tasks/` for APFlow clients. */
export const RPC_PATHS = ["/rpc", "/tasks", "/tasks/"] as const;

/** What the HTTP edge needs from the rest of the service. */
export interface AppDeps {
  /** The service version, reported by /health and rpc.discover. */
  version: string;
  logger: Logger;
  /** The task facade and the settings its methods apply; without it only schedules.* serve. */
  tasks?: TaskMethodDeps;
  /** The scheduler: manual runs, workers, lifecycle. */
  scheduler?: Scheduler;
  /** The webhook route's secrets and limits (served with a scheduler). */
  webhook?: Omit<WebhookOptions, "scheduler">;
}

/** The Hono application: every route of the service. */
export function createApp(deps: AppDeps): Hono {
  const { version, logger } = deps;
  const registry = new MethodRegistry({ version, logger });
  registerScheduleMethods(registry, deps.tasks?.tasks);
  if (deps.tasks !== undefined) registerTaskMethods(registry, deps.tasks);
  if (deps.tasks !== undefined && deps.scheduler !== undefined) {
    registerRuntimeMethods(registry, { tasks: deps.tasks.tasks, scheduler: deps.scheduler });
  }

  const app = new Hono({ strict: true });

  app.get("/health", (c) => c.json({ status: "ok", version }));

  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) =>
      c.json(
        failure(null, {
          code: INVALID_REQUEST,
          message: `Invalid request: the body exceeds ${MAX_BODY_BYTES} bytes`,
        }),
        413,
      ),
  });
  for (const path of RPC_PATHS) {
    app.post(path, limitBody, async (c) => {
      const receivedAt = Date.now();
      // A JSON content type makes browsers send a CORS preflight, which this service never
      // grants, so a web page cannot drive the API of a service running on the user's machine.
      if (!isJsonContentType(c.req.header("content-type"))) {
        return c.json(
          failure(null, {
            code: INVALID_REQUEST,
            message: "Invalid request: Content-Type must be application/json",
          }),
          415,
        );
      }
      const reply = await registry.handle(await c.req.text(), { receivedAt });
      return reply === null ? c.body(null, 204) : c.json(reply);
    });
    app.all(path, (c) => {
      c.header("Allow", "POST");
      return notFoundOrNotAllowed(c, 405);
    });
  }

  if (deps.scheduler !== undefined && deps.webhook !== undefined) {
    addWebhookRoute(app, { ...deps.webhook, scheduler: deps.scheduler });
  }

  app.notFound((c) => notFoundOrNotAllowed(c, 404));

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    logger.error(`Unhandled error on ${c.req.method} ${c.req.path}`, { error });
    return c.json(failure(null, { code: INTERNAL_ERROR, message: "Internal error" }), 500);
  });

  return app;
}

function notFoundOrNotAllowed(c: Context, status: 404 | 405): Response {
  const error = status === 404
    ? { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` }
    : { code: "method_not_allowed", message: `${c.req.path} accepts POST only` };
  return c.json({ error }, status);
}

function isJsonContentType(header: string | undefined): boolean {
  const mediaType = header?.split(";")[0].trim().toLowerCase();
  return mediaType === "application/json" || mediaType === "application/json-rpc";
}
