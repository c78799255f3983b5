import { availableParallelism, loadavg } from "node:os";
import type { PipelineSection } from "../load/calls-api-load.ts";
import type { HttpLoadResult } from "../load/http-load.ts";
import type { PlacedPhase } from "../load/phases.ts";
import type { GatewayScrapeResult } from "../measure/gateway-scraper.ts";
import type { LagResult } from "../measure/lag.ts";
import type { OutcomeLog } from "../measure/outcome-log.ts";
import type { ProcessSampler, ProcessSeries } from "../measure/process-sampler.ts";
import { BASELINE_METRICS, runMetrics } from "../measure/run-metrics.ts";
import { dispatcherTimings, phaseSip, type SipSection } from "../measure/sip-numbers.ts";
import { publisherSection, type StoredEvents } from "../measure/stored-events.ts";
import type { TelecomReport } from "../measure/telecom.ts";
import {
  buildSummary,
  type FaultRecord,
  hostSection,
  type PhaseSection,
  type RunSummary,
  type WarmupSection,
} from "../report/summary.ts";
import { roundTo } from "../round.ts";
import { capacityOf, type PhaseVerdict } from "./capacity.ts";
import { baselineGates, evaluateGates, GATES_FAILED_EXIT_CODE, type Gate, gatesPassed } from "./gates.ts";
import type { LabHandle } from "./lab-handle.ts";
import type { LoadPhase, Scenario } from "./scenario.ts";

/** The summary assembler: a run's measurements, once stopped, as its summary, judged by its gates. */

/** A capacity search's state at the end of the load. */
export interface CapacityRun {
  judge: (index: number) => PhaseVerdict;
  /** The phase that failed its gates and stopped the search, if one did. */
  stoppedAfter?: string;
}

/** Each measured phase's figures (and, in a capacity search, its verdict). */
export function phaseSections(input: {
  placed: readonly PlacedPhase[];
  measured: readonly LoadPhase[];
  outcomes: OutcomeLog;
  lag: LagResult;
  sampler: Pick<ProcessSampler, "window">;
  sip: SipSection | undefined;
  inbound: boolean;
  capacity: CapacityRun | undefined;
}): PhaseSection[] {
  const { placed, measured, outcomes, lag: lagResult, sampler, sip: sipResult, capacity } = input;
  return placed.map((phase, index) => {
    const counts = outcomes.phases[index]!;
    const lag = lagResult.windows[phase.name];
    const section: PhaseSection = {
      name: phase.name,
      startMs: phase.startMs,
      endMs: phase.endMs,
      targetRate: roundTo(phase.targetRate, 1),
      sent: counts.sent,
      ok: counts.ok,
      failed: counts.failed,
      hung: counts.hung,
      latency: counts.latency.snapshot(),
      ...(lag ? { publishLag: lag.percentiles() } : {}),
      processes: sampler.window(phase.startMs, phase.endMs),
      ...(sipResult
        ? {
            sip: phaseSip(sipResult, phase, input.inbound ? (measured[index]!.inboundRate ?? 0) : undefined),
          }
        : {}),
    };
    if (capacity) {
      const { stoppedAfter } = capacity;
      const skipped = stoppedAfter !== undefined && index > placed.findIndex((p) => p.name === stoppedAfter);
      if (skipped) return { ...section, skipped };
      const verdict = capacity.judge(index);
      return { ...section, gates: verdict.gates, passed: verdict.passed };
    }
    return section;
  });
}

/** Everything a run measured, stopped. */
export interface RunMeasurements {
  runId: string;
  scenario: Scenario;
  lab: Pick<LabHandle, "topology" | "mode" | "gateways">;
  load: HttpLoadResult;
  lag: LagResult;
  loadAverageStart: number;
  processes: ProcessSeries[];
  warmup: WarmupSection[];
  outcomes: OutcomeLog;
  mixFallbacks: number;
  placed: readonly PlacedPhase[];
  phases: PhaseSection[];
  /** Set in a capacity search. */
  capacity: { stoppedAfter?: string } | undefined;
  /** Calls followed by their events (not on the calls API). */
  calls: TelecomReport | undefined;
  pipeline: PipelineSection | undefined;
  gateways: GatewayScrapeResult[];
  stored: StoredEvents | undefined;
  faults: FaultRecord[];
  sip: SipSection | undefined;
}

