import { z } from "zod";
import { type DomainError, isDomainError } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import type { Caller } from "./auth.ts";
import { DOMAIN_ERROR_MAPPINGS } from "./errors.ts";
import { jsonShapeProblem } from "./wire.ts";

/** The body is not valid JSON. */
export const PARSE_ERROR = -32700;
/** The JSON is not a valid request object. */
export const INVALID_REQUEST = -32600;
/** No method has that name. */
export const METHOD_NOT_FOUND = -32601;
/** The params do not match the method's schema, or a domain rule rejected them. */
export const INVALID_PARAMS = -32602;
/** Something failed that the caller cannot fix; details are in the server log only. */
export const INTERNAL_ERROR = -32603;

/** The most calls one batch may hold; more would let one request monopolise the service. */
export const MAX_BATCH_SIZE = 100;

/** The OpenRPC version of the document `rpc.discover` returns. */
export const OPENRPC_VERSION = "1.3.2";

/** A request id: the reply carries the same one. */
export type JsonRpcId = string | number | null;

/** The error member of a failed response. */
export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** A reply to a call that succeeded. */
export interface JsonRpcSuccess {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result: unknown;
}

/** A reply to a call that failed. */
export interface JsonRpcFailure {
  jsonrpc: "2.0";
  id: JsonRpcId;
  error: JsonRpcError;
}

/** A reply to one call. */
export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;

/** What one POST gets back: a response, a batch of them, or null when only notifications came. */
export type JsonRpcReply = JsonRpcResponse | JsonRpcResponse[] | null;

/** What a handler knows about the call besides its params. */
export interface RpcContext {
  /** When the request arrived, epoch milliseconds: the "now" of every call in it. */
  readonly receivedAt: number;
  /** Who is calling (auth.ts); every task the call names has passed the registry's check. */
  readonly caller: Caller;
  /** The id of the call being answered (null for notifications): kept in the audit log. */
  readonly callId?: JsonRpcId;
  /** The origin the request was sent to ("http://host:port"), for links in answers. */
  readonly origin?: string;
}

/** The params schema of a method: a strict zod object, so unknown fields are rejected. */
export type ParamsSchema = z.ZodObject;

/** One JSON-RPC method: its schemas validate every call and generate its OpenRPC description. */
export interface RpcMethod<P extends ParamsSchema = ParamsSchema, R extends z.ZodType = z.ZodType> {
  /** The method name, e.g. `schedules.preview`. */
  readonly name: string;
  /** One line for the OpenRPC document. */
  readonly summary: string;
  /** Called by name only; `z.strictObject`, as `register` checks. */
  readonly params: P;
  /** What the handler returns; the reply is parsed through it, so it is also an allow-list. */
  readonly result: R;
  /** Only admins may call it (e.g. pausing the scheduler of every user). */
  readonly adminOnly?: boolean;
  /** Runs the call; a DomainError, returned or thrown, becomes a JSON-RPC error. */
  handler(
    params: z.output<P>,
    ctx: RpcContext,
  ): Promise<z.input<R> | DomainError> | z.input<R> | DomainError;
}

/** Options of a MethodRegistry. */
export interface MethodRegistryOptions {
  /** The service version, for the OpenRPC document. */
  version: string;
  /** Where handler failures are logged; the caller only sees "Internal error". */
  logger: Logger;
  /** The access check run on valid params before every handler; an error refuses the call. */
  authorize?: Authorize;
}

/** An access check: null lets the call through. */
export type Authorize = (
  method: RpcMethod,
  params: Record<string, unknown>,
  caller: Caller,
) => Promise<DomainError | null> | DomainError | null;

/** What one call came to: its result, or the JSON-RPC error. */
export type CallOutcome = { result: unknown } | { error: JsonRpcError };

const JsonSchema = z.record(z.string(), z.unknown());

const OpenRpcDocumentSchema = z.object({
  openrpc: z.literal(OPENRPC_VERSION),
  info: z.object({ title: z.string(), version: z.string() }),
  methods: z.array(z.object({
    name: z.string(),
    summary: z.string(),
    paramStructure: z.literal("by-name"),
    params: z.array(z.object({ name: z.string(), required: z.boolean(), schema: JsonSchema })),
    result: z.object({ name: z.literal("result"), schema: JsonSchema }),
  })),
});

/** The OpenRPC document `rpc.discover` returns. */
export type OpenRpcDocument = z.output<typeof OpenRpcDocumentSchema>;

