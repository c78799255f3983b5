import { setMaxListeners } from "node:events";
import { LatencyHistogram, type Percentiles } from "../measure/histogram.ts";

/**
 * Open-loop arrival executors, after k6's: the schedule says when each request is INTENDED to start,
 * independently of how fast earlier ones complete. Latency is measured from that intended time, so a stall
 * anywhere (server, network, our own event loop) shows in every request it delayed (no coordinated omission).
 */

/** `rate` requests per second for `durationMs`. */
export interface ConstantArrivalRate {
  executor: "constant-arrival-rate";
  rate: number;
  durationMs: number;
}

/** The rate moves linearly from the previous stage's target (first: `startRate`) to `target` over `durationMs`. */
export interface RampingStage {
  target: number;
  durationMs: number;
}

export interface RampingArrivalRate {
  executor: "ramping-arrival-rate";
  startRate: number;
  stages: readonly RampingStage[];
}

export type ArrivalSchedule = ConstantArrivalRate | RampingArrivalRate;

/** A schedule may plan at most this many requests: everything the harness runs is bounded. */
export const MAX_PLANNED_ARRIVALS = 10_000_000;

/** Float slack when comparing an integral of the rate to whole arrival counts. */
const EPSILON = 1e-9;

/** The schedule's length, ms. */
export function scheduleDurationMs(schedule: ArrivalSchedule): number {
  return rampOf(schedule).stages.reduce((sum, stage) => sum + stage.durationMs, 0);
}

/** How many requests the schedule starts: arrival i is due when the integral of the rate reaches i. */
export function plannedArrivals(schedule: ArrivalSchedule): number {
  return Math.ceil(rateIntegral(validRamp(schedule)) - EPSILON);
}

/** The scheduled rate (requests/s) at `atMs` after the start; 0 outside the schedule. */
export function rateAt(schedule: ArrivalSchedule, atMs: number): number {
  const { startRate, stages } = rampOf(schedule);
  let stageStart = 0;
  let from = startRate;
  for (const { target, durationMs } of stages) {
    if (atMs >= stageStart && atMs < stageStart + durationMs) {
      return from + ((target - from) * (atMs - stageStart)) / durationMs;
    }
    stageStart += durationMs;
    from = target;
  }
  return 0;
}

/**
 * Each request's intended start, ms after the schedule's start, in order. Lazy: a long schedule is never
 * held in memory. Arrival i is at the time t where ∫₀ᵗ rate = i (so the first is at 0 when the rate is).
 */
export function* intendedOffsets(schedule: ArrivalSchedule): Generator<number, void, undefined> {
  const { startRate, stages } = validRamp(schedule);
  let stageStart = 0;
  let from = startRate;
  let before = 0;
  let index = 0;
  for (const { target, durationMs } of stages) {
    const after = before + stageArrivals(from, target, durationMs);
    while (index < after - EPSILON) {
      yield stageStart + timeToReach(index - before, from, target, durationMs);
      index++;
    }
    before = after;
    stageStart += durationMs;
    from = target;
  }
}

/** Arrivals in a linear ramp from `from` to `to` requests/s over `durationMs`. */
function stageArrivals(from: number, to: number, durationMs: number): number {
  return (((from + to) / 2) * durationMs) / 1000;
}

/** Time (ms) into a ramp from `from` to `to` over `durationMs` at which `count` arrivals have accrued. */
function timeToReach(count: number, from: number, to: number, durationMs: number): number {
  if (count <= 0) return 0;
  const seconds = durationMs / 1000;
  const slope = (to - from) / seconds;
  // from·t + slope·t²/2 = count, solved in the form that is stable for slope ≥ 0, < 0 and = 0.
  const t = (2 * count) / (from + Math.sqrt(Math.max(0, from * from + 2 * slope * count)));
  return Math.min(seconds, t) * 1000;
}

/** Arrivals accrued over the whole ramp (a fraction when the last one falls at its very end). */
function rateIntegral({ startRate, stages }: Ramp): number {
  let total = 0;
  let from = startRate;
  for (const { target, durationMs } of stages) {
    total += stageArrivals(from, target, durationMs);
    from = target;
  }
  return total;
}

