import { LatencyHistogram, type Percentiles } from "./histogram.ts";

/** One closed second of a run: counters, and the percentiles of each histogram over that second. */
export type SecondRow<C extends string, H extends string> = { second: number } & Record<C, number> &
  Record<H, Percentiles>;

interface OpenSecond<C extends string, H extends string> {
  second: number;
  counts: Record<C, number>;
  histograms: Record<H, LatencyHistogram>;
}

/**
 * A per-second time series, and the run totals computed from it. Every sample lands in the second (since
 * `startMs`, on the monotonic clock) in which it happened; samples come in time order, so only the current
 * second is open (a sample stamped before it, by a caller's clock read a moment earlier, joins it). Closing a second turns it into a row and folds its histograms into the totals, so memory
 * stays constant however long the run.
 */
export class SecondSeries<C extends string, H extends string> {
  readonly rows: SecondRow<C, H>[] = [];
  private readonly totalCounts: Record<C, number>;
  private readonly totalHistograms: Record<H, LatencyHistogram>;
  private open: OpenSecond<C, H>;
  private closed = false;

  constructor(
    private readonly counterNames: readonly C[],
    private readonly histogramNames: readonly H[],
    private readonly startMs: number,
  ) {
    this.totalCounts = this.zeroCounts();
    this.totalHistograms = this.emptyHistograms();
    this.open = this.newSecond(0);
  }

  count(atMs: number, counter: C, n = 1): void {
    const second = this.secondAt(atMs);
    if (second) second.counts[counter] += n;
  }

  record(atMs: number, histogram: H, valueMs: number): void {
    this.secondAt(atMs)?.histograms[histogram].record(valueMs);
  }

  /** Closes every second that ended before `atMs`, so readers of `rows` and totals see them. */
  advance(atMs: number): void {
    this.secondAt(atMs);
  }

  /** Closes the open second; later samples are ignored. */
  finish(): void {
    if (this.closed) return;
    this.closeOpen();
    this.closed = true;
  }

  /** Counter totals over the closed seconds. */
  get counts(): Readonly<Record<C, number>> {
    return this.totalCounts;
  }

  /** Histogram totals over the closed seconds: the merge of the seconds' histograms. */
  get histograms(): Readonly<Record<H, LatencyHistogram>> {
    return this.totalHistograms;
  }

  private secondAt(atMs: number): OpenSecond<C, H> | undefined {
    if (this.closed) return undefined;
    const second = Math.max(0, Math.floor((atMs - this.startMs) / 1000));
    while (this.open.second < second) {
      this.closeOpen();
      this.open = this.newSecond(this.open.second + 1);
    }
    return this.open;
  }

  private closeOpen(): void {
    const { second, counts, histograms } = this.open;
    const row = { second } as SecondRow<C, H>;
    for (const name of this.counterNames) {
      (row as Record<C, number>)[name] = counts[name];
      this.totalCounts[name] += counts[name];
    }
    for (const name of this.histogramNames) {
      (row as Record<H, Percentiles>)[name] = histograms[name].percentiles();
      this.totalHistograms[name].merge(histograms[name]);
    }
    this.rows.push(row);
  }

  private newSecond(second: number): OpenSecond<C, H> {
    return { second, counts: this.zeroCounts(), histograms: this.emptyHistograms() };
  }

  private zeroCounts(): Record<C, number> {
    return Object.fromEntries(this.counterNames.map((name) => [name, 0])) as Record<C, number>;
  }

  private emptyHistograms(): Record<H, LatencyHistogram> {
    return Object.fromEntries(this.histogramNames.map((name) => [name, LatencyHistogram.create()])) as Record<
      H,
      LatencyHistogram
    >;
  }
}