type OpenRpcMethod = OpenRpcDocument["methods"][number];

interface Call {
  id: JsonRpcId;
  isNotification: boolean;
  method: string;
  params: unknown;
}

const requestId = z.union([z.string(), z.number(), z.null()], {
  error: "id must be a string, a number or null",
});

const RequestEnvelope = z.object({
  jsonrpc: z.literal("2.0", { error: 'jsonrpc must be "2.0"' }),
  method: z.string({ error: "method must be a string" }),
  id: requestId.optional(),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], {
    error: "params must be an object or an array",
  }).optional(),
});

/** The methods a service answers, and the JSON-RPC 2.0 protocol around them. */
export class MethodRegistry {
  readonly #methods = new Map<string, RpcMethod>();
  readonly #version: string;
  readonly #logger: Logger;
  readonly #authorize: Authorize | undefined;

  constructor(options: MethodRegistryOptions) {
    this.#version = options.version;
    this.#logger = options.logger;
    this.#authorize = options.authorize;
    this.#add({
      name: "rpc.discover",
      summary: "Describes every method of this service as an OpenRPC document",
      params: z.strictObject({}),
      result: OpenRpcDocumentSchema,
      handler: () => this.describe(),
    });
  }

  /** Adds a method; throws when the name is taken or reserved, or the params are not strict. */
  register<P extends ParamsSchema, R extends z.ZodType>(method: RpcMethod<P, R>): void {
    // JSON-RPC 2.0 §4 reserves the "rpc." prefix for the protocol's own extensions.
    if (method.name.startsWith("rpc.")) {
      throw new Error(`Method name ${method.name} is reserved: "rpc." is for protocol methods`);
    }
    if (method.params._zod.def.catchall?._zod.def.type !== "never") {
      throw new Error(`Method ${method.name} must take z.strictObject params`);
    }
    this.#add(method);
  }

  /** The registered methods, in registration order. */
  methods(): RpcMethod[] {
    return [...this.#methods.values()];
  }

  /** Answers a raw request body: a single call, a batch, or notifications. */
  async handle(body: string, ctx: RpcContext): Promise<JsonRpcReply> {
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch {
      return failure(null, { code: PARSE_ERROR, message: "Parse error: the body is not JSON" });
    }

    if (!Array.isArray(message)) return await this.#answer(message, ctx);
    if (message.length === 0) {
      return failure(null, { code: INVALID_REQUEST, message: "Invalid request: empty batch" });
    }
    if (message.length > MAX_BATCH_SIZE) {
      return failure(null, {
        code: INVALID_REQUEST,
        message: `Invalid request: a batch holds at most ${MAX_BATCH_SIZE} calls`,
      });
    }
    // One after the other, although JSON-RPC allows any order: a client that batches
    // "create, then trigger" gets what it wrote.
    const responses: JsonRpcResponse[] = [];
    for (const entry of message) {
      const response = await this.#answer(entry, ctx);
      if (response !== null) responses.push(response);
    }
    return responses.length === 0 ? null : responses;
  }

  /** The OpenRPC document of every registered method, generated from their zod schemas. */
  describe(): OpenRpcDocument {
    return {
      openrpc: OPENRPC_VERSION,
      info: { title: "Chronolog", version: this.#version },
      methods: this.methods().map(describeMethod),
    };
  }

  #add<P extends ParamsSchema, R extends z.ZodType>(method: RpcMethod<P, R>): void {
    if (this.#methods.has(method.name)) {
      throw new Error(`Method ${method.name} is already registered`);
    }
    this.#methods.set(method.name, method);
  }

  async #answer(entry: unknown, ctx: RpcContext): Promise<JsonRpcResponse | null> {
    const call = readCall(entry);
    if ("error" in call) return call;
    const outcome = await this.call(call.method, call.params, { ...ctx, callId: call.id });
    // JSON-RPC 2.0 §4.1: a notification is never answered, not even with an error.
    if (call.isNotification) return null;
    return "error" in outcome
      ? failure(call.id, outcome.error)
      : { jsonrpc: "2.0", id: call.id, result: outcome.result };
  }

  /**
   * Calls one method with its params (REST routes come through here too, so a route and its
   * method share validation, access checks and handler).
   */
  async call(name: string, rawParams: unknown, ctx: RpcContext): Promise<CallOutcome> {
    const method = this.#methods.get(name);
    if (method === undefined) {
      return {
        error: {
          code: METHOD_NOT_FOUND,
          message: `Method not found: ${JSON.stringify(name.slice(0, 100))}`,
        },
      };
    }
    if (Array.isArray(rawParams)) {
      return {
        error: {
          code: INVALID_PARAMS,
          message: "Invalid params: pass params by name, as an object",
          data: { code: "invalid_params", field: null, issues: [] },
        },
      };
    }
    let value: unknown;
    try {
      const params = method.params.safeParse(rawParams ?? {});
      if (!params.success) return { error: invalidParams(params.error.issues) };
      const refused = await this.#authorize?.(method, params.data, ctx.caller);
      if (refused) return { error: domainError(refused) };
      value = await method.handler(params.data, ctx);
    } catch (error) {
      if (isDomainError(error)) return { error: domainError(error) };
      this.#logger.error(`JSON-RPC method ${method.name} failed`, { error });
      return { error: internalError() };
    }
    if (isDomainError(value)) return { error: domainError(value) };
    const result = method.result.safeParse(value);
    if (!result.success) {
      this.#logger.error(`JSON-RPC method ${method.name} returned a result off its schema`, {
        issues: result.error.issues,
      });
      return { error: internalError() };
    }
    return { result: result.data ?? null };
  }
}

