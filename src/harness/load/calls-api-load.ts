import { type CallOutcome, CallStore } from "../../calls/call-store.ts";
import { openPgPool } from "../../calls/pg-client.ts";
import { LatencyHistogram, type Percentiles } from "../measure/histogram.ts";
import { roundTo } from "../round.ts";
import type { CallsLoad } from "../run/scenario.ts";
import type { HttpRequestSpec, RequestOutcome } from "./http-load.ts";
import { type PlacedPhase, phaseIndexAt } from "./phases.ts";

/** A call the API accepted during the measured load: its id, and its request's intended send time. */
export interface AcceptedCall {
  id: string;
  /** ms since the measured load started. */
  intendedMs: number;
}

const decoder = new TextDecoder();

/**
 * The requests of a load on the calls API: every one `POST /v1/calls` for a new call. The API names the
 * call (its id, which is also the channel's uuid), so each call is known from its 202's body on.
 */
export class CallsApiRequests {
  readonly accepted: AcceptedCall[] = [];
  private readonly spec: HttpRequestSpec;

  constructor(
    load: CallsLoad,
    token: string,
    origin: string,
    private readonly startMs: number,
  ) {
    this.spec = {
      method: "POST",
      path: "/v1/calls",
      origin,
      headers: { authorization: `Bearer ${token}` },
      body: {
        to: load.to,
        from: load.from,
        ...(load.variables ? { options: { variables: load.variables } } : {}),
      },
    };
  }

  request(): HttpRequestSpec {
    return this.spec;
  }

  /** Keeps the id of an accepted call. */
  outcome(outcome: RequestOutcome): void {
    if (outcome.status !== 202 || !outcome.body) return;
    const { id } = JSON.parse(decoder.decode(outcome.body)) as { id?: unknown };
    if (typeof id === "string") this.accepted.push({ id, intendedMs: outcome.intendedAt - this.startMs });
  }
}

/** What the pipeline made of one stretch of the run's calls (a phase: with `--fault each`, one fault kind). */
export interface PipelineSegment {
  name: string;
  /** Labels of the faults injected in it. */
  faults: string[];
  /** Requests sent in it, by intended send time; those the API accepted (202), and the rest. */
  sent: number;
  accepted: number;
  refused: number;
  /** Accepted calls the database has no row of (must be none). */
  missing: number;
  answered: number;
  /** Answered calls with their CDR (the primary key on call id allows no second one). */
  answeredWithCdr: number;
  /** answeredWithCdr / answered; absent with no answered call. */
  cdrCompleteness?: number;
  /** Answered calls without a CDR. */
  lostCdrs: number;
  /** CDRs written more than `lateCdrMs` after their hangup. */
  lateCdrs: number;
  failed: number;
  /** Failed calls by reason: FreeSWITCH's hangup cause, or the pipeline's own (`NOT_PLACED: …`). */
  failedByReason: Record<string, number>;
  /** Calls still on their way when the audit gave up waiting. */
  unfinished: { queued: number; ringing: number; inProgress: number };
  /** Calls never placed: still queued, or failed without being placed (dead-lettered). */
  unplaced: number;
  /** Calls placed after more than one originate attempt (held and retried). */
  retried: number;
  /** API accept → FreeSWITCH's answer: end-to-end setup latency, ms. */
  setup: Percentiles;
  /** API accept → the channel's creation: the pipeline's own part of it, without the far end's ring. */
  placing: Percentiles;
  /** FreeSWITCH's hangup → the CDR row written. */
  cdrLag: Percentiles;
}

/** Per second of intended send time: calls accepted, answered, without a CDR, late, unfinished. */
export interface PipelineSecondRow {
  second: number;
  accepted: number;
  answered: number;
  lostCdrs: number;
  lateCdrs: number;
  unfinished: number;
  setup: Percentiles;
}

