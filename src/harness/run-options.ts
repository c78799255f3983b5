import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ArrivalSchedule } from "./arrival.ts";
import { type Gate, parseGateExpression, type Thresholds } from "./gates.ts";
import { joinPhases } from "./phases.ts";
import { segmentMetric } from "./run-metrics.ts";
import type { FaultStep, Scenario } from "./scenario.ts";
import type { RunOptions } from "./scenario-runner.ts";
import type { RunSummary } from "./summary.ts";

/** The options of a scenario run, for a command's `parseArgs` (`npm run lab -- run <scenario> …`). */
export const RUN_ARG_OPTIONS = {
  gate: { type: "string", multiple: true },
  baseline: { type: "string" },
  "max-regression": { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  fault: { type: "string" },
  topology: { type: "string" },
} as const;

export const RUN_ARGS_HELP = `  --gate <metric><op><n>   a gate, replacing the scenario's on that metric (repeatable), e.g.
                           --gate command_latency.p95<20 --gate 'asr>=0.999'; metrics: docs/results.md
  --baseline <run>         an earlier run (its folder or summary.json): fail when a latency p95 grew
  --max-regression <pct>   how much it may grow over the baseline's, % (default 10)
  --rate <cps>             scale the scenario's rates so that its highest measured rate is <cps>
  --duration <s>           scale its measured phases (and fault times) to last <s> seconds
  --fault <kind>|each      a scenario with fault kinds (calls-pipeline: none, gateway-restart, nats-restart,
                           orchestrator-crash): run with that one, or with each in turn (one phase each,
                           each kind's gates on its own phase's figures)
  --topology <name>        the topology of a lab started for the run (default the scenario's, else single)
Exit code: 0 passed, 99 a gate failed (as k6), 1 the run did not go as written (a fault refused), 2 usage.`;

export interface RunArgValues {
  gate?: string[];
  baseline?: string;
  "max-regression"?: string;
  rate?: string;
  duration?: string;
  fault?: string;
  topology?: string;
}

/** A bad option value; the message names the option. */
export class RunArgError extends Error {
  override name = "RunArgError";
}

/** The scenario as the options change it, and the runner's gate and baseline options. */
export function applyRunArgs(
  base: Scenario,
  values: RunArgValues,
): { scenario: Scenario; options: Pick<RunOptions, "gates" | "baseline"> } {
  let scenario = base;
  if (values.rate !== undefined) scenario = withPeakRate(scenario, positive(values.rate, "--rate"));
  if (values.duration !== undefined)
    scenario = withDuration(scenario, positive(values.duration, "--duration") * 1000);
  if (values.fault !== undefined) scenario = applyFaultKind(scenario, values.fault);
  if (values.topology !== undefined) scenario = { ...scenario, topology: values.topology };
  const gates: Gate[] = (values.gate ?? []).map((text) => {
    try {
      return parseGateExpression(text);
    } catch (error) {
      throw new RunArgError(`--gate: ${(error as Error).message}`);
    }
  });
  if (values["max-regression"] !== undefined && values.baseline === undefined)
    throw new RunArgError("--max-regression needs --baseline");
  const baseline =
    values.baseline === undefined
      ? undefined
      : {
          summary: readBaseline(values.baseline),
          maxRegressionPct:
            values["max-regression"] === undefined
              ? 10
              : nonNegative(values["max-regression"], "--max-regression"),
        };
  return { scenario, options: { gates, ...(baseline ? { baseline } : {}) } };
}

/**
 * The scenario with one of its fault kinds (its faults and gates instead of the scenario's; its one
 * measured phase named after it; the kinds themselves gone, as chosen), or with `each` of them in turn: the measured phase once per kind, named
 * after it, each with its faults shifted to its turn and its gates renamed to its phase's own figures
 * (`cdr.lost` → `cdr.<kind>.lost`, see `segmentMetric`).
 */
export function applyFaultKind(scenario: Scenario, choice: string): Scenario {
  const kinds = Object.entries(scenario.faultKinds ?? {});
  if (kinds.length === 0) throw new RunArgError(`--fault: ${scenario.name} has no fault kinds`);
  const names = kinds.map(([name]) => name);
  if (choice !== "each" && !names.includes(choice))
    throw new RunArgError(
      `--fault: ${scenario.name} has fault kinds ${names.join(", ")} (or each), not ${choice}`,
    );
  const warmup = scenario.phases.filter((p) => p.warmup);
  const measured = scenario.phases.find((p) => !p.warmup);
  if (!measured || scenario.phases.length !== warmup.length + 1)
    throw new RunArgError(`--fault: ${scenario.name} must have one measured phase`);
  const turns = choice === "each" ? kinds : kinds.filter(([name]) => name === choice);
  const turnMs = joinPhases([measured]).placed[0]!.endMs;
  const faults: FaultStep[] = [];
  const gates: Record<string, string | readonly string[]> = {};
  turns.forEach(([name, kind], index) => {
    for (const step of kind.faults) faults.push({ ...step, at: step.at + index * turnMs });
    for (const [metric, condition] of Object.entries(kind.gates as Thresholds))
      gates[turns.length > 1 ? segmentMetric(metric, name) : metric] = condition;
  });
  const { faultKinds: _chosen, ...rest } = scenario;
  return { ...rest, phases: [...warmup, ...turns.map(([name]) => ({ ...measured, name }))], faults, gates };
}

/** Every measured rate times the factor that makes the highest one `rate` (a ramp keeps its shape). */
function withPeakRate(scenario: Scenario, rate: number): Scenario {
  const measured = scenario.phases.filter((p) => !p.warmup);
  const peak = Math.max(...measured.map((p) => peakRate(p.schedule)));
  const factor = rate / peak;
  return {
    ...scenario,
    phases: scenario.phases.map((p) => (p.warmup ? p : { ...p, schedule: scaleRates(p.schedule, factor) })),
  };
}

/** Measured phases and fault times stretched or shrunk to `durationMs` in all. */
function withDuration(scenario: Scenario, durationMs: number): Scenario {
  const measured = scenario.phases.filter((p) => !p.warmup);
  const factor = durationMs / joinPhases(measured).placed.at(-1)!.endMs;
  const scale = (ms: number) => Math.round(ms * factor);
  return {
    ...scenario,
    phases: scenario.phases.map((p) =>
      p.warmup ? p : { ...p, schedule: scaleDurations(p.schedule, scale) },
    ),
    faults: scenario.faults?.map(scaleStep),
    ...(scenario.faultKinds && {
      faultKinds: Object.fromEntries(
        Object.entries(scenario.faultKinds).map(([name, kind]) => [
          name,
          { ...kind, faults: kind.faults.map(scaleStep) },
        ]),
      ),
    }),
  };

  function scaleStep(step: FaultStep): FaultStep {
    return {
      ...step,
      at: scale(step.at),
      ...(step.durationMs !== undefined ? { durationMs: scale(step.durationMs) } : {}),
    };
  }
}

function peakRate(schedule: ArrivalSchedule): number {
  return schedule.executor === "constant-arrival-rate"
    ? schedule.rate
    : Math.max(schedule.startRate, ...schedule.stages.map((s) => s.target));
}

function scaleRates(schedule: ArrivalSchedule, factor: number): ArrivalSchedule {
  const r = (rate: number) => Math.round(rate * factor * 100) / 100;
  return schedule.executor === "constant-arrival-rate"
    ? { ...schedule, rate: r(schedule.rate) }
    : {
        ...schedule,
        startRate: r(schedule.startRate),
        stages: schedule.stages.map((s) => ({ ...s, target: r(s.target) })),
      };
}

function scaleDurations(schedule: ArrivalSchedule, scale: (ms: number) => number): ArrivalSchedule {
  return schedule.executor === "constant-arrival-rate"
    ? { ...schedule, durationMs: scale(schedule.durationMs) }
    : { ...schedule, stages: schedule.stages.map((s) => ({ ...s, durationMs: scale(s.durationMs) })) };
}

/** A run's summary from its folder or its summary.json. */
function readBaseline(path: string): RunSummary {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, "summary.json") : path;
  if (!existsSync(file)) throw new RunArgError(`--baseline: no summary at ${file}`);
  const summary = JSON.parse(readFileSync(file, "utf8")) as RunSummary;
  if (typeof summary.schemaVersion !== "number")
    throw new RunArgError(`--baseline: ${file} is not a run summary`);
  return summary;
}

function positive(text: string, name: string): number {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n))
    throw new RunArgError(`${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

function nonNegative(text: string, name: string): number {
  const n = Number(text);
  if (!(n >= 0) || !Number.isFinite(n))
    throw new RunArgError(`${name} must be a number >= 0, got ${JSON.stringify(text)}`);
  return n;
}
