import { roundTo } from "../round.ts";
import { type HistogramSnapshot, LatencyHistogram } from "./histogram.ts";

/**
 * The figures users of call generators (SIPp and its kin) expect, from the harness's own view of each call:
 * the originate it sent, the gateway's answer, and the call's events on NATS.
 */
export interface TelecomReport {
  /** Originates sent. */
  attempts: number;
  /** Originates the gateway accepted (202): the calls FreeSWITCH was asked to set up. */
  seizures: number;
  /** Seized calls that reached CHANNEL_ANSWER. */
  answered: number;
  /** Answer-seizure ratio: answered / seizures; undefined with no seizure. */
  asr: number | undefined;
  /** Originates the gateway did not accept, by HTTP status or failure kind ("429", "503", "timeout"…). */
  refused: Record<string, number>;
  /** Seized calls that ended unanswered, by hangup cause (CHANNEL_HANGUP_COMPLETE or the job's `-ERR <cause>`). */
  failedByCause: Record<string, number>;
  /** Every call that ended, by hangup cause. */
  hangupCauses: Record<string, number>;
  /** Call-setup latency: the gateway's 202 for the originate → CHANNEL_ANSWER received on NATS. */
  setupLatency: HistogramSnapshot;
  /** Answers seen before their 202 was read (recorded as 0 ms setup). */
  answeredBeforeAccept: number;
  /** Most calls up at once (answered, not yet hung up). */
  concurrentPeak: number;
  /** Traffic carried: mean calls up at once over the measured time, in erlangs. */
  erlangs: number;
  /** Calls not followed because `maxCalls` were already open. */
  overflow: number;
  series: CallSecondRow[];
}

/** One second: calls up at its end, the most up at once in it, its traffic (erlangs), answers and failures in it. */
export interface CallSecondRow {
  second: number;
  concurrent: number;
  peak: number;
  erlangs: number;
  answered: number;
  failed: number;
}

interface Call {
  /** The gateway that made it, where mid-call commands for it must go. */
  origin?: string;
  acceptedAt?: number;
  answeredAt?: number;
}

/**
 * Follows every call from its originate to its hangup. Open calls are held in a map (bounded by
 * `maxCalls`); an ended call is folded into the counters and forgotten, so a long run stays small.
 * Answered, still-up calls can be drawn at random for mid-call commands (play, transfer, hangup).
 */
export class CallTracker {
  private readonly calls = new Map<string, Call>();
  private readonly live = new LiveSet();
  private readonly setup = LatencyHistogram.create();
  private readonly concurrency: ConcurrencyMeter;
  private readonly refused: Record<string, number> = {};
  private readonly failedByCause: Record<string, number> = {};
  private readonly hangupCauses: Record<string, number> = {};
  private attempts = 0;
  private seizures = 0;
  private answered = 0;
  private answeredBeforeAccept = 0;
  private overflow = 0;

  constructor(
    startMs: number,
    private readonly maxCalls = 100_000,
  ) {
    this.concurrency = new ConcurrencyMeter(startMs);
  }

  /** An originate for `callUuid` is about to be sent (to the gateway at `origin`). */
  attempt(callUuid: string, origin?: string): void {
    this.attempts++;
    if (this.calls.size >= this.maxCalls) {
      this.overflow++;
      return;
    }
    this.calls.set(callUuid, origin === undefined ? {} : { origin });
  }

  /** The gateway a call was made through, while the call is open. */
  originOf(callUuid: string): string | undefined {
    return this.calls.get(callUuid)?.origin;
  }

  /** The gateway answered 202 at `atMs`. */
  accepted(callUuid: string, atMs: number): void {
    this.seizures++;
    const call = this.calls.get(callUuid);
    if (!call) return;
    call.acceptedAt = atMs;
    if (call.answeredAt !== undefined) {
      this.answeredBeforeAccept++;
      this.setup.record(0);
    }
  }

  /** The originate was not accepted: `reason` is the HTTP status or the failure kind. */
  notAccepted(callUuid: string, reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    this.calls.delete(callUuid);
  }

  /** A call event received at `atMs`; `hangupCause` from CHANNEL_HANGUP_COMPLETE, `jobResult` from BACKGROUND_JOB. */
  event(
    type: string,
    callUuid: string | undefined,
    atMs: number,
    detail: { hangupCause?: string; jobResult?: string } = {},
  ): void {
    if (type === "CHANNEL_HANGUP_COMPLETE") {
      const cause = detail.hangupCause || "UNKNOWN";
      this.hangupCauses[cause] = (this.hangupCauses[cause] ?? 0) + 1;
    }
    const call = callUuid === undefined ? undefined : this.calls.get(callUuid);
    if (!call || callUuid === undefined) return;
    switch (type) {
      case "CHANNEL_ANSWER":
        if (call.answeredAt !== undefined) return;
        call.answeredAt = atMs;
        this.answered++;
        if (call.acceptedAt !== undefined) this.setup.record(Math.max(0, atMs - call.acceptedAt));
        this.live.add(callUuid);
        this.concurrency.change(atMs, +1, "answered");
        return;
      case "CHANNEL_HANGUP_COMPLETE":
        this.end(callUuid, call, atMs, detail.hangupCause || "UNKNOWN");
        return;
      case "BACKGROUND_JOB": {
        // No channel exists for an originate FreeSWITCH refused outright: the job's result is its only word.
        const failure = /^-ERR\s+(\S+)/.exec(detail.jobResult ?? "");
        if (failure && call.answeredAt === undefined) this.end(callUuid, call, atMs, failure[1]!);
        return;
      }
    }
  }

