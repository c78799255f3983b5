import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { foldEffects } from "../../src/calls/call-events.ts";
import { CallStore, type Hangup } from "../../src/calls/call-store.ts";
import { migrate } from "../../src/calls/migrate.ts";
import { openPgPool } from "../../src/calls/pg-client.ts";
import { openPglite } from "../../src/calls/pglite-client.ts";
import type { SqlClient } from "../../src/calls/sql.ts";
import { findPostgresBin, postgresMissing, startPostgres } from "../helpers/postgres.ts";

const postgresBin = findPostgresBin();
if (!postgresBin) console.warn(`call store tests on a PostgreSQL server SKIPPED: ${postgresMissing}`);

const hangup = (overrides: Partial<Hangup> = {}): Hangup => ({
  at: new Date("2026-01-01T00:00:10.000Z"),
  durationSec: 10,
  billsec: 7,
  hangupCause: "NORMAL_CLEARING",
  hangupQ850: 16,
  readCodec: "PCMU",
  writeCodec: "PCMU",
  sourceHost: "fs-01",
  coreUuid: "core-1",
  ...overrides,
});

interface Backend {
  name: string;
  /** Why this backend's tests are skipped, when they are. */
  skip: string | undefined;
  open(): Promise<{ db: SqlClient; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "PGlite (in-process)",
    skip: undefined,
    async open() {
      const db = await openPglite(undefined);
      return { db, close: () => db.close() };
    },
  },
  {
    name: "a PostgreSQL server",
    skip: postgresBin ? undefined : postgresMissing,
    async open() {
      const server = await startPostgres(postgresBin as string);
      const db = openPgPool(server.url, 8);
      return {
        db,
        async close() {
          await db.close();
          server.stop();
        },
      };
    },
  },
];

