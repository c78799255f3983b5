import type { PipelineSegment } from "../load/calls-api-load.ts";
import type { FaultRecord, RunSummary } from "../report/summary.ts";
import { roundTo } from "../round.ts";
import type { BucketQuantiles } from "./gateway-scraper.ts";
import type { Percentiles } from "./histogram.ts";
import type { ProcessWindow } from "./process-sampler.ts";
import { REPLY_CLASSES, type SipSection } from "./sip-numbers.ts";

/** Figures a gate, a baseline and `compareRuns` can name; docs/results.md lists every name. */
export type RunMetrics = Record<string, number>;

/** The latency figures a baseline guards by default: a p95 that grew is a regression. */
export const BASELINE_METRICS: readonly string[] = [
  "command_latency.p95",
  "esl_command_latency.p95",
  "publish_lag.p95",
  "call_setup.p95",
  "pipeline_setup.p95",
];

/** Every figure of a summary that a gate can name, flat; a figure the run did not measure is absent. */
export function runMetrics(summary: RunSummary): RunMetrics {
  const m: RunMetrics = {};
  const { load, lag, calls, gateways, processes, faults, operations } = summary;
  if (load) {
    percentiles(m, "command_latency", load.latency);
    m["command_latency.p90"] = load.latency.p90;
    const { sent, ok, errors, dropped } = load.counts;
    Object.assign(m, {
      "requests.sent": sent,
      "requests.ok": ok,
      "requests.errors": errors,
      "requests.dropped": dropped,
    });
    m.error_rate = ratio(errors, sent);
    m.drop_rate = ratio(dropped, sent + dropped);
    m["rate.target"] = roundTo(load.rate.target, 4);
    m["rate.achieved"] = roundTo(load.rate.achieved, 4);
    m.hung_requests = load.errors.timeout + load.errors.aborted;
    for (const [status, count] of Object.entries(load.statusCounts)) m[`http.${status}`] = count;
  }
  for (const [operation, histogram] of Object.entries(operations ?? {}))
    percentiles(m, `command_latency.${operation}`, histogram);
  if (summary.acceptedLatency) percentiles(m, "accepted_latency", summary.acceptedLatency);
  if (summary.shedLatency) percentiles(m, "shed_latency", summary.shedLatency);
  if (lag) {
    percentiles(m, "publish_lag", lag.publishLag);
    percentiles(m, "e2e_lag", lag.endToEndLag);
    m["events.received"] = lag.received;
    m["events.malformed"] = lag.malformed;
    m["events.duplicates"] = lag.calls.duplicates;
    m["calls.incomplete"] = lag.calls.incomplete;
    m.events_lost = Object.values(lag.calls.missing).reduce((sum, n) => sum + n, 0);
    const p95s = lag.series
      .filter((row) => row.publishLag.count > 0)
      .map((row) => [row.second, row.publishLag.p95] as const);
    if (p95s.length >= 10) m["publish_lag.p95.trend_per_min"] = roundTo(trend(p95s) * 60, 4);
  }
  if (calls) {
    if (calls.asr !== undefined) m.asr = calls.asr;
    percentiles(m, "call_setup", calls.setupLatency);
    Object.assign(m, {
      "calls.attempts": calls.attempts,
      "calls.seizures": calls.seizures,
      "calls.answered": calls.answered,
      "calls.failed": Object.values(calls.failedByCause).reduce((sum, n) => sum + n, 0),
      erlangs: calls.erlangs,
      "concurrent.peak": calls.concurrentPeak,
    });
  }
  // Several gateways (a sharded lab): counters add up, quantiles and gauges are the worst gateway's.
  for (const { totals: t } of gateways ?? []) {
    worstQuantiles(m, "esl_command_latency", t.eslLatency);
    worstQuantiles(m, "gateway_publish_lag", t.publishLag);
    add(m, "gateway.commands", t.commands);
    add(m, "gateway.errors", t.errors);
    add(m, "gateway.reconnects", t.reconnects);
    add(m, "gateway.events_dropped", t.eventsDropped);
    // Received in the run and neither published nor dropped by its end: still queued, or off the books.
    add(m, "gateway.events_unbalanced", t.eventsReceived - t.eventsPublished - t.eventsDropped);
    add(m, "gateway.rejections", t.rejections);
    m["gateway.in_flight.max"] = Math.max(m["gateway.in_flight.max"] ?? 0, t.inFlightMax);
    m["gateway.queue_depth.max"] = Math.max(m["gateway.queue_depth.max"] ?? 0, t.queueDepthMax);
  }
  if (summary.publisher) {
    m["events.stored"] = summary.publisher.events;
    m.events_unstored = summary.publisher.unstored;
  }
  const gatewayNames = new Set((summary.topology?.gateways ?? []).map((g) => g.name));
  Object.assign(m, processMetrics(processes ?? [], gatewayNames));
  for (const p of processes ?? []) {
    m[`cpu.${p.name}.max`] = p.cpuMax;
    if (p.series.length >= 10)
      m[`rss_mb.${p.name}.trend_per_min`] = roundTo(trend(p.series.map((s) => [s.second, s.rssMb])) * 60, 4);
  }
  const outages = (faults ?? []).flatMap((f) => (f.outage ? [f.outage] : []));
  if (faults && faults.length > 0) m["faults.failed"] = faults.filter((f) => f.error !== undefined).length;
  if (outages.length > 0) {
    setIfDefined(m, "detect_ms.max", maxDefined(outages.map((o) => o.detectMs)));
    setIfDefined(m, "reconnect_ms.max", maxDefined(outages.map((o) => o.reconnectMs)));
    setIfDefined(m, "outage_ms.max", maxDefined(outages.map((o) => o.outageMs)));
    m["outages.unrecovered"] = outages.filter((o) => o.recoveredAtMs === undefined).length;
    m.hung_commands = outages.reduce((sum, o) => sum + o.commands.hung, 0);
    m.failed_commands = outages.reduce((sum, o) => sum + o.commands.failed, 0);
    if (outages.some((o) => o.eventsLost !== undefined))
      m["outage.events_lost"] = outages.reduce((sum, o) => sum + (o.eventsLost ?? 0), 0);
  }
  if (summary.capacity?.cps !== undefined) m.capacity_cps = summary.capacity.cps;
  if (summary.sip) sipMetrics(m, summary.sip, faults ?? []);
  if (summary.pipeline) {
    const { segments, total } = summary.pipeline;
    Object.assign(m, pipelineMetrics(total));
    // Each phase's own figures too (with `--fault each`, each fault kind's): `cdr.<phase>.lost`…
    if (segments.length > 1)
      for (const segment of segments)
        for (const [name, value] of Object.entries(pipelineMetrics(segment)))
          m[segmentMetric(name, segment.name)] = value;
  }
  return m;
}

