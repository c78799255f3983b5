import { readdir, readFile } from "node:fs/promises";
import type { SqlClient } from "./sql.ts";

const migrationsDir = new URL("./migrations/", import.meta.url);
/** Any constant shared by every process that migrates this schema: they take turns, never race. */
const migrationLockKey = 72_011;

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** `NNNN_name.sql` files of src/calls/migrations, in version order. */
async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(migrationsDir)).filter((file) => file.endsWith(".sql")).sort();
  return Promise.all(
    files.map(async (file) => {
      const match = /^(\d+)_(.+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file ${file} is not named NNNN_name.sql`);
      return {
        version: Number(match[1]),
        name: match[2] as string,
        sql: await readFile(new URL(file, migrationsDir), "utf8"),
      };
    }),
  );
}

/**
 * Applies the migrations not yet recorded in `schema_migrations`, all or none in one transaction, under an
 * advisory lock so that processes starting together apply each one once. Returns the versions applied.
 */
export async function migrate(db: SqlClient, migrations?: Migration[]): Promise<number[]> {
  const pending = migrations ?? (await loadMigrations());
  return db.transaction(async (session) => {
    await session.query("SELECT pg_advisory_xact_lock($1)", [migrationLockKey]);
    await session.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await session.query<{ version: number }>("SELECT version FROM schema_migrations")).map(
        (row) => row.version,
      ),
    );
    const applied: number[] = [];
    for (const migration of pending) {
      if (done.has(migration.version)) continue;
      await session.exec(migration.sql);
      await session.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
