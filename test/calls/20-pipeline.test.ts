import { connect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallStore } from "../../src/calls/call-store.ts";
import { CdrWriter } from "../../src/calls/cdr-writer.ts";
import { callsStream, fsEventsStream } from "../../src/calls/jetstream.ts";
import { mintToken } from "../../src/contracts/bearer-token.ts";
import { testJwtSecret, until } from "../helpers/gateway.ts";
import { type CallsStack, startCallsStack, startGatewayProcess } from "./calls-stack.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field in assertions
type Json = any;

let stack: CallsStack;
/** A caller's token for the calls API: the gateway's secret, calls:write and calls:read. */
let authorization: string;
beforeAll(async () => {
  stack = await startCallsStack();
  authorization = `Bearer ${await mintToken(new TextEncoder().encode(testJwtSecret), {
    scopes: ["calls:write", "calls:read"],
  })}`;
}, 60_000);
afterAll(async () => stack?.stop());

async function postCall(body: unknown) {
  const response = await fetch(`${stack.api}/v1/calls`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Json, headers: response.headers };
}

async function getCall(id: string): Promise<Json> {
  return (await fetch(`${stack.api}/v1/calls/${id}`, { headers: { authorization } })).json();
}

const callBody = (holdMs: number, answerDelayMs = 50) => ({
  to: "+14155551234",
  from: "+15105551234",
  options: { variables: { fakeswitch_hold_ms: holdMs, fakeswitch_answer_delay_ms: answerDelayMs } },
});

const cdrCount = async (id: string) =>
  (await stack.db.query<{ n: number }>("SELECT count(*)::int AS n FROM cdrs WHERE call_id = $1", [id]))[0]?.n;

