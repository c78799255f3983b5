import { describe, expect, it, vi } from "vitest";
import type { ApiError } from "../../src/contracts/api-error.ts";
import { EslEvent } from "../../src/esl/index.ts";
import { Admission } from "../../src/gateway/admission.ts";
import { GatewayMetrics } from "../../src/gateway/metrics.ts";
import { normalizeEvent } from "../../src/gateway/normalize.ts";
import { DropOldestQueue } from "../../src/gateway/ring-queue.ts";

function plainEvent(headers: Record<string, string>, body?: string): EslEvent {
  let text = Object.entries(headers)
    .map(([k, v]) => `${k}: ${encodeURIComponent(v)}`)
    .join("\n");
  text += body === undefined ? "\n\n" : `\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`;
  return new EslEvent("plain", Buffer.from(text));
}

describe("DropOldestQueue", () => {
  it("keeps FIFO order and drops the oldest item when full", () => {
    const queue = new DropOldestQueue<number>(3);
    expect([queue.push(1), queue.push(2), queue.push(3)]).toEqual([undefined, undefined, undefined]);
    expect(queue.push(4)).toBe(1);
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([2, 3, 4, undefined]);
    expect(queue.size).toBe(0);
  });

  it("puts items back at the head across the wrap, and refuses one when full (it is the oldest)", () => {
    const queue = new DropOldestQueue<number>(3);
    queue.push(1);
    queue.push(2);
    queue.shift();
    queue.push(3);
    expect(queue.unshift(1)).toBeUndefined();
    expect(queue.unshift(0)).toBe(0);
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([1, 2, 3, undefined]);
    expect(queue.unshift(9)).toBeUndefined();
    expect([queue.shift(), queue.size]).toEqual([9, 0]);
  });
});

describe("event normalisation (fs.events v1)", () => {
  it("maps a channel event to the versioned schema with lag timestamps", () => {
    const event = plainEvent({
      "Event-Name": "CHANNEL_ANSWER",
      "Core-UUID": "core-1",
      "Event-Date-Timestamp": "1795237635532950",
      "Event-Sequence": "42",
      "Unique-ID": "call-1",
      "Channel-Name": "sofia/internal/1000@127.0.0.1:5090",
      "Caller-Caller-ID-Name": "Zoë ☎",
    });
    const normalized = normalizeEvent(event, 1795237635540.25, "fs-01", false);
    expect(normalized).toMatchObject({
      schema_version: 1,
      event_type: "CHANNEL_ANSWER",
      call_uuid: "call-1",
      fs_timestamp_us: 1795237635532950,
      gateway_received_at: 1795237635540.25,
      source_host: "fs-01",
      core_uuid: "core-1",
      sequence: 42,
      timestamp: "2026-11-21T05:07:15.532Z",
    });
    expect(normalized.fields["Channel-Name"]).toBe("sofia/internal/1000@127.0.0.1:5090");
    expect(normalized.fields["Caller-Caller-ID-Name"]).toBe("Zoë ☎");
  });

  it("names the call of an originate's BACKGROUND_JOB", () => {
    const event = plainEvent(
      {
        "Event-Name": "BACKGROUND_JOB",
        "Job-UUID": "job-2",
        "Job-Command": "originate",
        "Job-Command-Arg":
          "{origination_uuid=call-9,originate_timeout=5}sofia/internal/1000@127.0.0.1:5090 &park()",
      },
      "+OK call-9\n",
    );
    expect(normalizeEvent(event, 0, "h", false)).toMatchObject({ job_uuid: "job-2", call_uuid: "call-9" });
  });

  it("carries a BACKGROUND_JOB's job uuid and result", () => {
    const event = plainEvent({ "Event-Name": "BACKGROUND_JOB", "Job-UUID": "job-1" }, "-ERR USER_BUSY\n");
    expect(normalizeEvent(event, 0, "h", false)).toMatchObject({
      job_uuid: "job-1",
      job_result: "-ERR USER_BUSY",
      call_uuid: null,
    });
  });
});

