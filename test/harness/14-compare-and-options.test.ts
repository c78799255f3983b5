import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scenarios } from "../../scenarios/index.ts";
import { compareRuns } from "../../src/harness/report/compare.ts";
import { hostSection } from "../../src/harness/report/summary.ts";
import { applyRunArgs, RunArgError } from "../../src/harness/run/run-options.ts";
import { validateScenario } from "../../src/harness/run/validate-scenario.ts";
import { syntheticSummary } from "./synthetic-summary.ts";

const dir = mkdtempSync(join(tmpdir(), "harness-compare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("compareRuns", () => {
  it("sets two runs side by side with deltas, headline figures first, saying which way is better", () => {
    const a = syntheticSummary("20260101T000000Z-synthetic-aaaa");
    const b = syntheticSummary("20260101T000100Z-synthetic-bbbb", 2);
    const comparison = compareRuns(a, b);
    const row = (metric: string) => comparison.rows.find((r) => r.metric === metric);
    expect(comparison.rows[0]?.metric).toBe("rate.achieved");
    expect(row("command_latency.p95")).toMatchObject({ a: 9.007, b: 18.015, delta: 9.008, better: false });
    expect(row("command_latency.p95")?.deltaPercent).toBeCloseTo(100, 0);
    expect(row("asr")).toMatchObject({ a: 1, b: 1, delta: 0 });
    expect(row("asr")?.better).toBeUndefined();
    expect(row("requests.sent")?.better).toBeUndefined();
    expect(comparison.text.split("\n")[0]).toMatch(
      /^metric\s+A 20260101T000000Z-synthetic-aaaa\s+B 20260101T000100Z-synthetic-bbbb\s+B − A\s+%$/,
    );
    expect(comparison.text).toMatch(
      /command_latency\.p95\s+9\.007\s+18\.015\s+\+9\.008\s+\+100(\.\d+)?%\s+worse/,
    );
  });

  it("warns when a run shared its host with other work", () => {
    const a = syntheticSummary("20260101T000000Z-synthetic-aaaa");
    const b = {
      ...syntheticSummary("20260101T000100Z-synthetic-bbbb"),
      host: hostSection(2, 9, 7, [{ cpuMean: 0.8 }]),
    };
    const comparison = compareRuns(a, b);
    expect(comparison.b.busyHost).toBe(true);
    expect(comparison.text.split("\n")[0]).toBe(
      "note: B ran on a busy host (other work on half its cores or more): differences may be the host's",
    );
  });

  it("names the gates that fail in B only", () => {
    const a = syntheticSummary("20260101T000000Z-synthetic-aaaa");
    const b = syntheticSummary("20260101T000100Z-synthetic-bbbb", 6);
    expect(compareRuns(a, b).newlyFailing).toEqual(["command_latency.p95 < 50"]);
  });
});

