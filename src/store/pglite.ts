/** The PGlite adapter: PostgreSQL compiled to WebAssembly, embedded, one data directory. */
import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { Row, SqlClient, SqlRunner } from "./sql_client.ts";

/** Opens (creating when absent) the embedded database in `dataDir`; null keeps it in memory. */
export async function openPglite(dataDir: string | null): Promise<SqlClient> {
  if (dataDir !== null) await Deno.mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ?? undefined);
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
    async close(): Promise<void> {
      await db.close();
    },
  };
}
