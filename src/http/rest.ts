/**
 * The REST routes of SPEC §4 for the clients of the seed systems. Each route is a translation:
 * it reads the path, query and body into the params of a JSON-RPC method and calls it through
 * the same MethodRegistry (validation, access checks, handler), then maps the outcome to an
 * HTTP status. No rule of the service is written here.
 *
 * - `POST /schedules` create, or upsert by `schedule_id` (201 created, 200 updated)
 * - `GET /schedules?user_id&status&schedule_type&enabled_only&limit&offset`
 * - `GET|PUT|PATCH|DELETE /schedules/:id` (PUT replaces every setting, PATCH changes some)
 * - `POST /schedules/:id/pause {paused}`, `GET /schedules/:id/runs?limit&before`
 * - `POST /worker/start`, `POST /worker/stop`, `GET /worker/status`
 */
import type { Context, Hono } from "hono";
import type { Caller } from "./auth.ts";
import { DOMAIN_ERROR_MAPPINGS } from "./errors.ts";
import {
  type CallOutcome,
  INVALID_PARAMS,
  type JsonRpcError,
  METHOD_NOT_FOUND,
  type MethodRegistry,
} from "./jsonrpc.ts";
import type { DomainErrorCode } from "../domain/errors.ts";
import { isJsonType, problem } from "./request.ts";
import { jsonShapeProblem } from "./wire.ts";

/** What a route needs from the request pipeline. */
export interface RestOptions {
  registry: MethodRegistry;
  /** Reads a request body within the slow-client limit (app.ts). */
  readBody(c: Context): Promise<string | Response>;
  /** `timeout_s` of a task that does not set one: what PUT resets it to. */
  defaultTimeoutS: number;
}

/** Hono's environment of this app: the caller set by the auth middleware. */
export type AppEnv = { Variables: { caller: Caller } };

/**
 * The settings PUT resets when its body leaves them out (the defaults of tasks.create), so a
 * PUT means the same whatever the schedule held before.
 */
const REPLACE_DEFAULTS = {
  parent_id: null,
  inputs: {},
  executor: { type: "echo" },
  priority: 0,
  dependencies: [],
  overlap_policy: "skip",
  catchup_policy: "latest",
  catchup_window_s: 86_400,
  jitter_ms: 0,
  retry: {},
} as const;

/** The schedule fields PUT resets when a schedule is given without them. */
const SCHEDULE_DEFAULTS = {
  schedule_timezone: "UTC",
  schedule_enabled: true,
  schedule_start_at: null,
  schedule_end_at: null,
  max_runs: null,
  dst_policy: null,
} as const;

/** Adds the REST routes to the app. */
export function addRestRoutes(app: Hono<AppEnv>, options: RestOptions): void {
  const { registry } = options;
  const call = (c: Context<AppEnv>, method: string, params: Record<string, unknown>) =>
    registry.call(method, params, {
      receivedAt: Date.now(),
      caller: c.get("caller"),
      origin: new URL(c.req.url).origin,
    });
  /**
   * Calls a method on the schedule the path names: its id is the method's task_id, which the
   * body or query may not set too; errors about it name the route's `id`.
   */
  const onPath = async (c: Context<AppEnv>, method: string, params: Record<string, unknown>) => {
    if ("task_id" in params) {
      return {
        error: {
          code: INVALID_PARAMS,
          message: "Unknown field: the path names the schedule",
          data: { code: "invalid_params", field: "task_id" },
        },
      } satisfies CallOutcome;
    }
    const outcome = await call(c, method, { ...params, task_id: c.req.param("id") });
    return rename(outcome, "task_id", "id");
  };

  app.post("/schedules", async (c) => {
    const body = await jsonBody(c, options);
    if (body instanceof Response) return body;
    const { schedule_id: scheduleId, ...fields } = body;
    if (scheduleId === null) {
      return problem(
        c,
        400,
        "invalid_params",
        "Expected a string (or leave it out)",
        "schedule_id",
      );
    }
    if (scheduleId !== undefined && fields.id !== undefined) {
      return problem(c, 400, "invalid_params", "Give schedule_id or id, not both", "schedule_id");
    }
    const id = scheduleId ?? fields.id;
    if (id !== undefined) {
      const existing = await call(c, "tasks.get", { task_id: id });
      if ("result" in existing) {
        // An upsert of an existing schedule: user_id is fixed at creation.
        const { id: _, user_id: userId, task_id: taskId, ...changes } = fields;
        // tasks.create refuses task_id as unknown; an upsert must too, or it would change
        // the task it names instead of this schedule.
        if (taskId !== undefined) {
          return problem(c, 400, "invalid_params", "Unknown field (use schedule_id)", "task_id");
        }
        const owner = (existing.result as { user_id: string | null }).user_id;
        if (userId !== undefined && userId !== owner) {
          return problem(c, 409, "conflict", "user_id cannot change", "user_id");
        }
        return reply(c, await call(c, "tasks.update", { task_id: id, ...changes }));
      }
      if (existing.error.data === undefined || errorCode(existing.error) !== "not_found") {
        return reply(
          c,
          rename(existing, "task_id", scheduleId === undefined ? "id" : "schedule_id"),
        );
      }
    }
    const created = await call(c, "tasks.create", id === undefined ? fields : { ...fields, id });
    return reply(c, created, 201);
  });

  app.get("/schedules", async (c) => {
    const query = readQuery(c, ["limit", "offset"], ["enabled_only"]);
    if (query instanceof Response) return query;
    const listed = await call(c, "tasks.scheduled.list", { enabled_only: false, ...query });
    if ("error" in listed) return reply(c, listed);
    const { tasks, ...page } = listed.result as { tasks: unknown[] };
    return c.json({ schedules: tasks, ...page });
  });

  app.get("/schedules/:id", async (c) => {
    return reply(c, await onPath(c, "tasks.get", {}));
  });

  app.patch("/schedules/:id", async (c) => {
    const body = await jsonBody(c, options);
    if (body instanceof Response) return body;
    return reply(c, await onPath(c, "tasks.update", body));
  });

  app.put("/schedules/:id", async (c) => {
    const body = await jsonBody(c, options);
    if (body instanceof Response) return body;
    if (body.name === undefined) {
      return problem(c, 400, "invalid_params", "PUT replaces the schedule: give its name", "name");
    }
    // Else tasks.update would keep the stored expression, and the same PUT would mean something
    // else (or fail) depending on what the schedule held before.
    if (body.schedule_type != null && body.schedule_expression === undefined) {
      return problem(
        c,
        400,
        "invalid_params",
        "PUT replaces the schedule: give its schedule_expression",
        "schedule_expression",
      );
    }
    const schedule = body.schedule_type == null
      ? { schedule_type: null }
      : { ...SCHEDULE_DEFAULTS, ...body };
    return reply(
      c,
      await onPath(c, "tasks.update", {
        ...REPLACE_DEFAULTS,
        timeout_s: options.defaultTimeoutS,
        ...body,
        ...schedule,
      }),
    );
  });

  app.delete("/schedules/:id", async (c) => {
    return reply(c, await onPath(c, "tasks.delete", {}));
  });

  app.post("/schedules/:id/pause", async (c) => {
    const body = await jsonBody(c, options, true);
    if (body instanceof Response) return body;
    const { paused = true, ...rest } = body;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      return problem(c, 400, "invalid_params", "Unknown field (the body is {paused})", unknown);
    }
    if (typeof paused !== "boolean") {
      return problem(c, 400, "invalid_params", "Expected a boolean", "paused");
    }
    return reply(
      c,
      await onPath(c, "tasks.update", { schedule_enabled: !paused }),
    );
  });

  app.get("/schedules/:id/runs", async (c) => {
    const query = readQuery(c, ["limit"], []);
    if (query instanceof Response) return query;
    return reply(c, await onPath(c, "tasks.runs", query));
  });

  for (const [path, method] of [["start", "scheduler.resume"], ["stop", "scheduler.pause"]]) {
    app.post(`/worker/${path}`, async (c) => {
      const body = await jsonBody(c, options, true);
      if (body instanceof Response) return body;
      return reply(c, await call(c, method, body));
    });
  }
  app.get("/worker/status", async (c) => reply(c, await call(c, "scheduler.status", {})));
}

