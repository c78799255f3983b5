import { cpus, release, totalmem, type } from "node:os";
import { EslClient } from "../../src/esl/client.ts";
import { type LoadProfile, loadProfileFormat, type MeasuredRate } from "../../src/fakeswitch/load-profile.ts";
import { farEnds } from "../../src/harness/run/lab-handle.ts";
import { readProcStat } from "../../src/procfs/proc-stats.ts";
import { loadTopology, type Topology } from "../plan/topology.ts";
import { Lab, type UpOptions } from "../run/lab.ts";
import { fitLoadModel, medianOf } from "./calibration-fit.ts";
import { type LoadStepResult, type LoadTarget, runLoadStep } from "./esl-load-step.ts";

/** Where a calibration's lab records itself and its logs (tests keep theirs apart). */
export type LabPlacement = Pick<UpOptions, "stateFile" | "resultsDir">;

/** How the calibration drives a FreeSWITCH: rising rates, each for a bounded step, repeated. */
export interface CalibrationPlan {
  rates: number[];
  stepMs: number;
  repeats: number;
  probeRate: number;
  jobTimeoutMs: number;
}

export const defaultPlan: CalibrationPlan = {
  rates: [20, 50, 80, 110, 140, 170, 200],
  stepMs: 15_000,
  repeats: 3,
  probeRate: 10,
  jobTimeoutMs: 10_000,
};

/**
 * Where the real FreeSWITCH's calls go: through Kamailio (its profile's outbound proxy) to the SIPp carrier,
 * as `farEnds.freeswitch` does, but with an address for a host. sofia_outgoing_channel resolves the
 * Request-URI's host with gethostbyname, which glibc serialises under one lock: with `@carrier`, a name no
 * resolver knows, every originate waits for a DNS round trip in single file, and one slow answer stalls
 * every call behind it (measured on the lab machine: jobs stuck from 80/s, FreeSWITCH at 0.15 cores).
 */
export const realDialString = "sofia/external/1000@127.0.0.1";

/** A step failing more than this share is past the knee: the sweep stops there (higher rates only fail more). */
const sweepStopErrorRate = 0.5;

/**
 * Every rate of the plan, lowest first, `repeats` times over (a repeat is a whole rising sweep, so a burst of
 * load from elsewhere on the machine spoils one sample of each rate rather than every sample of one), after a
 * short unrecorded warm-up at the lowest rate. A sweep stops at the first rate that mostly fails.
 */
export async function measureRates(
  target: LoadTarget,
  plan: CalibrationPlan,
  onStep: (step: LoadStepResult, repeat: number) => void = () => {},
): Promise<MeasuredRate[]> {
  const lowest = Math.min(...plan.rates);
  await runLoadStep(target, { ...plan, rate: lowest, durationMs: 3_000 });
  const steps: LoadStepResult[][] = plan.rates.map(() => []);
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const [i, rate] of plan.rates.entries()) {
      const step = await runLoadStep(target, { ...plan, rate, durationMs: plan.stepMs });
      steps[i]?.push(step);
      onStep(step, repeat);
      if (step.errorRate > sweepStopErrorRate) break;
    }
  }
  return steps.filter((s) => s.length > 0).map(summarise);
}

/** One rate's steps as one point: the median of each figure over the repeats, error causes summed. */
function summarise(steps: LoadStepResult[]): MeasuredRate {
  const median = (pick: (s: LoadStepResult) => number | undefined) => {
    const values = steps.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : medianOf(values);
  };
  const errorCauses: Record<string, number> = {};
  for (const step of steps)
    for (const [cause, n] of Object.entries(step.errors.causes))
      errorCauses[cause] = (errorCauses[cause] ?? 0) + n;
  const cpuCores = median((s) => s.cpuCores);
  const cpuMsPerCall = median((s) => s.cpuMsPerCall);
  return {
    rate: steps[0]?.rate ?? 0,
    repeats: steps.length,
    commandP50Ms: median((s) => s.command.p50) ?? 0,
    commandP95Ms: median((s) => s.command.p95) ?? 0,
    jobP50Ms: median((s) => s.job.p50) ?? 0,
    jobP95Ms: median((s) => s.job.p95) ?? 0,
    errorRate: median((s) => s.errorRate) ?? 0,
    errorCauses,
    eventsPerCall: median((s) => s.eventsPerCall) ?? 0,
    ...(cpuCores !== undefined && { cpuCores }),
    ...(cpuMsPerCall !== undefined && { cpuMsPerCall }),
    loadAverage: median((s) => s.loadAverage) ?? 0,
  };
}

/**
 * A lab for the calibration: `single-real` (or `single`, for the double) without the calls pipeline and
 * fault proxies, which add processes on the same cores and nothing the measurement needs. Its gateway
 * stays: it holds the ESL connection production has, subscribed to the same events, so the switch serves
 * two listeners, as it would the gateway and an operator's console.
 */
function leanTopology(name: "single-real" | "single"): Topology {
  const { calls: _calls, ...topology } = loadTopology(name);
  return { ...topology, links: [] };
}

/** The lab's FreeSWITCH (real or double) as a load target: its ESL address, password and pid. */
function switchTarget(lab: Lab, dialString: string): LoadTarget {
  const component = lab.state.components.find((c) => c.kind === "freeswitch" || c.kind === "fakeswitch");
  const esl = component?.endpoints.esl;
  if (!component?.process || !esl) throw new Error("the lab has no FreeSWITCH of its own to load");
  const url = new URL(esl);
  return {
    host: url.hostname,
    port: Number(url.port),
    password: lab.secrets.eslPassword,
    dialString,
    pid: component.process.pid,
  };
}

