import type { DatabaseChoice } from "./config.ts";
import { migrate } from "./migrate.ts";
import { openPgPool } from "./pg-client.ts";
import { openPglite } from "./pglite-client.ts";
import type { SqlClient } from "./sql.ts";

/** Opens the configured database and brings its schema up to date (unless told someone else does). */
export async function openDatabase(choice: DatabaseChoice): Promise<SqlClient> {
  const db =
    choice.kind === "postgres" ? openPgPool(choice.url, choice.poolSize) : await openPglite(choice.dir);
  try {
    if (choice.kind === "pglite" || choice.migrate) await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return db;
}
