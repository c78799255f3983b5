import type { RequestOutcome } from "../load/http-load.ts";
import { type PlacedPhase, phaseIndexAt } from "../load/phases.ts";
import type { Operation } from "../run/scenario.ts";
import { LatencyHistogram } from "./histogram.ts";

/**
 * How a request ended, for outage accounting: ok; failed (an error response, or a connection refused or
 * reset: the caller learnt at once); hung (no response within the request timeout, or the run ended first:
 * the caller was left waiting).
 */
const Ending = { Ok: 0, Failed: 1, Hung: 2 } as const;
type Ending = (typeof Ending)[keyof typeof Ending];

/** Requests of one stretch of the run, by how they ended. */
export interface EndingCounts {
  sent: number;
  ok: number;
  failed: number;
  hung: number;
}

/** Requests of a window of the run (an outage). */
export interface WindowCounts extends EndingCounts {
  /** Intended send → failure, of the slowest failed request: 0 when none failed. */
  slowestFailureMs: number;
}

/** What one phase's requests came to, by intended send time. */
export interface PhaseOutcomes extends EndingCounts {
  /** Intended send → last response byte, every response (any status). */
  latency: LatencyHistogram;
}

/** Statuses by which the gateway sheds load instead of queueing it. */
const SHEDDING = new Set([429, 503]);

/**
 * Every request's ending and duration, kept compactly (8 + 4 + 1 bytes a request) by intended send time, so any window of the
 * run (an outage) can be counted afterwards; and latency histograms by phase, by command, and for the
 * responses that shed load (429/503) against those that did the work (2xx).
 */
export class OutcomeLog {
  readonly phases: PhaseOutcomes[];
  readonly byOperation = new Map<Operation, LatencyHistogram>();
  /** Latency of 429 and 503 responses: how fast load is shed. */
  readonly shed = LatencyHistogram.create();
  /** Latency of 2xx responses. */
  readonly accepted = LatencyHistogram.create();
  private intended = new Float64Array(1 << 14);
  private durations = new Float32Array(1 << 14);
  private endings = new Uint8Array(1 << 14);
  private count = 0;

  constructor(
    private readonly startMs: number,
    private readonly placed: readonly PlacedPhase[],
    private readonly isOk: (status: number) => boolean = (status) => status >= 200 && status < 400,
  ) {
    this.phases = placed.map(() => ({
      sent: 0,
      ok: 0,
      failed: 0,
      hung: 0,
      latency: LatencyHistogram.create(),
    }));
  }

  /** One request's outcome; `operation` is the gateway command it was (none for a call on the calls API). */
  add(outcome: RequestOutcome, operation?: Operation): void {
    const ending = this.endingOf(outcome);
    this.push(outcome.intendedAt, outcome.endedAt - outcome.intendedAt, ending);
    const phase = this.phases[phaseIndexAt(this.placed, outcome.intendedAt - this.startMs)]!;
    phase.sent++;
    if (ending === Ending.Ok) phase.ok++;
    else if (ending === Ending.Failed) phase.failed++;
    else phase.hung++;
    if (outcome.status === undefined) return;
    const latency = outcome.endedAt - outcome.intendedAt;
    phase.latency.record(latency);
    if (operation !== undefined) {
      let histogram = this.byOperation.get(operation);
      if (!histogram) {
        histogram = LatencyHistogram.create();
        this.byOperation.set(operation, histogram);
      }
      histogram.record(latency);
    }
    if (SHEDDING.has(outcome.status)) this.shed.record(latency);
    else if (outcome.status >= 200 && outcome.status < 300) this.accepted.record(latency);
  }

  /**
   * Requests intended to start between two moments (the `performance.now()` clock), by ending, and how long
   * the slowest failure kept its caller waiting.
   */
  between(fromMs: number, toMs: number): WindowCounts {
    const counts: WindowCounts = { sent: 0, ok: 0, failed: 0, hung: 0, slowestFailureMs: 0 };
    for (let i = 0; i < this.count; i++) {
      const at = this.intended[i]!;
      if (at < fromMs || at > toMs) continue;
      counts.sent++;
      const ending = this.endings[i] as Ending;
      if (ending === Ending.Ok) counts.ok++;
      else if (ending === Ending.Failed) {
        counts.failed++;
        counts.slowestFailureMs = Math.max(counts.slowestFailureMs, Math.round(this.durations[i]!));
      } else counts.hung++;
    }
    return counts;
  }

  private endingOf(outcome: RequestOutcome): Ending {
    if (outcome.status !== undefined) return this.isOk(outcome.status) ? Ending.Ok : Ending.Failed;
    return outcome.error === "timeout" || outcome.error === "aborted" ? Ending.Hung : Ending.Failed;
  }

  private push(intendedAt: number, durationMs: number, ending: Ending): void {
    if (this.count === this.intended.length) {
      this.intended = grown(this.intended, new Float64Array(this.count * 2));
      this.durations = grown(this.durations, new Float32Array(this.count * 2));
      this.endings = grown(this.endings, new Uint8Array(this.count * 2));
    }
    this.intended[this.count] = intendedAt;
    this.durations[this.count] = durationMs;
    this.endings[this.count] = ending;
    this.count++;
  }
}

function grown<T extends Float64Array | Float32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
