import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../src/harness/measure/histogram.ts";
import { SecondSeries } from "../../src/harness/measure/series.ts";

describe("SecondSeries", () => {
  it("puts each sample in the second it happened, with empty seconds in between", () => {
    const series = new SecondSeries(["sent", "ok"], ["latency"], 10_000);
    series.count(10_000, "sent");
    series.count(10_999.9, "sent");
    series.record(10_500, "latency", 2);
    series.count(13_200, "ok", 3);
    series.finish();
    expect(series.rows.map((r) => [r.second, r.sent, r.ok, r.latency.count])).toEqual([
      [0, 2, 0, 1],
      [1, 0, 0, 0],
      [2, 0, 0, 0],
      [3, 0, 3, 0],
    ]);
  });

  it("its totals are computed from the closed seconds", () => {
    const series = new SecondSeries(["ok"], ["latency"], 0);
    const all = LatencyHistogram.create();
    for (let i = 0; i < 3000; i++) {
      const value = (i * 7) % 250;
      series.count(i, "ok");
      series.record(i, "latency", value);
      all.record(value);
    }
    series.advance(2500);
    expect(series.rows).toHaveLength(2);
    expect(series.counts.ok).toBe(2000);
    series.finish();
    expect(series.counts.ok).toBe(3000);
    expect(series.histograms.latency.percentiles()).toEqual(all.percentiles());
    expect(series.rows[1]!.latency.count).toBe(1000);
  });

  it("ignores samples after finish", () => {
    const series = new SecondSeries(["ok"], ["latency"], 0);
    series.count(10, "ok");
    series.finish();
    series.count(20, "ok");
    series.record(5000, "latency", 1);
    series.finish();
    expect(series.rows).toHaveLength(1);
    expect(series.counts.ok).toBe(1);
  });
});
