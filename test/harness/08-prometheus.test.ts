import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "../../src/gateway/metrics.ts";
import {
  counterDelta,
  histogramDelta,
  histogramQuantile,
  MetricsSnapshot,
  parsePrometheusText,
} from "../../src/harness/measure/prometheus.ts";

describe("Prometheus text parser", () => {
  it("reads samples with labels, escapes, special values and timestamps, skipping comments", () => {
    const text = [
      "# HELP x_total A counter",
      "# TYPE x_total counter",
      'x_total{type="a\\"b",path="c\\\\d\\ne",} 3',
      "y 1.5e3 1700000000000",
      "z +Inf",
      "w NaN",
      "",
    ].join("\n");
    const samples = parsePrometheusText(text);
    expect(samples).toHaveLength(4);
    expect(samples[0]).toEqual({ name: "x_total", labels: { type: 'a"b', path: "c\\d\ne" }, value: 3 });
    expect(samples[1]).toEqual({ name: "y", labels: {}, value: 1500 });
    expect(samples[2]!.value).toBe(Number.POSITIVE_INFINITY);
    expect(samples[3]!.value).toBeNaN();
  });

  it("refuses a line that is not a sample, naming it", () => {
    expect(() => parsePrometheusText("ok 1\nthis is not { a sample")).toThrow(/line 2/);
  });

  it("reads the gateway's own registry: counters summed over labels, histograms merged over commands", async () => {
    const metrics = new GatewayMetrics();
    metrics.commands.inc({ command: "originate" }, 7);
    metrics.commands.inc({ command: "uuid_kill" }, 3);
    for (let i = 1; i <= 100; i++)
      metrics.commandLatency.observe({ command: i % 2 ? "originate" : "uuid_kill" }, i / 10);
    const snapshot = MetricsSnapshot.parse(await metrics.registry.metrics());
    expect(snapshot.value("fs_esl_commands_total")).toBe(10);
    expect(snapshot.value("fs_esl_commands_total", { command: "uuid_kill" })).toBe(3);
    expect(snapshot.value("no_such_metric")).toBeUndefined();
    const histogram = snapshot.histogram("fs_esl_command_latency_ms")!;
    expect(histogram.count).toBe(100);
    expect(histogram.buckets.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, count: 100 });
    // 0.1..10 ms uniformly: p50 lies in the (3, 5] bucket at rank 50 of the 30 below it and the 20 in it.
    expect(histogramQuantile(0.5, histogram)).toBeCloseTo(5, 5);
    expect(snapshot.value("process_resident_memory_bytes")).toBeGreaterThan(0);
  });
});

describe("histogram quantiles from buckets (PromQL histogram_quantile)", () => {
  const histogram = {
    buckets: [
      { le: 1, count: 10 },
      { le: 2, count: 30 },
      { le: 5, count: 90 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ],
    sum: 0,
    count: 100,
  };

  it("interpolates linearly inside the bucket the rank falls in; the first bucket starts at 0", () => {
    expect(histogramQuantile(0.05, histogram)).toBeCloseTo(0.5);
    expect(histogramQuantile(0.2, histogram)).toBeCloseTo(1.5);
    expect(histogramQuantile(0.6, histogram)).toBeCloseTo(3.5);
  });

  it("answers the highest finite bound for a rank in the +Inf bucket, and nothing without observations", () => {
    expect(histogramQuantile(0.95, histogram)).toBe(5);
    expect(
      histogramQuantile(0.5, { buckets: [{ le: Number.POSITIVE_INFINITY, count: 0 }], sum: 0, count: 0 }),
    ).toBeUndefined();
  });

  it("differences two scrapes; a counter that went down (a restart) counts from zero", () => {
    const earlier = {
      buckets: histogram.buckets.map((b) => ({ le: b.le, count: b.count / 2 })),
      sum: 0,
      count: 50,
    };
    const delta = histogramDelta(histogram, earlier);
    expect(delta.count).toBe(50);
    expect(delta.buckets[2]).toEqual({ le: 5, count: 45 });
    expect(histogramDelta(earlier, histogram)).toBe(earlier);
    expect(counterDelta(12, 10)).toBe(2);
    expect(counterDelta(3, 10)).toBe(3);
    expect(counterDelta(undefined, 10)).toBe(0);
  });
});
