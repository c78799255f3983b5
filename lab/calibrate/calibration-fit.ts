import type { LoadModel, MeasuredRate } from "../../src/fakeswitch/load-profile.ts";
import { ReplyLatency } from "../../src/fakeswitch/reply-latency.ts";
import { ServiceQueue, seededRandom } from "../../src/fakeswitch/service-queue.ts";

/** How the measurement drove the switch: the fit replays the same load against the model. */
export interface DrivenLoad {
  stepMs: number;
  /** `api uptime` probes a second. */
  probeRate: number;
  /** A job not done this long after it was due counts as an error. */
  jobTimeoutMs: number;
  /** The far end's answer delay: the double's own `--answer-delay` supplies it, so the model leaves it out. */
  carrierAnswerMs: number;
}

export interface PredictedRate {
  rate: number;
  commandP50Ms: number;
  commandP95Ms: number;
  jobP50Ms: number;
  jobP95Ms: number;
  errorRate: number;
}

/**
 * What a double with `model` would show under the measurement's load, by running the double's own latency
 * code (ReplyLatency over a ServiceQueue) on a virtual clock: one ESL connection handles its commands in
 * order, each no sooner than its calibrated delay after its arrival; a bgapi originate joins the queue when
 * handled, and its job ends when served, plus the model's fixed job latency and the far end's answer delay.
 */
export function predictRate(model: LoadModel, rate: number, load: DrivenLoad, seed = 1): PredictedRate {
  let now = 0;
  const latency = new ReplyLatency(() => ({ channels: 0, originatesPerSecond: 0 }));
  latency.calibrate(model, new ServiceQueue(() => now, seededRandom(seed)));
  const arrivals = [
    ...evenlySpaced(rate, load.stepMs).map((at) => ({ at, originate: true })),
    ...evenlySpaced(load.probeRate, load.stepMs).map((at) => ({ at, originate: false })),
  ].sort((a, b) => a.at - b.at);
  const commands: number[] = [];
  const jobs: number[] = [];
  let errors = 0;
  // Originates handled but not yet admitted to the queue, in order: admitted once the clock reaches them.
  const handled: Array<{ at: number; handledAt: number }> = [];
  let next = 0;
  const admitUntil = (until: number) => {
    for (; next < handled.length && (handled[next] as { handledAt: number }).handledAt <= until; next++) {
      const { at, handledAt } = handled[next] as { at: number; handledAt: number };
      now = handledAt;
      const admission = latency.admitOriginate();
      const jobMs =
        "cause" in admission ? undefined : handledAt + admission.delayMs + load.carrierAnswerMs - at;
      if (jobMs === undefined || jobMs > load.jobTimeoutMs) errors++;
      else jobs.push(jobMs);
    }
  };
  let connectionFreeAt = 0;
  for (const { at, originate } of arrivals) {
    admitUntil(at);
    now = at;
    const handledAt = Math.max(connectionFreeAt, at + latency.calibratedCommandMs());
    connectionFreeAt = handledAt;
    if (originate) handled.push({ at, handledAt });
    else commands.push(handledAt - at);
  }
  admitUntil(Number.POSITIVE_INFINITY);
  return {
    rate,
    commandP50Ms: percentile(commands, 50),
    commandP95Ms: percentile(commands, 95),
    jobP50Ms: percentile(jobs, 50),
    jobP95Ms: percentile(jobs, 95),
    errorRate: errors / arrivals.length,
  };
}

/**
 * The model that best reproduces the measured rates. The originate service time comes from FreeSWITCH's
 * CPU by the utilisation law (capacity = the most cores it got ÷ its CPU per call) when the points carry
 * CPU figures: its latencies below the knee are mostly the machine's noise, which a fit on latency alone
 * would take for queueing and so place the knee too low. (A sweep that never reaches the knee never sees
 * the most cores the switch can get, and so puts the capacity at its highest rate.) Without CPU figures, a
 * grid search over the service time (0.5 ms, 2,000/s, to 50 ms, 20/s) does. The command's share of the
 * backlog is searched (minimising the squared log ratios of predicted to measured latencies: command p95,
 * job p50 and p95); the fixed latencies are what the lowest rate leaves once its queueing is taken out.
 * Then the job timeout (the wait past which originates fail) that best matches the latencies and the error
 * rates (squared differences, weighted ten times: an error rate's scale is 0–1, a log ratio's a few units).
 */
