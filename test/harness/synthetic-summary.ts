import type { GatewaySecondRow } from "../../src/harness/measure/gateway-scraper.ts";
import { LatencyHistogram } from "../../src/harness/measure/histogram.ts";
import { runMetrics } from "../../src/harness/measure/run-metrics.ts";
import {
  kamailioRow,
  kamailioSection,
  phaseSip,
  type SippReading,
  type SipSection,
  sippSection,
} from "../../src/harness/measure/sip-numbers.ts";
import { CallTracker } from "../../src/harness/measure/telecom.ts";
import { type RunSummary, SUMMARY_SCHEMA_VERSION } from "../../src/harness/report/summary.ts";
import { evaluateGates, gatesFromThresholds } from "../../src/harness/run/gates.ts";

const histogramOf = (values: number[]) => {
  const h = LatencyHistogram.create();
  for (const v of values) h.record(v);
  return h;
};

/**
 * The SIP side of the made-up run: the carrier answering each originate over SIP (two calls lost to UDP
 * retransmission limits in the second of the ESL cut) and Kamailio's statistics a second apart, through the
 * harness's own builders.
 */
function syntheticSip(seconds: number[], fromMs: number, scale: number): SipSection {
  const carrier: SippReading = {
    name: "carrier",
    scenario: "carrier-answer",
    responseTimeOf: "200 sent → ACK received",
    rows: seconds.map((second) => ({
      atMs: fromMs + second * 1000 + 600,
      created: 100,
      successful: second === 8 ? 98 : 100,
      failed: second === 8 ? 2 : 0,
      retransmissions: second === 8 ? 7 : 0,
      current: 50,
      targetRate: 0,
      failedBy: second === 8 ? { MaxUDPRetrans: 2 } : ({} as Record<string, number>),
    })),
    responseTimes: seconds.flatMap((second) =>
      [1, 1, 2, 3, second === 8 ? 40 : 5].map(
        (ms, i) => [fromMs + second * 1000 + i * 150, ms * scale] as const,
      ),
    ),
  };
  const statistics = (second: number): Record<string, number> => ({
    "core:rcv_requests": second * 400,
    "core:rcv_requests_invite": second * 100,
    "core:rcv_requests_bye": second * 100,
    "core:rcv_requests_ack": second * 200,
    "core:fwd_requests": second * 400,
    "core:rcv_replies_1xx": second * 100,
    "core:rcv_replies_2xx": second * 200,
    "core:drop_requests": second > 8 ? 3 : 0,
    "sl:sent_replies": second,
    "sl:200_replies": second,
    "tmx:UAS_transactions": second * 200,
    "tmx:2xx_transactions": second * 200,
    "tmx:active_transactions": second === 8 ? 40 : 12,
    "shmem:real_used_size": (9 + second / 10) * 1024 * 1024,
    "shmem:total_size": 64 * 1024 * 1024,
  });
  const series = seconds.map((second) => kamailioRow(second, statistics(second), statistics(second + 1)));
  const destination = { uri: "sip:127.0.0.1:5071", flags: "AP", active: true, component: "fakeswitch" };
  return {
    kamailio: kamailioSection(statistics(0), statistics(seconds.length), series, {
      destinations: [destination],
      changes: [{ atMs: 0, ...destination }],
    }),
    sipp: [sippSection(carrier, fromMs, fromMs + seconds.length * 1000)],
  };
}

/**
 * A complete schema-3 summary of a made-up 20 s run at 100 calls/s with an ESL cut at 8 s, built from the
 * harness's own pieces (histograms, call tracker, SIP builders, metrics, gates) with no lab: for the report
 * and compare tests. `scale` multiplies every latency, to make a slower twin.
 */
