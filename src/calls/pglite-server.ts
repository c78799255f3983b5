import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { migrate } from "./migrate.ts";
import { openPglite } from "./pglite-client.ts";

interface PgliteServer {
  /** `postgres://postgres@host:port/postgres`, for DATABASE_URL of the pipeline's processes. */
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite served over the PostgreSQL wire protocol on loopback, so that the pipeline's processes can share
 * one embedded database: PGlite itself lives in one process only. pglite-socket runs one statement at a time
 * and keeps a transaction's statements together, but it does not isolate the other clients from an open
 * transaction; the call store's writes are single statements, and this process applies the migrations so
 * that its clients run none (CALLS_MIGRATE=false).
 */
export async function startPgliteServer(options: {
  dir?: string;
  host: string;
  port: number;
  maxConnections: number;
}): Promise<PgliteServer> {
  const db = await openPglite(options.dir);
  await migrate(db);
  const server = new PGLiteSocketServer({
    db: db.pglite,
    host: options.host,
    port: options.port,
    maxConnections: options.maxConnections,
  });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
