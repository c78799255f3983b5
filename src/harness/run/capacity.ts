import type { PlacedPhase } from "../load/phases.ts";
import type { GatewayScraper } from "../measure/gateway-scraper.ts";
import type { LagMonitor } from "../measure/lag.ts";
import type { OutcomeLog } from "../measure/outcome-log.ts";
import type { ProcessSampler } from "../measure/process-sampler.ts";
import { processMetrics, type RunMetrics } from "../measure/run-metrics.ts";
import type { PhaseSection } from "../report/summary.ts";
import { roundTo } from "../round.ts";
import { evaluateGates, type Gate, type GateResult, gatesPassed } from "./gates.ts";

/**
 * Capacity judging: a capacity search (`scenario.capacity`) judges each phase against its own gates as it
 * ends, stops at the first that fails, and reports the highest rate that passed.
 */

export type PhaseVerdict = { gates: GateResult[]; passed: boolean };

/** What a phase is judged on: its requests, its publish lag, the first gateway's ESL latency, its processes. */
export interface PhaseFigures {
  placed: readonly PlacedPhase[];
  outcomes: OutcomeLog;
  lag: Pick<LagMonitor, "windowHistogram">;
  esl: Pick<GatewayScraper, "eslLatencyBetween">;
  sampler: Pick<ProcessSampler, "window">;
  gatewayNames: ReadonlySet<string>;
  /** The run's t0, performance.now() ms. */
  t0: number;
}

/** A judge of phase `index`'s figures so far, against the capacity gates. */
export function phaseJudge(gates: readonly Gate[], figures: PhaseFigures): (index: number) => PhaseVerdict {
  const { placed, outcomes, lag: lagMonitor, esl: eslScraper, sampler, gatewayNames, t0 } = figures;
  return (index) => {
    const phase = placed[index]!;
    const counts = outcomes.phases[index]!;
    const lag = lagMonitor.windowHistogram(phase.name);
    const esl = eslScraper.eslLatencyBetween(t0 + phase.startMs, t0 + phase.endMs);
    const phaseMetrics: RunMetrics = {
      "requests.sent": counts.sent,
      error_rate: counts.sent === 0 ? 0 : roundTo(counts.failed / counts.sent, 1),
      hung_requests: counts.hung,
    };
    const latency = counts.latency.percentiles();
    if (latency.count > 0)
      Object.assign(phaseMetrics, {
        "command_latency.p50": latency.p50,
        "command_latency.p95": latency.p95,
        "command_latency.p99": latency.p99,
      });
    if (lag && lag.count > 0)
      Object.assign(phaseMetrics, {
        "publish_lag.p95": lag.percentile(95),
        "publish_lag.p99": lag.percentile(99),
      });
    if (esl.p95 !== undefined) phaseMetrics["esl_command_latency.p95"] = esl.p95;
    Object.assign(phaseMetrics, processMetrics(sampler.window(phase.startMs, phase.endMs), gatewayNames));
    const results = evaluateGates(gates, phaseMetrics);
    return { gates: results, passed: gatesPassed(results) };
  };
}

/** The highest phase rate reached before the first phase that failed its gates. */
export function capacityOf(
  placed: readonly PlacedPhase[],
  phases: readonly PhaseSection[],
): number | undefined {
  let best: number | undefined;
  for (const [index, phase] of phases.entries()) {
    if (phase.passed !== true) break;
    best = Math.max(best ?? 0, placed[index]!.finalRate);
  }
  return best;
}