/** The summary's sections, before its metrics and gates. */
export function assembleSummary(m: RunMeasurements): RunSummary {
  const { scenario, lab, capacity, sip: sipResult } = m;
  return {
    ...buildSummary({ runId: m.runId, config: scenario, load: m.load, lag: m.lag }),
    scenario: { name: scenario.name, description: scenario.description },
    topology: {
      name: lab.topology,
      mode: lab.mode,
      gateways: lab.gateways.map(({ name, url }) => ({ name, url })),
    },
    host: hostSection(availableParallelism(), m.loadAverageStart, loadavg()[0]!, m.processes),
    ...(m.warmup.length > 0 ? { warmup: m.warmup } : {}),
    operations: Object.fromEntries([...m.outcomes.byOperation].map(([op, h]) => [op, h.snapshot()])),
    acceptedLatency: m.outcomes.accepted.snapshot(),
    shedLatency: m.outcomes.shed.snapshot(),
    mixFallbacks: m.mixFallbacks,
    phases: m.phases,
    ...(capacity
      ? {
          capacity: {
            cps: capacityOf(m.placed, m.phases),
            ...(capacity.stoppedAfter ? { stoppedAfter: capacity.stoppedAfter } : {}),
          },
        }
      : {}),
    ...(m.calls ? { calls: m.calls } : {}),
    ...(m.pipeline ? { pipeline: m.pipeline } : {}),
    gateways: m.gateways,
    ...(m.stored ? { publisher: publisherSection(m.stored, m.gateways) } : {}),
    processes: m.processes,
    faults: sipResult ? withDispatcherTimings(m.faults, sipResult) : m.faults,
    ...(sipResult ? { sip: sipResult } : {}),
  };
}

/**
 * Judges the summary: its metrics against the gates (and a baseline run's, if given), with the faults the lab
 * could not apply as problems. Fills in `metrics`, `gates`, `baseline` and `outcome`; returns the exit code.
 */
export function judgeRun(
  summary: RunSummary,
  gates: readonly Gate[],
  baseline: { summary: RunSummary; maxRegressionPct: number; metrics?: readonly string[] } | undefined,
  faults: readonly FaultRecord[],
): number {
  const metrics = runMetrics(summary);
  const allGates = baseline
    ? [
        ...gates,
        ...baselineGates(
          baseline.summary.metrics ?? runMetrics(baseline.summary),
          baseline.metrics ?? BASELINE_METRICS,
          baseline.maxRegressionPct,
        ),
      ]
    : gates;
  const gateResults = evaluateGates(allGates, metrics);
  const problems = faults.flatMap((f) => (f.error ? [`fault ${f.label}: ${f.error}`] : []));
  const passed = gatesPassed(gateResults) && problems.length === 0;
  const exitCode = !gatesPassed(gateResults) ? GATES_FAILED_EXIT_CODE : problems.length > 0 ? 1 : 0;
  summary.metrics = metrics;
  summary.gates = gateResults;
  if (baseline) {
    summary.baseline = { runId: baseline.summary.runId, maxRegressionPct: baseline.maxRegressionPct };
  }
  summary.outcome = { passed, exitCode, problems };
  return exitCode;
}

/** Each fault on a dispatcher destination (a FreeSWITCH) with how fast the dispatcher followed it. */
function withDispatcherTimings(faults: FaultRecord[], sip: SipSection): FaultRecord[] {
  return faults.map((fault) => {
    if (fault.injectedAtMs === undefined) return fault;
    const timings = dispatcherTimings(
      sip.kamailio.dispatcher.changes,
      fault.target,
      fault.injectedAtMs,
      fault.clearedAtMs,
    );
    return timings ? { ...fault, dispatcher: timings } : fault;
  });
}