/** Any schedule as a ramp: a start rate and stages (a constant rate is one flat stage). */
export interface Ramp {
  startRate: number;
  stages: readonly RampingStage[];
}

export function rampOf(schedule: ArrivalSchedule): Ramp {
  return schedule.executor === "constant-arrival-rate"
    ? { startRate: schedule.rate, stages: [{ target: schedule.rate, durationMs: schedule.durationMs }] }
    : schedule;
}

function validRamp(schedule: ArrivalSchedule): Ramp {
  const ramp = rampOf(schedule);
  const rates = [ramp.startRate, ...ramp.stages.map((s) => s.target)];
  if (!rates.every((r) => Number.isFinite(r) && r >= 0))
    throw new RangeError("rates must be finite and >= 0");
  if (!ramp.stages.every((s) => Number.isFinite(s.durationMs) && s.durationMs >= 0)) {
    throw new RangeError("stage durations must be finite and >= 0 ms");
  }
  if (schedule.executor === "constant-arrival-rate" && !(schedule.rate > 0 && schedule.durationMs > 0)) {
    throw new RangeError("constant-arrival-rate needs rate > 0 and durationMs > 0");
  }
  const total = rateIntegral(ramp);
  if (!(total > 0)) throw new RangeError("the schedule plans no arrival");
  if (total > MAX_PLANNED_ARRIVALS) {
    throw new RangeError(
      `the schedule plans ${Math.ceil(total)} arrivals, more than ${MAX_PLANNED_ARRIVALS}`,
    );
  }
  return ramp;
}

/** One scheduled request, handed to the iteration when it starts (or to `onDrop`). */
export interface Arrival {
  /** Position in the schedule, from 0. */
  index: number;
  /** When it was due, on the runner's clock (`performance.now()` ms). Measure latency from here. */
  intendedAt: number;
  /** Aborted when the run stops waiting: external abort, or the graceful stop period ran out. */
  signal: AbortSignal;
}

/** Time source of the runner; tests and simulations swap it for a virtual one. */
export interface Clock {
  /** Monotonic ms. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener("abort", done, { once: true });
    }),
};

export interface ArrivalRunOptions {
  schedule: ArrivalSchedule;
  /** Iterations allowed to run at once. A due arrival beyond it is dropped (counted), never delayed. */
  maxInFlight: number;
  /** Starts one iteration. It should settle soon after `arrival.signal` aborts. */
  start(arrival: Arrival): Promise<unknown>;
  /** Told of each dropped arrival, at `atMs` on the runner's clock. */
  onDrop?(arrival: Arrival, atMs: number): void;
  /** After the last arrival, how long in-flight iterations may finish before they are aborted. Default 30 s. */
  gracefulStopMs?: number;
  /** Stops the schedule and aborts in-flight iterations. */
  signal?: AbortSignal;
  clock?: Clock;
  /**
   * The schedule's time zero on the clock; default: when the run starts. A zero already past (a caller that
   * times everything else from it) makes the arrivals due meanwhile start at once, and late.
   */
  startMs?: number;
}

export interface ArrivalRunResult {
  planned: number;
  started: number;
  /** Due while `maxInFlight` iterations were running. */
  dropped: number;
  /** Never due: the run was aborted first. */
  cancelled: number;
  /** Iterations whose promise rejected. */
  failed: number;
  /** Iterations running when their signal was aborted (external abort, or the graceful stop ran out). */
  interrupted: number;
  /** The schedule's length. */
  durationMs: number;
  /** Mean scheduled rate, requests/s. */
  targetRate: number;
  /** Started per second over the schedule's length, or over the time the starts took if that was longer. */
  achievedRate: number;
  /** How late each start was against its intended time, ms (timer granularity, event-loop stalls). */
  lateness: Percentiles;
}

/** Starts in a row before the runner yields to the event loop, so responses are read during a catch-up. */
const MAX_BATCH = 256;

/** Time in-flight iterations get to settle after their signal aborted, before the runner returns anyway. */
const ABORT_SETTLE_MS = 1000;

