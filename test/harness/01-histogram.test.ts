import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../src/harness/measure/histogram.ts";

/** HdrHistogram with 3 significant digits reports a bucket's upper edge: within 0.1 % above the true value. */
const expectWithinResolution = (actual: number, expected: number) => {
  expect(actual).toBeGreaterThanOrEqual(expected);
  expect(actual).toBeLessThanOrEqual(expected * 1.001 + 0.001);
};

function histogramOf(values: number[]): LatencyHistogram {
  const histogram = LatencyHistogram.create();
  for (const value of values) histogram.record(value);
  return histogram;
}

describe("LatencyHistogram", () => {
  it("reports the percentiles of 1..1000 ms to 0.1 %", () => {
    const p = histogramOf(Array.from({ length: 1000 }, (_, i) => i + 1)).percentiles();
    expect(p.count).toBe(1000);
    expectWithinResolution(p.p50, 500);
    expectWithinResolution(p.p95, 950);
    expectWithinResolution(p.p99, 990);
    expectWithinResolution(p.max, 1000);
    expect(p.mean).toBeCloseTo(500.5, 0);
  });

  it("keeps microsecond resolution below a millisecond", () => {
    const p = histogramOf([0.05, 0.05, 0.05, 0.25]).percentiles();
    expect(p.p50).toBe(0.05);
    expect(p.max).toBe(0.25);
  });

  it("a single slow sample in 1000 moves max but not p99", () => {
    const values = Array.from({ length: 999 }, () => 1);
    values.push(1000);
    const p = histogramOf(values).percentiles();
    expectWithinResolution(p.p99, 1);
    expectWithinResolution(p.max, 1000);
  });

  it("merging equals recording everything in one histogram", () => {
    const a = Array.from({ length: 500 }, (_, i) => i * 0.37);
    const b = Array.from({ length: 300 }, (_, i) => 100 + i * 3.1);
    const merged = histogramOf(a).merge(histogramOf(b)).percentiles();
    expect(merged).toEqual(histogramOf([...a, ...b]).percentiles());
    expect(merged.count).toBe(800);
  });

  it("a snapshot is JSON and restores the same distribution", () => {
    const original = histogramOf(Array.from({ length: 2000 }, (_, i) => (i % 97) * 1.5));
    const snapshot = JSON.parse(JSON.stringify(original.snapshot()));
    expect(snapshot.unit).toBe("ms");
    expect(snapshot.count).toBe(2000);
    expect(snapshot.min).toBe(0);
    expect(LatencyHistogram.fromSnapshot(snapshot).percentiles()).toEqual(original.percentiles());
  });

  it("an empty histogram reports zeros", () => {
    expect(LatencyHistogram.create().percentiles()).toEqual({
      count: 0,
      mean: 0,
      p50: 0,
      p95: 0,
      p99: 0,
      max: 0,
    });
  });

  it("refuses negative and non-finite values", () => {
    const histogram = LatencyHistogram.create();
    expect(() => histogram.record(-0.5)).toThrow(RangeError);
    expect(() => histogram.record(Number.NaN)).toThrow(RangeError);
    expect(() => histogram.record(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(histogram.count).toBe(0);
  });
});