export function fitLoadModel(points: readonly MeasuredRate[], load: DrivenLoad): LoadModel {
  const lowest = [...points].sort((a, b) => a.rate - b.rate)[0];
  if (!lowest) throw new Error("nothing measured to fit");
  const timeoutCause = dominantCause(points);
  const cost = (model: LoadModel, term: (predicted: PredictedRate, point: MeasuredRate) => number) =>
    points.reduce((sum, point) => sum + term(predictRate(model, point.rate, load), point), 0);
  const latencyTerm = (predicted: PredictedRate, point: MeasuredRate) =>
    logRatio(predicted.commandP95Ms, point.commandP95Ms) ** 2 +
    logRatio(predicted.jobP50Ms, point.jobP50Ms) ** 2 +
    logRatio(predicted.jobP95Ms, point.jobP95Ms) ** 2;
  let best: { model: LoadModel; cost: number } | undefined;
  const fromCpu = serviceMsFromCpu(points);
  const serviceTimes = fromCpu === undefined ? geometricGrid(0.5, 50, 1.05) : [fromCpu];
  for (const serviceMs of serviceTimes) {
    for (const commandQueueShare of [0, 0.02, 0.05, 0.1, 0.2, 0.5, 1]) {
      const unloaded: LoadModel = {
        originateServiceMs: round(serviceMs, 3),
        commandBaseMs: 0,
        commandQueueShare,
        jobBaseMs: 0,
        jobTimeoutMs: load.jobTimeoutMs,
        timeoutCause,
      };
      const atLowest = predictRate(unloaded, lowest.rate, load);
      const model: LoadModel = {
        ...unloaded,
        commandBaseMs: round(Math.max(0, lowest.commandP50Ms - atLowest.commandP50Ms), 3),
        jobBaseMs: round(Math.max(0, lowest.jobP50Ms - atLowest.jobP50Ms), 3),
      };
      const latencyCost = cost(model, latencyTerm);
      if (!best || latencyCost < best.cost) best = { model, cost: latencyCost };
    }
  }
  const latencyFit = (best as { model: LoadModel }).model;
  // Longest first: among equals the model keeps the driver's own timeout, and fails nothing of itself.
  const timeouts = [load.jobTimeoutMs, 7_000, 5_000, 4_000, 3_000, 2_000, 1_000];
  const totalCost = (jobTimeoutMs: number) =>
    cost(
      { ...latencyFit, jobTimeoutMs },
      (predicted, point) => latencyTerm(predicted, point) + 10 * (predicted.errorRate - point.errorRate) ** 2,
    );
  const jobTimeoutMs = timeouts.reduce((a, b) => (totalCost(b) < totalCost(a) ? b : a));
  return { ...latencyFit, jobTimeoutMs };
}

/** CPU ms per call (median over the rates) ÷ the most cores FreeSWITCH got; undefined without CPU figures. */
function serviceMsFromCpu(points: readonly MeasuredRate[]): number | undefined {
  const perCall = points.flatMap((p) => (p.cpuMsPerCall === undefined ? [] : [p.cpuMsPerCall]));
  const cores = points.flatMap((p) => (p.cpuCores === undefined ? [] : [p.cpuCores]));
  if (perCall.length === 0 || cores.length === 0) return undefined;
  return medianOf(perCall) / Math.max(...cores);
}

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function geometricGrid(from: number, to: number, factor: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v *= factor) values.push(v);
  return values;
}

/** The hangup cause most failed jobs ended with; a timeout when none failed that way. */
function dominantCause(points: readonly MeasuredRate[]): string {
  const counts = new Map<string, number>();
  for (const point of points)
    for (const [cause, n] of Object.entries(point.errorCauses))
      if (/^[A-Z_]+$/.test(cause)) counts.set(cause, (counts.get(cause) ?? 0) + n);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "RECOVERY_ON_TIMER_EXPIRE";
}

function evenlySpaced(perSecond: number, durationMs: number): number[] {
  const count = Math.floor((perSecond * durationMs) / 1000);
  return Array.from({ length: count }, (_, i) => (i * 1000) / perSecond);
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number, 3);
}

/** ln(a/b), with both floored at 0.1 ms so that an empty or instant figure stays finite. */
function logRatio(a: number, b: number): number {
  return Math.log(Math.max(a, 0.1) / Math.max(b, 0.1));
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