/**
 * Runs a schedule open-loop: each request starts at its own intended time. The runner sleeps until the
 * next arrival is due, then starts every arrival that is due (a small batch at high rates, or a catch-up
 * after a stall, yielding to the event loop every 256 starts); it never starts one early. It returns once every iteration settled, or when the graceful
 * stop period (then a short abort grace) ran out: bounded in count and in time.
 */
export async function runArrivals(options: ArrivalRunOptions): Promise<ArrivalRunResult> {
  const { schedule, maxInFlight, start, onDrop, gracefulStopMs = 30_000, clock = realClock } = options;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
    throw new RangeError("maxInFlight must be an integer >= 1");
  if (!(gracefulStopMs >= 0)) throw new RangeError("gracefulStopMs must be >= 0");
  const planned = plannedArrivals(schedule);
  const durationMs = scheduleDurationMs(schedule);

  const stop = new AbortController();
  // Every iteration in flight listens on it: more than Node's default 10 is the normal case here.
  setMaxListeners(maxInFlight + 16, stop.signal);
  const abortFromOutside = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", abortFromOutside, { once: true });
  if (options.signal?.aborted) stop.abort(options.signal.reason);

  const lateness = LatencyHistogram.create();
  let started = 0;
  let dropped = 0;
  let failed = 0;
  let inFlight = 0;
  let lastStartOffset = 0;
  let interrupted = 0;
  stop.signal.addEventListener("abort", () => {
    interrupted = inFlight;
  });
  let onDrained: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    if (inFlight === 0) onDrained?.();
  };
  const rejected = () => {
    failed++;
    settled();
  };

  const t0 = options.startMs ?? clock.now();
  const offsets = intendedOffsets(schedule);
  let index = 0;
  let batch = 0;
  for (let next = offsets.next(); !next.done && !stop.signal.aborted; ) {
    const intendedAt = t0 + next.value;
    const now = clock.now();
    if (intendedAt > now || batch === MAX_BATCH) {
      batch = 0;
      await clock.sleep(intendedAt - now, stop.signal);
      continue;
    }
    batch++;
    const arrival: Arrival = { index: index++, intendedAt, signal: stop.signal };
    next = offsets.next();
    if (inFlight >= maxInFlight) {
      dropped++;
      onDrop?.(arrival, now);
      continue;
    }
    inFlight++;
    started++;
    lateness.record(now - intendedAt);
    lastStartOffset = now - t0;
    startIteration(start, arrival).then(settled, rejected);
  }

  await waitForInFlight();
  options.signal?.removeEventListener("abort", abortFromOutside);
  stop.abort();

  return {
    planned,
    started,
    dropped,
    cancelled: planned - started - dropped,
    failed,
    interrupted,
    durationMs,
    targetRate: planned / (durationMs / 1000),
    achievedRate: started / (Math.max(durationMs, lastStartOffset) / 1000),
    lateness: lateness.percentiles(),
  };

  async function waitForInFlight(): Promise<void> {
    if (inFlight === 0) return;
    const drained = new Promise<void>((resolve) => {
      onDrained = resolve;
    });
    await sleepUntil(drained, gracefulStopMs, stop.signal);
    if (inFlight > 0) {
      stop.abort(new Error("graceful stop period ran out"));
      await sleepUntil(drained, ABORT_SETTLE_MS);
    }
  }

  /** Waits for `done`, at most `ms`, or until `signal` aborts; leaves no timer behind. */
  async function sleepUntil(done: Promise<void>, ms: number, signal?: AbortSignal): Promise<void> {
    const timer = new AbortController();
    const cancel = () => timer.abort();
    signal?.addEventListener("abort", cancel, { once: true });
    if (signal?.aborted) timer.abort();
    await Promise.race([done, clock.sleep(ms, timer.signal)]);
    timer.abort();
    signal?.removeEventListener("abort", cancel);
  }
}

function startIteration(start: (arrival: Arrival) => Promise<unknown>, arrival: Arrival): Promise<unknown> {
  try {
    return start(arrival);
  } catch (error) {
    return Promise.reject(error);
  }
}