describe("admission control", () => {
  const esl = { ready: true, oldestOutstandingMs: 0 };
  const options = { maxInFlight: 2, latencyP95LimitMs: 50, sessionsHeadroom: 0.9, retryAfterSec: 2 };

  function rejection(admission: Admission, kind: "originate" | "control" = "originate") {
    try {
      admission.admit(kind);
      return undefined;
    } catch (error) {
      return error as ApiError;
    }
  }

  it("answers 503 while ESL is down", () => {
    const error = rejection(
      new Admission(options, new GatewayMetrics(), { ready: false, oldestOutstandingMs: 0 }),
    );
    expect(error).toMatchObject({ status: 503, code: "freeswitch_unavailable", retryAfterSec: 2 });
  });

  it("refuses originates (503) while the channel table is re-seeded after a reconnect, not other commands", () => {
    const admission = new Admission(options, new GatewayMetrics(), esl);
    admission.observeChannelTableSeeding(true);
    expect(rejection(admission)).toMatchObject({
      status: 503,
      code: "freeswitch_unavailable",
      retryAfterSec: 2,
    });
    expect(rejection(admission, "control")).toBeUndefined();
    admission.done(1);
    admission.observeChannelTableSeeding(false);
    expect(rejection(admission)).toBeUndefined();
  });

  it("answers 429 past the in-flight limit and admits again once commands finish", () => {
    const admission = new Admission(options, new GatewayMetrics(), esl);
    admission.admit("control");
    admission.admit("control");
    expect(rejection(admission, "control")).toMatchObject({ status: 429, code: "throttled" });
    admission.done(1);
    expect(rejection(admission, "control")).toBeUndefined();
  });

  it("answers 429 when recent ESL latency is over the limit, lets a probe through every 100 ms, and recovers once the samples age out", () => {
    vi.useFakeTimers();
    try {
      const admission = new Admission({ ...options, maxInFlight: 1000 }, new GatewayMetrics(), esl);
      for (let i = 0; i < 20; i++) {
        admission.admit("control");
        admission.done(80);
      }
      vi.advanceTimersByTime(150);
      expect(rejection(admission, "control")).toBeUndefined(); // the probe
      admission.done(undefined);
      expect(rejection(admission, "control")).toMatchObject({
        status: 429,
        message: expect.stringMatching(/p95/),
      });
      vi.advanceTimersByTime(50);
      expect(rejection(admission, "control")).toMatchObject({ status: 429 });
      vi.advanceTimersByTime(60);
      expect(rejection(admission, "control")).toBeUndefined(); // the next probe, 100 ms later
      admission.done(undefined);
      vi.advanceTimersByTime(2_500);
      for (let i = 0; i < 5; i++) {
        expect(rejection(admission, "control")).toBeUndefined();
        admission.done(undefined);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses at once while FreeSWITCH leaves a command unanswered past the limit", () => {
    const stalled = { ready: true, oldestOutstandingMs: 120 };
    const admission = new Admission({ ...options, maxInFlight: 1000 }, new GatewayMetrics(), stalled);
    expect(rejection(admission, "control")).toMatchObject({
      status: 429,
      message: expect.stringMatching(/not answered a command for 120 ms/),
    });
    stalled.oldestOutstandingMs = 10;
    expect(rejection(admission, "control")).toBeUndefined();
  });

  it("keeps originates under FreeSWITCH's max-sessions (HEARTBEAT) and its sessions-per-second limit (fsctl sps)", () => {
    const admission = new Admission({ ...options, maxInFlight: 1000 }, new GatewayMetrics(), esl);
    admission.observeHeartbeat({ "Max-Sessions": "10", "Session-Count": "9", "Session-Per-Sec": "30" });
    expect(rejection(admission)).toMatchObject({
      status: 429,
      message: expect.stringMatching(/9 of 10 sessions/),
    });
    // HEARTBEAT's Session-Per-Sec is what is left of FreeSWITCH's current second, not a limit.
    admission.observeHeartbeat({ "Max-Sessions": "1000", "Session-Count": "0", "Session-Per-Sec": "1" });
    expect(rejection(admission)).toBeUndefined();
    admission.observeSessionsPerSecondLimit(3);
    vi.useFakeTimers({ now: 1_700_000_000_000 }); // all five within one wall-clock second
    try {
      const outcomes = Array.from({ length: 5 }, () => rejection(admission));
      expect(outcomes.filter((e) => e === undefined).length).toBe(3);
      for (const error of outcomes.slice(3)) expect(error?.message).toMatch(/sessions-per-second limit 3/);
    } finally {
      vi.useRealTimers();
    }
    expect(admission.status().sessionsPerSecondLimit).toBe(3);
  });

  it("refuses originates with 503 while FreeSWITCH shuts down; controls still go through", () => {
    const metrics = new GatewayMetrics();
    const admission = new Admission({ ...options, maxInFlight: 1000 }, metrics, esl);
    admission.observeShutdown(true);
    expect(rejection(admission)).toMatchObject({
      status: 503,
      code: "freeswitch_unavailable",
      retryAfterSec: 2,
      message: expect.stringMatching(/shutting down/),
    });
    expect(rejection(admission, "control")).toBeUndefined();
    admission.observeShutdown(false);
    expect(rejection(admission)).toBeUndefined();
  });
});
