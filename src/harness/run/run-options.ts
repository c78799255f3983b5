import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ArrivalSchedule } from "../load/arrival.ts";
import { joinPhases } from "../load/phases.ts";
import { segmentMetric } from "../measure/run-metrics.ts";
import type { RunSummary } from "../report/summary.ts";
import { roundTo } from "../round.ts";
import { type Gate, parseGateExpression, type Thresholds } from "./gates.ts";
import type { FaultStep, OriginateApplication, RequestMix, Scenario, TransferTarget } from "./scenario.ts";
import type { HarnessRunOptions } from "./scenario-runner.ts";

/** The options of a scenario run, for a command's `parseArgs` (`npm run lab -- run <scenario> …`). */
export const RUN_ARG_OPTIONS = {
  gate: { type: "string", multiple: true },
  baseline: { type: "string" },
  "max-regression": { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  fault: { type: "string" },
  "skip-fault": { type: "string", multiple: true },
  topology: { type: "string" },
  destination: { type: "string" },
  application: { type: "string" },
  "transfer-extension": { type: "string" },
  play: { type: "string" },
  hold: { type: "string" },
} as const;

export const RUN_ARGS_HELP = `  --gate <metric><op><n>   a gate, replacing the scenario's on that metric (repeatable), e.g.
                           --gate command_latency.p95<20 --gate 'asr>=0.999'; metrics: docs/results.md
  --baseline <run>         an earlier run (its folder or summary.json): fail when a latency p95 grew
  --max-regression <pct>   how much it may grow over the baseline's, % (default 10)
  --rate <cps>             scale the scenario's rates (its warm-up's too) so that its highest measured rate
                           is <cps>
  --duration <s>           scale its measured phases (and fault times) to last <s> seconds
  --fault <kind>|each      a scenario with fault kinds (calls-pipeline: none, gateway-restart, nats-restart,
                           orchestrator-crash): run with that one, or with each in turn (one phase each,
                           each kind's gates on its own phase's figures)
  --skip-fault <label>     run without the fault of that label (repeatable), e.g. --skip-fault
                           "FreeSWITCH restart" on an external FreeSWITCH, which the lab cannot restart
  --topology <name>        the topology of a lab started for the run (default the scenario's, else single)
What the gateway commands of the load say (not for calls-pipeline, whose calls the lab's pipeline dials):
  --destination <dial>     the dial string of every originate (default: each gateway's far end: the double
                           answers sofia/internal/1000@127.0.0.1:5090, the lab's real FreeSWITCH dials
                           sofia/external/1000@127.0.0.1; an external FreeSWITCH needs one, e.g. a gateway or
                           extension of its own that answers)
  --application <name>[:<args>]  what an answered originate runs (default park), e.g. --application echo
  --transfer-extension <ext>[@<context>]  where transfer sends a call (default 9999, in the channel's
                           context; the lab's FreeSWITCH parks 9999 in context default)
  --play <file>            what play plays (default tone_stream://%(100,0,440))
  --hold <ms>|<min>-<max>  how long each call is held: the double's per-call fakeswitch_hold_ms; a real
                           FreeSWITCH's calls last as long as the far end holds them, so on a lab with one
                           it is also the SIPp carrier's hold (a lab started for the run gets it; a lab that
                           is up must have it: lab up --carrier-hold-ms <ms>)
Exit code: 0 passed, 99 a gate failed (as k6), 1 the run did not go as written (a fault refused), 2 usage.`;

export interface RunArgValues {
  gate?: string[];
  baseline?: string;
  "max-regression"?: string;
  rate?: string;
  duration?: string;
  fault?: string;
  "skip-fault"?: string[];
  topology?: string;
  destination?: string;
  application?: string;
  "transfer-extension"?: string;
  play?: string;
  hold?: string;
}

/** A bad option value; the message names the option. */
export class RunArgError extends Error {
  override name = "RunArgError";
}

/** The scenario as the options change it, and the runner's gate and baseline options. */
export function applyRunArgs(
  base: Scenario,
  values: RunArgValues,
): { scenario: Scenario; options: Pick<HarnessRunOptions, "gates" | "baseline" | "skipFaults"> } {
  let scenario = withMixSettings(base, values);
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
  const skipFaults = values["skip-fault"] ?? [];
  return {
    scenario,
    options: { gates, ...(baseline ? { baseline } : {}), ...(skipFaults.length > 0 ? { skipFaults } : {}) },
  };
}

/**
 * The scenario with the request-mix settings given on the command line: dial string, application,
 * transfer target, played file, hold. The hold of a range is also the SIPp carrier's (its midpoint), the
 * hold of a real FreeSWITCH's calls.
 */
function withMixSettings(scenario: Scenario, values: RunArgValues): Scenario {
  const given = (["destination", "application", "transfer-extension", "play", "hold"] as const).filter(
    (name) => values[name] !== undefined,
  );
  if (given.length === 0) return scenario;
  const mix = scenario.load.mix;
  if (!mix)
    throw new RunArgError(
      `--${given[0]}: ${scenario.name} places its calls through the calls API, whose pipeline dials them itself`,
    );
  const settings: Partial<RequestMix> = {};
  if (values.destination !== undefined) settings.destination = nonEmpty(values.destination, "--destination");
  if (values.application !== undefined) settings.application = parseApplication(values.application);
  if (values["transfer-extension"] !== undefined)
    settings.transfer = parseTransferTarget(values["transfer-extension"]);
  if (values.play !== undefined) settings.playFile = nonEmpty(values.play, "--play");
  let carrierHoldMs: number | undefined;
  if (values.hold !== undefined) {
    settings.holdMs = parseHold(values.hold);
    carrierHoldMs = Math.round((settings.holdMs[0] + settings.holdMs[1]) / 2);
  }
  return {
    ...scenario,
    load: { ...scenario.load, mix: { ...mix, ...settings } },
    ...(carrierHoldMs !== undefined && { lab: { ...scenario.lab, carrierHoldMs } }),
  };
}

/** `name` or `name:args`: `park`, `echo`, `playback:tone_stream://%(1000,0,440)`. */
export function parseApplication(text: string): OriginateApplication {
  const at = text.indexOf(":");
  const name = at === -1 ? text : text.slice(0, at);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new RunArgError(`--application must be <name>[:<args>], got ${JSON.stringify(text)}`);
  return at === -1 ? { name } : { name, args: text.slice(at + 1) };
}

/** `9999` or `9999@default`: an extension, in a context when one is given. */
export function parseTransferTarget(text: string): TransferTarget {
  const [extension, context, ...rest] = text.split("@");
  if (!extension || context === "" || rest.length > 0)
    throw new RunArgError(
      `--transfer-extension must be <extension>[@<context>], got ${JSON.stringify(text)}`,
    );
  return context === undefined ? { extension } : { extension, context };
}

/** `8000` (every call) or `5000-15000` (uniform in between), ms. */
export function parseHold(text: string): readonly [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const min = Number(match?.[1]);
  const max = match?.[2] === undefined ? min : Number(match[2]);
  if (!match || !(max >= min))
    throw new RunArgError(`--hold must be <ms> or <min>-<max> (ms, min <= max), got ${JSON.stringify(text)}`);
  return [min, max];
}

function nonEmpty(text: string, name: string): string {
  if (text.trim() === "") throw new RunArgError(`${name} must not be empty`);
  return text;
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

/**
 * Every rate times the factor that makes the highest measured one `rate` (a ramp keeps its shape): the
 * warm-up's too, which warms the lab at the same share of the load it was written for.
 */
function withPeakRate(scenario: Scenario, rate: number): Scenario {
  const measured = scenario.phases.filter((p) => !p.warmup);
  const peak = Math.max(...measured.map((p) => peakRate(p.schedule)));
  const factor = rate / peak;
  return {
    ...scenario,
    phases: scenario.phases.map((p) => ({ ...p, schedule: scaleRates(p.schedule, factor) })),
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
  const r = (rate: number) => roundTo(rate * factor, 2);
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
