/**
 * Who is calling, and what they may touch (SPEC §5). A JWT (HS256, CHRONOLOG_JWT_SECRET) names
 * the user in `sub`; `roles: ["admin"]` sees every task. Everyone else sees only the tasks whose
 * `user_id` is theirs: another user's task answers `not_found`, exactly like a missing one, so
 * ids cannot be probed. Without a secret the service serves loopback only (config.ts refuses
 * any other address) and every caller is the operator.
 */
import { errors, jwtVerify } from "jose";
import { DomainError } from "../domain/errors.ts";
import type { TaskService } from "../runtime/tasks.ts";

/** The authenticated caller of a request. */
export interface Caller {
  /** The JWT's `sub`; null for the operator of a service without a JWT secret. */
  readonly user: string | null;
  /** Admins (and the operator) see and touch every task. */
  readonly admin: boolean;
}

/** The caller of a service without a JWT secret: loopback only, so the machine's operator. */
export const OPERATOR: Caller = Object.freeze({ user: null, admin: true });

/** The role that sees every task. */
export const ADMIN_ROLE = "admin";

/** The longest `sub` accepted: it becomes a task's user_id. */
const MAX_SUBJECT = 128;

/** Verifies bearer tokens; with no secret, every request is the operator's. */
export class Authenticator {
  /** Imported once: jose would import a raw secret again on every verification. */
  readonly #key: Promise<CryptoKey> | null;
  /**
   * Tokens verified already, until they expire: a verification costs ≈ 50 µs, a lookup well
   * under one. The key is the whole signed token, so a cached entry proves what jose proved.
   */
  readonly #verified = new Map<string, { caller: Caller; expiresAt: number }>();

  constructor(secret: string | null) {
    this.#key = secret === null ? null : crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
  }

  /** Whether requests must carry a token. */
  get required(): boolean {
    return this.#key !== null;
  }

  /** The caller an `Authorization` header names, or an `unauthorized` error saying why not. */
  async authenticate(authorization: string | undefined | null): Promise<Caller | DomainError> {
    if (this.#key === null) return OPERATOR;
    const token = authorization?.match(/^Bearer +(\S+)\s*$/i)?.[1];
    if (token === undefined) {
      return unauthorized("Send a JWT: Authorization: Bearer <token>");
    }
    const known = this.#verified.get(token);
    if (known !== undefined && Date.now() < known.expiresAt) return known.caller;
    try {
      const { payload } = await jwtVerify(token, await this.#key, { algorithms: ["HS256"] });
      const sub = payload.sub;
      if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_SUBJECT) {
        return unauthorized(`The token's sub must name the user (1 to ${MAX_SUBJECT} characters)`);
      }
      const roles = Array.isArray(payload.roles) ? payload.roles : [];
      const caller = { user: sub, admin: roles.includes(ADMIN_ROLE) };
      this.#remember(token, caller, payload.exp);
      return caller;
    } catch (error) {
      // jose's messages say what failed (expiry, signature) without echoing the token or secret.
      const reason = error instanceof errors.JWTExpired
        ? "The token has expired"
        : error instanceof errors.JOSEError
        ? "The token is not valid (HS256, signed with the service's secret)"
        : "The token could not be read";
      return unauthorized(reason);
    }
  }

  #remember(token: string, caller: Caller, exp: number | undefined): void {
    if (this.#verified.size >= MAX_VERIFIED) {
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    const expiresAt = exp === undefined ? Date.now() + UNEXPIRING_CACHE_MS : exp * 1000;
    this.#verified.set(token, { caller, expiresAt });
  }
}

/** The most verified tokens kept; the oldest goes first. */
const MAX_VERIFIED = 10_000;
/** How long a token without `exp` stays cached before it is verified again. */
const UNEXPIRING_CACHE_MS = 60_000;

function unauthorized(message: string): DomainError {
  return new DomainError("unauthorized", message);
}

/** The fields of a call's params that name a task the caller must be able to see. */
const TASK_FIELDS = ["task_id", "parent_id"] as const;

/**
 * The access check every JSON-RPC call passes before its handler (MethodRegistry's `authorize`):
 * admin-only methods refuse other callers with `forbidden`; a task named by `task_id`,
 * `parent_id`, a dependency or a run's `run_id` must be the caller's own, else `not_found`.
 * Listing methods filter by the caller themselves (ownerFilter).
 */
export function taskGuard(tasks: TaskService) {
  const owns = async (caller: Caller, taskId: string): Promise<boolean> =>
    (await tasks.owner(taskId))?.userId === caller.user;

  return async (
    method: { name: string; adminOnly?: boolean },
    params: Record<string, unknown>,
    caller: Caller,
  ): Promise<DomainError | null> => {
    if (caller.admin) return null;
    if (method.adminOnly === true) {
      return new DomainError("forbidden", `${method.name} is for admins (roles: ["admin"])`);
    }
    for (const field of TASK_FIELDS) {
      const id = params[field];
      if (typeof id === "string" && !await owns(caller, id)) return taskNotFound(id, field);
    }
    const dependencies = params.dependencies;
    if (Array.isArray(dependencies)) {
      for (const [index, dependency] of dependencies.entries()) {
        const id = (dependency as { id?: unknown }).id;
        if (typeof id === "string" && !await owns(caller, id)) {
          return taskNotFound(id, `dependencies.${index}.id`);
        }
      }
    }
    if (typeof params.run_id === "string") {
      const taskId = await tasks.runTask(params.run_id);
      if (taskId === null || !await owns(caller, taskId)) {
        // The same reply as a run that does not exist, so run ids cannot be probed.
        return new DomainError("not_found", "No such run", "run_id");
      }
    }
    return null;
  };
}

function taskNotFound(id: string, field: string): DomainError {
  // The same replies as for a task that does not exist (TaskService), so ids cannot be probed.
  const message = field === "task_id" ? "No such task" : `No task with id "${id}"`;
  return new DomainError("not_found", message, field);
}

/**
 * The user_id a listing is filtered by: what the caller asked, except that a non-admin only
 * ever sees their own tasks (asking for another user's yields nothing). `undefined` marks a
 * listing that can match nothing.
 */
export function ownerFilter(
  caller: Caller,
  requested: string | null | undefined,
): string | null | undefined {
  if (caller.admin) return requested ?? null;
  return requested == null || requested === caller.user ? caller.user : undefined;
}
