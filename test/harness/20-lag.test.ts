import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LagMonitor } from "../../src/harness/measure/lag.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats.ts";

let nats: TestNatsServer;
let publisher: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  publisher = await connect({ servers: nats.url });
});

afterAll(async () => {
  await publisher?.close();
  await nats?.stop();
});

const epochNowMs = () => performance.timeOrigin + performance.now();

function publish(event: Record<string, unknown>, subject = "fs.events"): void {
  publisher.publish(subject, JSON.stringify(event));
}

/** Delivery on loopback takes well under this; the known offsets below are far apart from it. */
const TRANSPORT_MARGIN_MS = 100;

describe("LagMonitor against a real nats-server", () => {
  it("measures publish and end-to-end lag from the payload's timestamps", async () => {
    const monitor = await LagMonitor.start({ servers: nats.url });
    // 100 events: the gateway saw event i (i+1)·10 ms ago, FreeSWITCH stamped it twice as long ago.
    for (let i = 0; i < 100; i++) {
      const now = epochNowMs();
      const offset = (i + 1) * 10;
      publish({
        event_type: "CHANNEL_CREATE",
        call_uuid: `call-${i}`,
        gateway_received_at: now - offset,
        fs_timestamp_us: Math.round((now - 2 * offset) * 1000),
      });
    }
    await publisher.flush();
    const result = await monitor.stop();

    expect(result.received).toBe(100);
    expect(result.eventTypes).toEqual({ CHANNEL_CREATE: 100 });
    const publishLag = result.publishLag.percentiles();
    expect(publishLag.count).toBe(100);
    expect(publishLag.p50).toBeGreaterThanOrEqual(500);
    expect(publishLag.p50).toBeLessThan(500 + TRANSPORT_MARGIN_MS);
    expect(publishLag.max).toBeGreaterThanOrEqual(1000);
    expect(publishLag.max).toBeLessThan(1000 + TRANSPORT_MARGIN_MS);
    const endToEnd = result.endToEndLag.percentiles();
    expect(endToEnd.p50).toBeGreaterThanOrEqual(999); // fs_timestamp_us is whole µs: allow its rounding
    expect(endToEnd.p50).toBeLessThan(1000 + TRANSPORT_MARGIN_MS);
    expect(endToEnd.max).toBeGreaterThanOrEqual(1999);
    expect(endToEnd.max).toBeLessThan(2000 + TRANSPORT_MARGIN_MS);
    expect(result.negative).toEqual({ publishLag: 0, endToEndLag: 0 });
    expect(result.series.reduce((n, row) => n + row.received, 0)).toBe(100);
  });

  it("counts malformed messages, events without an FS timestamp, and clocks running ahead", async () => {
    const monitor = await LagMonitor.start({ servers: nats.url, subject: "lab.lag" });
    publisher.publish("lab.lag", "not json");
    publisher.publish("lab.lag", "[1,2]");
    publish({ event_type: "HEARTBEAT", fs_timestamp_us: 1 }, "lab.lag");
    publish({ event_type: "HEARTBEAT", gateway_received_at: epochNowMs() }, "lab.lag");
    publish({ event_type: "API", gateway_received_at: epochNowMs() + 5000, fs_timestamp_us: 0 }, "lab.lag");
    publish({ event_type: "HEARTBEAT", gateway_received_at: epochNowMs() }); // another subject: not seen
    await publisher.flush();
    const result = await monitor.stop();
    expect(result).toMatchObject({
      subject: "lab.lag",
      received: 2,
      malformed: 3,
      withoutFsTimestamp: 1,
      negative: { publishLag: 1, endToEndLag: 0 },
      eventTypes: { HEARTBEAT: 1, API: 1 },
    });
    expect(result.publishLag.percentiles().max).toBeLessThan(TRANSPORT_MARGIN_MS);
  });

  it("follows each call's lifecycle events, the BACKGROUND_JOB by its job uuid", async () => {
    const monitor = await LagMonitor.start({ servers: nats.url });
    monitor.expectCall("call-a", "job-a");
    monitor.expectCall("call-b", "job-b");
    const at = () => ({
      gateway_received_at: epochNowMs(),
      fs_timestamp_us: Math.round(epochNowMs() * 1000),
    });
    for (const event_type of ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"]) {
      publish({ event_type, call_uuid: "call-a", ...at() });
    }
    publish({ event_type: "BACKGROUND_JOB", call_uuid: null, job_uuid: "job-a", ...at() });
    publish({ event_type: "CHANNEL_CREATE", call_uuid: "call-b", ...at() });
    publish({ event_type: "HEARTBEAT", call_uuid: null, ...at() });
    await publisher.flush();
    const live = monitor.live();
    const result = await monitor.stop();
    expect(live.received).toBeLessThanOrEqual(6);
    expect(result.calls).toMatchObject({
      calls: 2,
      complete: 1,
      incomplete: 1,
      missing: { CHANNEL_ANSWER: 1, CHANNEL_HANGUP_COMPLETE: 1, BACKGROUND_JOB: 1 },
      examples: [{ callUuid: "call-b", jobUuid: "job-b", seen: ["CHANNEL_CREATE"] }],
    });
  });
});