export function syntheticSummary(runId: string, scale = 1): RunSummary {
  const seconds = Array.from({ length: 20 }, (_, second) => second);
  const latencyOf = (second: number) =>
    histogramOf([2, 3, 4, 5, second === 8 ? 180 : 9].map((v) => v * scale));
  const load = histogramOf(seconds.flatMap((s) => [2, 3, 4, 5, s === 8 ? 180 : 9].map((v) => v * scale)));
  const publish = histogramOf(seconds.flatMap(() => [0.5, 0.8, 1.2, 3].map((v) => v * scale)));
  const calls = new CallTracker(0);
  for (let i = 0; i < 40; i++) {
    const uuid = `call-${i}`;
    calls.attempt(uuid);
    calls.accepted(uuid, i * 500);
    calls.event("CHANNEL_ANSWER", uuid, i * 500 + 20 * scale);
  }
  for (let i = 0; i < 30; i++)
    calls.event("CHANNEL_HANGUP_COMPLETE", `call-${i}`, i * 500 + 5000, { hangupCause: "NORMAL_CLEARING" });
  const gatewayRow = (second: number): GatewaySecondRow => ({
    second,
    scraped: true,
    commands: 100,
    errors: second === 8 ? 3 : 0,
    reconnects: second === 8 ? 1 : 0,
    eventsReceived: 400,
    eventsPublished: 400,
    eventsDropped: 0,
    rejections: 0,
    eslLatency: { count: 100, p50: 1.2 * scale, p95: 3.5 * scale, p99: 6 * scale },
    publishLag: { count: 400, p50: 0.2, p95: 0.9, p99: 2 },
    queueDepth: 0,
    inFlight: 3,
    channels: 40,
    connected: second === 8 ? 0 : 1,
    rssMb: 90 + second,
  });
  const sip = syntheticSip(seconds, Date.parse("2026-01-01T00:00:00.000Z"), scale);
  const process = (name: string, cpu: number, rss: number) => ({
    name,
    pids: [1000 + name.length],
    cpuMean: cpu,
    cpuMax: cpu * 1.5,
    rssMaxMb: rss + 19,
    series: seconds.map((second) => ({
      second,
      pid: 1000 + name.length,
      cpu: cpu + (second % 3) * 0.01,
      rssMb: rss + second,
    })),
  });
  const summary: RunSummary = {
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    runId,
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: "2026-01-01T00:00:21.000Z",
    durationMs: 21_000,
    config: { name: "synthetic" },
    scenario: { name: "synthetic", description: "100 calls/s for 20 s with an ESL cut at 8 s" },
    topology: {
      name: "single",
      mode: "embedded",
      gateways: [{ name: "gateway", url: "http://127.0.0.1:8080" }],
    },
    load: {
      counts: { planned: 2000, sent: 2000, ok: 1997, errors: 3, dropped: 0, cancelled: 0 },
      rate: { target: 100, achieved: 100 },
      statusCounts: { "202": 1997, "503": 3 },
      errors: { timeout: 0, connection: 0, http_status: 3, aborted: 0, other: 0 },
      latency: load.snapshot(),
      startLateness: histogramOf([0.1, 0.2]).percentiles(),
      series: seconds.map((second) => ({
        second,
        sent: 100,
        dropped: 0,
        ok: second === 8 ? 97 : 100,
        errors: second === 8 ? 3 : 0,
        latency: latencyOf(second).percentiles(),
      })),
    },
    lag: {
      subject: "fs.events",
      received: 8000,
      malformed: 0,
      withoutFsTimestamp: 0,
      negative: { publishLag: 0, endToEndLag: 0 },
      eventTypes: {
        CHANNEL_CREATE: 2000,
        CHANNEL_ANSWER: 2000,
        CHANNEL_HANGUP_COMPLETE: 2000,
        BACKGROUND_JOB: 2000,
      },
      publishLag: publish.snapshot(),
      endToEndLag: publish.snapshot(),
      calls: {
        calls: 2000,
        complete: 1996,
        incomplete: 4,
        missing: { CHANNEL_CREATE: 0, CHANNEL_ANSWER: 2, CHANNEL_HANGUP_COMPLETE: 4, BACKGROUND_JOB: 0 },
        duplicates: 0,
        unmatchedJobs: 0,
        overflow: 0,
        examples: [],
      },
      series: seconds.map((second) => ({
        second,
        received: 400,
        publishLag: publish.percentiles(),
        endToEndLag: publish.percentiles(),
      })),
    },
    phases: [
      {
        name: "100/s",
        startMs: 0,
        endMs: 20_000,
        targetRate: 100,
        sent: 2000,
        ok: 1997,
        failed: 3,
        hung: 0,
        latency: load.snapshot(),
        publishLag: publish.percentiles(),
        sip: phaseSip(sip, { startMs: 0, endMs: 20_000 }, undefined),
      },
    ],
    calls: calls.report(20_000),
    gateways: [
      {
        name: "gateway",
        url: "http://127.0.0.1:8080",
        series: seconds.map(gatewayRow),
        totals: {
          commands: 2000,
          errors: 3,
          reconnects: 1,
          eventsReceived: 8000,
          eventsPublished: 8000,
          eventsDropped: 0,
          rejections: 0,
          eslLatency: { count: 2000, p50: 1.2 * scale, p95: 3.5 * scale, p99: 6 * scale },
          publishLag: { count: 8000, p50: 0.2, p95: 0.9, p99: 2 },
          queueDepthMax: 0,
          inFlightMax: 3,
          rssMaxMb: 109,
        },
      },
    ],
    publisher: {
      subject: "fs.events",
      stream: "FS_EVENTS",
      ownStream: false,
      messages: 8000,
      events: 8000,
      published: 8000,
      unstored: 0,
    },
    processes: [
      process("gateway", 0.3, 90),
      process("fakeswitch", 0.1, 70),
      process("nats", 0.02, 20),
      { ...process("kamailio", 0.05, 18), group: true },
      process("carrier", 0.03, 6),
      process("harness", 0.2, 120),
    ],
    sip,
    faults: [
      {
        label: "esl cut RST",
        target: "esl",
        fault: { kind: "cut", mode: "rst" },
        atMs: 8000,
        injectedAtMs: 8000.4,
        outage: {
          detectedAtMs: 8012,
          recoveredAtMs: 8260,
          detectMs: 11.6,
          reconnectMs: 248,
          outageMs: 259.6,
          unseen: false,
          commands: { sent: 26, ok: 23, failed: 3, hung: 0, slowestFailureMs: 4 },
          eventsLost: 6,
        },
      },
    ],
  };
  summary.metrics = runMetrics(summary);
  summary.gates = evaluateGates(
    gatesFromThresholds({ "command_latency.p95": "<50", hung_commands: "==0", "reconnect_ms.max": "<5000" }),
    summary.metrics,
  );
  const passed = summary.gates.every((g) => g.pass);
  summary.outcome = { passed, exitCode: passed ? 0 : 99, problems: [] };
  return summary;
}
