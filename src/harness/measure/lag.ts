import { connect, type Msg, type NatsConnection } from "nats";
import { CallCompleteness, type CompletenessReport } from "./call-completeness.ts";
import { LatencyHistogram } from "./histogram.ts";
import { type SecondRow, SecondSeries } from "./series.ts";

export interface LagMonitorOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Default `fs.events`. */
  subject?: string;
  /** Calls followed for completeness at most; default 100,000. */
  maxTrackedCalls?: number;
  /**
   * Follow only the calls announced with `expectCall`, not every call seen in an event: a run on a lab that
   * others use too, or whose warm-up calls are still up. Default false.
   */
  onlyAnnouncedCalls?: boolean;
  /** Told of every well-formed event, with its receive time (`performance.now()`). */
  onEvent?(event: ObservedEvent, atMs: number): void;
}

/** What an `onEvent` listener learns of an event. */
export interface ObservedEvent {
  type: string;
  callUuid: string | undefined;
  /** CHANNEL_HANGUP_COMPLETE's `Hangup-Cause`. */
  hangupCause: string | undefined;
  /** BACKGROUND_JOB's result, e.g. `-ERR USER_BUSY`. */
  jobResult: string | undefined;
}

type Counter = "received";
type Lag = "publishLag" | "endToEndLag";

/** One second of events received: how many, and the percentiles of both lags over them. */
export type LagSecondRow = SecondRow<Counter, Lag>;

export interface LagResult {
  subject: string;
  startedAt: string;
  endedAt: string;
  /** Events with a usable `gateway_received_at`; each gave a publish-lag sample. */
  received: number;
  /** Messages that are not a JSON object with a numeric `gateway_received_at`. */
  malformed: number;
  /** Events without a numeric `fs_timestamp_us`: no end-to-end sample. */
  withoutFsTimestamp: number;
  /** Samples recorded as 0 because the sender's clock was ahead of ours. */
  negative: Record<Lag, number>;
  eventTypes: Record<string, number>;
  /** Receive time − `gateway_received_at`: the gateway's queue and NATS. */
  publishLag: LatencyHistogram;
  /** Receive time − `fs_timestamp_us`: FreeSWITCH, ESL, the gateway and NATS. */
  endToEndLag: LatencyHistogram;
  /** Publish lag of the events received in each named window (see `LagMonitor.window`). */
  windows: Record<string, LatencyHistogram>;
  calls: CompletenessReport;
  series: LagSecondRow[];
}

/** A view of a running monitor for a progress display, over the seconds completed so far. */
export interface LagLive {
  received: number;
  publishLagP95Ms: number | undefined;
  endToEndLagP95Ms: number | undefined;
}

/** The fields of an `fs.events` payload (FsEventV1) the monitor reads. */
interface EventTiming {
  event_type?: unknown;
  call_uuid?: unknown;
  job_uuid?: unknown;
  job_result?: unknown;
  gateway_received_at?: unknown;
  fs_timestamp_us?: unknown;
  fields?: { "Hangup-Cause"?: unknown };
}

const decoder = new TextDecoder();

/** Wall-clock ms since the epoch with sub-ms resolution, as the gateway stamps `gateway_received_at`. */
const epochNowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Measures how late events reach a NATS subscriber. For each message on the subject, publish lag =
 * receive time − `gateway_received_at` and end-to-end lag = receive time − `fs_timestamp_us` / 1000, both
 * on the wall clock, so across hosts they include the clocks' offset. The receive time is taken when the
 * message is handed to us: a busy harness adds its own delay. Also counts events per type and follows each
 * call's lifecycle events.
 */
