import { describe, expect, it } from "vitest";
import type { CallOutcome } from "../../src/calls/call-store.ts";
import {
  type AcceptedCall,
  CallsApiRequests,
  pipelineSection,
} from "../../src/harness/load/calls-api-load.ts";
import { runMetrics } from "../../src/harness/measure/run-metrics.ts";
import { compareRuns } from "../../src/harness/report/compare.ts";
import { renderHtmlReport } from "../../src/harness/report/html-report.ts";
import { reportCharts } from "../../src/harness/report/report-charts.ts";
import { formatRun } from "../../src/harness/report/summary-text.ts";
import { summarySchemaErrors } from "./summary-schema.ts";
import { syntheticSummary } from "./synthetic-summary.ts";

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

/** A call accepted at `acceptMs`, answered 100 ms later, hung up 1 s after that, its CDR written `cdrLagMs` later. */
function completed(id: string, acceptMs: number, cdrLagMs: number | null = 20): CallOutcome {
  return {
    id,
    status: "completed",
    failureReason: null,
    originateAttempts: 1,
    acceptedAt: at(acceptMs),
    ringingAt: at(acceptMs + 40),
    answeredAt: at(acceptMs + 140),
    endedAt: at(acceptMs + 1_140),
    cdr:
      cdrLagMs === null
        ? null
        : { endedAt: at(acceptMs + 1_140), recordedAt: at(acceptMs + 1_140 + cdrLagMs) },
  };
}

const load = { to: "+1", from: "+2", settleMs: 30_000, lateCdrMs: 5_000 };
const placed = [
  { name: "none", startMs: 0, endMs: 2_000, targetRate: 2, finalRate: 2 },
  { name: "gateway-restart", startMs: 2_000, endMs: 4_000, targetRate: 2, finalRate: 2 },
];

/** Two phases of four calls sent each; the second lost two hangups, one call is late, one was never placed. */
function section() {
  const calls: AcceptedCall[] = ["a", "b", "c", "d", "e", "f", "g"].map((id, i) => ({
    id,
    intendedMs: i * 500 + 10,
  }));
  const outcomes: CallOutcome[] = [
    completed("a", 0),
    completed("b", 500),
    completed("c", 1_000, 6_000), // written 6 s after its hangup: late
    completed("d", 1_500),
    { ...completed("e", 2_000, null), status: "in-progress", endedAt: null }, // its hangup was lost
    { ...completed("f", 2_500, null), status: "in-progress", endedAt: null, originateAttempts: 3 },
    {
      ...completed("g", 3_000, null),
      status: "failed",
      failureReason: "NOT_PLACED: gateway answered 400",
      ringingAt: null,
      answeredAt: null,
    },
  ];
  // "h" was accepted, and the database has no row of it.
  calls.push({ id: "h", intendedMs: 3_600 });
  return pipelineSection(
    { calls, placed, sentByPhase: [4, 5], faultsByPhase: [[], ["gateway-restart"]], load },
    outcomes,
    { settled: false, settledAfterMs: 30_000 },
  );
}

