import { type Dispatcher, Pool } from "undici";
import type { LatencyHistogram, Percentiles } from "../measure/histogram.ts";
import { type SecondRow, SecondSeries } from "../measure/series.ts";
import { type Arrival, type ArrivalSchedule, rateAt, runArrivals } from "./arrival.ts";

/** The request one arrival sends. A `body` is sent as JSON. */
export interface HttpRequestSpec {
  method: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Which of the load's origins it goes to; default the first. */
  origin?: string;
}

export interface HttpLoadOptions {
  /** `http://127.0.0.1:<port>`, or several (sharded gateways): load goes to loopback only. */
  origin: string | readonly string[];
  schedule: ArrivalSchedule;
  /** Keep-alive connections in the pool (one request at a time on each). */
  connections: number;
  /** Requests allowed in flight, queued ones included; a due request beyond it is dropped and counted. */
  maxInFlight: number;
  /** Builds the request for arrival `index`. */
  request(index: number): HttpRequestSpec;
  /** Whole-request limit, from the moment it starts. Default 5 s. */
  requestTimeoutMs?: number;
  /** After the last arrival, how long in-flight requests may finish. Default: `requestTimeoutMs`. */
  gracefulStopMs?: number;
  /** Which statuses count as success. Default 200–399. */
  isOk?(status: number): boolean;
  /** Told how each sent request ended, as it ends. */
  onOutcome?(outcome: RequestOutcome): void;
  signal?: AbortSignal;
  /** The schedule's time zero (`performance.now()` ms), when the caller times other things from it; default: the run's start. */
  startMs?: number;
}

/** How one request ended: a response (any status), or a failure without one. */
export interface RequestOutcome {
  index: number;
  /** Its intended send time and its end, on the `performance.now()` clock. */
  intendedAt: number;
  endedAt: number;
  status?: number;
  /** The response body, as read (a created resource's id, an error's code). */
  body?: ArrayBuffer;
  error?: HttpErrorKind;
}

export type HttpErrorKind = "timeout" | "connection" | "http_status" | "aborted" | "other";

export const HTTP_ERROR_KINDS: readonly HttpErrorKind[] = [
  "timeout",
  "connection",
  "http_status",
  "aborted",
  "other",
];

type Counter = "sent" | "dropped" | "ok" | "errors";
const COUNTERS: readonly Counter[] = ["sent", "dropped", "ok", "errors"];

/** One second of a run: requests started, dropped, succeeded and failed in it; latency of those completed in it. */
export type HttpSecondRow = SecondRow<Counter, "latency">;
type HttpSeries = SecondSeries<Counter, "latency">;

export interface HttpLoadResult {
  /** ISO times of the run's start and end. */
  startedAt: string;
  endedAt: string;
  counts: {
    planned: number;
    sent: number;
    ok: number;
    errors: number;
    /** Due while `maxInFlight` requests were outstanding: never sent. */
    dropped: number;
    /** Never due: the run was aborted first. */
    cancelled: number;
  };
  rate: { target: number; achieved: number };
  /** Responses by status code. */
  statusCounts: Record<string, number>;
  errors: Record<HttpErrorKind, number>;
  /** Response latency from each request's intended start to its last body byte, every response counted. */
  latency: LatencyHistogram;
  /** How late the runner started requests against their intended times (the harness's own precision). */
  startLateness: Percentiles;
  series: HttpSecondRow[];
}

/** A view of a running load for a progress display, over the seconds completed so far. */
export interface HttpLoadLive {
  elapsedMs: number;
  targetRate: number;
  /** Requests sent in the last completed second. */
  achievedRate: number;
  sent: number;
  errors: number;
  /** p95 latency so far, ms; undefined before the first response. */
  p95Ms: number | undefined;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const LOOPBACK_HOSTS = new Set(["localhost", "[::1]"]);

/**
 * An open-loop HTTP load: each arrival of the schedule sends one request on a keep-alive undici Pool and
 * records its latency FROM THE INTENDED SEND TIME, so queueing anywhere (a stalled server, a full pool, our
 * own event loop) is counted for every request it held up. Samples go into a per-second series first; the
 * run's totals are computed from it.
 */
export class HttpLoad {
  private series: HttpSeries | undefined;
  private readonly statusCounts: Record<string, number> = {};
  private readonly errors = Object.fromEntries(HTTP_ERROR_KINDS.map((kind) => [kind, 0])) as Record<
    HttpErrorKind,
    number
  >;
  private startMs = 0;

  private readonly origins: readonly string[];

  constructor(private readonly options: HttpLoadOptions) {
    this.origins = typeof options.origin === "string" ? [options.origin] : options.origin;
    if (this.origins.length === 0) throw new RangeError("load needs an origin");
    for (const origin of this.origins) {
      const url = new URL(origin);
      if (
        url.protocol !== "http:" ||
        !(LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname))
      ) {
        throw new RangeError(`load goes to loopback http only, not ${origin}`);
      }
    }
    if (!Number.isInteger(options.connections) || options.connections < 1) {
      throw new RangeError("connections must be an integer >= 1");
    }
  }

