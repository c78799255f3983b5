import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { HttpLoadResult } from "../../src/harness/load/http-load.ts";
import { CallCompleteness } from "../../src/harness/measure/call-completeness.ts";
import { LatencyHistogram } from "../../src/harness/measure/histogram.ts";
import type { LagResult } from "../../src/harness/measure/lag.ts";
import { writeRunFiles } from "../../src/harness/report/results-files.ts";
import { buildSummary, newRunId } from "../../src/harness/report/summary.ts";
import { formatSummary } from "../../src/harness/report/summary-text.ts";

function histogramOf(values: number[]): LatencyHistogram {
  const histogram = LatencyHistogram.create();
  for (const value of values) histogram.record(value);
  return histogram;
}

const latency = histogramOf(Array.from({ length: 1000 }, (_, i) => (i + 1) / 100)); // 0.01..10 ms
const load: HttpLoadResult = {
  startedAt: "2025-11-21T06:00:00.000Z",
  endedAt: "2025-11-21T06:00:10.000Z",
  counts: { planned: 1000, sent: 1000, ok: 997, errors: 3, dropped: 0, cancelled: 0 },
  rate: { target: 100, achieved: 99.9 },
  statusCounts: { 200: 997, 503: 3 },
  errors: { timeout: 0, connection: 0, http_status: 3, aborted: 0, other: 0 },
  latency,
  startLateness: LatencyHistogram.create().percentiles(),
  series: [{ second: 0, sent: 100, dropped: 0, ok: 100, errors: 0, latency: latency.percentiles() }],
};
const calls = new CallCompleteness();
calls.observe("CHANNEL_CREATE", "call-1", undefined);
const lag: LagResult = {
  subject: "fs.events",
  startedAt: "2025-11-21T05:59:59.500Z",
  endedAt: "2025-11-21T06:00:10.500Z",
  received: 3,
  malformed: 1,
  withoutFsTimestamp: 0,
  negative: { publishLag: 0, endToEndLag: 0 },
  eventTypes: { CHANNEL_CREATE: 3 },
  publishLag: histogramOf([0.5, 0.7, 40]),
  endToEndLag: histogramOf([1, 2, 45]),
  windows: {},
  calls: calls.report(),
  series: [],
};

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("run summary", () => {
  it("spans the parts' times and carries config, counts, errors, percentiles and series", () => {
    const summary = buildSummary({ runId: "run-1", config: { rate: 100 }, load, lag });
    expect(summary).toMatchObject({
      schemaVersion: 3,
      runId: "run-1",
      startedAt: "2025-11-21T05:59:59.500Z",
      endedAt: "2025-11-21T06:00:10.500Z",
      durationMs: 11_000,
      config: { rate: 100 },
      load: { counts: load.counts, errors: { http_status: 3 }, latency: { count: 1000, p50: 5.003 } }, // 5 ms, to 0.1 %
      lag: { received: 3, publishLag: { count: 3, max: 40.031 }, calls: { calls: 1, incomplete: 1 } },
    });
    expect(summary.load?.series).toHaveLength(1);
  });

  it("is written as <run folder>/summary.json and reads back the same, histograms included", async () => {
    dir = await mkdtemp(join(tmpdir(), "harness-summary-"));
    const summary = buildSummary({ runId: "run-2", config: {}, load });
    const path = await writeRunFiles(dir, summary, []);
    expect(path).toBe(join(dir, "summary.json"));
    const read = JSON.parse(await readFile(path, "utf8"));
    expect(read).toEqual(summary);
    expect(LatencyHistogram.fromSnapshot(read.load.latency).percentiles()).toEqual(latency.percentiles());
  });

  it("refuses run ids that would leave the results folder", () => {
    expect(() => buildSummary({ runId: "../etc", config: {}, load })).toThrow(RangeError);
    expect(() => buildSummary({ runId: "a/b", config: {}, load })).toThrow(RangeError);
    expect(newRunId("smoke", new Date("2025-11-21T06:14:01.123Z"))).toMatch(
      /^20251121T061401Z-smoke-[0-9a-f]{4}$/,
    );
  });

  it("prints a compact table of count, errors and p50/p95/p99 for latency and lag", () => {
    const text = formatSummary(buildSummary({ runId: "run-3", config: {}, load, lag }));
    const lines = text.split("\n");
    expect(lines[0]).toBe("run run-3  2025-11-21T05:59:59.500Z  11.0 s");
    expect(lines[1]).toMatch(/^\s+count\s+errors\s+p50\s+p95\s+p99\s+max$/);
    expect(lines[2]).toMatch(/^command latency\s+1000\s+3\s+5\.00 ms\s+9\.50 ms\s+9\.90 ms\s+10 ms$/);
    expect(lines[3]).toMatch(/^publish lag\s+3\s+1\s+0\.70 ms\s+40 ms\s+40 ms\s+40 ms$/);
    expect(lines[4]).toMatch(/^end-to-end lag\s+3\s+-\s+2\.00 ms\s+45 ms\s+45 ms\s+45 ms$/);
    expect(lines[5]).toBe(
      "rate 99.9/s of 100.0/s; sent 1000 of 1000, ok 997, dropped 0; errors: http_status 3",
    );
    expect(lines[6]).toBe("calls: 1 followed, 0 complete, 1 incomplete");
  });
});
