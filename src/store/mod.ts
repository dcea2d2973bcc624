/** Opens the event log: Postgres when a URL is given, otherwise embedded PGlite in a folder. */
import type { EventStore } from "./event_store.ts";
import { assertMigrated, migrate, readMigrations } from "./migrate.ts";
import { openPglite } from "./pglite.ts";
import { connectPostgres } from "./postgres.ts";
import type { SqlClient } from "./sql_client.ts";
import { SqlEventStore } from "./sql_event_store.ts";

export type * from "./event_store.ts";

/** Where the log lives. */
export interface StoreOptions {
  /** A PostgreSQL URL; when absent, PGlite in `dataDir`. */
  databaseUrl?: string | null;
  /** PGlite's folder; null keeps an embedded database in memory (tests). */
  dataDir?: string | null;
  /** Pool size for Postgres (default 10). */
  maxConnections?: number;
  /** Apply pending migrations (default); false only checks that none is pending (audits). */
  migrate?: boolean;
}

/** Connects, applies pending migrations and returns the store. */
export async function openStore(options: StoreOptions): Promise<EventStore> {
  const kind = options.databaseUrl ? "postgres" : "pglite";
  const client: SqlClient = options.databaseUrl
    ? connectPostgres(options.databaseUrl, { max: options.maxConnections })
    : await openPglite(options.dataDir ?? null);
  try {
    const migrations = await readMigrations();
    if (options.migrate === false) await assertMigrated(client, migrations);
    else await migrate(client, migrations);
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  return new SqlEventStore(client, kind);
}
