import { ApiError } from "../contracts/api-error.ts";
import type { GatewayMetrics } from "./metrics.ts";

interface AdmissionOptions {
  maxInFlight: number;
  latencyP95LimitMs: number;
  /** Refuse originates once FreeSWITCH's sessions reach this share of Max-Sessions. */
  sessionsHeadroom: number;
  retryAfterSec: number;
}

type RejectionReason =
  | "esl_down"
  | "in_flight"
  | "stalled"
  | "latency"
  | "max_sessions"
  | "sessions_per_second"
  | "freeswitch_shutting_down"
  | "channel_table_seeding";

const latencyWindow = 256;
/** Samples older than this no longer count, so a rejecting gateway recovers once FreeSWITCH does. */
const latencyMaxAgeMs = 2_000;
/** While refusing on latency, one command per this interval goes through as a probe, to take a fresh sample. */
const probeIntervalMs = 100;

/**
 * Backpressure in front of FreeSWITCH: refuse at once (503 while ESL is down, 429 when busy) rather than
 * queue. "Busy" is in-flight commands over a limit, the p95 of recent ESL latency over a limit, or
 * FreeSWITCH's own HEARTBEAT figures near Max-Sessions; originates are also kept under FreeSWITCH's
 * sessions-per-second limit, which FreeSWITCH would otherwise enforce by failing calls, and refused (503)
 * while FreeSWITCH is shutting down, when every one would fail.
 */
export class Admission {
  inFlight = 0;
  private readonly latencies = new Float64Array(latencyWindow);
  private readonly latencyTimes = new Float64Array(latencyWindow);
  private latencyCount = 0;
  private latencyP95Cache = { value: 0, at: 0, samples: 0 };
  private maxSessions = Number.POSITIVE_INFINITY;
  private sessionCount = 0;
  private sessionsPerSecondLimit = Number.POSITIVE_INFINITY;
  private freeswitchShuttingDown = false;
  /** After a (re)connect, until `show channels` has re-seeded the channel table. */
  private channelTableSeeding = false;
  private originateSecond = 0;
  private originatesThisSecond = 0;

  constructor(
    private readonly options: AdmissionOptions,
    private readonly metrics: GatewayMetrics,
    private readonly esl: { readonly ready: boolean; readonly oldestOutstandingMs: number },
  ) {}

  private lastProbeAt = 0;

  /** Throws the ApiError to answer with, or admits (counting one in-flight command until `done`). */
  admit(kind: "originate" | "control" | "read"): void {
    if (!this.esl.ready)
      this.reject("esl_down", 503, "freeswitch_unavailable", "FreeSWITCH ESL connection is down");
    if (kind === "read") return;
    // A fresh table cannot refuse a live uuid yet (409): an orchestrator's retry of an originate that reached
    // FreeSWITCH before a gateway restart would be sent again. One `show channels` round trip long.
    if (kind === "originate" && this.channelTableSeeding)
      this.reject(
        "channel_table_seeding",
        503,
        "freeswitch_unavailable",
        "the channel table is being re-seeded from FreeSWITCH after a reconnect",
      );
    if (kind === "originate" && this.freeswitchShuttingDown) {
      this.reject(
        "freeswitch_shutting_down",
        503,
        "freeswitch_unavailable",
        "FreeSWITCH is shutting down: it would fail every originate until it is back",
      );
    }
    if (this.inFlight >= this.options.maxInFlight) {
      this.reject(
        "in_flight",
        429,
        "throttled",
        `${this.inFlight} commands in flight (limit ${this.options.maxInFlight})`,
      );
    }
    // A command FreeSWITCH has not answered for longer than the latency limit means every command behind it
    // waits at least as long: refuse now instead of queueing more behind it.
    const stalledMs = this.esl.oldestOutstandingMs;
    if (stalledMs > this.options.latencyP95LimitMs) {
      this.reject(
        "stalled",
        429,
        "throttled",
        `FreeSWITCH has not answered a command for ${stalledMs.toFixed(0)} ms`,
      );
    }
    const p95 = this.latencyP95();
    if (p95 > this.options.latencyP95LimitMs) {
      const now = Date.now();
      if (now - this.lastProbeAt < probeIntervalMs) {
        this.reject(
          "latency",
          429,
          "throttled",
          `recent ESL p95 latency ${p95.toFixed(1)} ms over ${this.options.latencyP95LimitMs} ms`,
        );
      }
      this.lastProbeAt = now; // this one goes through: its latency tells whether FreeSWITCH has recovered
    }
    if (kind === "originate") {
      if (this.sessionCount >= this.maxSessions * this.options.sessionsHeadroom) {
        this.reject(
          "max_sessions",
          429,
          "throttled",
          `FreeSWITCH at ${this.sessionCount} of ${this.maxSessions} sessions`,
        );
      }
      const second = Math.floor(Date.now() / 1000);
      if (second !== this.originateSecond) {
        this.originateSecond = second;
        this.originatesThisSecond = 0;
      }
      if (this.originatesThisSecond >= this.sessionsPerSecondLimit) {
        this.reject(
          "sessions_per_second",
          429,
          "throttled",
          `FreeSWITCH sessions-per-second limit ${this.sessionsPerSecondLimit} reached`,
        );
      }
      this.originatesThisSecond++;
    }
    this.inFlight++;
    this.metrics.inFlight.set(this.inFlight);
  }

