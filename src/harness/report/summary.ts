import { randomBytes } from "node:crypto";
import type { PipelineSection } from "../load/calls-api-load.ts";
import type { HttpErrorKind, HttpLoadResult, HttpSecondRow } from "../load/http-load.ts";
import type { CompletenessReport } from "../measure/call-completeness.ts";
import type { GatewayScrapeResult } from "../measure/gateway-scraper.ts";
import type { OutageTimeline } from "../measure/health-watcher.ts";
import type { HistogramSnapshot, Percentiles } from "../measure/histogram.ts";
import type { LagResult, LagSecondRow } from "../measure/lag.ts";
import type { EndingCounts, WindowCounts } from "../measure/outcome-log.ts";
import type { ProcessSeries, ProcessWindow } from "../measure/process-sampler.ts";
import { activityChanges, type PhaseSip, type SipSection } from "../measure/sip-numbers.ts";
import type { PublisherSection } from "../measure/stored-events.ts";
import type { TelecomReport } from "../measure/telecom.ts";
import { roundTo } from "../round.ts";
import { formatGateTable, type GateResult } from "../run/gates.ts";
import type { Fault, Operation } from "../run/scenario.ts";

/** Bumped on any change a reader of an older summary.json would misread; see docs/results.md. */
export const SUMMARY_SCHEMA_VERSION = 3;

/** The machine-readable record of one run, written to results/<run-id>/summary.json (docs/results.md). */
export interface RunSummary {
  schemaVersion: typeof SUMMARY_SCHEMA_VERSION;
  runId: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** The configuration the run was started with, as the scenario gave it. */
  config: unknown;
  load?: LoadSection;
  lag?: LagSection;
  /** Which scenario ran. */
  scenario?: { name: string; description: string };
  /** The lab it ran on. */
  topology?: { name: string; mode: string; gateways: Array<{ name: string; url: string }> };
  /** The machine: other work on it (load average above its cores) shows in every figure. */
  host?: HostSection;
  /** Warm-up phases: measured, never gated, not in any other figure. */
  warmup?: WarmupSection[];
  /** Command latency by command; of 2xx responses; of 429/503 responses (how fast load is shed). */
  operations?: Partial<Record<Operation, HistogramSnapshot>>;
  acceptedLatency?: HistogramSnapshot;
  shedLatency?: HistogramSnapshot;
  /** Mid-call commands drawn with no call up, sent as originates instead. */
  mixFallbacks?: number;
  phases?: PhaseSection[];
  /** A capacity search's answer: the highest phase rate at which every capacity gate held. */
  capacity?: { cps: number | undefined; stoppedAfter?: string };
  calls?: TelecomReport;
  /** A load on the calls API: each accepted call as the pipeline's database recorded it, by phase. */
  pipeline?: PipelineSection;
  /** Each gateway's own /metrics, every second. */
  gateways?: GatewayScrapeResult[];
  /** The events the gateways counted published against those a JetStream stream stored; absent without JetStream. */
  publisher?: PublisherSection;
  /** CPU and RSS of every lab process (and the harness), every second. */
  processes?: ProcessSeries[];
  faults?: FaultRecord[];
  /** The SIP side: Kamailio's statistics and dispatcher, each SIPp's own statistics, every second. */
  sip?: SipSection;
  /** Every figure a gate can name, flat (docs/results.md lists them). */
  metrics?: Record<string, number>;
  gates?: GateResult[];
  baseline?: { runId: string; maxRegressionPct: number };
  /** The verdict: exit code 0 (passed), 99 (a gate failed) or 1 (the run did not go as written). */
  outcome?: { passed: boolean; exitCode: number; problems: string[] };
  /** Files written beside summary.json, by role. */
  files?: Record<string, string>;
}

export interface HostSection {
  cpus: number;
  /** 1-minute load average when the measured load started and when it ended. */
  loadAverageStart: number;
  loadAverageEnd: number;
  /** Cores the lab's processes and the harness used, on average: their own share of the load. */
  labCpu: number;
  /** The higher load average less the lab's share: work that was not ours. */
  otherLoad: number;
  /** Other work took more than half the cores: it is in every figure of the run. */
  busy: boolean;
}

