/**
 * Forward-only migrations: `migrations/NNN_name.sql`, applied in order, each in its own
 * transaction, recorded in `schema_migrations`. An advisory lock lets several processes start
 * on one database at once: the first applies, the others find the work done.
 */
import type { SqlClient } from "./sql_client.ts";

/** The repository's migrations folder. */
export const MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);

const MIGRATION_FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
const MIGRATION_LOCK = 7_243_001;

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The migration files. A local copy reads its folder; a copy imported over HTTP (the published
 * package) has no folder to list, so it fetches these names. migrate_test checks they are the
 * folder's files.
 */
export const MIGRATION_FILES: readonly string[] = [
  "001_event_log.sql",
  "002_task_counts.sql",
  "003_runtime.sql",
  "004_feed_tokens.sql",
  "005_feed_token_expiry.sql",
];

/** Reads the migration files of `dir` (a folder, or an http(s) URL) in version order. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const local = dir.protocol === "file:";
  const names = local
    ? (await Array.fromAsync(Deno.readDir(dir))).filter((entry) => entry.isFile)
      .map((entry) => entry.name)
    : MIGRATION_FILES;
  const migrations: Migration[] = [];
  for (const name of names) {
    const match = MIGRATION_FILE.exec(name);
    if (match === null) continue;
    const url = new URL(name, dir);
    migrations.push({
      version: Number(match[1]),
      name: match[2],
      sql: local ? await Deno.readTextFile(url) : await fetchText(url),
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version) {
      throw new Error(`Two migrations have version ${migrations[i].version}`);
    }
  }
  return migrations;
}

async function fetchText(url: URL): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Cannot read the migration ${url.href}: HTTP ${response.status}`);
  }
  return await response.text();
}

/** Applies the migrations not yet applied; returns the versions it applied. */
export async function migrate(client: SqlClient, migrations: Migration[]): Promise<number[]> {
  await client.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.script(
      `create table if not exists schema_migrations (
         version integer primary key,
         name text not null,
         applied_at timestamptz not null default now()
       )`,
    );
  });
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await client.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      const rows = await tx.query(`select 1 from schema_migrations where version = $1`, [
        migration.version,
      ]);
      if (rows.length > 0) return false;
      await tx.script(migration.sql);
      await tx.query(`insert into schema_migrations (version, name) values ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/** Fails unless every migration is applied: for readers that must not change the database. */
export async function assertMigrated(client: SqlClient, migrations: Migration[]): Promise<void> {
  const expected = migrations.at(-1)?.version ?? 0;
  const tables = await client.query(
    `select 1 from information_schema.tables where table_name = 'schema_migrations'`,
  );
  if (tables.length === 0) {
    throw new Error("the database holds no Chronolog event log (no schema_migrations table)");
  }
  const [row] = await client.query(
    `select coalesce(max(version), 0) as version from schema_migrations`,
  );
  const applied = Number(row.version);
  if (applied !== expected) {
    throw new Error(
      `the database schema is at migration ${applied}, this Chronolog expects ${expected}`,
    );
  }
}
