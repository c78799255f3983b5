import { roundTo } from "../round.ts";
import {
  counterDelta,
  type HistogramState,
  histogramDelta,
  histogramQuantile,
  MetricsSnapshot,
} from "./prometheus.ts";

/** Quantiles read from a Prometheus histogram's buckets (interpolated, as PromQL does); ms. */
export interface BucketQuantiles {
  count: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

/** One second of the gateway's own figures: counter increases in it, gauges at its end. */
export interface GatewaySecondRow {
  second: number;
  /** Whether /metrics answered; when not, the counters of the second are 0 and the gauges absent. */
  scraped: boolean;
  commands: number;
  errors: number;
  reconnects: number;
  eventsReceived: number;
  eventsPublished: number;
  eventsDropped: number;
  rejections: number;
  /** ESL command latency (command sent → reply) of the commands answered in the second. */
  eslLatency: BucketQuantiles;
  /** ESL decode → handed to NATS, of the events of the second. */
  publishLag: BucketQuantiles;
  queueDepth?: number;
  inFlight?: number;
  channels?: number;
  connected?: number;
  rssMb?: number;
  eventLoopLagP99Ms?: number;
}

export interface GatewayScrapeResult {
  name: string;
  url: string;
  series: GatewaySecondRow[];
  /** Over the whole run: counter increases, and quantiles of every observation made in it. */
  totals: Omit<
    GatewaySecondRow,
    | "second"
    | "scraped"
    | "queueDepth"
    | "inFlight"
    | "channels"
    | "connected"
    | "rssMb"
    | "eventLoopLagP99Ms"
  > & {
    queueDepthMax: number;
    inFlightMax: number;
    rssMaxMb: number;
  };
}

interface Scrape {
  atMs: number;
  snapshot: MetricsSnapshot;
}

const COUNTERS = {
  commands: "fs_esl_commands_total",
  errors: "fs_esl_errors_total",
  reconnects: "fs_esl_reconnects_total",
  eventsReceived: "fs_esl_events_received_total",
  eventsPublished: "fs_esl_events_published_total",
  eventsDropped: "fs_esl_events_dropped_total",
  rejections: "fs_esl_rejections_total",
} as const;
type CounterName = keyof typeof COUNTERS;

const ESL_LATENCY = "fs_esl_command_latency_ms";
const PUBLISH_LAG = "fs_esl_event_publish_lag_ms";

/**
 * Reads a gateway's /metrics once a second: its own ESL command latency (quantiles from the histogram's
 * bucket increases over each second), event and error counters, queue and memory gauges. Every scrape is
 * kept, so any stretch of the run (a load phase) can be read afterwards with `between`.
 */
export class GatewayScraper {
  private readonly scrapes: Scrape[] = [];
  private readonly rows: GatewaySecondRow[] = [];
  private readonly timer: NodeJS.Timeout;
  private busy = false;
  private ready: Promise<void>;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly startMs: number,
    intervalMs = 1000,
  ) {
    this.ready = this.scrape();
    this.timer = setInterval(() => void this.scrape(), intervalMs);
    this.timer.unref();
  }

  /** Waits for the first scrape (the baseline every later figure is a difference from). */
  started(): Promise<void> {
    return this.ready;
  }

