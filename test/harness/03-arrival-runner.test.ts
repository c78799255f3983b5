import { describe, expect, it } from "vitest";
import { type Arrival, type ArrivalSchedule, runArrivals } from "../../src/harness/load/arrival.ts";
import { VirtualClock } from "./virtual-clock.ts";

const hundredPerSecond: ArrivalSchedule = { executor: "constant-arrival-rate", rate: 100, durationMs: 1000 };

interface Start {
  index: number;
  intendedAt: number;
  at: number;
}

describe("arrival runner on a virtual clock", () => {
  it("after a stall, starts every overdue arrival at once and none before its time", async () => {
    const clock = new VirtualClock();
    const starts: Start[] = [];
    const result = await clock.run(
      runArrivals({
        schedule: hundredPerSecond,
        maxInFlight: 1000,
        clock,
        start: async ({ index, intendedAt }) => {
          starts.push({ index, intendedAt, at: clock.now() });
          if (index === 30) clock.block(55); // the event loop is blocked from 300 ms to 355 ms
        },
      }),
    );
    expect(result).toMatchObject({ planned: 100, started: 100, dropped: 0, cancelled: 0, failed: 0 });
    for (const s of starts) expect(s.at).toBeGreaterThanOrEqual(s.intendedAt);
    // Arrivals due at 310..350 ms start together at 355 ms; the one due at 360 ms waits for its time.
    expect(starts.filter((s) => s.at === 355).map((s) => s.index)).toEqual([31, 32, 33, 34, 35]);
    expect(starts[36]).toEqual({ index: 36, intendedAt: 360, at: 360 });
    expect(result.lateness.max).toBeCloseTo(45, 0); // 45 ms, to the histogram's 0.1 %
    expect(result.lateness.count).toBe(100);
  });

  it("times the schedule from a given zero: arrivals due before the run started go at once, late", async () => {
    const clock = new VirtualClock();
    clock.block(25); // the caller's set-up took 25 ms after its zero
    const starts: Start[] = [];
    const result = await clock.run(
      runArrivals({
        schedule: hundredPerSecond,
        maxInFlight: 1000,
        clock,
        startMs: 0,
        start: async ({ index, intendedAt }) => {
          starts.push({ index, intendedAt, at: clock.now() });
        },
      }),
    );
    expect(result).toMatchObject({ planned: 100, started: 100 });
    expect(starts.slice(0, 4)).toEqual([
      { index: 0, intendedAt: 0, at: 25 },
      { index: 1, intendedAt: 10, at: 25 },
      { index: 2, intendedAt: 20, at: 25 },
      { index: 3, intendedAt: 30, at: 30 },
    ]);
    expect(starts.at(-1)).toEqual({ index: 99, intendedAt: 990, at: 990 });
  });

  it("drops arrivals that find maxInFlight iterations running, and delays none", async () => {
    const clock = new VirtualClock();
    const starts: Start[] = [];
    const drops: number[] = [];
    const result = await clock.run(
      runArrivals({
        schedule: hundredPerSecond,
        maxInFlight: 2,
        clock,
        start: async ({ index, intendedAt, signal }) => {
          starts.push({ index, intendedAt, at: clock.now() });
          await clock.sleep(35, signal);
        },
        onDrop: (arrival, at) => {
          expect(at).toBe(arrival.intendedAt);
          drops.push(arrival.index);
        },
      }),
    );
    // Every 40 ms: two start (t, t+10), the next two find both busy, then the first has finished.
    expect(result).toMatchObject({ planned: 100, started: 50, dropped: 50, cancelled: 0 });
    expect(drops.slice(0, 4)).toEqual([2, 3, 6, 7]);
    for (const s of starts) expect(s.at).toBe(s.intendedAt);
  });

  it("a long catch-up yields to the event loop, so finished iterations free their slots", async () => {
    const clock = new VirtualClock();
    const result = await clock.run(
      runArrivals({
        schedule: { executor: "constant-arrival-rate", rate: 1000, durationMs: 1000 },
        maxInFlight: 300,
        clock,
        start: async ({ index }) => {
          if (index === 0) clock.block(2000); // all 999 other arrivals are overdue when the loop is back
        },
      }),
    );
    // Without a yield, 300 would start and the other 699 find every slot taken.
    expect(result).toMatchObject({ started: 1000, dropped: 0 });
    expect(result.lateness.max).toBeGreaterThanOrEqual(1999 * 0.999);
  });

  it("an external abort stops the schedule and aborts the iterations in flight", async () => {
    const clock = new VirtualClock();
    const abort = new AbortController();
    const aborted: number[] = [];
    const result = await clock.run(
      runArrivals({
        schedule: hundredPerSecond,
        maxInFlight: 1000,
        clock,
        signal: abort.signal,
        start: async ({ index, signal }: Arrival) => {
          if (index === 49) abort.abort();
          await clock.sleep(25, signal);
          if (signal.aborted) aborted.push(index);
        },
      }),
    );
    expect(result).toMatchObject({ planned: 100, started: 50, dropped: 0, cancelled: 50, interrupted: 3 });
    expect(aborted).toEqual([47, 48, 49]);
  });

  it("iterations still running after the graceful stop period are aborted and counted", async () => {
    const clock = new VirtualClock();
    const result = await clock.run(
      runArrivals({
        schedule: { executor: "constant-arrival-rate", rate: 10, durationMs: 1000 },
        maxInFlight: 100,
        gracefulStopMs: 500,
        clock,
        start: ({ index, signal }) => clock.sleep(index < 5 ? 100 : 10_000, signal),
      }),
    );
    expect(result).toMatchObject({ planned: 10, started: 10, interrupted: 5, failed: 0 });
    expect(clock.now()).toBe(900 + 500);
  });

  it("counts iterations that throw or reject as failed, and keeps going", async () => {
    const clock = new VirtualClock();
    const result = await clock.run(
      runArrivals({
        schedule: hundredPerSecond,
        maxInFlight: 10,
        clock,
        start: ({ index }) => {
          if (index % 10 === 0) throw new Error("sync");
          return index % 10 === 1 ? Promise.reject(new Error("async")) : Promise.resolve();
        },
      }),
    );
    expect(result).toMatchObject({ started: 100, failed: 20, dropped: 0 });
  });
});

describe("arrival runner on the real clock", () => {
  // Exactness is proven on the virtual clock above; rate accuracy on a quiet machine is a benchmark figure
  // (`npm run bench harness`). Here: the real clock keeps pace, with bounds a loaded CI machine still meets.
  it("keeps pace with 1,000/s on the real clock, never starting early", async () => {
    const starts: Start[] = [];
    const result = await runArrivals({
      schedule: { executor: "constant-arrival-rate", rate: 1000, durationMs: 2000 },
      // Above one catch-up batch (256): a busy machine that stalls the process 100 ms must not turn pacing
      // into drops (dropping is the previous tests' subject).
      maxInFlight: 1000,
      start: async ({ index, intendedAt }) => {
        starts.push({ index, intendedAt, at: performance.now() });
      },
    });
    expect(result).toMatchObject({ planned: 2000, started: 2000, dropped: 0 });
    expect(Math.abs(result.achievedRate - 1000)).toBeLessThan(50);
    for (const s of starts) expect(s.at).toBeGreaterThanOrEqual(s.intendedAt);
    // The starts themselves, not just their count: 2000 starts spread over the two seconds.
    const span = starts.at(-1)!.at - starts[0]!.at;
    expect(1999 / (span / 1000)).toBeGreaterThan(950);
    expect(1999 / (span / 1000)).toBeLessThan(1050);
  });
});