  /** Undefined until the run starts. */
  live(): HttpLoadLive | undefined {
    if (!this.series) return undefined;
    const now = performance.now();
    this.series.advance(now);
    const { counts, histograms, rows } = this.series;
    return {
      elapsedMs: now - this.startMs,
      targetRate: rateAt(this.options.schedule, now - this.startMs),
      achievedRate: rows.at(-1)?.sent ?? 0,
      sent: counts.sent,
      errors: counts.errors,
      p95Ms: histograms.latency.count > 0 ? histograms.latency.percentile(95) : undefined,
    };
  }

  /** Runs the schedule once, then closes the pools. */
  async run(): Promise<HttpLoadResult> {
    if (this.series) throw new Error("an HttpLoad runs once");
    this.startMs = this.options.startMs ?? performance.now();
    const series = new SecondSeries(COUNTERS, ["latency"], this.startMs);
    this.series = series;
    const { schedule, connections, maxInFlight, signal } = this.options;
    const requestTimeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const startedAt = new Date().toISOString();
    // One pool per origin, each with `connections`: a second gateway does not share the first one's.
    const pools = new Map(
      this.origins.map((origin) => [origin, new Pool(origin, { connections, pipelining: 1 })]),
    );
    try {
      const run = await runArrivals({
        schedule,
        maxInFlight,
        gracefulStopMs: this.options.gracefulStopMs ?? requestTimeoutMs,
        signal,
        startMs: this.startMs,
        start: (arrival) => this.send(series, pools, arrival, requestTimeoutMs),
        onDrop: (_arrival, atMs) => series.count(atMs, "dropped"),
      });
      series.finish();
      const { counts, histograms, rows } = series;
      return {
        startedAt,
        endedAt: new Date().toISOString(),
        counts: {
          planned: run.planned,
          sent: counts.sent,
          ok: counts.ok,
          errors: counts.errors,
          dropped: counts.dropped,
          cancelled: run.cancelled,
        },
        rate: { target: run.targetRate, achieved: run.achievedRate },
        statusCounts: { ...this.statusCounts },
        errors: { ...this.errors },
        latency: histograms.latency,
        startLateness: run.lateness,
        series: rows,
      };
    } finally {
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
    }
  }

  private async send(
    series: HttpSeries,
    pools: ReadonlyMap<string, Pool>,
    arrival: Arrival,
    timeoutMs: number,
  ): Promise<void> {
    // One controller per request, unlinked when it settles: AbortSignal.any on the run-long stop signal
    // would keep every request's signal alive until the run ends (nodejs/node#55351).
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    const stop = () => abort.abort();
    arrival.signal.addEventListener("abort", stop, { once: true });
    series.count(performance.now(), "sent");
    try {
      const { method, path, headers, body, origin = this.origins[0]! } = this.options.request(arrival.index);
      const pool = pools.get(origin);
      if (!pool) throw new Error(`request to ${origin}, not an origin of this load`);
      const response = await pool.request({
        method,
        path,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: abort.signal,
      });
      const responseBody = await response.body.arrayBuffer(); // read to the end: latency counts it all
      const now = performance.now();
      const status = response.statusCode;
      this.statusCounts[status] = (this.statusCounts[status] ?? 0) + 1;
      series.record(now, "latency", now - arrival.intendedAt);
      if ((this.options.isOk ?? isSuccess)(status)) {
        series.count(now, "ok");
      } else {
        this.fail(series, now, "http_status");
      }
      this.options.onOutcome?.({
        index: arrival.index,
        intendedAt: arrival.intendedAt,
        endedAt: now,
        status,
        body: responseBody,
      });
    } catch (error) {
      const kind = timedOut ? "timeout" : arrival.signal.aborted ? "aborted" : errorKind(error);
      const now = performance.now();
      this.fail(series, now, kind);
      this.options.onOutcome?.({
        index: arrival.index,
        intendedAt: arrival.intendedAt,
        endedAt: now,
        error: kind,
      });
    } finally {
      clearTimeout(timer);
      arrival.signal.removeEventListener("abort", stop);
    }
  }

  private fail(series: HttpSeries, atMs: number, kind: HttpErrorKind): void {
    this.errors[kind]++;
    series.count(atMs, "errors");
  }
}

const isSuccess = (status: number): boolean => status >= 200 && status < 400;

const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
]);

/** The kind of a failure undici reported: its code, or the code of its cause. */
function errorKind(error: unknown): HttpErrorKind {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (TIMEOUT_CODES.has(code)) return "timeout";
    if (CONNECTION_CODES.has(code)) return "connection";
  }
  return "other";
}