  /** Scrapes a last time and returns the series and the run's totals. */
  async stop(): Promise<GatewayScrapeResult> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.scrape();
    const first = this.scrapes[0];
    const last = this.scrapes.at(-1);
    return {
      name: this.name,
      url: this.url,
      series: this.rows,
      totals: {
        ...counterDeltas(last?.snapshot, first?.snapshot),
        eslLatency: quantilesBetween(ESL_LATENCY, last?.snapshot, first?.snapshot),
        publishLag: quantilesBetween(PUBLISH_LAG, last?.snapshot, first?.snapshot),
        queueDepthMax: Math.max(0, ...this.rows.map((r) => r.queueDepth ?? 0)),
        inFlightMax: Math.max(0, ...this.rows.map((r) => r.inFlight ?? 0)),
        rssMaxMb: Math.max(0, ...this.rows.map((r) => r.rssMb ?? 0)),
      },
    };
  }

  /** ESL command latency of the commands answered between two moments, from the scrapes nearest them. */
  eslLatencyBetween(fromMs: number, toMs: number): BucketQuantiles {
    const from = [...this.scrapes].reverse().find((s) => s.atMs <= fromMs) ?? this.scrapes[0];
    const to = this.scrapes.find((s) => s.atMs >= toMs) ?? this.scrapes.at(-1);
    return quantilesBetween(ESL_LATENCY, to?.snapshot, from?.snapshot);
  }

  private async scrape(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const response = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(2000) });
      const snapshot = MetricsSnapshot.parse(await response.text());
      this.add({ atMs: performance.now(), snapshot });
    } catch {
      this.rows.push({ ...emptyRow(this.secondAt(performance.now())), scraped: false });
    } finally {
      this.busy = false;
    }
  }

  private add(scrape: Scrape): void {
    const previous = this.scrapes.at(-1);
    this.scrapes.push(scrape);
    if (!previous) return; // the baseline
    const { snapshot } = scrape;
    const bytes = snapshot.value("process_resident_memory_bytes");
    const loopLag = snapshot.value("nodejs_eventloop_lag_p99_seconds");
    const gauge = (name: string) => snapshot.value(name);
    this.rows.push({
      second: this.secondAt(scrape.atMs),
      scraped: true,
      ...counterDeltas(snapshot, previous.snapshot),
      eslLatency: quantilesBetween(ESL_LATENCY, snapshot, previous.snapshot),
      publishLag: quantilesBetween(PUBLISH_LAG, snapshot, previous.snapshot),
      ...optional("queueDepth", gauge("fs_esl_event_queue_depth")),
      ...optional("inFlight", gauge("fs_esl_commands_in_flight")),
      ...optional("channels", gauge("fs_esl_channels")),
      ...optional("connected", gauge("fs_esl_connected")),
      ...optional("rssMb", bytes === undefined ? undefined : roundTo(bytes / 1024 / 1024, 3)),
      ...optional("eventLoopLagP99Ms", loopLag === undefined ? undefined : roundTo(loopLag * 1000, 3)),
    });
  }

  /** The second a scrape closes: the one that ended at or just before it. */
  private secondAt(atMs: number): number {
    return Math.max(0, Math.round((atMs - this.startMs) / 1000) - 1);
  }
}

function counterDeltas(later: MetricsSnapshot | undefined, earlier: MetricsSnapshot | undefined) {
  return Object.fromEntries(
    (Object.keys(COUNTERS) as CounterName[]).map((key) => [
      key,
      counterDelta(later?.value(COUNTERS[key]), earlier?.value(COUNTERS[key])),
    ]),
  ) as Record<CounterName, number>;
}

function quantilesBetween(
  name: string,
  later: MetricsSnapshot | undefined,
  earlier: MetricsSnapshot | undefined,
): BucketQuantiles {
  const after = later?.histogram(name);
  if (!after) return { count: 0 };
  return bucketQuantiles(histogramDelta(after, earlier?.histogram(name)));
}

function bucketQuantiles(histogram: HistogramState): BucketQuantiles {
  const quantile = (q: number) => {
    const value = histogramQuantile(q, histogram);
    return value === undefined ? {} : { [`p${Math.round(q * 100)}`]: roundTo(value, 3) };
  };
  return { count: histogram.count, ...quantile(0.5), ...quantile(0.95), ...quantile(0.99) };
}

function emptyRow(second: number): GatewaySecondRow {
  return {
    second,
    scraped: false,
    commands: 0,
    errors: 0,
    reconnects: 0,
    eventsReceived: 0,
    eventsPublished: 0,
    eventsDropped: 0,
    rejections: 0,
    eslLatency: { count: 0 },
    publishLag: { count: 0 },
  };
}

const optional = <K extends string>(key: K, value: number | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, number>>;
