import type { DatabaseChoice } from "./config.ts";
import { migrate } from "./migrate.ts";
import type { SqlClient } from "./sql.ts";

/**
 * Opens the configured database and brings its schema up to date (unless told someone else does). Only the
 * chosen client is loaded: PGlite's module is large, and node-postgres is of no use beside it.
 */
export async function openDatabase(choice: DatabaseChoice): Promise<SqlClient> {
  const db =
    choice.kind === "postgres"
      ? (await import("./pg-client.ts")).openPgPool(choice.url, choice.poolSize)
      : await (await import("./pglite-client.ts")).openPglite(choice.dir);
  try {
    if (choice.kind === "pglite" || choice.migrate) await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return db;
}
