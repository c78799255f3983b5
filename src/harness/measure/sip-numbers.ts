import { roundTo } from "../round.ts";
import { type HistogramSnapshot, LatencyHistogram, type Percentiles } from "./histogram.ts";

/**
 * The SIP side of a run, as the harness sees it: Kamailio's statistics and dispatcher, each SIPp's own
 * statistics. The lab provides them through its handle (`LabHandle.sip`); this file turns them into the
 * summary's `sip` section, second by second and phase by phase (docs/results.md, "sip").
 */

/** One row of SIPp's `-trace_stat` CSV: the periodic (P) counts of the period that ended at `atMs`. */
export interface SippRow {
  /** When SIPp wrote the row, epoch ms. */
  atMs: number;
  /** Calls started in the period (incoming for a UAS, outgoing for a UAC). */
  created: number;
  successful: number;
  failed: number;
  retransmissions: number;
  /** Calls open when the row was written. */
  current: number;
  /** The call rate SIPp was set to, calls/s (a UAS: its -r, unused). */
  targetRate: number;
  /** Failed calls of the period by SIPp's reason (`MaxUDPRetrans`, `UnexpectedMessage`…), the non-zero ones. */
  failedBy: Record<string, number>;
}

/** What one SIPp instance has recorded so far. */
export interface SippReading {
  /** The lab's name for it: `carrier`, `caller`. */
  name: string;
  /** Its scenario, lab/sipp/<scenario>.xml. */
  scenario: string;
  /** What its response time 1 measures (`INVITE → 180`). */
  responseTimeOf: string;
  rows: SippRow[];
  /** Response time 1 samples, `[epoch ms, ms]`; SIPp measures whole ms. */
  responseTimes: ReadonlyArray<readonly [number, number]>;
}

/** A dispatcher destination (`dispatcher.list`): `A` active, `I` inactive, `P` probing. */
export interface DispatcherDestination {
  uri: string;
  flags: string;
  active: boolean;
  /** The lab component at that address (a FreeSWITCH). */
  component?: string;
}

/** An inbound caller the runner drives: SIPp calling Kamailio at a rate set phase by phase. */
export interface SipCaller {
  readonly name: string;
  readonly pid: number;
  /** Calls a second from now on (0: no new calls). */
  setRate(callsPerSecond: number): Promise<void>;
  /** No new calls, calls in progress get a moment to end, then SIPp exits. */
  stop(): Promise<void>;
  read(): SippReading;
}

export interface CallerOptions {
  /** An unanswered call is CANCELled after this long; an answered one is held this long, then BYE. */
  ringMs: number;
  holdMs: number;
  /** The highest rate it will be set to (sizes its limit on open calls). */
  maxRate: number;
  /** It exits by itself after this long, whatever happens. */
  timeoutS: number;
  /** Where its scenario, statistics and log go. */
  dir: string;
}

/** A lab's SIP side, as the scenario runner sees it. */
export interface SipHandle {
  /** Kamailio's statistics now (`stats.get_statistics all`): counters and gauges by `group:name`. */
  kamailioStatistics(): Promise<Record<string, number>>;
  /** The dispatcher's destinations now. */
  dispatcher(): Promise<DispatcherDestination[]>;
  /** The lab's own SIPp instances (the carrier), as far as they have written. */
  sipps(): SippReading[];
  /** Starts an inbound caller at rate 0. */
  startCaller(options: CallerOptions): Promise<SipCaller>;
}

/** Reply classes as Kamailio counts them. */
export const REPLY_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"] as const;
export type ReplyClass = (typeof REPLY_CLASSES)[number];

/** Kamailio in one second of the run: counter increases, and gauges at the second's end. */
export interface KamailioSecondRow {
  second: number;
  /** Requests received: all, and INVITE, BYE, CANCEL, ACK. */
  requests: number;
  invites: number;
  byes: number;
  cancels: number;
  acks: number;
  /** Requests forwarded. */
  forwarded: number;
  /** Replies received, by class. */
  replies: Record<ReplyClass, number>;
  /** Replies Kamailio sent on its own (sl: 100 Trying aside, 200 to OPTIONS, 404, 405, 483, 503…). */
  slReplies: number;
  /** Requests and replies dropped by the script or the core; requests and replies in error. */
  dropped: number;
  errors: number;
  /** tm transactions open at the second's end. */
  activeTransactions: number;
  /** Shared memory in use at the second's end, MB. */
  shmUsedMb: number;
}