/** The host's load around a run, and how much of it was not the lab's (`processes`: the lab's and the harness's). */
export function hostSection(
  cpus: number,
  loadAverageStart: number,
  loadAverageEnd: number,
  processes: ReadonlyArray<{ cpuMean: number }>,
): HostSection {
  const labCpu = roundTo(
    processes.reduce((sum, p) => sum + p.cpuMean, 0),
    2,
  );
  const otherLoad = roundTo(Math.max(0, Math.max(loadAverageStart, loadAverageEnd) - labCpu), 2);
  return {
    cpus,
    loadAverageStart: roundTo(loadAverageStart, 2),
    loadAverageEnd: roundTo(loadAverageEnd, 2),
    labCpu,
    otherLoad,
    busy: otherLoad > cpus / 2,
  };
}

export interface WarmupSection {
  name: string;
  counts: HttpLoadResult["counts"];
  latency: HistogramSnapshot;
}

/** One measured phase, its requests counted by intended send time. */
export interface PhaseSection extends EndingCounts {
  name: string;
  /** ms since the measured load started. */
  startMs: number;
  endMs: number;
  targetRate: number;
  latency: HistogramSnapshot;
  /** Publish lag of the events received during the phase. */
  publishLag?: Percentiles;
  /** CPU and RSS of each lab process (and the harness) during the phase. */
  processes?: ProcessWindow[];
  /** SIP in the phase: its inbound rate, each SIPp's calls, Kamailio's INVITEs and drops. */
  sip?: PhaseSip;
  /** The phase's own gates (a capacity search), and whether they held. */
  gates?: GateResult[];
  passed?: boolean;
  /** The run stopped before or during this phase (a capacity search past its first failing step). */
  skipped?: boolean;
}

/** One injected fault, ms since the measured load started, and what the gateway made of it. */
export interface FaultRecord {
  label: string;
  target: string;
  fault: Fault;
  /**
   * When the scenario asked for it, when the lab was asked, and when it was over (undone, or applied: a
   * restarted FreeSWITCH answering again).
   */
  atMs: number;
  injectedAtMs?: number;
  clearedAtMs?: number;
  error?: string;
  outage?: Omit<OutageTimeline, "injectedAtMs" | "clearedAtMs"> & {
    /** The gateway whose /health noticed it first. */
    gateway?: string;
    /** Requests intended from injection to recovery, by ending (hung must be 0), and the slowest failure. */
    commands: WindowCounts;
    /**
     * Lifecycle events never received, of the calls made from shortly before the fault to its recovery;
     * absent in a run whose calls are not followed by their events (a load on the calls API: see `pipeline`).
     */
    eventsLost?: number;
  };
  /** A fault on a dispatcher destination: how long until Kamailio marked it inactive, and active again. */
  dispatcher?: { destination: string; inactiveAfterMs?: number; activeAgainAfterMs?: number };
}

export interface LoadSection {
  counts: HttpLoadResult["counts"];
  rate: HttpLoadResult["rate"];
  statusCounts: Record<string, number>;
  errors: Record<HttpErrorKind, number>;
  /** From each request's intended send time to its response's last byte. */
  latency: HistogramSnapshot;
  startLateness: Percentiles;
  series: HttpSecondRow[];
}

export interface LagSection {
  subject: string;
  received: number;
  malformed: number;
  withoutFsTimestamp: number;
  negative: LagResult["negative"];
  eventTypes: Record<string, number>;
  publishLag: HistogramSnapshot;
  endToEndLag: HistogramSnapshot;
  calls: CompletenessReport;
  series: LagSecondRow[];
}

export interface SummaryInput {
  runId: string;
  config: unknown;
  load?: HttpLoadResult;
  lag?: LagResult;
  /** Default: the earliest start and latest end of the parts. */
  startedAt?: string;
  endedAt?: string;
}

/** A run id that sorts by time and names the scenario: `20251121T061401Z-smoke-3f9a`. */
export function newRunId(name: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return validRunId(`${stamp}-${name}-${randomBytes(2).toString("hex")}`);
}

export function buildSummary(input: SummaryInput): RunSummary {
  const { runId, config, load, lag } = input;
  validRunId(runId);
  const starts = [input.startedAt, load?.startedAt, lag?.startedAt].filter(
    (t): t is string => t !== undefined,
  );
  const ends = [input.endedAt, load?.endedAt, lag?.endedAt].filter((t): t is string => t !== undefined);
  if (starts.length === 0 || ends.length === 0)
    throw new Error("a summary needs a load or lag result, or times");
  const startedAt = input.startedAt ?? starts.sort()[0]!;
  const endedAt = input.endedAt ?? ends.sort().at(-1)!;
  const summary: RunSummary = {
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    runId,
    startedAt,
    endedAt,
    durationMs: Date.parse(endedAt) - Date.parse(startedAt),
    config,
  };
  if (load) {
    summary.load = {
      counts: load.counts,
      rate: load.rate,
      statusCounts: load.statusCounts,
      errors: load.errors,
      latency: load.latency.snapshot(),
      startLateness: load.startLateness,
      series: load.series,
    };
  }
  if (lag) {
    summary.lag = {
      subject: lag.subject,
      received: lag.received,
      malformed: lag.malformed,
      withoutFsTimestamp: lag.withoutFsTimestamp,
      negative: lag.negative,
      eventTypes: lag.eventTypes,
      publishLag: lag.publishLag.snapshot(),
      endToEndLag: lag.endToEndLag.snapshot(),
      calls: lag.calls,
      series: lag.series,
    };
  }
  return summary;
}