  done(latencyMs: number | undefined): void {
    this.inFlight--;
    this.metrics.inFlight.set(this.inFlight);
    if (latencyMs !== undefined) {
      this.latencies[this.latencyCount % latencyWindow] = latencyMs;
      this.latencyTimes[this.latencyCount % latencyWindow] = Date.now();
      this.latencyCount++;
    }
  }

  /**
   * Track FreeSWITCH's session limit and count from HEARTBEAT (Max-Sessions, Session-Count). Its
   * Session-Per-Sec is not the sessions-per-second limit but runtime.sps, what is left of the current
   * second's budget: see {@link observeSessionsPerSecondLimit}.
   */
  observeHeartbeat(fields: Readonly<Record<string, string>>): void {
    const max = Number(fields["Max-Sessions"]);
    const count = Number(fields["Session-Count"]);
    if (max > 0) this.maxSessions = max;
    if (count >= 0) this.sessionCount = count;
  }

  /** FreeSWITCH's configured sessions-per-second (runtime.sps_total, what `fsctl sps` answers). */
  observeSessionsPerSecondLimit(limit: number): void {
    if (limit > 0) this.sessionsPerSecondLimit = limit;
  }

  get shuttingDown(): boolean {
    return this.freeswitchShuttingDown;
  }

  /** Originates wait (503) from a (re)connect until the channel table is re-seeded, so a live uuid gets 409. */
  observeChannelTableSeeding(seeding: boolean): void {
    this.channelTableSeeding = seeding;
  }

  /** While FreeSWITCH shuts down, originates are refused with 503 instead of failing there. */
  observeShutdown(shuttingDown: boolean): void {
    this.freeswitchShuttingDown = shuttingDown;
    this.metrics.freeswitchShuttingDown.set(shuttingDown ? 1 : 0);
  }

  /** Live session count between heartbeats, from the gateway's own channel table. */
  observeSessionCount(count: number): void {
    this.sessionCount = count;
  }

  status(): {
    inFlight: number;
    latencyP95Ms: number;
    sessionCount: number;
    maxSessions: number | null;
    sessionsPerSecondLimit: number | null;
  } {
    return {
      inFlight: this.inFlight,
      latencyP95Ms: this.latencyP95(),
      sessionCount: this.sessionCount,
      maxSessions: Number.isFinite(this.maxSessions) ? this.maxSessions : null,
      sessionsPerSecondLimit: Number.isFinite(this.sessionsPerSecondLimit)
        ? this.sessionsPerSecondLimit
        : null,
    };
  }

  private latencyP95(): number {
    const now = Date.now();
    // Recomputed every 100 ms or 16 samples: cheap at 1,000 commands/s, quick to react.
    const cache = this.latencyP95Cache;
    if (now - cache.at < 100 && this.latencyCount - cache.samples < 16) return cache.value;
    const recent: number[] = [];
    for (let i = 0; i < Math.min(this.latencyCount, latencyWindow); i++) {
      if (now - (this.latencyTimes[i] ?? 0) <= latencyMaxAgeMs) recent.push(this.latencies[i] ?? 0);
    }
    let value = 0;
    if (recent.length >= 20) {
      recent.sort((a, b) => a - b);
      value = recent[Math.min(recent.length - 1, Math.floor(recent.length * 0.95))] ?? 0;
    }
    this.latencyP95Cache = { value, at: now, samples: this.latencyCount };
    return value;
  }

  private reject(
    reason: RejectionReason,
    status: 429 | 503,
    code: "throttled" | "freeswitch_unavailable",
    message: string,
  ): never {
    this.metrics.rejections.inc({ reason });
    throw new ApiError(status, code, message, this.options.retryAfterSec);
  }
}
