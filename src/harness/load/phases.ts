import type { LoadPhase } from "../run/scenario.ts";
import {
  type ArrivalSchedule,
  plannedArrivals,
  type RampingStage,
  rampOf,
  scheduleDurationMs,
} from "./arrival.ts";

/** A phase placed on the run's timeline, ms since the measured load started. */
export interface PlacedPhase {
  name: string;
  startMs: number;
  endMs: number;
  /** Mean scheduled rate, requests/s. */
  targetRate: number;
  /** The rate it ends at (a step of a ramp is named by it). */
  finalRate: number;
}

/**
 * Measured phases joined into one ramping schedule, so one open-loop load runs them back to back with no
 * gap and one continuous per-second series. A zero-length stage jumps the rate (a step).
 */
export function joinPhases(phases: readonly LoadPhase[]): {
  schedule: ArrivalSchedule;
  placed: PlacedPhase[];
} {
  if (phases.length === 0) throw new RangeError("a scenario needs at least one measured phase");
  const stages: RampingStage[] = [];
  const placed: PlacedPhase[] = [];
  let at = 0;
  for (const phase of phases) {
    const ramp = rampOf(phase.schedule);
    stages.push({ target: ramp.startRate, durationMs: 0 }, ...ramp.stages);
    const durationMs = scheduleDurationMs(phase.schedule);
    placed.push({
      name: phase.name,
      startMs: at,
      endMs: at + durationMs,
      targetRate: plannedArrivals(phase.schedule) / (durationMs / 1000),
      finalRate: ramp.stages.at(-1)?.target ?? ramp.startRate,
    });
    at += durationMs;
  }
  const first = rampOf(phases[0]!.schedule).startRate;
  return { schedule: { executor: "ramping-arrival-rate", startRate: first, stages }, placed };
}

/**
 * Offsets come back as (t0 + offset) - t0 on the `performance.now()` clock, which floating point can leave a
 * few ulps short of a boundary: an arrival intended exactly at a phase's end belongs to the next phase.
 */
const BOUNDARY_SLACK_MS = 1e-6;

/** The phase whose time span holds `offsetMs` (the last one for anything after the end). */
export function phaseIndexAt(placed: readonly PlacedPhase[], offsetMs: number): number {
  const index = placed.findIndex((phase) => offsetMs < phase.endMs - BOUNDARY_SLACK_MS);
  return index === -1 ? placed.length - 1 : index;
}

/** One constant phase per rate, each `stepMs` long, named by its rate: the steps of a capacity search. */
export function stepPhases(rates: readonly number[], stepMs: number): LoadPhase[] {
  if (rates.length === 0 || !rates.every((rate, i) => rate > 0 && (i === 0 || rate > rates[i - 1]!))) {
    throw new RangeError("step rates must be positive and rising");
  }
  return rates.map((rate) => ({
    name: `${rate}/s`,
    schedule: { executor: "constant-arrival-rate", rate, durationMs: stepMs },
  }));
}