  /** A random answered call that is still up, or undefined. */
  pickLive(random: () => number = Math.random): string | undefined {
    return this.live.pick(random);
  }

  /** The harness is hanging `callUuid` up itself: it is no longer offered by `pickLive`. */
  release(callUuid: string): void {
    this.live.delete(callUuid);
  }

  report(endMs: number): TelecomReport {
    const series = this.concurrency.finish(endMs);
    const seconds = Math.max(1, series.length);
    return {
      attempts: this.attempts,
      seizures: this.seizures,
      answered: this.answered,
      asr: this.seizures === 0 ? undefined : roundTo(this.answered / this.seizures, 3),
      refused: { ...this.refused },
      failedByCause: { ...this.failedByCause },
      hangupCauses: { ...this.hangupCauses },
      setupLatency: this.setup.snapshot(),
      answeredBeforeAccept: this.answeredBeforeAccept,
      concurrentPeak: Math.max(0, ...series.map((row) => row.peak)),
      erlangs: roundTo(series.reduce((sum, row) => sum + row.erlangs, 0) / seconds, 3),
      overflow: this.overflow,
      series,
    };
  }

  private end(callUuid: string, call: Call, atMs: number, cause: string): void {
    if (call.answeredAt !== undefined) {
      this.concurrency.change(atMs, -1);
    } else {
      this.failedByCause[cause] = (this.failedByCause[cause] ?? 0) + 1;
      this.concurrency.change(atMs, 0, "failed");
    }
    this.live.delete(callUuid);
    this.calls.delete(callUuid);
  }
}

/**
 * Calls up over time, integrated per second: the area under the step function over a second is that
 * second's traffic in erlangs.
 */
class ConcurrencyMeter {
  private readonly rows: CallSecondRow[] = [];
  private level = 0;
  private lastAt: number;
  private area = 0;
  private open: CallSecondRow;

  constructor(private readonly startMs: number) {
    this.lastAt = startMs;
    this.open = { second: 0, concurrent: 0, peak: 0, erlangs: 0, answered: 0, failed: 0 };
  }

  change(atMs: number, delta: number, counter?: "answered" | "failed"): void {
    this.advance(atMs);
    this.level = Math.max(0, this.level + delta);
    this.open.peak = Math.max(this.open.peak, this.level);
    if (counter) this.open[counter]++;
  }

  finish(atMs: number): CallSecondRow[] {
    this.advance(atMs);
    if (this.lastAt > this.startMs + this.open.second * 1000) this.close(this.lastAt);
    return this.rows;
  }

  /** Closes the seconds that ended before `atMs` and accrues the open one's area up to it; late stamps count as now. */
  private advance(atMs: number): void {
    const at = Math.max(atMs, this.lastAt);
    for (let end = this.secondEnd(); at >= end; end = this.secondEnd()) this.close(end);
    this.area += this.level * (at - this.lastAt);
    this.lastAt = at;
  }

  private close(end: number): void {
    this.area += this.level * (end - this.lastAt);
    this.lastAt = end;
    this.rows.push({ ...this.open, concurrent: this.level, erlangs: roundTo(this.area / 1000, 3) });
    this.area = 0;
    this.open = {
      second: this.open.second + 1,
      concurrent: 0,
      peak: this.level,
      erlangs: 0,
      answered: 0,
      failed: 0,
    };
  }

  private secondEnd(): number {
    return this.startMs + (this.open.second + 1) * 1000;
  }
}

/** A set with O(1) add, delete and uniform random pick (swap-remove over an array). */
class LiveSet {
  private readonly items: string[] = [];
  private readonly index = new Map<string, number>();

  add(item: string): void {
    if (this.index.has(item)) return;
    this.index.set(item, this.items.length);
    this.items.push(item);
  }

  delete(item: string): void {
    const at = this.index.get(item);
    if (at === undefined) return;
    const last = this.items.pop()!;
    this.index.delete(item);
    if (last !== item) {
      this.items[at] = last;
      this.index.set(last, at);
    }
  }

  pick(random: () => number): string | undefined {
    return this.items.length === 0 ? undefined : this.items[Math.floor(random() * this.items.length)];
  }
}
