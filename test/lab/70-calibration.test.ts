import { afterEach, describe, expect, it } from "vitest";
import { calibrate, checkRates } from "../../lab/calibrate/calibration.ts";
import { fitLoadModel, predictRate } from "../../lab/calibrate/calibration-fit.ts";
import { runLoadStep } from "../../lab/calibrate/esl-load-step.ts";
import { findFreeswitch } from "../../lab/freeswitch/freeswitch.ts";
import { parseTopology, TopologyError } from "../../lab/plan/topology.ts";
import { repoRoot } from "../../lab/run/paths.ts";
import { type FakeSwitch, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { type LoadModel, type LoadProfile, parseLoadProfile } from "../../src/fakeswitch/load-profile.ts";
import { farEnds } from "../../src/harness/run/lab-handle.ts";
import { scratchDir } from "./lab-helpers.ts";

/** `lab calibrate`: the fit, the choice of rates to check, a double loaded with a profile, the real thing. */

const known: LoadModel = {
  originateServiceMs: 8,
  commandBaseMs: 2,
  commandQueueShare: 0.5,
  jobBaseMs: 25,
  jobTimeoutMs: 10_000,
  timeoutCause: "RECOVERY_ON_TIMER_EXPIRE",
};
const load = { stepMs: 15_000, probeRate: 10, jobTimeoutMs: 10_000, carrierAnswerMs: 20 };

describe("the fit", () => {
  it("recovers the service time and fixed latencies of a model from what that model predicts", () => {
    const points = [20, 60, 100, 120].map((rate) => ({
      ...predictRate(known, rate, load, 11),
      repeats: 1,
      errorCauses: {},
      eventsPerCall: 6,
      loadAverage: 1,
    }));
    const fitted = fitLoadModel(points, load);
    expect(fitted.originateServiceMs / known.originateServiceMs).toBeGreaterThan(0.85);
    expect(fitted.originateServiceMs / known.originateServiceMs).toBeLessThan(1.15);
    expect(Math.abs(fitted.jobBaseMs - known.jobBaseMs)).toBeLessThan(5);
    expect(Math.abs(fitted.commandBaseMs - known.commandBaseMs)).toBeLessThan(1);
    expect(fitted.jobTimeoutMs).toBe(load.jobTimeoutMs); // nothing failed: no failures modelled
  });

  it("takes the service time from CPU when it has it: CPU per call ÷ the most cores the switch got", () => {
    const points = [20, 60, 100].map((rate, i) => ({
      ...predictRate(known, rate, load),
      repeats: 1,
      errorCauses: {},
      eventsPerCall: 6,
      loadAverage: 1,
      cpuMsPerCall: [12, 10, 9][i] as number,
      cpuCores: [0.24, 0.6, 1.25][i] as number,
    }));
    expect(fitLoadModel(points, load).originateServiceMs).toBe(8); // 10 ms ÷ 1.25 cores
  });

  it("a predicted switch slows down with the rate, steeply near its capacity (1000 / 8 ms = 125/s)", () => {
    const p95 = [20, 80, 120].map((rate) => predictRate(known, rate, load).jobP95Ms);
    expect(p95[0]).toBeLessThan(p95[1] as number);
    expect(p95[2]).toBeGreaterThan(1.5 * (p95[1] as number));
  });

  it("checks the lowest rate, the last before the knee, and the knee", () => {
    const point = (rate: number, jobP95Ms: number, errorRate = 0) => ({
      rate,
      repeats: 1,
      commandP50Ms: 2,
      commandP95Ms: 5,
      jobP50Ms: 50,
      jobP95Ms,
      errorRate,
      errorCauses: {},
      eventsPerCall: 6,
      loadAverage: 1,
    });
    const profile = {
      measured: {
        rates: [point(20, 60), point(50, 62), point(80, 70), point(110, 400), point(140, 2000, 0.2)],
      },
    } as unknown as LoadProfile;
    expect(checkRates(profile)).toEqual([20, 80, 110]);
  });
});

describe("a topology's load-profile", () => {
  const topology = (file: string) => `
description: a double with a load profile
nats: { nodes: [nats] }
freeswitch:
  - name: fakeswitch
    profile: { load-profile: ${file} }
gateways: [{ name: gateway, freeswitch: fakeswitch }]
`;

  it("names a repository file, wherever the lab is started from", () => {
    const parsed = parseTopology(topology("lab/profiles/freeswitch-1.10-2core.json"), "t.yaml");
    const double = parsed.freeswitch[0];
    expect(double?.kind === "double" && double.profile["load-profile"]).toBe(
      `${repoRoot}/lab/profiles/freeswitch-1.10-2core.json`,
    );
  });

  it("is checked when the topology is loaded", () => {
    expect(() => parseTopology(topology("lab/profiles/none.json"), "t.yaml")).toThrow(TopologyError);
    expect(() => parseTopology(topology("package.json"), "t.yaml")).toThrow(
      /profile\.load-profile: invalid load profile/,
    );
  });
});

describe("a double loaded with a profile", () => {
  const switches: FakeSwitch[] = [];
  afterEach(async () => {
    for (const s of switches.splice(0)) await s.close();
  });

  it("answers slower under load than one without, as a switch past its capacity does", async () => {
    // 20 originates/s of capacity, driven at 60/s for 1.5 s: the backlog grows by 2 s a second, to about 3 s.
    const slow: LoadModel = { ...known, originateServiceMs: 50, commandQueueShare: 1, jobBaseMs: 5 };
    const step = { rate: 60, durationMs: 1_500, probeRate: 10, jobTimeoutMs: 5_000 };
    const results = [];
    for (const loadModel of [undefined, slow]) {
      const fs = await startFakeSwitch({
        password: "ClueCon",
        sessionsPerSecond: 1_000,
        profile: { answerDelayMs: 20, holdMs: 200 },
        ...(loadModel && { loadModel }),
      });
      switches.push(fs);
      results.push(
        await runLoadStep(
          { host: fs.host, port: fs.port, password: "ClueCon", dialString: farEnds.double },
          step,
        ),
      );
    }
    const [plain, calibrated] = results as [(typeof results)[0], (typeof results)[0]];
    expect(plain.errorRate).toBe(0);
    expect(calibrated.errorRate).toBe(0);
    // Margins of a second: a loaded test machine adds tens or hundreds of ms to both.
    expect(calibrated.job.p95).toBeGreaterThan(plain.job.p95 + 1_000);
    expect(calibrated.command.p95).toBeGreaterThan(plain.command.p95 + 500);
    expect(plain.eventsPerCall).toBe(calibrated.eventsPerCall);
  }, 30_000);
});

const freeswitch = await findFreeswitch();

describe.skipIf(!freeswitch)("calibrating the real FreeSWITCH (skipped when none is installed)", () => {
  it("one short step at 20/s makes a valid profile: no errors, every call's events, FreeSWITCH's CPU", async () => {
    const scratch = scratchDir();
    try {
      const profile = await calibrate(
        "test",
        { rates: [20], stepMs: 3_000, repeats: 1, probeRate: 10, jobTimeoutMs: 10_000 },
        undefined,
        { stateFile: scratch.stateFile, resultsDir: scratch.resultsDir },
      );
      expect(parseLoadProfile(JSON.parse(JSON.stringify(profile)), "calibrated")).toEqual(profile);
      const [point] = profile.measured.rates;
      expect(point?.errorRate).toBe(0);
      expect(point?.eventsPerCall).toBeGreaterThanOrEqual(5);
      expect(point?.cpuCores).toBeGreaterThan(0);
      expect(profile.measured.freeswitch).toMatch(/^FreeSWITCH Version 1\.10/);
    } finally {
      scratch.remove();
    }
  }, 120_000);
});