export class LagMonitor {
  private readonly series: SecondSeries<Counter, Lag>;
  private readonly completeness: CallCompleteness;
  private readonly eventTypes: Record<string, number> = {};
  private readonly negative: Record<Lag, number> = { publishLag: 0, endToEndLag: 0 };
  private readonly windows: Record<string, LatencyHistogram> = {};
  private currentWindow: LatencyHistogram | undefined;
  private malformed = 0;
  private withoutFsTimestamp = 0;
  private readonly startedAt = new Date().toISOString();
  private stopped: Promise<LagResult> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    readonly subject: string,
    options: LagMonitorOptions,
    private readonly onEvent: LagMonitorOptions["onEvent"],
  ) {
    this.series = new SecondSeries(["received"], ["publishLag", "endToEndLag"], performance.now());
    this.completeness = new CallCompleteness(options.maxTrackedCalls, undefined, !options.onlyAnnouncedCalls);
    nc.subscribe(subject, {
      callback: (error, msg) => {
        if (!error) this.receive(msg);
      },
    });
  }

  /** Connects and subscribes; the subscription is live once this resolves. */
  static async start(options: LagMonitorOptions): Promise<LagMonitor> {
    // Through a NATS outage the monitor reconnects quickly (no jitter on the wait) and for ever, to be back
    // before the gateway publishes what it queued meanwhile. Not guaranteed: loss is counted from a stream.
    const nc = await connect({
      servers: options.servers,
      name: "fs-esl-lab lag monitor",
      reconnectTimeWait: 100,
      reconnectJitter: 0,
      reconnectJitterTLS: 0,
      maxReconnectAttempts: -1,
    });
    const monitor = new LagMonitor(nc, options.subject ?? "fs.events", options, options.onEvent);
    await nc.flush(); // the server has the subscription before any publish we are told about
    return monitor;
  }

  /** Announces a call (and the Job-UUID of the bgapi that makes it) before it is made, at `atMs` on the caller's clock. */
  expectCall(callUuid: string, jobUuid?: string, atMs?: number): void {
    this.completeness.expect(callUuid, jobUuid, atMs);
  }

  /** The call's originate was refused: it is no longer followed. */
  withdrawCall(callUuid: string): void {
    this.completeness.withdraw(callUuid);
  }

  /** Lifecycle events never received by now, of the calls announced between `fromMs` and `toMs`. */
  missingEventsBetween(fromMs: number, toMs: number): number {
    return this.completeness.missingEventsOfCallsExpectedBetween(fromMs, toMs);
  }

  /** The publish lag of window `name` so far. */
  windowHistogram(name: string): LatencyHistogram | undefined {
    return this.windows[name];
  }

  /** From now on, publish-lag samples also go to window `name` (a load phase); undefined ends the window. */
  window(name: string | undefined): void {
    if (name === undefined) {
      this.currentWindow = undefined;
      return;
    }
    this.windows[name] ??= LatencyHistogram.create();
    this.currentWindow = this.windows[name];
  }

  live(): LagLive {
    this.series.advance(performance.now());
    const { counts, histograms } = this.series;
    return {
      received: counts.received,
      publishLagP95Ms: p95(histograms.publishLag),
      endToEndLagP95Ms: p95(histograms.endToEndLag),
    };
  }

  /** Handles what is already delivered, unsubscribes, closes the connection and returns the results. */
  stop(): Promise<LagResult> {
    this.stopped ??= this.nc.drain().then(() => this.result());
    return this.stopped;
  }

  private receive(msg: Msg): void {
    const receivedAt = epochNowMs();
    const now = performance.now();
    const event = parse(msg.data);
    if (
      !event ||
      typeof event.gateway_received_at !== "number" ||
      !Number.isFinite(event.gateway_received_at)
    ) {
      this.malformed++;
      return;
    }
    this.series.count(now, "received");
    const type = typeof event.event_type === "string" ? event.event_type : "(none)";
    this.eventTypes[type] = (this.eventTypes[type] ?? 0) + 1;
    this.recordLag(now, "publishLag", receivedAt - event.gateway_received_at);
    this.currentWindow?.record(Math.max(0, receivedAt - event.gateway_received_at));
    if (typeof event.fs_timestamp_us === "number" && Number.isFinite(event.fs_timestamp_us)) {
      this.recordLag(now, "endToEndLag", receivedAt - event.fs_timestamp_us / 1000);
    } else {
      this.withoutFsTimestamp++;
    }
    const callUuid = stringOrUndefined(event.call_uuid);
    const jobResult = stringOrUndefined(event.job_result);
    this.completeness.observe(
      type,
      callUuid,
      stringOrUndefined(event.job_uuid),
      jobResult?.startsWith("-ERR"),
    );
    this.onEvent?.(
      {
        type,
        callUuid,
        hangupCause: stringOrUndefined(event.fields?.["Hangup-Cause"]),
        jobResult,
      },
      now,
    );
  }

  private recordLag(now: number, lag: Lag, ms: number): void {
    if (ms < 0) this.negative[lag]++;
    this.series.record(now, lag, Math.max(0, ms));
  }

  private result(): LagResult {
    this.series.finish();
    const { counts, histograms, rows } = this.series;
    return {
      subject: this.subject,
      startedAt: this.startedAt,
      endedAt: new Date().toISOString(),
      received: counts.received,
      malformed: this.malformed,
      withoutFsTimestamp: this.withoutFsTimestamp,
      negative: { ...this.negative },
      eventTypes: { ...this.eventTypes },
      publishLag: histograms.publishLag,
      endToEndLag: histograms.endToEndLag,
      windows: { ...this.windows },
      calls: this.completeness.report(),
      series: rows,
    };
  }
}

function parse(data: Uint8Array): EventTiming | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const stringOrUndefined = (value: unknown): string | undefined =>
  typeof value === "string" ? value : undefined;

const p95 = (histogram: LatencyHistogram): number | undefined =>
  histogram.count > 0 ? histogram.percentile(95) : undefined;