/** What a run prints at its end (and `lab report` again): the summary, the gate table, any problem. */
export function formatRun(summary: RunSummary): string {
  return [
    formatSummary(summary),
    ...(summary.gates ? [formatGateTable(summary.gates)] : []),
    ...(summary.outcome?.problems ?? []).map((problem) => `problem: ${problem}`),
  ].join("\n");
}

/** A compact table for people: counts, errors, command latency and lag percentiles. */
export function formatSummary(summary: RunSummary): string {
  const lines = [`run ${summary.runId}  ${summary.startedAt}  ${(summary.durationMs / 1000).toFixed(1)} s`];
  const host = summary.host;
  if (host?.busy) {
    lines.push(
      `warning: the host was busy: load average ${host.loadAverageStart} → ${host.loadAverageEnd} on ${host.cpus} cores, ${host.otherLoad} of it not the lab's; that work is in these figures`,
    );
  }
  const table: string[][] = [["", "count", "errors", "p50", "p95", "p99", "max"]];
  const { load, lag } = summary;
  if (load) table.push(row("command latency", load.latency, String(load.counts.errors)));
  if (lag) {
    table.push(row("publish lag", lag.publishLag, String(lag.malformed)));
    table.push(row("end-to-end lag", lag.endToEndLag, "-"));
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  for (const cells of table) {
    lines.push(
      cells
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!)))
        .join("  "),
    );
  }
  if (load) {
    const { counts, rate, errors } = load;
    const kinds = Object.entries(errors)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`);
    lines.push(
      `rate ${rate.achieved.toFixed(1)}/s of ${rate.target.toFixed(1)}/s; sent ${counts.sent} of ${counts.planned}, ok ${counts.ok}, dropped ${counts.dropped}` +
        (kinds.length > 0 ? `; errors: ${kinds.join(", ")}` : ""),
    );
  }
  if (lag && lag.calls.calls > 0) {
    lines.push(
      `calls: ${lag.calls.calls} followed, ${lag.calls.complete} complete, ${lag.calls.incomplete} incomplete`,
    );
  }
  lines.push(
    ...formatCalls(summary),
    ...formatPublisher(summary),
    ...formatPipeline(summary),
    ...formatCapacity(summary),
    ...formatFaults(summary),
    ...formatSip(summary),
    ...formatProcesses(summary),
  );
  return lines.join("\n");
}

function formatCalls({ calls, metrics = {} }: RunSummary): string[] {
  if (!calls) return [];
  const causes = Object.entries(calls.failedByCause).map(([cause, n]) => `${cause} ${n}`);
  const refused = Object.entries(calls.refused).map(([why, n]) => `${why} ${n}`);
  const esl = metrics["esl_command_latency.p95"];
  return [
    `telecom: ASR ${calls.asr === undefined ? "-" : calls.asr.toFixed(3)} (${calls.answered} answered of ${calls.seizures} seized, ${calls.attempts} attempted); setup p95 ${calls.setupLatency.count ? `${calls.setupLatency.p95} ms` : "-"}; ${calls.erlangs} erlangs, peak ${calls.concurrentPeak} calls up` +
      (esl === undefined ? "" : `; gateway ESL p95 ${esl} ms`),
    ...(causes.length > 0 ? [`failed calls by cause: ${causes.join(", ")}`] : []),
    ...(refused.length > 0 ? [`originates refused: ${refused.join(", ")}`] : []),
  ];
}

/** Publisher loss against what NATS stored, and whether the gateways' books balance. */
function formatPublisher({ publisher, gateways = [] }: RunSummary): string[] {
  if (gateways.length === 0) return [];
  const sum = (key: "eventsReceived" | "eventsPublished" | "eventsDropped") =>
    gateways.reduce((total, g) => total + g.totals[key], 0);
  const books = `received ${sum("eventsReceived")}, published ${sum("eventsPublished")}, dropped ${sum("eventsDropped")}`;
  if (!publisher)
    return [`publisher: ${books}; no JetStream stream read, so not checked against what NATS stored`];
  const own = publisher.ownStream ? ", the harness's for the run" : "";
  return [
    `publisher: ${books}; stream ${publisher.stream}${own} stored ${publisher.events} distinct events on ${publisher.subject} (${publisher.messages} messages); ${publisher.unstored} counted published and not stored`,
  ];
}

/** The gateways' CPU and RSS during a phase: what the capacity costs. */
function formatGatewayUse(phase: PhaseSection, gatewayNames: ReadonlySet<string>): string {
  const gateways = (phase.processes ?? []).filter((p) => gatewayNames.has(p.name));
  if (gateways.length === 0) return "";
  const cpu = Math.max(...gateways.map((g) => g.cpuMean));
  const rss = Math.max(...gateways.map((g) => g.rssMaxMb));
  return `  gateway cpu ${(cpu * 100).toFixed(0)}% rss ${rss.toFixed(0)} MB`;
}

/** The calls pipeline's audit: one row per phase (with `--fault each`, per fault kind), then the total. */
function formatPipeline({ pipeline }: RunSummary): string[] {
  if (!pipeline) return [];
  const rows = pipeline.segments.length > 1 ? [...pipeline.segments, pipeline.total] : pipeline.segments;
  const n = (v: number) => v.toLocaleString("en-US");
  const ms = (p: { count: number; p50: number; p95: number; p99: number }) =>
    p.count === 0 ? "-" : `${Math.round(p.p50)} / ${Math.round(p.p95)} / ${Math.round(p.p99)}`;
  const table = [
    [
      "phase",
      "accepted",
      "refused",
      "answered",
      "with CDR",
      "completeness",
      "lost CDRs",
      `late (>${pipeline.lateCdrMs / 1000} s)`,
      "unfinished",
      "setup ms p50/p95/p99",
      "CDR lag ms p50/p95/p99",
    ],
    ...rows.map((r) => [
      r.name,
      n(r.accepted),
      n(r.refused),
      n(r.answered),
      n(r.answeredWithCdr),
      r.cdrCompleteness === undefined ? "-" : `${(r.cdrCompleteness * 100).toFixed(2)} %`,
      n(r.lostCdrs),
      n(r.lateCdrs),
      n(r.unfinished.queued + r.unfinished.ringing + r.unfinished.inProgress),
      ms(r.setup),
      ms(r.cdrLag),
    ]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  const { total } = pipeline;
  const reasons = Object.entries(total.failedByReason).map(([reason, count]) => `${reason} ${count}`);
  return [
    `calls pipeline (its database, ${pipeline.settled ? `every call ended ${(pipeline.settledAfterMs / 1000).toFixed(1)} s after the drain` : `${(pipeline.settledAfterMs / 1000).toFixed(1)} s after the drain some calls had not ended`}):`,
    ...table.map(
      (cells) =>
        `  ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!))).join("  ")}`,
    ),
    ...(reasons.length > 0 ? [`  failed calls by reason: ${reasons.join(", ")}`] : []),
    ...(total.unplaced > 0 ? [`  never placed: ${total.unplaced}`] : []),
    ...(total.missing > 0 ? [`  accepted but not in the database: ${total.missing}`] : []),
  ];
}

function formatCapacity({ capacity, phases = [], topology }: RunSummary): string[] {
  if (!capacity) return [];
  const gatewayNames = new Set((topology?.gateways ?? []).map((g) => g.name));
  const verdict = (p: PhaseSection) =>
    p.skipped
      ? "stopped"
      : p.passed
        ? "pass"
        : `FAIL ${(p.gates ?? [])
            .filter((g) => !g.pass)
            .map((g) => `${g.metric} ${g.actual ?? "-"} (${g.operator} ${g.threshold})`)
            .join(", ")}`;
  return [
    `capacity: ${capacity.cps === undefined ? "no step passed" : `${capacity.cps} calls/s`}, the highest step at which every gate held`,
    ...phases.map(
      (p) =>
        `  ${p.name.padEnd(9)} sent ${String(p.sent).padStart(6)}  p95 ${p.latency.count ? `${p.latency.p95} ms` : "-"}  lag p95 ${p.publishLag?.count ? `${p.publishLag.p95} ms` : "-"}${formatGatewayUse(p, gatewayNames)}  ${verdict(p)}`,
    ),
  ];
}

function formatFaults({ faults = [] }: RunSummary): string[] {
  const ms = (v: number | undefined) => (v === undefined ? "-" : `${v} ms`);
  return faults.map((f) => {
    const at = f.injectedAtMs === undefined ? "not injected" : `at ${(f.injectedAtMs / 1000).toFixed(3)} s`;
    if (f.error) return `fault ${f.label} ${at}: ${f.error}`;
    const o = f.outage;
    const d = f.dispatcher;
    const dispatcher = d
      ? `; Kamailio's dispatcher marked it inactive after ${ms(d.inactiveAfterMs)}${f.clearedAtMs === undefined ? "" : `, active again ${ms(d.activeAgainAfterMs)} after the fault was undone`}`
      : "";
    if (!o) return `fault ${f.label} ${at}${dispatcher}`;
    return `fault ${f.label} ${at}: detected after ${ms(o.detectMs)}, reconnected in ${ms(o.reconnectMs)}${f.clearedAtMs === undefined ? "" : ` from the fault's end at ${(f.clearedAtMs / 1000).toFixed(3)} s`}, outage ${ms(o.outageMs)}${o.unseen ? " (between two polls)" : ""}; commands ${o.commands.sent} sent, ${o.commands.failed} failed (the slowest after ${o.commands.slowestFailureMs} ms), ${o.commands.hung} hung${o.eventsLost === undefined ? "" : `; ${o.eventsLost} events lost`}${dispatcher}`;
  });
}