/** A failed response with the given id. */
export function failure(id: JsonRpcId, error: JsonRpcError): JsonRpcFailure {
  return { jsonrpc: "2.0", id, error };
}

function readCall(entry: unknown): Call | JsonRpcFailure {
  // Checked before any schema: each call of a batch on its own, so one cannot sink the others.
  const shape = jsonShapeProblem(entry);
  if (shape !== null) {
    const id = isRecord(entry) ? requestId.safeParse(entry.id).data ?? null : null;
    return failure(id, { code: INVALID_REQUEST, message: `Invalid request: ${shape}` });
  }
  const request = RequestEnvelope.safeParse(entry);
  if (request.success) {
    const { id, method, params } = request.data;
    return { id: id ?? null, isNotification: id === undefined, method, params };
  }
  // Echo the id when it is itself valid, so a client can tell which call of a batch was bad.
  const id = isRecord(entry) ? requestId.safeParse(entry.id).data ?? null : null;
  const message = isRecord(entry)
    ? request.error.issues[0].message
    : "expected a JSON-RPC 2.0 request object";
  return failure(id, { code: INVALID_REQUEST, message: `Invalid request: ${message}` });
}

function invalidParams(issues: z.core.$ZodIssue[]): JsonRpcError {
  const [first] = issues;
  // An unknown field is reported on its parent object; name the field itself.
  const path = first.code === "unrecognized_keys" ? [...first.path, first.keys[0]] : first.path;
  const field = path.length === 0 ? null : path.map(String).join(".");
  return {
    code: INVALID_PARAMS,
    message: `Invalid params: ${field === null ? "" : `${field}: `}${first.message}`,
    data: { code: "invalid_params", field, issues },
  };
}

function domainError(error: DomainError): JsonRpcError {
  const { rpcCode } = DOMAIN_ERROR_MAPPINGS[error.code];
  const field = error.field === undefined ? {} : { field: error.field };
  const data = rpcCode === INVALID_PARAMS
    ? { code: error.code, field: error.field ?? null, message: error.message }
    : { code: error.code, ...field };
  return { code: rpcCode, message: error.message, data };
}

function internalError(): JsonRpcError {
  return { code: INTERNAL_ERROR, message: "Internal error" };
}

function describeMethod(method: RpcMethod): OpenRpcMethod {
  // The params are described from their input side: a field with a default is optional there.
  const params = toJsonSchema(method.params, "input") as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  const required = new Set(params.required ?? []);
  return {
    name: method.name,
    summary: method.summary,
    paramStructure: "by-name",
    // Each param gets a schema of its own, not its slice of the object's: a recursive field
    // (z.json()) refers to "#/definitions/…", which must travel inside the param's schema.
    params: Object.keys(params.properties ?? {}).map((name) => ({
      name,
      required: required.has(name),
      schema: toJsonSchema(method.params.shape[name], "input"),
    })),
    result: { name: "result", schema: toJsonSchema(method.result, "output") },
  };
}

function toJsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  // OpenRPC 1.3 schemas are JSON Schema draft 7; "$schema" is noise inside the document.
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: "draft-7",
    io,
    unrepresentable: "any",
  });
  return rest;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
