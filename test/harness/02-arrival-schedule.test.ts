import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ArrivalSchedule,
  intendedOffsets,
  plannedArrivals,
  type RampingArrivalRate,
  rateAt,
  scheduleDurationMs,
} from "../../src/harness/load/arrival.ts";

const offsetsOf = (schedule: ArrivalSchedule) => [...intendedOffsets(schedule)];

/** Arrivals accrued by `atMs`: ∫₀ᵗ rate dt, integrated stage by stage (an independent re-derivation). */
function accrued(schedule: RampingArrivalRate, atMs: number): number {
  let sum = 0;
  let from = schedule.startRate;
  let stageStart = 0;
  for (const { target, durationMs } of schedule.stages) {
    const within = Math.min(Math.max(atMs - stageStart, 0), durationMs);
    if (within > 0) sum += ((from + (from + ((target - from) * within) / durationMs)) / 2) * (within / 1000);
    stageStart += durationMs;
    from = target;
  }
  return sum;
}

describe("constant-arrival-rate schedule", () => {
  it("plans rate × duration arrivals, evenly spaced from 0", () => {
    const schedule: ArrivalSchedule = { executor: "constant-arrival-rate", rate: 1000, durationMs: 2000 };
    const offsets = offsetsOf(schedule);
    expect(offsets).toHaveLength(2000);
    expect(plannedArrivals(schedule)).toBe(2000);
    offsets.forEach((offset, i) => {
      expect(offset).toBeCloseTo(i, 9);
    });
  });

  it("a fractional last arrival still counts when it is due before the end", () => {
    const schedule: ArrivalSchedule = { executor: "constant-arrival-rate", rate: 2.5, durationMs: 1000 };
    expect(offsetsOf(schedule)).toEqual([0, 400, 800]);
    expect(plannedArrivals(schedule)).toBe(3);
  });

  it("plans nothing past its duration", () => {
    const schedule: ArrivalSchedule = { executor: "constant-arrival-rate", rate: 3, durationMs: 1000 };
    const offsets = offsetsOf(schedule);
    expect(offsets).toHaveLength(3);
    expect(offsets[2]).toBeCloseTo(666.667, 3);
  });
});

describe("ramping-arrival-rate schedule", () => {
  const upHoldDown: RampingArrivalRate = {
    executor: "ramping-arrival-rate",
    startRate: 0,
    stages: [
      { target: 100, durationMs: 1000 },
      { target: 100, durationMs: 1000 },
      { target: 0, durationMs: 1000 },
    ],
  };

  it("plans the integral of the rate: 50 + 100 + 50 arrivals, in their stages", () => {
    const offsets = offsetsOf(upHoldDown);
    expect(offsets).toHaveLength(200);
    expect(plannedArrivals(upHoldDown)).toBe(200);
    expect(scheduleDurationMs(upHoldDown)).toBe(3000);
    expect(offsets.filter((t) => t < 1000)).toHaveLength(50);
    expect(offsets.filter((t) => t >= 1000 && t < 2000)).toHaveLength(100);
    expect(offsets.filter((t) => t >= 2000 && t < 3000)).toHaveLength(50);
  });

  it("spaces arrivals by the local rate: 10 ms on the 100/s plateau, shrinking on the way up", () => {
    const offsets = offsetsOf(upHoldDown);
    const plateau = offsets.filter((t) => t >= 1000 && t < 2000);
    for (let i = 1; i < plateau.length; i++) expect(plateau[i]! - plateau[i - 1]!).toBeCloseTo(10, 9);
    // Arrival i on a linear ramp 0→100/s over 1 s is at t = sqrt(2i/100) s.
    for (let i = 0; i < 50; i++) expect(offsets[i]).toBeCloseTo(1000 * Math.sqrt((2 * i) / 100), 6);
    // On the way up every gap is shorter than the one before; on the way down longer.
    for (let i = 2; i < 50; i++)
      expect(offsets[i]! - offsets[i - 1]!).toBeLessThan(offsets[i - 1]! - offsets[i - 2]!);
    for (let i = 152; i < 200; i++)
      expect(offsets[i]! - offsets[i - 1]!).toBeGreaterThan(offsets[i - 1]! - offsets[i - 2]!);
  });

  it("for any ramp: one arrival per unit of rate integral, in order, inside the schedule", () => {
    const stage = fc.record({
      target: fc.integer({ min: 0, max: 400 }),
      durationMs: fc.integer({ min: 0, max: 1500 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 400 }),
        fc.array(stage, { minLength: 1, maxLength: 4 }),
        (startRate, stages) => {
          const schedule: RampingArrivalRate = { executor: "ramping-arrival-rate", startRate, stages };
          const total = accrued(schedule, scheduleDurationMs(schedule));
          fc.pre(total > 0.001);
          const offsets = offsetsOf(schedule);
          expect(offsets.length).toBe(plannedArrivals(schedule));
          expect(offsets.length).toBe(Math.ceil(total - 1e-6));
          expect(offsets.at(-1)).toBeLessThanOrEqual(scheduleDurationMs(schedule));
          offsets.forEach((offset, i) => {
            if (i > 0) expect(offset).toBeGreaterThanOrEqual(offsets[i - 1]!);
            expect(accrued(schedule, offset)).toBeCloseTo(i, 6);
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it("reports the rate in force at any time, 0 outside the schedule", () => {
    expect(rateAt(upHoldDown, 0)).toBe(0);
    expect(rateAt(upHoldDown, 500)).toBe(50);
    expect(rateAt(upHoldDown, 1500)).toBe(100);
    expect(rateAt(upHoldDown, 2750)).toBe(25);
    expect(rateAt(upHoldDown, 3000)).toBe(0);
    expect(rateAt(upHoldDown, -1)).toBe(0);
  });
});

describe("schedule validation", () => {
  it("refuses schedules that plan nothing, negative rates and unbounded ones", () => {
    expect(() => plannedArrivals({ executor: "constant-arrival-rate", rate: 0, durationMs: 1000 })).toThrow(
      RangeError,
    );
    expect(() => plannedArrivals({ executor: "constant-arrival-rate", rate: 10, durationMs: 0 })).toThrow(
      RangeError,
    );
    expect(() =>
      plannedArrivals({
        executor: "ramping-arrival-rate",
        startRate: 0,
        stages: [{ target: 0, durationMs: 5000 }],
      }),
    ).toThrow(RangeError);
    expect(() =>
      plannedArrivals({
        executor: "ramping-arrival-rate",
        startRate: -5,
        stages: [{ target: 10, durationMs: 1000 }],
      }),
    ).toThrow(RangeError);
    expect(() =>
      plannedArrivals({
        executor: "constant-arrival-rate",
        rate: 1000,
        durationMs: Number.POSITIVE_INFINITY,
      }),
    ).toThrow(RangeError);
    expect(() =>
      plannedArrivals({ executor: "constant-arrival-rate", rate: 100_000, durationMs: 3_600_000 }),
    ).toThrow(/more than/);
  });
});
