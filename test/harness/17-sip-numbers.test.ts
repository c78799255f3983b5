import { describe, expect, it } from "vitest";
import { readResponseTimes, readSippRows, sippStartMs } from "../../lab/sipp/stats.ts";
import { runMetrics } from "../../src/harness/measure/run-metrics.ts";
import {
  activityChanges,
  type DispatcherChange,
  dispatcherTimings,
  kamailioRow,
  kamailioSection,
  phaseSip,
  type SippReading,
  sippSection,
} from "../../src/harness/measure/sip-numbers.ts";
import { syntheticSummary } from "./synthetic-summary.ts";

/** SIPp 3.6's `-trace_stat` time format: date, time, epoch seconds, tab-separated. */
const sippTime = (epochMs: number) => `2026-11-21\t08:20:12.000000\t${(epochMs / 1000).toFixed(6)}`;

/** A `-trace_stat` CSV with the columns the reader uses, in SIPp's order, and one it ignores. */
function statsCsv(start: number, rows: Array<{ at: number; p: Record<string, number> }>): string {
  const head = [
    "StartTime",
    "LastResetTime",
    "CurrentTime",
    "TargetRate",
    "IncomingCall(P)",
    "OutgoingCall(P)",
    "CurrentCall",
    "SuccessfulCall(P)",
    "FailedCall(P)",
    "FailedMaxUDPRetrans(P)",
    "FailedMaxUDPRetrans(C)",
    "FailedTimeoutOnRecv(P)",
    "Retransmissions(P)",
    "ResponseTime1(P)",
  ];
  const lines = rows.map(({ at, p }) =>
    [
      sippTime(start),
      sippTime(at - 1000),
      sippTime(at),
      p.rate ?? 0,
      p.in ?? 0,
      p.out ?? 0,
      p.current ?? 0,
      p.ok ?? 0,
      p.failed ?? 0,
      p.udp ?? 0,
      99,
      p.recv ?? 0,
      p.retrans ?? 0,
      "00:00:00:004000",
    ].join(";"),
  );
  return `${[head.join(";"), ...lines].join("\n")}\n`;
}

const T0 = 1_795_249_212_000;

describe("SIPp's own statistics", () => {
  it("reads -trace_stat rows: periodic counts, calls either way, failures by reason, the row's time", () => {
    const csv = statsCsv(T0 - 5000, [
      { at: T0 - 4000, p: { out: 3, ok: 2, failed: 1, udp: 1, current: 4, rate: 10 } },
      { at: T0 - 3000, p: { in: 5, ok: 5, retrans: 2, recv: 0 } },
    ]);
    expect(sippStartMs(csv)).toBe(T0 - 5000);
    expect(readSippRows(csv)).toEqual([
      {
        atMs: T0 - 4000,
        created: 3,
        successful: 2,
        failed: 1,
        retransmissions: 0,
        current: 4,
        targetRate: 10,
        failedBy: { MaxUDPRetrans: 1 },
      },
      {
        atMs: T0 - 3000,
        created: 5,
        successful: 5,
        failed: 0,
        retransmissions: 2,
        current: 0,
        targetRate: 0,
        failedBy: {},
      },
    ]);
    expect(readSippRows("")).toEqual([]);
  });

  it("reads -trace_rtt samples of response time 1 as epoch times from SIPp's start", () => {
    const rtt = "Date_ms;response_time_ms;rtd_no\n104.001;0;1\n1204.001;12;1\n1300;7;2\n";
    expect(readResponseTimes(rtt, T0)).toEqual([
      [T0 + 104.001, 0],
      [T0 + 1204.001, 12],
    ]);
  });

  const reading: SippReading = {
    name: "caller",
    scenario: "inbound-caller",
    responseTimeOf: "INVITE sent → 180 received",
    rows: [
      // Before the run (its warm-up), inside it, and after its end.
      {
        atMs: T0 - 600,
        created: 9,
        successful: 9,
        failed: 0,
        retransmissions: 0,
        current: 0,
        targetRate: 9,
        failedBy: {},
      },
      {
        atMs: T0 + 400,
        created: 10,
        successful: 8,
        failed: 1,
        retransmissions: 3,
        current: 2,
        targetRate: 10,
        failedBy: { TimeoutOnRecv: 1 },
      },
      {
        atMs: T0 + 1400,
        created: 10,
        successful: 11,
        failed: 0,
        retransmissions: 0,
        current: 1,
        targetRate: 10,
        failedBy: {},
      },
      {
        atMs: T0 + 2400,
        created: 0,
        successful: 1,
        failed: 1,
        retransmissions: 0,
        current: 0,
        targetRate: 0,
        failedBy: { TimeoutOnRecv: 1 },
      },
      {
        atMs: T0 + 4500,
        created: 4,
        successful: 4,
        failed: 0,
        retransmissions: 0,
        current: 0,
        targetRate: 0,
        failedBy: {},
      },
    ],
    responseTimes: [
      [T0 - 100, 500],
      [T0 + 100, 2],
      [T0 + 900, 4],
      [T0 + 1100, 900],
      [T0 + 3100, 6],
    ],
  };

  it("counts the rows written inside the run, each in the second its period's middle falls in, with response times", () => {
    const section = sippSection(reading, T0, T0 + 3500);
    expect(section.calls).toEqual({
      created: 20,
      successful: 20,
      failed: 2,
      retransmissions: 3,
      failedBy: { TimeoutOnRecv: 2 },
    });
    // Periods (T0 - 0.6 s, T0 + 0.4 s] and (T0 + 0.4 s, T0 + 1.4 s] have their middles in second 0 (the
    // first one's before the run: the first second), (T0 + 1.4 s, T0 + 2.4 s] in second 1.
    expect(
      section.series.map((r) => [r.second, r.created, r.failed, r.current, r.responseTime.count]),
    ).toEqual([
      [0, 20, 1, 1, 2],
      [1, 0, 1, 0, 1],
      [3, 0, 0, 0, 1],
    ]);
    expect(section.responseTime).toMatchObject({ count: 4, min: 2, max: 900.095 });
    expect(section.series[1]?.responseTime.p50).toBe(900.095);
  });

  it("splits the series by phase, beside Kamailio's, with the phase's inbound rate", () => {
    const sip = {
      kamailio: kamailioSection(
        {},
        {},
        [0, 1, 2, 3].map((second) => ({ ...kamailioRow(second, {}, {}), invites: 5, dropped: second })),
        {
          destinations: [],
          changes: [],
        },
      ),
      sipp: [sippSection(reading, T0, T0 + 3500)],
    };
    expect(phaseSip(sip, { startMs: 0, endMs: 1000 }, 10)).toEqual({
      inboundRate: 10,
      sipp: { caller: { created: 20, successful: 19, failed: 1, retransmissions: 3 } },
      kamailio: { invites: 5, dropped: 0 },
    });
    expect(phaseSip(sip, { startMs: 1000, endMs: 4000 }, undefined)).toEqual({
      sipp: { caller: { created: 0, successful: 1, failed: 1, retransmissions: 0 } },
      kamailio: { invites: 15, dropped: 6 },
    });
  });
});

