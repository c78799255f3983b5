import { readFileSync } from "node:fs";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { Lab } from "../../lab/run/lab.ts";
import { until } from "../helpers/gateway.ts";
import { findPostgresBin, postgresMissing, startPostgres } from "../helpers/postgres.ts";
import { downAndCheckNothingLeft, scratchDir } from "./lab-helpers.ts";

const postgresBin = findPostgresBin();
if (!postgresBin) console.warn(`the lab on a PostgreSQL server SKIPPED: ${postgresMissing}`);
const scratch = scratchDir();
afterAll(() => scratch.remove());

describe("single with DATABASE_URL: the calls pipeline on a PostgreSQL server instead of PGlite", () => {
  it.skipIf(!postgresBin)(
    "keeps the calls in that server, runs no calls-db, and shows its URL nowhere with its password",
    async () => {
      const server = await startPostgres(postgresBin as string);
      // The server trusts loopback; the password is there to be kept out of sight.
      const password = "pw-d7Hq2-never-shown";
      const databaseUrl = server.url.replace("postgres@", `postgres:${password}@`);
      const lab = await Lab.up({
        callsDatabaseUrl: databaseUrl,
        stateFile: scratch.stateFile,
        resultsDir: scratch.resultsDir,
      });
      try {
        const status = await lab.status();
        expect(status.components.map((c) => c.name)).not.toContain("calls-db");
        expect(
          status.components.filter((c) => c.name.startsWith("calls-")).every((c) => c.health === "ok"),
        ).toBe(true);
        expect(status.calls?.database).toBe(server.url);
        for (const component of lab.state.components) {
          const pid = component.process?.pid;
          if (!pid) continue;
          expect(readFileSync(`/proc/${pid}/cmdline`, "utf8"), component.name).not.toContain(password);
        }
        expect(JSON.stringify({ ...lab.state, secrets: undefined })).not.toContain(password);

        const calls = lab.calls();
        if (!calls) throw new Error("single runs the calls pipeline");
        const authorization = `Bearer ${await lab.token(["calls:write"])}`;
        const posted = await fetch(`${calls.apiUrl}/v1/calls`, {
          method: "POST",
          headers: { authorization, "content-type": "application/json" },
          body: JSON.stringify({ to: "+14155550100", from: "+15105550100" }),
        });
        const { id } = (await posted.json()) as { id: string };
        const db = new pg.Client({ connectionString: server.url });
        await db.connect();
        try {
          const cdrs = await until("the call's CDR in the server", async () => {
            const { rows } = await db.query("SELECT hangup_cause FROM cdrs WHERE call_id = $1", [id]);
            return rows.length > 0 ? rows : undefined;
          });
          expect(cdrs).toEqual([{ hangup_cause: "NORMAL_CLEARING" }]);
          const { rows } = await db.query("SELECT max(version)::int AS version FROM schema_migrations");
          expect(rows).toEqual([{ version: 1 }]); // migrated by the pipeline's processes, once
        } finally {
          await db.end();
        }
        await downAndCheckNothingLeft(lab);
      } finally {
        await lab.down();
        server.stop();
      }
    },
    60_000,
  );
});
