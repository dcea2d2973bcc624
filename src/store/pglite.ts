/** The PGlite adapter: PostgreSQL compiled to WebAssembly, embedded, one data directory. */
import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { Row, SqlClient, SqlRunner, SqlSession } from "./sql_client.ts";

/** Opens (creating when absent) the embedded database in `dataDir`; null keeps it in memory. */
export async function openPglite(dataDir: string | null): Promise<SqlClient> {
  let lock: Deno.FsFile | null = null;
  if (dataDir !== null) {
    await Deno.mkdir(dataDir, { recursive: true });
    // PGlite is one connection per folder: a second process opening it would corrupt it.
    lock = await Deno.open(`${dataDir}/chronolog.lock`, { create: true, write: true });
    if (!await lock.tryLock(true)) {
      lock.close();
      throw new Error(
        `the data directory ${dataDir} is in use by another Chronolog process ` +
          "(the embedded store allows one; use DATABASE_URL for several)",
      );
    }
  }
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir ?? undefined);
  } catch (error) {
    lock?.close();
    throw error;
  }
  const runner = (tx: PGlite | Transaction): SqlRunner => ({
    async query<R extends Row>(text: string, params: unknown[] = []): Promise<R[]> {
      return (await tx.query<R>(text, params)).rows;
    },
    async script(text: string): Promise<void> {
      await tx.exec(text);
    },
  });
  return {
    ...runner(db),
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
      // One connection: every transaction already sees one consistent state.
      return await db.transaction((tx) => fn(runner(tx)));
    },
    reserve(): Promise<SqlSession> {
      // The only connection: its session is the process's own.
      return Promise.resolve({ ...runner(db), release: () => Promise.resolve() });
    },
    async close(): Promise<void> {
      try {
        await db.close();
      } finally {
        lock?.close();
      }
    },
  };
}
