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
import type { PhaseSip, SipSection } from "../measure/sip-numbers.ts";
import type { PublisherSection } from "../measure/stored-events.ts";
import type { TelecomReport } from "../measure/telecom.ts";
import { roundTo } from "../round.ts";
import type { GateResult } from "../run/gates.ts";
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

function validRunId(runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId)) {
    throw new RangeError(
      `run id must be letters, digits, . _ - (and not start with a dot): ${JSON.stringify(runId)}`,
    );
  }
  return runId;
}