/** The JSON object body of a request; with `optional`, an empty body reads as `{}`. */
async function jsonBody(
  c: Context,
  options: RestOptions,
  optional = false,
): Promise<Record<string, unknown> | Response> {
  const text = await options.readBody(c);
  if (text instanceof Response) return text;
  if (optional && text.trim() === "") return {};
  if (!isJsonType(c.req.header("content-type"))) {
    return problem(c, 415, "unsupported_media_type", "Content-Type must be application/json");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return problem(c, 400, "invalid_json", "The body is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return problem(c, 400, "invalid_params", "The body must be a JSON object");
  }
  const shape = jsonShapeProblem(body);
  if (shape !== null) return problem(c, 400, "invalid_params", `The body holds ${shape}`);
  return body as Record<string, unknown>;
}

/**
 * The query string as params: `integers` are read as numbers and `booleans` as true/false
 * when they look like them (otherwise the method's schema names the field); a repeated
 * parameter is refused.
 */
function readQuery(
  c: Context,
  integers: string[],
  booleans: string[],
): Record<string, unknown> | Response {
  const params: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (values.length > 1) {
      return problem(c, 400, "invalid_params", "Give this parameter once", name);
    }
    const [value] = values;
    params[name] = integers.includes(name) && /^-?\d{1,15}$/.test(value)
      ? Number(value)
      : booleans.includes(name) && (value === "true" || value === "false")
      ? value === "true"
      : value;
  }
  return params;
}

/** The HTTP reply of a call: its result, or its error with the status its code maps to. */
function reply(c: Context, outcome: CallOutcome, okStatus: 200 | 201 = 200): Response {
  if ("result" in outcome) return c.json(outcome.result as object, okStatus);
  const { error } = outcome;
  const code = errorCode(error);
  const status = code !== null
    ? DOMAIN_ERROR_MAPPINGS[code].httpStatus
    : error.code === INVALID_PARAMS
    ? 400
    : error.code === METHOD_NOT_FOUND
    ? 404
    : 500;
  const data = (error.data ?? {}) as { field?: string | null; issues?: unknown };
  return c.json({
    error: {
      code: code ?? (status === 500 ? "internal" : "invalid_params"),
      message: error.message,
      field: data.field ?? null,
      ...(data.issues === undefined ? {} : { issues: data.issues }),
    },
  }, status);
}

function errorCode(error: JsonRpcError): DomainErrorCode | null {
  const code = (error.data as { code?: string } | undefined)?.code;
  return code !== undefined && code in DOMAIN_ERROR_MAPPINGS ? code as DomainErrorCode : null;
}

/** The outcome with a field renamed in its error (a route's name for a method's param). */
function rename(outcome: CallOutcome, from: string, to: string): CallOutcome {
  if ("result" in outcome) return outcome;
  const data = outcome.error.data as { field?: string | null } | undefined;
  if (data?.field !== from) return outcome;
  return { error: { ...outcome.error, data: { ...data, field: to } } };
}