/** A metric of one segment of the run (a phase): its name with the segment's after the first part. */
export function segmentMetric(metric: string, segment: string): string {
  const dot = metric.indexOf(".");
  return dot === -1 ? `${metric}.${segment}` : `${metric.slice(0, dot)}.${segment}${metric.slice(dot)}`;
}

/** The calls pipeline's figures of a segment (or the whole run), as gates name them. */
function pipelineMetrics(segment: PipelineSegment): RunMetrics {
  const m: RunMetrics = {
    "pipeline.sent": segment.sent,
    "pipeline.accepted": segment.accepted,
    "pipeline.refused": segment.refused,
    "pipeline.missing": segment.missing,
    "pipeline.answered": segment.answered,
    "pipeline.failed": segment.failed,
    "pipeline.unfinished":
      segment.unfinished.queued + segment.unfinished.ringing + segment.unfinished.inProgress,
    "pipeline.unplaced": segment.unplaced,
    "pipeline.retried": segment.retried,
    "cdr.lost": segment.lostCdrs,
    "cdr.late": segment.lateCdrs,
  };
  if (segment.cdrCompleteness !== undefined) m["cdr.completeness"] = segment.cdrCompleteness;
  percentiles(m, "pipeline_setup", segment.setup);
  percentiles(m, "pipeline_placing", segment.placing);
  percentiles(m, "cdr_lag", segment.cdrLag);
  return m;
}

