/**
 * The embedded database of a multi-process calls pipeline: PGlite (in `PGLITE_DIR`, or memory) served on
 * `PGLITE_HOST:PGLITE_PORT` (default 127.0.0.1, a free port). Prints `{"ready":{"database_url":...}}`.
 * `PGLITE_TEMPLATE_DIR`: a PGlite data directory copied to `PGLITE_DIR` when that does not exist yet —
 * copying a migrated database takes a fraction of the seconds PGlite's initdb takes.
 */
import { existsSync } from "node:fs";
import { cp } from "node:fs/promises";
import { startPgliteServer } from "./pglite-server.ts";

const port = Number(process.env.PGLITE_PORT ?? "0");
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PGLITE_PORT must be a port number, got "${process.env.PGLITE_PORT}"`);
  process.exit(78);
}
const dir = process.env.PGLITE_DIR || undefined;
const template = process.env.PGLITE_TEMPLATE_DIR || undefined;
if (dir && template && !existsSync(dir)) await cp(template, dir, { recursive: true });
const server = await startPgliteServer({
  dir,
  host: process.env.PGLITE_HOST || "127.0.0.1",
  port,
  maxConnections: 64,
});
process.stdout.write(`${JSON.stringify({ ready: { database_url: server.url, pid: process.pid } })}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