/** The calls pipeline's part of a run's summary: each accepted call as its database recorded it. */
export interface PipelineSection {
  lateCdrMs: number;
  /** From the end of the drain until no call was on its way, or until `settleMs` ran out (`settled` false). */
  settledAfterMs: number;
  settled: boolean;
  segments: PipelineSegment[];
  total: PipelineSegment;
  series: PipelineSecondRow[];
}

export interface AuditInput {
  databaseUrl: string;
  calls: readonly AcceptedCall[];
  placed: readonly PlacedPhase[];
  /** Requests sent in each phase. */
  sentByPhase: readonly number[];
  /** Fault labels by phase. */
  faultsByPhase: ReadonlyArray<readonly string[]>;
  load: CallsLoad;
  signal?: AbortSignal;
}

/** Rows asked for at a time: an array parameter of this many uuids is a fraction of a megabyte. */
const auditBatch = 5_000;

/**
 * Waits until none of the run's calls is still on its way (or `settleMs` is up), then reads every one
 * back from the pipeline's database and counts what became of them.
 */
export async function auditCalls(input: AuditInput): Promise<PipelineSection> {
  const pool = openPgPool(input.databaseUrl, 2);
  try {
    const store = new CallStore(pool);
    const ids = input.calls.map((call) => call.id);
    const started = performance.now();
    let settled = false;
    for (;;) {
      let unfinished = 0;
      for (let i = 0; i < ids.length; i += auditBatch)
        unfinished += await store.unfinishedAmong(ids.slice(i, i + auditBatch));
      settled = unfinished === 0;
      if (settled || input.signal?.aborted || performance.now() - started >= input.load.settleMs) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const settledAfterMs = Math.round(performance.now() - started);
    const outcomes: CallOutcome[] = [];
    for (let i = 0; i < ids.length; i += auditBatch)
      outcomes.push(...(await store.outcomesOf(ids.slice(i, i + auditBatch))));
    return pipelineSection(input, outcomes, { settled, settledAfterMs });
  } finally {
    await pool.close();
  }
}

/** The audit's figures from the calls' outcomes: by phase, in all, and by second. */
export function pipelineSection(
  input: Pick<AuditInput, "calls" | "placed" | "sentByPhase" | "faultsByPhase" | "load">,
  outcomes: readonly CallOutcome[],
  settling: { settled: boolean; settledAfterMs: number },
): PipelineSection {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const lateMs = input.load.lateCdrMs;
  const segments = input.placed.map(
    (phase, index) => new SegmentTally(phase.name, input.faultsByPhase[index] ?? []),
  );
  const total = new SegmentTally("all", input.faultsByPhase.flat());
  const seconds: SecondTally[] = [];
  input.sentByPhase.forEach((sent, index) => {
    segments[index]!.sent = sent;
    total.sent += sent;
  });
  for (const call of input.calls) {
    const outcome = byId.get(call.id);
    const segment = segments[phaseIndexAt(input.placed, call.intendedMs)]!;
    const second = Math.max(0, Math.floor(call.intendedMs / 1000));
    for (let s = seconds.length; s <= second; s++) seconds.push(new SecondTally(s));
    for (const tally of [segment, total]) tally.add(outcome, lateMs);
    seconds[second]!.add(outcome, lateMs);
  }
  return {
    lateCdrMs: lateMs,
    ...settling,
    segments: segments.map((s) => s.figures()),
    total: total.figures(),
    series: seconds.map((s) => s.row()),
  };
}

const ms = (later: Date | null, earlier: Date | null) =>
  later && earlier ? later.getTime() - earlier.getTime() : undefined;
const isLate = (outcome: CallOutcome, lateMs: number) =>
  outcome.cdr !== null && outcome.cdr.recordedAt.getTime() - outcome.cdr.endedAt.getTime() > lateMs;
const unfinishedStatus = (outcome: CallOutcome) =>
  outcome.status === "queued" || outcome.status === "ringing" || outcome.status === "in-progress";

class SegmentTally {
  sent = 0;
  private accepted = 0;
  private missing = 0;
  private answered = 0;
  private answeredWithCdr = 0;
  private lateCdrs = 0;
  private failed = 0;
  private readonly failedByReason: Record<string, number> = {};
  private readonly unfinished = { queued: 0, ringing: 0, inProgress: 0 };
  private unplaced = 0;
  private retried = 0;
  private readonly setup = LatencyHistogram.create();
  private readonly placing = LatencyHistogram.create();
  private readonly cdrLag = LatencyHistogram.create();

  constructor(
    private readonly name: string,
    private readonly faults: readonly string[],
  ) {}

  add(outcome: CallOutcome | undefined, lateMs: number): void {
    this.accepted++;
    if (!outcome) {
      this.missing++;
      return;
    }
    if (outcome.answeredAt) {
      this.answered++;
      if (outcome.cdr) this.answeredWithCdr++;
    }
    if (isLate(outcome, lateMs)) this.lateCdrs++;
    if (outcome.status === "failed") {
      this.failed++;
      const reason = outcome.failureReason ?? "UNKNOWN";
      this.failedByReason[reason] = (this.failedByReason[reason] ?? 0) + 1;
      if (reason.startsWith("NOT_PLACED")) this.unplaced++;
    }
    if (outcome.status === "queued") this.unplaced++;
    if (outcome.status === "queued") this.unfinished.queued++;
    else if (outcome.status === "ringing") this.unfinished.ringing++;
    else if (outcome.status === "in-progress") this.unfinished.inProgress++;
    if (outcome.originateAttempts > 1) this.retried++;
    const setup = ms(outcome.answeredAt, outcome.acceptedAt);
    if (setup !== undefined) this.setup.record(Math.max(0, setup));
    const placing = ms(outcome.ringingAt, outcome.acceptedAt);
    if (placing !== undefined) this.placing.record(Math.max(0, placing));
    if (outcome.cdr)
      this.cdrLag.record(Math.max(0, outcome.cdr.recordedAt.getTime() - outcome.cdr.endedAt.getTime()));
  }

  figures(): PipelineSegment {
    return {
      name: this.name,
      faults: [...this.faults],
      sent: this.sent,
      accepted: this.accepted,
      refused: Math.max(0, this.sent - this.accepted),
      missing: this.missing,
      answered: this.answered,
      answeredWithCdr: this.answeredWithCdr,
      ...(this.answered > 0 ? { cdrCompleteness: roundTo(this.answeredWithCdr / this.answered, 4) } : {}),
      lostCdrs: this.answered - this.answeredWithCdr,
      lateCdrs: this.lateCdrs,
      failed: this.failed,
      failedByReason: { ...this.failedByReason },
      unfinished: { ...this.unfinished },
      unplaced: this.unplaced,
      retried: this.retried,
      setup: this.setup.percentiles(),
      placing: this.placing.percentiles(),
      cdrLag: this.cdrLag.percentiles(),
    };
  }
}

class SecondTally {
  private accepted = 0;
  private answered = 0;
  private lostCdrs = 0;
  private lateCdrs = 0;
  private unfinished = 0;
  private readonly setup = LatencyHistogram.create();

  constructor(private readonly second: number) {}

  add(outcome: CallOutcome | undefined, lateMs: number): void {
    this.accepted++;
    if (!outcome) return;
    if (outcome.answeredAt) {
      this.answered++;
      if (!outcome.cdr) this.lostCdrs++;
      const setup = ms(outcome.answeredAt, outcome.acceptedAt);
      if (setup !== undefined) this.setup.record(Math.max(0, setup));
    }
    if (isLate(outcome, lateMs)) this.lateCdrs++;
    if (unfinishedStatus(outcome)) this.unfinished++;
  }

  row(): PipelineSecondRow {
    return {
      second: this.second,
      accepted: this.accepted,
      answered: this.answered,
      lostCdrs: this.lostCdrs,
      lateCdrs: this.lateCdrs,
      unfinished: this.unfinished,
      setup: this.setup.percentiles(),
    };
  }
}