/** Kamailio's figures, each SIPp's, and how fast the dispatcher followed faults (`sip.*`). */
function sipMetrics(m: RunMetrics, sip: SipSection, faults: readonly FaultRecord[]): void {
  const k = sip.kamailio;
  const c = (name: string) => k.counters[name] ?? 0;
  Object.assign(m, {
    "sip.kamailio.requests": c("core:rcv_requests"),
    "sip.kamailio.invites": c("core:rcv_requests_invite"),
    "sip.kamailio.forwarded": c("core:fwd_requests"),
    "sip.kamailio.dropped": c("core:drop_requests") + c("core:drop_replies"),
    "sip.kamailio.errors": c("core:err_requests") + c("core:err_replies"),
    "sip.kamailio.transactions.active.max": k.activeTransactionsMax,
    "sip.kamailio.shm_used_mb.max": k.shm.usedMaxMb,
  });
  for (const reply of REPLY_CLASSES) m[`sip.kamailio.replies.${reply}`] = c(`core:rcv_replies_${reply}`);
  for (const s of sip.sipp) {
    const { created, successful, failed, retransmissions } = s.calls;
    Object.assign(m, {
      [`sip.${s.name}.calls`]: created,
      [`sip.${s.name}.successful`]: successful,
      [`sip.${s.name}.failed`]: failed,
      [`sip.${s.name}.failure_rate`]: ratio(failed, created),
      [`sip.${s.name}.retransmissions`]: retransmissions,
      [`sip.${s.name}.retransmission_rate`]: ratio(retransmissions, created),
    });
    percentiles(m, `sip.${s.name}.response_time`, s.responseTime);
  }
  const timings = faults.flatMap((f) => (f.dispatcher ? [f.dispatcher] : []));
  setIfDefined(m, "sip.dispatcher.inactive_after_ms.max", maxDefined(timings.map((t) => t.inactiveAfterMs)));
  setIfDefined(
    m,
    "sip.dispatcher.active_again_after_ms.max",
    maxDefined(timings.map((t) => t.activeAgainAfterMs)),
  );
}

function percentiles(m: RunMetrics, name: string, p: Percentiles): void {
  if (p.count === 0) return;
  Object.assign(m, {
    [`${name}.count`]: p.count,
    [`${name}.mean`]: p.mean,
    [`${name}.p50`]: p.p50,
    [`${name}.p95`]: p.p95,
    [`${name}.p99`]: p.p99,
    [`${name}.max`]: p.max,
  });
}

function worstQuantiles(m: RunMetrics, name: string, q: BucketQuantiles): void {
  for (const key of ["p50", "p95", "p99"] as const) {
    const value = q[key];
    if (value !== undefined) m[`${name}.${key}`] = Math.max(m[`${name}.${key}`] ?? 0, value);
  }
}

function add(m: RunMetrics, name: string, value: number): void {
  m[name] = (m[name] ?? 0) + value;
}

/** The largest of the values that are defined; undefined when none is. */
function maxDefined(values: ReadonlyArray<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : Math.max(...defined);
}

function setIfDefined(m: RunMetrics, name: string, value: number | undefined): void {
  if (value !== undefined) m[name] = value;
}

/**
 * How fast y grows per unit of x, robust to spikes: the median of the last third of the points minus the
 * median of the first third, over the distance between the thirds' middles. A least-squares slope would
 * follow one late GC pause or lag spike; this follows the level.
 */
export function trend(points: ReadonlyArray<readonly [number, number]>): number {
  const third = Math.floor(points.length / 3);
  if (third < 1) return 0;
  const first = points.slice(0, third);
  const last = points.slice(-third);
  const middle = (part: typeof points) => (part[0]![0] + part.at(-1)![0]) / 2;
  const run = middle(last) - middle(first);
  return run === 0 ? 0 : (median(last.map(([, y]) => y)) - median(first.map(([, y]) => y))) / run;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ratio = (part: number, whole: number): number => (whole === 0 ? 0 : roundTo(part / whole, 4));

/** `rss_mb.<process>.max`, `cpu.<process>.mean` and `gateway_rss_mb.max`, of the run or of one phase. */
export function processMetrics(
  processes: readonly ProcessWindow[],
  gatewayNames: ReadonlySet<string>,
): RunMetrics {
  const m: RunMetrics = {};
  for (const p of processes) {
    m[`rss_mb.${p.name}.max`] = p.rssMaxMb;
    m[`cpu.${p.name}.mean`] = p.cpuMean;
    if (gatewayNames.has(p.name))
      m["gateway_rss_mb.max"] = Math.max(m["gateway_rss_mb.max"] ?? 0, p.rssMaxMb);
  }
  return m;
}
