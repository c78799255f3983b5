import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from "hdr-histogram-js";
import { roundTo } from "../round.ts";

/**
 * Percentiles of a latency distribution, in milliseconds (resolution 1 µs, 3 significant digits). Like
 * every HdrHistogram percentile, each figure is the upper edge of its bucket: at most 0.1 % above the value.
 */
export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** What a results file keeps of a histogram: the figures, and the whole distribution to re-read or merge. */
export interface HistogramSnapshot extends Percentiles {
  unit: "ms";
  /** The lower edge of the lowest bucket. */
  min: number;
  p90: number;
  p999: number;
  /** The HdrHistogram (values in µs), compressed and base64-encoded; see {@link LatencyHistogram.fromSnapshot}. */
  hdr: string;
}

const MICROS_PER_MS = 1000;

/**
 * A latency distribution in milliseconds over an HdrHistogram of microseconds: 3 significant digits,
 * auto-resizing, so a 1 s stall and a 50 µs response are both kept to 0.1 %.
 */
export class LatencyHistogram {
  private constructor(private readonly hdr: Histogram) {}

  static create(): LatencyHistogram {
    return new LatencyHistogram(newHdr());
  }

  static fromSnapshot(snapshot: Pick<HistogramSnapshot, "hdr">): LatencyHistogram {
    const decoded = decodeFromCompressedBase64(snapshot.hdr);
    const histogram = LatencyHistogram.create();
    histogram.hdr.add(decoded);
    return histogram;
  }

  /** Records one value, ms. Negative or non-finite values are a caller's bug and throw. */
  record(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new RangeError(`latency must be a finite ms value >= 0: ${ms}`);
    this.hdr.recordValue(Math.round(ms * MICROS_PER_MS));
  }

  get count(): number {
    return this.hdr.totalCount;
  }

  /** The value (ms) at or below which `percentile` % of the values lie; 0 when empty. */
  percentile(percentile: number): number {
    return toMs(this.hdr.getValueAtPercentile(percentile));
  }

  percentiles(): Percentiles {
    return {
      count: this.hdr.totalCount,
      mean: this.hdr.totalCount === 0 ? 0 : roundTo(this.hdr.mean / MICROS_PER_MS, 3),
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.percentile(100),
    };
  }

  /** Adds `other`'s values to this histogram. */
  merge(other: LatencyHistogram): this {
    this.hdr.add(other.hdr);
    return this;
  }

  snapshot(): HistogramSnapshot {
    return {
      unit: "ms",
      ...this.percentiles(),
      min: this.percentile(0),
      p90: this.percentile(90),
      p999: this.percentile(99.9),
      hdr: encodeIntoCompressedBase64(this.hdr),
    };
  }
}

function newHdr(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    autoResize: true,
    numberOfSignificantValueDigits: 3,
  });
}

const toMs = (micros: number): number => roundTo(micros / MICROS_PER_MS, 3);