describe.each(backends)("call store on $name", (backend) => {
  let db: SqlClient;
  let store: CallStore;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (backend.skip) return;
    ({ db, close } = await backend.open());
    expect(await migrate(db)).toEqual([1]);
    store = new CallStore(db);
  });
  afterAll(async () => close?.());

  const newCall = async (acceptedAt = new Date("2026-01-01T00:00:00.000Z")) => {
    const id = randomUUID();
    await store.insertCall({
      id,
      to: "+14155551234",
      from: "+15105551234",
      options: { timeout_sec: 30, variables: { a: "b", n: 1 } },
      acceptedAt,
    });
    return id;
  };
  const t = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));
  /** One channel event written alone (a batch of one). */
  const progress = (callId: string, status: "ringing" | "in-progress", at: Date) =>
    store.recordProgress(foldEffects([{ kind: "progress", callId, status, at }]).progress);
  /** Whether this hangup wrote the call's CDR. */
  const hangUp = async (callId: string, h: Hangup) =>
    (await store.recordHangups([{ callId, hangup: h }])).length === 1;

  it.skipIf(backend.skip)("applies each migration once, however often it is asked", async () => {
    expect(await migrate(db)).toEqual([]);
    const rows = await db.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    expect(rows.map((r) => r.version)).toEqual([1]);
  });

  it.skipIf(backend.skip)("stores a call and reads it back with its options and times", async () => {
    const id = await newCall();
    const call = await store.getCall(id);
    expect(call).toMatchObject({
      id,
      to: "+14155551234",
      from: "+15105551234",
      options: { timeout_sec: 30, variables: { a: "b", n: 1 } },
      status: "queued",
      originateAttempts: 0,
      ringingAt: null,
    });
    expect(call?.acceptedAt.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(await store.getCall(randomUUID())).toBeUndefined();
  });

  it.skipIf(backend.skip)("claims a call for originating only while it is queued", async () => {
    const id = await newCall();
    expect(await store.claimForOriginate(id)).toBe(1);
    expect(await store.claimForOriginate(id)).toBe(2);
    await progress(id, "ringing", t(1));
    expect(await store.claimForOriginate(id)).toBeUndefined();
  });

  it.skipIf(backend.skip)("moves status forward only, keeping the earliest time of each step", async () => {
    const id = await newCall();
    await progress(id, "in-progress", t(3)); // the answer applied before the ringing
    await progress(id, "ringing", t(2));
    await progress(id, "ringing", t(1));
    const call = await store.getCall(id);
    expect(call?.status).toBe("in-progress");
    expect(call?.ringingAt).toEqual(t(1));
    expect(call?.answeredAt).toEqual(t(3));
  });

  it.skipIf(backend.skip)("writes one CDR per call, however often its hangup is recorded", async () => {
    const id = await newCall();
    await progress(id, "ringing", t(1));
    await progress(id, "in-progress", t(3));
    expect(await hangUp(id, hangup())).toBe(true);
    expect(await hangUp(id, hangup({ billsec: 99 }))).toBe(false);
    const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM cdrs WHERE call_id = $1", [
      id,
    ]);
    expect(rows).toEqual([{ n: 1 }]);
    expect(await store.getCdr(id)).toEqual({
      callId: id,
      billsec: 7,
      durationSec: 10,
      hangupCause: "NORMAL_CLEARING",
      hangupQ850: 16,
      readCodec: "PCMU",
      writeCodec: "PCMU",
      sourceHost: "fs-01",
      coreUuid: "core-1",
      startedAt: t(1),
      answeredAt: t(3),
      endedAt: t(10),
    });
    expect(await store.getCall(id)).toMatchObject({ status: "completed", endedAt: t(10) });
  });

  it.skipIf(backend.skip)(
    "a batch holding calls' whole lives writes what one event at a time would",
    async () => {
      const [a, b] = [await newCall(), await newCall()];
      const batch = foldEffects([
        { kind: "progress", callId: a, status: "ringing", at: t(1) },
        { kind: "progress", callId: b, status: "ringing", at: t(2) },
        { kind: "progress", callId: a, status: "in-progress", at: t(3) },
        { kind: "hangup", callId: a, hangup: hangup() },
        { kind: "hangup", callId: b, hangup: hangup({ billsec: 0, hangupCause: "NO_ANSWER" }) },
        { kind: "hangup", callId: a, hangup: hangup({ billsec: 99 }) },
      ]);
      expect(batch.hangups).toHaveLength(2);
      await store.recordProgress(batch.progress);
      expect((await store.recordHangups(batch.hangups)).sort()).toEqual([a, b].sort());
      expect(await store.getCall(a)).toMatchObject({
        status: "completed",
        ringingAt: t(1),
        answeredAt: t(3),
      });
      expect(await store.getCall(b)).toMatchObject({
        status: "failed",
        failureReason: "NO_ANSWER",
        answeredAt: null,
      });
      expect(await store.getCdr(a)).toMatchObject({ billsec: 7, startedAt: t(1), answeredAt: t(3) });
    },
  );

  it.skipIf(backend.skip)("writers racing on one hangup leave exactly one CDR", async () => {
    const id = await newCall();
    const results = await Promise.all(Array.from({ length: 8 }, () => hangUp(id, hangup())));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it.skipIf(backend.skip)("an unanswered hangup fails the call with its cause", async () => {
    const id = await newCall();
    await progress(id, "ringing", t(1));
    await hangUp(id, hangup({ billsec: 0, hangupCause: "USER_BUSY", hangupQ850: 17 }));
    expect(await store.getCall(id)).toMatchObject({ status: "failed", failureReason: "USER_BUSY" });
  });

  it.skipIf(backend.skip)("fails only a call still queued", async () => {
    const queued = await newCall();
    const ringing = await newCall();
    await progress(ringing, "ringing", t(1));
    expect(await store.failQueued(queued, "DESTINATION_OUT_OF_ORDER", t(2))).toBe(true);
    expect(await store.failQueued(ringing, "DESTINATION_OUT_OF_ORDER", t(2))).toBe(false);
    expect((await store.getCall(ringing))?.status).toBe("ringing");
    expect(await store.getCall(queued)).toMatchObject({
      status: "failed",
      failureReason: "DESTINATION_OUT_OF_ORDER",
    });
  });

  it.skipIf(backend.skip)("reports how given calls ended, and how many are still on their way", async () => {
    const completed = await newCall();
    const ringing = await newCall();
    const queued = await newCall();
    await progress(completed, "in-progress", t(3));
    await hangUp(completed, hangup());
    await progress(ringing, "ringing", t(1));
    const unknown = randomUUID();
    const outcomes = await store.outcomesOf([completed, ringing, unknown]);
    expect(outcomes.map((o) => o.id).sort()).toEqual([completed, ringing].sort());
    expect(outcomes.find((o) => o.id === completed)).toMatchObject({
      status: "completed",
      originateAttempts: 0,
      answeredAt: t(3),
      endedAt: hangup().at,
      cdr: { endedAt: hangup().at, recordedAt: expect.any(Date) },
    });
    expect(outcomes.find((o) => o.id === ringing)).toMatchObject({ status: "ringing", cdr: null });
    expect(await store.unfinishedAmong([completed, ringing, queued, unknown])).toBe(2);
    expect(await store.outcomesOf([])).toEqual([]);
  });
});
