import pg from "pg";
import type { SqlClient, SqlQueryable } from "./sql.ts";

/** A PostgreSQL server through a node-postgres pool. */
export function openPgPool(connectionString: string, maxConnections: number): SqlClient {
  const pool = new pg.Pool({ connectionString, max: maxConnections });
  // An idle client losing its server (a restart) emits here; unhandled it would crash the process.
  pool.on("error", () => {});
  const session = (db: pg.Pool | pg.PoolClient): SqlQueryable => ({
    async query<Row extends object>(text: string, params?: readonly unknown[]) {
      return (await db.query<Row & pg.QueryResultRow>(text, params as unknown[] | undefined)).rows;
    },
    async exec(text: string) {
      await db.query(text);
    },
  });
  return {
    ...session(pool),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work(session(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
