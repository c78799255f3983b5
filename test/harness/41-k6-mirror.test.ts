import { spawnSync } from "node:child_process";
import type { Scenario as K6Scenario, Options } from "k6/options";
import { describe, expect, it } from "vitest";
import { originateRampOptions, smokeOptions, steadyOptions } from "../../scenarios/k6/options.ts";
import { originateRamp } from "../../scenarios/originate-ramp.ts";
import { smoke } from "../../scenarios/smoke.ts";
import { steady } from "../../scenarios/steady.ts";
import { plannedArrivals, scheduleDurationMs } from "../../src/harness/load/arrival.ts";
import type { Scenario } from "../../src/harness/run/scenario.ts";

/** Requests a k6 arrival-rate scenario plans: the integral of its rate, as our schedules count them. */
function k6Arrivals(scenario: K6Scenario): number {
  const seconds = (d: string) => Number(d.replace(/s$/, ""));
  if (scenario.executor === "constant-arrival-rate") return scenario.rate * seconds(scenario.duration);
  if (scenario.executor !== "ramping-arrival-rate") return 0;
  let from = scenario.startRate ?? 0;
  let total = 0;
  for (const stage of scenario.stages) {
    total += ((from + stage.target) / 2) * seconds(stage.duration);
    from = stage.target;
  }
  return total;
}

function k6Seconds(scenario: K6Scenario): number {
  const seconds = (d: string | undefined) => Number((d ?? "0s").replace(/s$/, ""));
  if (scenario.executor === "constant-arrival-rate") return seconds(scenario.duration);
  if (scenario.executor === "ramping-arrival-rate")
    return scenario.stages.reduce((sum, s) => sum + seconds(s.duration), 0);
  return 0;
}

function mirrors(k6: Options, ours: Scenario): void {
  const arrivalScenarios = Object.values(k6.scenarios ?? {}).filter((s) =>
    s.executor.endsWith("arrival-rate"),
  );
  const measured = arrivalScenarios.filter((s) => s.tags?.phase === "measured");
  const warm = arrivalScenarios.filter((s) => s.tags?.phase === "warm-up");
  const ourMeasured = ours.phases.filter((p) => !p.warmup);
  const ourWarm = ours.phases.filter((p) => p.warmup);
  const sum = <T>(list: T[], f: (t: T) => number) => list.reduce((total, item) => total + f(item), 0);
  expect(sum(measured, k6Arrivals)).toBeCloseTo(
    sum(ourMeasured, (p) => plannedArrivals(p.schedule)),
    0,
  );
  expect(sum(measured, k6Seconds) * 1000).toBe(sum(ourMeasured, (p) => scheduleDurationMs(p.schedule)));
  expect(sum(warm, k6Arrivals)).toBeCloseTo(
    sum(ourWarm, (p) => plannedArrivals(p.schedule)),
    0,
  );
}

describe("k6 mirrors of smoke, originate-ramp and steady", () => {
  it("type-check against @types/k6 with k6's own globals (scenarios/k6/tsconfig.json)", () => {
    const tsc = spawnSync(
      process.execPath,
      ["node_modules/typescript/bin/tsc", "-p", "scenarios/k6/tsconfig.json"],
      {
        encoding: "utf8",
      },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  }, 60_000);

  it("plan the same arrivals over the same time as our scenarios, warm-up apart", () => {
    mirrors(smokeOptions, smoke);
    mirrors(originateRampOptions, originateRamp);
    mirrors(steadyOptions, steady);
  });

  it("gate p95 latency as our scenarios do", () => {
    const p95 = (options: Options) =>
      JSON.stringify(options.thresholds?.["http_req_duration{phase:measured}"]);
    expect(p95(smokeOptions)).toContain(`p(95)${smoke.gates["command_latency.p95"]}`);
    expect(p95(steadyOptions)).toContain(`p(95)${steady.gates["command_latency.p95"]}`);
    expect(p95(originateRampOptions)).toContain(
      `p(95)${originateRamp.capacity?.gates["command_latency.p95"]}`,
    );
    const cut = smokeOptions.scenarios?.esl_cut;
    expect(cut?.startTime).toBe(`${(2_000 + (smoke.faults?.[0]?.at ?? 0)) / 1000}s`);
  });
});
