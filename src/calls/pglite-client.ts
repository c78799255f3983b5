import { PGlite } from "@electric-sql/pglite";
import type { SqlClient, SqlQueryable } from "./sql.ts";

/** PGlite: real PostgreSQL compiled to WASM, in this process; `dataDir` undefined keeps it in memory. */
export async function openPglite(dataDir: string | undefined): Promise<SqlClient & { pglite: PGlite }> {
  const pglite = await PGlite.create(dataDir);
  return wrapPglite(pglite);
}

function wrapPglite(pglite: PGlite): SqlClient & { pglite: PGlite } {
  const session = (db: Pick<PGlite, "query" | "exec">): SqlQueryable => ({
    async query<Row extends object>(text: string, params?: readonly unknown[]) {
      return (await db.query<Row>(text, params as unknown[] | undefined)).rows;
    },
    async exec(text: string) {
      await db.exec(text);
    },
  });
  return {
    pglite,
    ...session(pglite),
    transaction: (work) => pglite.transaction((tx) => work(session(tx))),
    close: () => pglite.close(),
  };
}