describe("Kamailio's statistics", () => {
  const before = {
    "core:rcv_requests": 10,
    "core:rcv_requests_invite": 4,
    "core:rcv_replies_2xx": 3,
    "core:drop_requests": 1,
    "core:err_replies": 0,
    "sl:sent_replies": 2,
    "tmx:active_transactions": 9,
    "shmem:real_used_size": 2 * 1024 * 1024,
    "shmem:total_size": 64 * 1024 * 1024,
  };
  const after = {
    ...before,
    "core:rcv_requests": 25,
    "core:rcv_requests_invite": 9,
    "core:rcv_replies_2xx": 10,
    "core:drop_requests": 3,
    "core:err_replies": 1,
    "tmx:active_transactions": 4,
    "shmem:real_used_size": 3.5 * 1024 * 1024,
  };

  it("makes a second's row of counter increases and gauges at its end", () => {
    expect(kamailioRow(7, before, after)).toEqual({
      second: 7,
      requests: 15,
      invites: 5,
      byes: 0,
      cancels: 0,
      acks: 0,
      forwarded: 0,
      replies: { "1xx": 0, "2xx": 7, "3xx": 0, "4xx": 0, "5xx": 0, "6xx": 0 },
      slReplies: 0,
      dropped: 2,
      errors: 1,
      activeTransactions: 4,
      shmUsedMb: 3.5,
    });
  });

  it("sums counters over the run and leaves gauges out of them", () => {
    const section = kamailioSection(before, after, [kamailioRow(0, before, after)], {
      destinations: [],
      changes: [],
    });
    expect(section.counters).toEqual({
      "core:drop_requests": 2,
      "core:err_replies": 1,
      "core:rcv_replies_2xx": 7,
      "core:rcv_requests": 15,
      "core:rcv_requests_invite": 5,
      "sl:sent_replies": 0,
    });
    expect(section.shm).toEqual({ totalMb: 64, usedMaxMb: 3.5 });
    expect(section.activeTransactionsMax).toBe(4);
  });

  const change = (atMs: number, flags: string, component = "fakeswitch-2"): DispatcherChange => ({
    atMs,
    uri: `sip:127.0.0.1:${component === "fakeswitch" ? 5071 : 5072}`,
    component,
    flags,
    active: flags.startsWith("A"),
  });
  const changes = [
    change(0, "AX", "fakeswitch"),
    change(0, "AX"),
    change(200, "AP"),
    change(11_200, "IP"),
    change(21_600, "AP"),
  ];

  it("times how fast the dispatcher took a stopped instance out and brought it back", () => {
    expect(dispatcherTimings(changes, "fakeswitch-2", 10_000, 20_000)).toEqual({
      destination: "sip:127.0.0.1:5072",
      inactiveAfterMs: 1200,
      activeAgainAfterMs: 1600,
    });
    expect(dispatcherTimings(changes, "fakeswitch-2", 10_000, undefined)).toEqual({
      destination: "sip:127.0.0.1:5072",
      inactiveAfterMs: 1200,
    });
    expect(dispatcherTimings(changes, "gateway-2", 10_000, 20_000)).toBeUndefined();
    expect(activityChanges(changes).map((c) => [c.atMs, c.active])).toEqual([
      [11_200, false],
      [21_600, true],
    ]);
  });
});

describe("sip.* metrics", () => {
  it("names Kamailio's figures and each SIPp's, rates included", () => {
    const m = runMetrics(syntheticSummary("20260101T000000Z-synthetic-0001"));
    expect(m).toMatchObject({
      "sip.kamailio.invites": 2000,
      "sip.kamailio.dropped": 3,
      "sip.kamailio.replies.2xx": 4000,
      "sip.kamailio.transactions.active.max": 40,
      "sip.carrier.calls": 2000,
      "sip.carrier.failed": 2,
      "sip.carrier.failure_rate": 0.001,
      "sip.carrier.retransmission_rate": 0.0035,
      "sip.carrier.response_time.p95": 5.003,
    });
    expect(m).not.toHaveProperty("sip.dispatcher.inactive_after_ms.max");
  });
});
