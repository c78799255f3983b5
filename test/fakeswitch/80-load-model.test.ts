import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type LoadModel,
  LoadProfileError,
  parseLoadProfile,
  readLoadProfile,
} from "../../src/fakeswitch/load-profile.ts";
import { profileFlagProblem } from "../../src/fakeswitch/profile-flags.ts";
import { ReplyLatency } from "../../src/fakeswitch/reply-latency.ts";
import { ServiceQueue, seededRandom } from "../../src/fakeswitch/service-queue.ts";

/** The calibrated load model: its queue, how the double uses it, and the profile file it comes from. */

const committedProfile = "lab/profiles/freeswitch-1.10-2core.json";

/** Mean wait in a queue fed evenly at `rho` × capacity, service mean `serviceMs`, over `arrivals` arrivals. */
function meanWait(rho: number, serviceMs: number, arrivals: number): number {
  let now = 0;
  const queue = new ServiceQueue(() => now, seededRandom(7));
  let waited = 0;
  for (let i = 0; i < arrivals; i++) {
    now = (i * serviceMs) / rho;
    waited += queue.backlogMs();
    queue.admit(serviceMs);
  }
  return waited / arrivals;
}

/** D/M/1's mean wait: σ solves σ = exp(−(1 − σ)/ρ), W = σ·s/(1 − σ) (Kleinrock, Queueing Systems I, 6.4). */
function dm1MeanWait(rho: number, serviceMs: number): number {
  let sigma = 0.5;
  for (let i = 0; i < 200; i++) sigma = Math.exp(-(1 - sigma) / rho);
  return (sigma * serviceMs) / (1 - sigma);
}

describe("ServiceQueue: one server, exponential service times", () => {
  it("work admitted on an idle server is done after its own service time alone", () => {
    let now = 1000;
    const queue = new ServiceQueue(
      () => now,
      () => 1 - Math.exp(-1), // a draw of exactly the mean
    );
    expect(queue.admit(10)).toBeCloseTo(10, 9);
    expect(queue.backlogMs()).toBeCloseTo(10, 9);
    now += 4;
    expect(queue.admit(10)).toBeCloseTo(16, 9); // waits 6 ms, then its own 10
    now += 100;
    expect(queue.backlogMs()).toBe(0);
  });

  it("under evenly spaced arrivals the wait grows with utilisation as D/M/1's does (within 10 %)", () => {
    const waits = [0.3, 0.6, 0.9].map((rho) => ({
      rho,
      simulated: meanWait(rho, 8, 200_000),
      theory: dm1MeanWait(rho, 8),
    }));
    for (const { simulated, theory } of waits) expect(simulated).toBeGreaterThan(theory * 0.9);
    for (const { simulated, theory } of waits) expect(simulated).toBeLessThan(theory * 1.1);
    const [low, mid, high] = waits.map((w) => w.simulated) as [number, number, number];
    expect(low).toBeLessThan(mid);
    expect(high).toBeGreaterThan(5 * mid); // steeply near full utilisation
  });

  it("past full utilisation the backlog grows by (ρ − 1) × elapsed time", () => {
    let now = 0;
    const queue = new ServiceQueue(() => now, seededRandom(3));
    for (let i = 0; i < 20_000; i++) {
      now = (i * 10) / 1.5; // ρ = 1.5 for 10 ms work
      queue.admit(10);
    }
    expect(queue.backlogMs() / (0.5 * now)).toBeGreaterThan(0.9);
    expect(queue.backlogMs() / (0.5 * now)).toBeLessThan(1.1);
  });
});

describe("ReplyLatency with a calibrated model", () => {
  const model: LoadModel = {
    originateServiceMs: 10,
    commandBaseMs: 2,
    commandQueueShare: 0.5,
    jobBaseMs: 20,
    jobTimeoutMs: 100,
    timeoutCause: "RECOVERY_ON_TIMER_EXPIRE",
  };
  function calibrated() {
    const clock = { now: 0 };
    const latency = new ReplyLatency(() => ({ channels: 0, originatesPerSecond: 0 }));
    latency.calibrate(
      model,
      new ServiceQueue(
        () => clock.now,
        () => 1 - Math.exp(-1),
      ),
    );
    return { clock, latency };
  }

  it("an originate starts after its queueing, its service and the fixed job latency", () => {
    const { latency } = calibrated();
    expect(latency.admitOriginate()).toEqual({ delayMs: 30 });
    expect(latency.admitOriginate()).toEqual({ delayMs: 40 });
  });

  it("a command waits its base plus its share of the backlog beyond the originate being served", () => {
    const { latency } = calibrated();
    expect(latency.calibratedCommandMs()).toBe(2);
    for (let i = 0; i < 5; i++) latency.admitOriginate(); // backlog 50 ms
    expect(latency.calibratedCommandMs()).toBeCloseTo(2 + 0.5 * (50 - 10), 9);
    expect(latency.currentMs()).toBe(0); // the fault-injection delay is apart
  });

  it("an originate that would wait past the job timeout fails then, with the model's cause, adding no work", () => {
    const { latency } = calibrated();
    for (let i = 0; i < 11; i++) latency.admitOriginate(); // backlog 110 ms
    expect(latency.admitOriginate()).toEqual({ failAfterMs: 100, cause: "RECOVERY_ON_TIMER_EXPIRE" });
    expect(latency.calibratedCommandMs()).toBeCloseTo(2 + 0.5 * 100, 9);
  });

  it("without a model nothing is delayed", () => {
    const latency = new ReplyLatency(() => ({ channels: 0, originatesPerSecond: 0 }));
    expect(latency.admitOriginate()).toEqual({ delayMs: 0 });
    expect(latency.calibratedCommandMs()).toBe(0);
  });
});

describe("load profile files", () => {
  it("the committed profile is valid, and the double's --load-profile flag takes it", () => {
    const profile = readLoadProfile(committedProfile);
    expect(profile.measured.rates.length).toBeGreaterThanOrEqual(3);
    expect(profile.model.originateServiceMs).toBeGreaterThan(0);
    expect(profileFlagProblem("load-profile", committedProfile)).toBeUndefined();
  });

  it("every problem of a bad profile is reported at once, with its path", () => {
    const good = JSON.parse(readFileSync(committedProfile, "utf8"));
    const bad = {
      ...good,
      format: "something/else",
      model: { ...good.model, originateServiceMs: 0, commandQueueShare: 2, timeoutCause: "" },
      measured: { ...good.measured, rates: [{ ...good.measured.rates[0], jobP95Ms: "slow" }] },
    };
    expect(() => parseLoadProfile(bad, "bad.json")).toThrow(LoadProfileError);
    const message = (() => {
      try {
        parseLoadProfile(bad, "bad.json");
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const problem of [
      "format:",
      "model.originateServiceMs:",
      "model.commandQueueShare:",
      "model.timeoutCause:",
      "measured.rates[0].jobP95Ms:",
    ])
      expect(message).toContain(problem);
  });

  it("a missing or non-JSON file is refused with its name", () => {
    expect(profileFlagProblem("load-profile", "no/such/profile.json")).toMatch(/no\/such\/profile\.json/);
    expect(() => readLoadProfile("package-lock.json")).toThrow(/invalid load profile/);
    expect(() => readLoadProfile("README.md")).toThrow(/not JSON/);
  });
});