describe("startNatsServer", () => {
  it("stops the server it started, leaving no process behind", async () => {
    const server = await startNatsServer();
    const probe = await connect({ servers: server.url });
    await probe.close();
    await server.stop();
    await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
  });

  it("splits publish lag into named windows, tells a listener of each event, and forgets withdrawn calls", async () => {
    const seen: Array<{ type: string; callUuid?: string; hangupCause?: string; jobResult?: string }> = [];
    const monitor = await LagMonitor.start({ servers: nats.url, onEvent: (event) => seen.push(event) });
    // Each event is handed to the monitor before the window changes.
    const send = async (lagMs: number, event: Record<string, unknown>) => {
      const before = seen.length;
      publish({ gateway_received_at: epochNowMs() - lagMs, ...event });
      await publisher.flush();
      for (let tries = 0; seen.length === before && tries < 500; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    monitor.expectCall("kept", undefined, 1_000);
    monitor.expectCall("refused", undefined, 1_000);
    monitor.withdrawCall("refused");
    monitor.window("slow");
    await send(300, { event_type: "CHANNEL_CREATE", call_uuid: "kept" });
    monitor.window("fast");
    await send(5, {
      event_type: "CHANNEL_HANGUP_COMPLETE",
      call_uuid: "kept",
      fields: { "Hangup-Cause": "USER_BUSY" },
    });
    monitor.window(undefined);
    await send(700, { event_type: "BACKGROUND_JOB", job_result: "-ERR USER_BUSY\n" });
    expect(monitor.missingEventsBetween(0, 2_000)).toBe(1); // CHANNEL_ANSWER of "kept"
    const result = await monitor.stop();

    expect(result.windows.slow?.count).toBe(1);
    expect(result.windows.slow?.percentile(50)).toBeGreaterThanOrEqual(300);
    expect(result.windows.fast?.count).toBe(1);
    expect(result.windows.fast?.percentile(50)).toBeLessThan(5 + TRANSPORT_MARGIN_MS);
    expect(result.publishLag.count).toBe(3);
    expect(result.calls.calls).toBe(1);
    expect(seen).toEqual([
      { type: "CHANNEL_CREATE", callUuid: "kept", hangupCause: undefined, jobResult: undefined },
      { type: "CHANNEL_HANGUP_COMPLETE", callUuid: "kept", hangupCause: "USER_BUSY", jobResult: undefined },
      { type: "BACKGROUND_JOB", callUuid: undefined, hangupCause: undefined, jobResult: "-ERR USER_BUSY\n" },
    ]);
  });
});