describe("calls pipeline end to end (nats-server JetStream, the double, the gateway, PGlite)", () => {
  it("places a posted call, passes it through every status, and writes one CDR with the held time", async () => {
    const originatesBefore = stack.fs.stats.originates;
    const accepted = await postCall(callBody(2_100, 400));
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get("location")).toBe(`/v1/calls/${accepted.body.id}`);
    expect(accepted.body).toMatchObject({ status: "queued" });
    const id: string = accepted.body.id;

    const seen: string[] = [];
    const final = await until(
      "the call to complete",
      async () => {
        const call = await getCall(id);
        if (seen.at(-1) !== call.status) seen.push(call.status);
        return call.cdr ? call : undefined;
      },
      10_000,
    );
    // Queued may be over before the first look; every later status is held long enough to be seen.
    expect(seen.filter((status) => status !== "queued")).toEqual(["ringing", "in-progress", "completed"]);
    expect(stack.fs.stats.originates - originatesBefore).toBe(1);
    expect(final).toMatchObject({ status: "completed", originate_attempts: 1, failure_reason: null });
    const at = (field: string) => Date.parse(final[field]);
    expect(at("accepted_at")).toBeLessThanOrEqual(at("ringing_at"));
    expect(at("answered_at") - at("ringing_at")).toBeGreaterThanOrEqual(390);
    expect(at("ended_at") - at("answered_at")).toBeGreaterThanOrEqual(2_090);
    expect(final.cdr).toMatchObject({
      billsec: 2,
      hangup_cause: "NORMAL_CLEARING",
      hangup_q850: 16,
      read_codec: "PCMU",
      answered_at: final.answered_at,
      ended_at: final.ended_at,
    });
    expect(final.cdr.duration_sec).toBeGreaterThanOrEqual(2);
    expect(await cdrCount(id)).toBe(1);
  });

  it("refuses bad requests with a clear error", async () => {
    const bad = async (body: string, contentType = "application/json") => {
      const response = await fetch(`${stack.api}/v1/calls`, {
        method: "POST",
        headers: { "content-type": contentType, authorization },
        body,
      });
      return { status: response.status, body: (await response.json()) as Json };
    };
    expect(await bad("{not json")).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
    expect(await bad(JSON.stringify({ to: "+1415" }))).toMatchObject({
      status: 400,
      body: { error: { code: "bad_request", message: expect.stringMatching(/from/) } },
    });
    expect((await bad(JSON.stringify({ to: "1000@evil}", from: "+1510" }))).status).toBe(400);
    expect((await bad(JSON.stringify({ to: "+1415", from: "+1510", extra: 1 }))).status).toBe(400);
    expect(
      (await bad(JSON.stringify({ to: "+1415", from: "+1510", options: { variables: { "a b": "x" } } })))
        .status,
    ).toBe(400);
    expect(await bad(JSON.stringify({ to: "+1415", from: "+1510", pad: "x".repeat(20_000) }))).toMatchObject({
      status: 413,
      body: { error: { code: "payload_too_large" } },
    });
    expect((await bad("to=1", "application/x-www-form-urlencoded")).status).toBe(415);
    const notFound = await fetch(`${stack.api}/v1/calls/6f1c1d7e-0000-4000-8000-000000000000`, {
      headers: { authorization },
    });
    expect(notFound.status).toBe(404);
    const notUuid = await fetch(`${stack.api}/v1/calls/123`, { headers: { authorization } });
    expect(notUuid.status).toBe(400);
  });

  it("refuses at once what the gateway would refuse: a variable it does not allow or cannot encode", async () => {
    for (const variables of [
      { api_on_answer: "x" },
      { "sip_h_X-A": "a'b" },
      { "sip_h_X-A": "${system(id)}" },
    ]) {
      const response = await postCall({ to: "+14155551234", from: "+15105551234", options: { variables } });
      expect(response.status, JSON.stringify(variables)).toBe(400);
    }
  });

  it("dead-letters a call the gateway refuses (its caller policy is narrower than the API's), and fails it", async () => {
    const nc = await connect({ servers: stack.nats.url });
    try {
      const accepted = await postCall({
        to: "+14155551234",
        from: "+15105551234",
        options: { variables: { x_tenant: "1" } },
      });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      const call = await until("the call to fail", async () => {
        const c = await getCall(accepted.body.id);
        return c.status === "failed" ? c : undefined;
      });
      expect(call.failure_reason).toMatch(/^NOT_PLACED: gateway answered 400/);
      const jsm = await nc.jetstreamManager();
      const dead = await jsm.streams.getMessage(callsStream.name, {
        last_by_subj: callsStream.deadLetterSubject,
      });
      expect(dead.json<Json>()).toMatchObject({
        call_id: accepted.body.id,
        reason: expect.stringMatching(/400/),
      });
    } finally {
      await nc.close();
    }
  });

  it("holds while the gateway is killed, retries after it is back, and originates no call twice", async () => {
    const second = await stack.startMore({ CALLS_ROLES: "orchestrator" });
    const originatesBefore = stack.fs.stats.originates;
    const ids: string[] = [];
    const post = async () => ids.push((await postCall(callBody(2_500))).body.id);
    for (let i = 0; i < 10; i++) await post();
    await until("the first calls to ring", async () => (await getCall(ids[9] as string)).ringing_at);

    await stack.gateway.kill();
    for (let i = 0; i < 20; i++) await post(); // accepted while no gateway answers
    await new Promise((resolve) => setTimeout(resolve, 800));
    const retries = () =>
      (stack.pipeline.orchestrator?.counts.retries ?? 0) + (second.orchestrator?.counts.retries ?? 0);
    expect(retries()).toBeGreaterThan(0);
    stack.gateway = await startGatewayProcess({
      eslPort: stack.fs.port,
      natsUrl: stack.nats.url,
      httpPort: stack.gateway.port,
    });
    for (let i = 0; i < 10; i++) await post();

    const store = new CallStore(stack.db);
    // Calls up when the gateway died may hang up while no gateway listens: FreeSWITCH keeps no events for
    // a listener that is gone, so their hangup (and CDR) can be lost. Every call placed later must end.
    const placedLater = ids.slice(10);
    const statuses = async () =>
      (await Promise.all(placedLater.map((id) => store.getCall(id)))).map((c) => c?.status);
    await until(
      "every call placed after the kill to end",
      async () => (await statuses()).every((s) => s === "completed"),
      15_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await statuses())}`);
    });
    // Every call reached FreeSWITCH exactly once: a second originate of a live uuid would count here too.
    expect(stack.fs.stats.originates - originatesBefore).toBe(ids.length);
    for (const id of placedLater) expect(await cdrCount(id)).toBe(1);
    for (const id of ids.slice(0, 10)) expect(await cdrCount(id)).toBeLessThanOrEqual(1);
    await second.stop();
  }, 40_000);

  it("replaying every stored event (a reset consumer: all redelivered) writes no second CDR", async () => {
    const before = (await stack.db.query<{ n: number }>("SELECT count(*)::int AS n FROM cdrs"))[0]?.n ?? 0;
    expect(before).toBeGreaterThan(0);
    const writer = stack.pipeline.cdrWriter as CdrWriter;
    await writer.stop();
    const nc = await connect({ servers: stack.nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      const stored = (await jsm.streams.info(fsEventsStream.name)).state.messages;
      await jsm.consumers.delete(fsEventsStream.name, fsEventsStream.cdrWriterDurable);
      const replay = new CdrWriter(
        nc,
        new CallStore(stack.db),
        { eventsSubject: "fs.events", batchSize: 256, batchDelayMs: 10, ackWaitMs: 30_000, maxDeliver: 5 },
        (await import("pino")).pino({ level: "silent" }),
      );
      await replay.start();
      await until("the replay to finish", () => replay.counts.events >= stored, 15_000);
      await replay.idle();
      await replay.stop();
      expect(replay.counts.cdrsWritten).toBe(0);
      expect(replay.counts.hangupsNotRecorded).toBeGreaterThanOrEqual(before);
      const after = (await stack.db.query<{ n: number }>("SELECT count(*)::int AS n FROM cdrs"))[0]?.n;
      expect(after).toBe(before);
    } finally {
      await nc.close();
    }
  }, 30_000);
});