describe("the calls pipeline's audit (each accepted call as its database recorded it)", () => {
  it("counts each phase's calls: answered with and without a CDR, late, unfinished, never placed, missing", () => {
    const { segments, total, series } = section();
    expect(segments[0]).toMatchObject({
      name: "none",
      faults: [],
      sent: 4,
      accepted: 4,
      refused: 0,
      answered: 4,
      answeredWithCdr: 4,
      cdrCompleteness: 1,
      lostCdrs: 0,
      lateCdrs: 1,
      unplaced: 0,
      missing: 0,
      // HdrHistogram figures: the upper edge of their bucket, within 0.1 %.
      setup: { count: 4, p50: expect.closeTo(140, 0), max: expect.closeTo(140, 0) },
      placing: { count: 4, p50: expect.closeTo(40, 0) },
      cdrLag: { count: 4, p50: expect.closeTo(20, 0), max: expect.closeTo(6_000, -1) },
    });
    expect(segments[1]).toMatchObject({
      name: "gateway-restart",
      faults: ["gateway-restart"],
      sent: 5,
      accepted: 4,
      refused: 1,
      missing: 1,
      answered: 2,
      answeredWithCdr: 0,
      cdrCompleteness: 0,
      lostCdrs: 2,
      failed: 1,
      failedByReason: { "NOT_PLACED: gateway answered 400": 1 },
      unfinished: { queued: 0, ringing: 0, inProgress: 2 },
      unplaced: 1,
      retried: 1,
    });
    expect(total).toMatchObject({
      name: "all",
      accepted: 8,
      answered: 6,
      lostCdrs: 2,
      cdrCompleteness: 0.6667,
    });
    expect(
      series.map((row) => [row.second, row.accepted, row.lostCdrs, row.lateCdrs, row.unfinished]),
    ).toEqual([
      [0, 2, 0, 0, 0],
      [1, 2, 0, 1, 0],
      [2, 2, 2, 0, 2],
      [3, 2, 0, 0, 0],
    ]);
  });

  it("names each phase's figures for gates, as --fault each renames a fault kind's gates", () => {
    const summary = { ...syntheticSummary("20260101T000000Z-synthetic-0002"), pipeline: section() };
    delete summary.calls;
    const metrics = runMetrics(summary);
    expect(metrics).toMatchObject({
      "pipeline.accepted": 8,
      "cdr.lost": 2,
      "cdr.completeness": 0.6667,
      "cdr.none.completeness": 1,
      "cdr.none.late": 1,
      "cdr.gateway-restart.lost": 2,
      "pipeline.gateway-restart.unplaced": 1,
      "pipeline.gateway-restart.refused": 1,
      "pipeline_setup.none.p95": expect.closeTo(140, 0),
    });
  });

  it("compares two runs' CDR figures the right way round: more completeness is better, more lost CDRs worse", () => {
    // Without their recorded metrics, so that compareRuns computes them with the pipeline section.
    const a = {
      ...syntheticSummary("20260101T000000Z-synthetic-0004"),
      pipeline: section(),
      metrics: undefined,
    };
    const perfect = section();
    perfect.total = { ...perfect.total, cdrCompleteness: 1, lostCdrs: 0 };
    const b = {
      ...syntheticSummary("20260101T000100Z-synthetic-0005"),
      pipeline: perfect,
      metrics: undefined,
    };
    const rows = compareRuns(a, b).rows;
    const row = (metric: string) => rows.find((r) => r.metric === metric);
    expect(row("cdr.completeness")).toMatchObject({ a: 0.6667, b: 1, better: true });
    expect(row("cdr.lost")).toMatchObject({ a: 2, b: 0, better: true });
    expect(row("cdr.gateway-restart.completeness")?.better).toBeUndefined(); // the same in both
    expect(row("pipeline.sent")?.better).toBeUndefined();
  });

  it("is in summary.json's schema, the printed run and the report: a table of losses per phase and two charts", () => {
    const summary = { ...syntheticSummary("20260101T000000Z-synthetic-0003"), pipeline: section() };
    delete summary.calls;
    expect(summarySchemaErrors(JSON.parse(JSON.stringify(summary)))).toEqual([]);
    const broken = JSON.parse(JSON.stringify(summary));
    delete broken.pipeline.segments[1].lostCdrs;
    expect(summarySchemaErrors(broken)).toEqual([
      "/pipeline/segments/1 must have required property 'lostCdrs'",
    ]);
    const text = formatRun(summary);
    expect(text).toMatch(
      /^calls pipeline \(its database, 30\.0 s after the drain some calls had not ended\):$/m,
    );
    expect(text).toMatch(/^ {2}gateway-restart +4 +1 +2 +0 +0\.00 % +2 +0 +2 /m);
    expect(text).toMatch(/^ {2}all +8 /m);
    expect(text).toContain("never placed: 1");
    const charts = reportCharts(summary).filter((c) => c.id.startsWith("chart-pipeline"));
    expect(charts.map((c) => c.id)).toEqual(["chart-pipeline-cdrs", "chart-pipeline-setup"]);
    for (const chart of charts)
      expect(
        chart.series.some((s) => s.points.some(([, y]) => y !== undefined && y > 0)),
        chart.id,
      ).toBe(true);
    const html = renderHtmlReport(summary);
    expect(html).toContain("<h2>Calls pipeline: CDRs per fault</h2>");
    expect(html).toMatch(/<td>gateway-restart<\/td><td>gateway-restart<\/td><td>4<\/td><td>1<\/td>/);
  });

  it("keeps the id of each call the API accepted, with its request's intended time", () => {
    const requests = new CallsApiRequests(
      { ...load, variables: { fakeswitch_hold_ms: 500 } },
      "token",
      "http://127.0.0.1:1",
      1_000,
    );
    expect(requests.request()).toEqual({
      method: "POST",
      path: "/v1/calls",
      origin: "http://127.0.0.1:1",
      headers: { authorization: "Bearer token" },
      body: { to: "+1", from: "+2", options: { variables: { fakeswitch_hold_ms: 500 } } },
    });
    const body = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).buffer as ArrayBuffer;
    requests.outcome({ index: 0, intendedAt: 1_250, endedAt: 1_260, status: 202, body: body({ id: "x" }) });
    requests.outcome({ index: 1, intendedAt: 1_300, endedAt: 1_310, status: 503, body: body({ error: {} }) });
    requests.outcome({ index: 2, intendedAt: 1_400, endedAt: 1_500, error: "timeout" });
    expect(requests.accepted).toEqual([{ id: "x", intendedMs: 250 }]);
  });
});
