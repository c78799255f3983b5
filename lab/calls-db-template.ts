/**
 * Creates the migrated PGlite data directory given as its argument, then exits: `pgliteTemplate()` in
 * lab/plan/calls-pipeline.ts runs it as a child process. PGlite's initdb grows the process to ~900 MB of
 * RSS, which it keeps until it exits; in the lab's own process that stayed for the whole run.
 */
import { migrate } from "../src/calls/migrate.ts";
import { openPglite } from "../src/calls/pglite-client.ts";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: calls-db-template <data directory>");
  process.exit(64);
}
const db = await openPglite(dir);
try {
  await migrate(db);
} finally {
  await db.close();
}