export interface DispatcherChange {
  /** ms since the measured load started. */
  atMs: number;
  uri: string;
  component?: string;
  flags: string;
  active: boolean;
}

export interface KamailioSection {
  /** Every counter's increase over the run (`core:rcv_requests_invite`, `tmx:2xx_transactions`, `sl:200_replies`…). */
  counters: Record<string, number>;
  series: KamailioSecondRow[];
  activeTransactionsMax: number;
  shm: { totalMb: number; usedMaxMb: number };
  dispatcher: { destinations: DispatcherDestination[]; changes: DispatcherChange[] };
}

export interface SippCounts {
  created: number;
  successful: number;
  failed: number;
  retransmissions: number;
}

export interface SippSecondRow extends SippCounts {
  second: number;
  current: number;
  targetRate: number;
  /** Response time 1 of the samples taken in the second. */
  responseTime: Percentiles;
}

export interface SippSection {
  name: string;
  scenario: string;
  responseTimeOf: string;
  calls: SippCounts & { failedBy: Record<string, number> };
  responseTime: HistogramSnapshot;
  series: SippSecondRow[];
}

/** The summary's `sip` section. */
export interface SipSection {
  kamailio: KamailioSection;
  sipp: SippSection[];
}

/** SIP figures of one measured phase, from the per-second series of the seconds it spans. */
export interface PhaseSip {
  /** The scenario's inbound calls a second in this phase. */
  inboundRate?: number;
  sipp: Record<string, SippCounts>;
  kamailio: { invites: number; dropped: number };
}

/** Kamailio statistics that are gauges, not counters. */
const isGauge = (name: string): boolean =>
  name.startsWith("shmem:") || name === "tmx:active_transactions" || name === "tmx:inuse_transactions";

const MB = 1024 * 1024;

/** One second of Kamailio from two samples of its statistics a second apart. */
export function kamailioRow(
  second: number,
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): KamailioSecondRow {
  const d = (name: string) => Math.max(0, (after[name] ?? 0) - (before[name] ?? 0));
  return {
    second,
    requests: d("core:rcv_requests"),
    invites: d("core:rcv_requests_invite"),
    byes: d("core:rcv_requests_bye"),
    cancels: d("core:rcv_requests_cancel"),
    acks: d("core:rcv_requests_ack"),
    forwarded: d("core:fwd_requests"),
    replies: Object.fromEntries(REPLY_CLASSES.map((c) => [c, d(`core:rcv_replies_${c}`)])) as Record<
      ReplyClass,
      number
    >,
    slReplies: d("sl:sent_replies"),
    dropped: d("core:drop_requests") + d("core:drop_replies"),
    errors: d("core:err_requests") + d("core:err_replies"),
    activeTransactions: after["tmx:active_transactions"] ?? 0,
    shmUsedMb: roundTo((after["shmem:real_used_size"] ?? 0) / MB, 1),
  };
}

/** Kamailio over the run: its first and last statistics, the rows between, the dispatcher's changes. */
export function kamailioSection(
  first: Readonly<Record<string, number>>,
  last: Readonly<Record<string, number>>,
  series: KamailioSecondRow[],
  dispatcher: KamailioSection["dispatcher"],
): KamailioSection {
  const counters: Record<string, number> = {};
  for (const name of Object.keys(last)
    .filter((n) => !isGauge(n))
    .sort())
    counters[name] = Math.max(0, (last[name] ?? 0) - (first[name] ?? 0));
  return {
    counters,
    series,
    activeTransactionsMax: Math.max(0, ...series.map((r) => r.activeTransactions)),
    shm: {
      totalMb: roundTo((last["shmem:total_size"] ?? 0) / MB, 1),
      usedMaxMb: Math.max(0, ...series.map((r) => r.shmUsedMb)),
    },
    dispatcher,
  };
}

/**
 * One SIPp's figures over the run window (epoch ms, `(fromMs, toMs]`; the measured load's start is second
 * 0). SIPp's one-second periods do not line up with the run's seconds: a row counts when it was written
 * inside the window, in the second its period's middle falls in (the first second for a period that began
 * before the window), so at a phase boundary up to half a second of calls may land in the next phase.
 */