/** What a sweep of the real FreeSWITCH found, with what the profile records of the switch itself. */
export interface RealMeasurement {
  /** `api version`. */
  freeswitch: string;
  idleCpuCores: number;
  /** The carrier's answer delay: the far end's part of every job. */
  carrierAnswerMs: number;
  rates: MeasuredRate[];
}

/** The real FreeSWITCH driven at the plan's rates, in a lab of its own (stopped afterwards). */
export async function measureRealFreeswitch(
  plan: CalibrationPlan,
  onStep?: (step: LoadStepResult, repeat: number) => void,
  labOptions: LabPlacement = {},
): Promise<RealMeasurement> {
  const topology = leanTopology("single-real");
  const lab = await Lab.up({ ...labOptions, topology });
  try {
    const target = switchTarget(lab, realDialString);
    return {
      freeswitch: await apiOnce(target, "version"),
      idleCpuCores: await idleCpu(target.pid as number, 3_000),
      carrierAnswerMs: topology.sip?.carrier.answerMs ?? 0,
      rates: await measureRates(target, plan, onStep),
    };
  } finally {
    await lab.down();
  }
}

/**
 * Measures the real FreeSWITCH on this machine, fits the model, and returns the profile. Its fixed
 * latencies leave out the far end's answer delay (the carrier's), which a double's own answer delay supplies.
 */
export async function calibrate(
  name: string,
  plan: CalibrationPlan,
  onStep?: (step: LoadStepResult, repeat: number) => void,
  labOptions: LabPlacement = {},
): Promise<LoadProfile> {
  const { freeswitch, idleCpuCores, carrierAnswerMs, rates } = await measureRealFreeswitch(
    plan,
    onStep,
    labOptions,
  );
  const cpu = cpus()[0];
  return {
    format: loadProfileFormat,
    name,
    description: `${freeswitch.split(" (")[0]} on ${cpus().length} cores, driven at ${plan.rates.join(", ")} originates/s`,
    measured: {
      at: new Date().toISOString(),
      freeswitch,
      machine: {
        cpus: cpus().length,
        cpuModel: cpu?.model ?? "unknown",
        memoryGb: Math.round(totalmem() / 2 ** 30),
        os: `${type()} ${release()}`,
        node: process.version,
      },
      setup: {
        lab: "single-real without the calls pipeline and fault proxies; calls through Kamailio to the SIPp carrier",
        dialString: realDialString,
        carrierAnswerMs,
        stepMs: plan.stepMs,
        repeats: plan.repeats,
        probeRate: plan.probeRate,
        jobTimeoutMs: plan.jobTimeoutMs,
      },
      idleCpuCores,
      rates,
    },
    model: fitLoadModel(rates, { ...plan, carrierAnswerMs }),
  };
}

/** The profile with its model fitted again to its measurements (after a change to the model or the fit). */
export function refit(profile: LoadProfile): LoadProfile {
  return { ...profile, model: fitLoadModel(profile.measured.rates, profile.measured.setup) };
}

/** One row of the residual: the real switch as measured against a double loaded with its profile. */
export interface ResidualRow {
  rate: number;
  real: MeasuredRate;
  double: MeasuredRate;
}

/**
 * The double loaded with `profileFile` (a `single` lab with the `load-profile` flag; calls answered by the
 * double itself after the carrier's answer delay), driven as the real one was, by `plan`, against `real`:
 * the profile's own measurements, or the real switch measured again just before.
 */
export async function checkProfile(
  profile: LoadProfile,
  profileFile: string,
  plan: CalibrationPlan,
  onStep?: (step: LoadStepResult, repeat: number) => void,
  real: readonly MeasuredRate[] = profile.measured.rates,
): Promise<ResidualRow[]> {
  const { setup } = profile.measured;
  const lab = await Lab.up({
    topology: leanTopology("single"),
    fakeswitchProfile: { "load-profile": profileFile, "answer-delay": String(setup.carrierAnswerMs) },
  });
  try {
    const target = switchTarget(lab, farEnds.double);
    const measured = await measureRates(target, plan, onStep);
    return measured.flatMap((double) => {
      const reference = real.find((r) => r.rate === double.rate);
      return reference ? [{ rate: double.rate, real: reference, double }] : [];
    });
  } finally {
    await lab.down();
  }
}

/**
 * Three rates worth checking: the lowest measured, the last before the knee, and the knee (the first rate
 * whose job p95 is over three times the lowest's, or that fails more than 1 % of its work).
 */
export function checkRates(profile: LoadProfile): number[] {
  const rates = [...profile.measured.rates].sort((a, b) => a.rate - b.rate);
  const lowest = rates[0];
  if (!lowest) return [];
  const knee = rates.findIndex((r) => r.jobP95Ms > 3 * lowest.jobP95Ms || r.errorRate > 0.01);
  const at = knee === -1 ? rates.length - 1 : knee;
  return [...new Set([lowest.rate, rates[Math.max(0, at - 1)]?.rate, rates[at]?.rate])].filter(
    (r): r is number => r !== undefined,
  );
}

async function apiOnce(target: LoadTarget, command: string): Promise<string> {
  const client = new EslClient({ ...target, reconnect: false, liveness: { probeIntervalMs: 0 } });
  await client.connect();
  try {
    return (await client.api(command)).body.trim();
  } finally {
    await client.close();
  }
}

/** A process's CPU over `ms` with no load on it, in cores. */
async function idleCpu(pid: number, ms: number): Promise<number> {
  const before = readProcStat(pid)?.ticks ?? 0;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = readProcStat(pid)?.ticks ?? before;
  return Math.round(((after - before) / 100 / (ms / 1000)) * 1000) / 1000;
}