describe("command-line options of a run", () => {
  const smoke = scenarios.smoke!;

  it("every shipped scenario is valid, and smoke is among them", () => {
    for (const scenario of Object.values(scenarios))
      expect(() => validateScenario(scenario), scenario.name).not.toThrow();
    expect(Object.keys(scenarios)).toEqual([
      "smoke",
      "originate-ramp",
      "steady",
      "reconnect",
      "event-storm",
      "backpressure",
      "nats-outage",
      "call-control",
      "sip-originate",
      "dispatcher-failover",
      "calls-pipeline",
    ]);
  });

  it("scales rates to a peak and durations (with fault times) to a length", () => {
    const { scenario } = applyRunArgs(smoke, { rate: "400", duration: "30" });
    const [warmup, ramp, hold] = scenario.phases;
    // The warm-up at the same share of the load: 20/s of 200 → 40/s of 400.
    expect(warmup?.schedule).toEqual({ executor: "constant-arrival-rate", rate: 40, durationMs: 2_000 });
    expect(ramp?.schedule).toEqual({
      executor: "ramping-arrival-rate",
      startRate: 40,
      stages: [{ target: 400, durationMs: 10_000 }],
    });
    expect(hold?.schedule).toEqual({ executor: "constant-arrival-rate", rate: 400, durationMs: 20_000 });
    expect(scenario.faults?.[0]?.at).toBe(20_000);
    expect(applyRunArgs(smoke, { topology: "sharded-2" }).scenario.topology).toBe("sharded-2");
    expect(() => validateScenario(scenario)).not.toThrow();
  });

  it("runs a scenario's fault kind, or each kind in turn with its gates on its own phase", () => {
    const pipeline = scenarios["calls-pipeline"]!;
    expect(pipeline.phases.map((p) => p.name)).toEqual(["warm-up", "none"]);
    const one = applyRunArgs(pipeline, { fault: "gateway-restart", duration: "30" }).scenario;
    expect(one.phases.map((p) => p.name)).toEqual(["warm-up", "gateway-restart"]);
    expect(one.faults).toEqual([
      { at: 10_000, target: "gateway", fault: { kind: "restart" }, label: "gateway-restart" },
    ]);
    expect(one.gates).toEqual(pipeline.faultKinds?.["gateway-restart"]?.gates);
    expect(one.faultKinds).toBeUndefined();

    const each = applyRunArgs(pipeline, { fault: "each", rate: "50", duration: "6" }).scenario;
    expect(each.phases.map((p) => [p.name, p.schedule])).toEqual([
      ["warm-up", { executor: "constant-arrival-rate", rate: 5, durationMs: 2_000 }],
      ...["none", "gateway-restart", "nats-restart", "orchestrator-crash"].map((name) => [
        name,
        { executor: "constant-arrival-rate", rate: 50, durationMs: 6_000 },
      ]),
    ]);
    // Each kind's fault 20/60 of the way into its own turn; the crashed orchestrator down 5/60 of a turn.
    expect(each.faults?.map((f) => [f.label, f.at, f.durationMs])).toEqual([
      ["gateway-restart", 8_000, undefined],
      ["nats-restart", 14_000, undefined],
      ["orchestrator-crash", 20_000, 500],
    ]);
    expect(each.gates).toMatchObject({
      "cdr.none.completeness": "==1",
      "pipeline_setup.none.p95": "<1000",
      "pipeline.gateway-restart.unplaced": "==0",
      "cdr.orchestrator-crash.lost": "==0",
    });
    expect(Object.keys(each.gates)).not.toContain("cdr.completeness");
    expect(() => validateScenario(each)).not.toThrow();

    expect(() => applyRunArgs(pipeline, { fault: "meteor" })).toThrow(
      "--fault: calls-pipeline has fault kinds none, gateway-restart, nats-restart, orchestrator-crash (or each), not meteor",
    );
    expect(() => applyRunArgs(smoke, { fault: "each" })).toThrow("--fault: smoke has no fault kinds");
  });

  it("reads gates and a baseline, and refuses bad values by name", () => {
    const baseline = join(dir, "run-a");
    const summary = syntheticSummary("20260101T000000Z-synthetic-aaaa");
    mkdirSync(baseline);
    writeFileSync(join(baseline, "summary.json"), JSON.stringify(summary));
    const { options } = applyRunArgs(smoke, {
      gate: ["command_latency.p95<20"],
      baseline,
      "max-regression": "5",
    });
    expect(options.gates).toEqual([
      { metric: "command_latency.p95", operator: "<", threshold: 20, source: "cli" },
    ]);
    expect(options.baseline?.maxRegressionPct).toBe(5);
    expect(options.baseline?.summary.runId).toBe(summary.runId);
    expect(() => applyRunArgs(smoke, { rate: "-3" })).toThrow(/--rate must be a positive number/);
    expect(() => applyRunArgs(smoke, { gate: ["fast please"] })).toThrow(RunArgError);
    expect(() => applyRunArgs(smoke, { "max-regression": "5" })).toThrow(/needs --baseline/);
    expect(() => applyRunArgs(smoke, { baseline: join(dir, "nope") })).toThrow(/no summary/);
  });
});