function formatSip({ sip }: RunSummary): string[] {
  if (!sip) return [];
  const k = sip.kamailio;
  const c = k.counters;
  const n = (name: string) => c[name] ?? 0;
  const classes = ["2xx", "4xx", "5xx", "6xx"].map((r) => `${r} ${n(`core:rcv_replies_${r}`)}`).join(", ");
  const lines = [
    `sip: kamailio INVITE ${n("core:rcv_requests_invite")}, BYE ${n("core:rcv_requests_bye")}, CANCEL ${n("core:rcv_requests_cancel")}; replies received ${classes}; dropped ${n("core:drop_requests") + n("core:drop_replies")}; transactions up at most ${k.activeTransactionsMax}; shared memory ${k.shm.usedMaxMb} of ${k.shm.totalMb} MB`,
  ];
  for (const s of sip.sipp) {
    const reasons = Object.entries(s.calls.failedBy).map(([reason, count]) => `${reason} ${count}`);
    const rt = s.responseTime;
    lines.push(
      `sip: ${s.name} (SIPp ${s.scenario}) ${s.calls.created} calls, ${s.calls.successful} ok, ${s.calls.failed} failed${reasons.length ? ` (${reasons.join(", ")})` : ""}, ${s.calls.retransmissions} retransmissions` +
        (rt.count > 0 ? `; ${s.responseTimeOf} p50 ${rt.p50} ms, p95 ${rt.p95} ms, p99 ${rt.p99} ms` : ""),
    );
  }
  for (const change of activityChanges(k.dispatcher.changes))
    lines.push(
      `sip: dispatcher ${change.component ?? change.uri} ${change.active ? "active" : "inactive"} (${change.flags}) at ${(change.atMs / 1000).toFixed(1)} s`,
    );
  return lines;
}

function formatProcesses({ processes = [] }: RunSummary): string[] {
  if (processes.length === 0) return [];
  const width = Math.max(12, ...processes.map((p) => p.name.length));
  return [
    "processes (cpu: share of one core)",
    ...processes.map(
      (p) =>
        `  ${p.name.padEnd(width)} cpu mean ${(p.cpuMean * 100).toFixed(0).padStart(3)}%  max ${(p.cpuMax * 100).toFixed(0).padStart(3)}%  rss max ${p.rssMaxMb.toFixed(0)} MB`,
    ),
  ];
}

function row(label: string, histogram: Percentiles, errors: string): string[] {
  const ms = (value: number) => (histogram.count === 0 ? "-" : `${value.toFixed(value < 10 ? 2 : 0)} ms`);
  return [
    label,
    String(histogram.count),
    errors,
    ms(histogram.p50),
    ms(histogram.p95),
    ms(histogram.p99),
    ms(histogram.max),
  ];
}

function validRunId(runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId)) {
    throw new RangeError(
      `run id must be letters, digits, . _ - (and not start with a dot): ${JSON.stringify(runId)}`,
    );
  }
  return runId;
}