export function sippSection(reading: SippReading, fromMs: number, toMs: number): SippSection {
  const seconds = new Map<number, SippSecondRow>();
  const histograms = new Map<number, LatencyHistogram>();
  const secondOf = (epochMs: number) => Math.floor((epochMs - fromMs) / 1000);
  const rowAt = (second: number) => {
    let row = seconds.get(second);
    if (!row) {
      row = {
        second,
        created: 0,
        successful: 0,
        failed: 0,
        retransmissions: 0,
        current: 0,
        targetRate: 0,
      } as SippSecondRow;
      seconds.set(second, row);
    }
    return row;
  };
  const calls = {
    created: 0,
    successful: 0,
    failed: 0,
    retransmissions: 0,
    failedBy: {} as Record<string, number>,
  };
  let periodStart: number | undefined;
  for (const r of reading.rows) {
    const middle = ((periodStart ?? r.atMs - 1000) + r.atMs) / 2;
    periodStart = r.atMs;
    if (r.atMs <= fromMs || r.atMs > toMs) continue;
    const row = rowAt(Math.max(0, secondOf(middle)));
    for (const key of ["created", "successful", "failed", "retransmissions"] as const) {
      row[key] += r[key];
      calls[key] += r[key];
    }
    row.current = r.current;
    row.targetRate = r.targetRate;
    for (const [reason, n] of Object.entries(r.failedBy))
      calls.failedBy[reason] = (calls.failedBy[reason] ?? 0) + n;
  }
  const all = LatencyHistogram.create();
  for (const [atMs, ms] of reading.responseTimes) {
    if (atMs < fromMs || atMs > toMs) continue;
    const second = secondOf(atMs);
    let histogram = histograms.get(second);
    if (!histogram) {
      histogram = LatencyHistogram.create();
      histograms.set(second, histogram);
    }
    histogram.record(ms);
    all.record(ms);
  }
  for (const second of histograms.keys()) rowAt(second);
  const series = [...seconds.values()]
    .sort((a, b) => a.second - b.second)
    .map((row) => ({
      ...row,
      responseTime: (histograms.get(row.second) ?? LatencyHistogram.create()).percentiles(),
    }));
  return {
    name: reading.name,
    scenario: reading.scenario,
    responseTimeOf: reading.responseTimeOf,
    calls,
    responseTime: all.snapshot(),
    series,
  };
}

/** A phase's SIP figures: the series' seconds from its start to its end (ms since the start). */
export function phaseSip(
  sip: SipSection,
  phase: { startMs: number; endMs: number },
  inboundRate: number | undefined,
): PhaseSip {
  const inPhase = (row: { second: number }) =>
    row.second * 1000 >= phase.startMs && row.second * 1000 < phase.endMs;
  const sipp: Record<string, SippCounts> = {};
  for (const s of sip.sipp) {
    const counts = { created: 0, successful: 0, failed: 0, retransmissions: 0 };
    for (const row of s.series.filter(inPhase))
      for (const key of Object.keys(counts) as Array<keyof SippCounts>) counts[key] += row[key];
    sipp[s.name] = counts;
  }
  const rows = sip.kamailio.series.filter(inPhase);
  return {
    ...(inboundRate !== undefined ? { inboundRate } : {}),
    sipp,
    kamailio: {
      invites: rows.reduce((sum, r) => sum + r.invites, 0),
      dropped: rows.reduce((sum, r) => sum + r.dropped, 0),
    },
  };
}

/**
 * How fast the dispatcher followed a fault on one of its destinations: from the injection to the first
 * change of that destination to inactive, and from the fault's undoing (the instance started again) to the
 * first change back to active.
 */
export function dispatcherTimings(
  changes: readonly DispatcherChange[],
  component: string,
  injectedAtMs: number,
  clearedAtMs: number | undefined,
): { destination: string; inactiveAfterMs?: number; activeAgainAfterMs?: number } | undefined {
  const own = changes.filter((c) => c.component === component);
  const destination = own[0]?.uri;
  if (destination === undefined) return undefined;
  const down = own.find((c) => !c.active && c.atMs >= injectedAtMs);
  const up = clearedAtMs === undefined ? undefined : own.find((c) => c.active && c.atMs >= clearedAtMs);
  return {
    destination,
    ...(down ? { inactiveAfterMs: roundTo(down.atMs - injectedAtMs, 1) } : {}),
    ...(up && clearedAtMs !== undefined ? { activeAgainAfterMs: roundTo(up.atMs - clearedAtMs, 1) } : {}),
  };
}

/** The changes that took a destination out of service or back (not its first state, not probing flags). */
export function activityChanges(changes: readonly DispatcherChange[]): DispatcherChange[] {
  const active = new Map<string, boolean>();
  return changes.filter((change) => {
    const before = active.get(change.uri);
    active.set(change.uri, change.active);
    return before !== undefined && before !== change.active;
  });
}
