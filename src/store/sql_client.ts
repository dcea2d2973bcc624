/**
 * The little the event store needs from a PostgreSQL driver. postgres.ts and pglite.ts adapt
 * postgres.js and PGlite to it, so both run the same SQL.
 */

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

/** Runs statements on one connection or inside one transaction. */
export interface SqlRunner {
  /** One statement with `$n` parameters. */
  query<R extends Row = Row>(text: string, params?: unknown[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  script(text: string): Promise<void>;
}

/** One connection kept apart from the pool: its session state (advisory locks) lives with it. */
export interface SqlSession extends SqlRunner {
  release(): Promise<void>;
}

/** A connection (or pool) that can open transactions. */
export interface SqlClient extends SqlRunner {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, options?: { readOnly?: boolean }): Promise<T>;
  /** A dedicated connection until released. */
  reserve(): Promise<SqlSession>;
  close(): Promise<void>;
}

/** The SQLSTATE of a driver error, when it carries one. */
export function sqlState(error: unknown): string | null {
  if (typeof error !== "object" || error === null || !("code" in error)) return null;
  const code = (error as { code: unknown }).code;
  return typeof code === "string" ? code : null;
}

/** SQLSTATE 23505: a unique constraint said no. */
export const UNIQUE_VIOLATION = "23505";
