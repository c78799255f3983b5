import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUBLISHER_GATES } from "../../scenarios/common.ts";
import { ensureFsEventsStream, fsEventsStream } from "../../src/calls/jetstream.ts";
import { runMetrics } from "../../src/harness/measure/run-metrics.ts";
import {
  publisherSection,
  RUN_EVENTS_STREAM,
  StoredEventCounter,
  type StoredEvents,
} from "../../src/harness/measure/stored-events.ts";
import { SUMMARY_SCHEMA_VERSION } from "../../src/harness/report/summary.ts";
import { evaluateGates, gatesFromThresholds } from "../../src/harness/run/gates.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats.ts";

const jetStreamDir = mkdtempSync(join(tmpdir(), "stored-events-"));
let nats: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer({ jetStreamDir });
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  rmSync(jetStreamDir, { recursive: true, force: true });
});

const CORE = "0c6b2a5e-core";

/** An fs.events v1 message, as the gateway publishes it: on the subject and, per type, on a copy. */
function publishEvent(sequence: number, options: { perTypeCopy?: boolean } = {}): void {
  const payload = JSON.stringify({
    schema_version: 1,
    event_type: "CHANNEL_ANSWER",
    core_uuid: CORE,
    sequence,
    gateway_received_at: Date.now(),
  });
  nc.publish("fs.events", payload);
  if (options.perTypeCopy) nc.publish("fs.events.CHANNEL_ANSWER", payload);
}

/** The events-unstored gate of the scenarios, judged on a run whose gateways counted `published`. */
function unstoredGate(stored: StoredEvents, published: number) {
  const gateways = [{ totals: { eventsPublished: published } }];
  const metrics = runMetrics({
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    runId: "stored-events-test",
    startedAt: new Date().toISOString(),
    endedAt: new Date().toISOString(),
    durationMs: 0,
    config: {},
    publisher: publisherSection(stored, gateways),
  });
  const gates = gatesFromThresholds(PUBLISHER_GATES).filter((g) => g.metric === "events_unstored");
  return evaluateGates(gates, metrics)[0]!;
}

describe("StoredEventCounter against a real nats-server with JetStream", () => {
  it("without a stream on the subject, makes its own for the run, counts distinct events, then removes it", async () => {
    const counter = await StoredEventCounter.start({ servers: [nats.url] });
    expect(counter.stream).toBe(RUN_EVENTS_STREAM);
    publishEvent(1);
    publishEvent(2);
    publishEvent(2); // a batch sent again after a reconnect: stored twice, one event
    publishEvent(3);
    await nc.flush();
    const stored = await counter.stop();
    expect(stored).toEqual({
      subject: "fs.events",
      stream: RUN_EVENTS_STREAM,
      ownStream: true,
      messages: 4,
      events: 3,
    });
    const jsm = await nc.jetstreamManager();
    await expect(jsm.streams.info(RUN_EVENTS_STREAM)).rejects.toThrow(/not found/i);
  });

  it("uses the lab's stream on the subject (FS_EVENTS), only what it stored during the run, not the per-type copies, and keeps it", async () => {
    const jsm = await nc.jetstreamManager();
    await ensureFsEventsStream(jsm, "fs.events");
    publishEvent(10, { perTypeCopy: true }); // before the run
    await nc.flush();
    const counter = await StoredEventCounter.start({ servers: [nats.url] });
    expect(counter.stream).toBe(fsEventsStream.name);
    for (let sequence = 11; sequence <= 15; sequence++) publishEvent(sequence, { perTypeCopy: true });
    await nc.flush();
    expect(await counter.stop()).toMatchObject({
      stream: "FS_EVENTS",
      ownStream: false,
      messages: 5,
      events: 5,
    });
    expect((await jsm.streams.info(fsEventsStream.name)).state.messages).toBe(12);

    // Nothing stored during a run is a count of 0, not a wait.
    const idle = await StoredEventCounter.start({ servers: [nats.url] });
    expect(await idle.stop()).toMatchObject({ messages: 0, events: 0 });
    await jsm.streams.delete(fsEventsStream.name);
  });

  it("fails events_unstored when a gateway counted published an event NATS does not have, and passes otherwise", async () => {
    const counter = await StoredEventCounter.start({ servers: [nats.url] });
    for (let sequence = 20; sequence < 30; sequence++) if (sequence !== 25) publishEvent(sequence);
    await nc.flush();
    const stored = await counter.stop();
    expect(stored.events).toBe(9);

    const missingOne = unstoredGate(stored, 10);
    expect(missingOne).toMatchObject({ metric: "events_unstored", actual: 1, pass: false });
    expect(unstoredGate(stored, 9)).toMatchObject({ actual: 0, pass: true });
    // More stored than counted (a stored event the gateway then dropped) is no loss.
    expect(publisherSection(stored, [{ totals: { eventsPublished: 8 } }]).unstored).toBe(0);
  });
});
