import { describe, expect, it } from "vitest";
import { trend } from "../../src/harness/measure/run-metrics.ts";
import { gatesJUnitXml } from "../../src/harness/report/junit.ts";
import {
  baselineGates,
  describeFailure,
  evaluateGates,
  formatGateTable,
  GATES_FAILED_EXIT_CODE,
  gatesFromThresholds,
  gatesPassed,
  overrideGates,
  parseGateExpression,
} from "../../src/harness/run/gates.ts";

const metrics = { "command_latency.p95": 61.2, "publish_lag.p95": 12, asr: 0.995, hung_commands: 0 };

describe("gates", () => {
  it("reads k6-style thresholds: one condition or several per metric", () => {
    expect(gatesFromThresholds({ "command_latency.p95": "<50", asr: [">=0.99", "<= 1"] })).toEqual([
      { metric: "command_latency.p95", operator: "<", threshold: 50, source: "scenario" },
      { metric: "asr", operator: ">=", threshold: 0.99, source: "scenario" },
      { metric: "asr", operator: "<=", threshold: 1, source: "scenario" },
    ]);
    expect(() => gatesFromThresholds({ x: "about 5" })).toThrow(/not a gate condition/);
  });

  it("passes and fails, saying by how much, and fails a metric the run did not measure", () => {
    const results = evaluateGates(
      gatesFromThresholds({
        "command_latency.p95": "<50",
        "publish_lag.p95": "<100",
        asr: ">=0.99",
        hung_commands: "==0",
        "reconnect_ms.max": "<5000",
      }),
      metrics,
    );
    expect(results.map((r) => r.pass)).toEqual([false, true, true, true, false]);
    expect(results[0]).toMatchObject({ actual: 61.2, excess: 11.2, excessPercent: 22.4 });
    expect(describeFailure(results[0]!)).toBe("command_latency.p95 = 61.2, fails < 50 by 11.2 (22.4 %)");
    expect(describeFailure(results[4]!)).toMatch(/reconnect_ms.max was not measured/);
    expect(gatesPassed(results)).toBe(false);
    expect(GATES_FAILED_EXIT_CODE).toBe(99);
  });

  it("lets a command-line gate replace the scenario's gates on the same metric", () => {
    const scenario = gatesFromThresholds({ "command_latency.p95": "<50", "publish_lag.p95": "<100" });
    const merged = overrideGates(scenario, [
      parseGateExpression("command_latency.p95<70"),
      parseGateExpression("asr >= 0.999"),
    ]);
    expect(merged.map((g) => `${g.metric}${g.operator}${g.threshold}:${g.source}`)).toEqual([
      "publish_lag.p95<100:scenario",
      "command_latency.p95<70:cli",
      "asr>=0.999:cli",
    ]);
    expect(gatesPassed(evaluateGates(merged.slice(0, 2), metrics))).toBe(true);
    expect(() => parseGateExpression("p95 is fine")).toThrow(/not a gate/);
  });

  it("prints a table with every gate and the verdict", () => {
    const table = formatGateTable(
      evaluateGates(gatesFromThresholds({ "command_latency.p95": "<50", asr: ">=0.99" }), metrics),
    );
    expect(table).toMatch(/command_latency\.p95\s+scenario\s+< 50\s+61\.2\s+FAIL by 11\.2 \(22\.4 %\)/);
    expect(table).toMatch(/asr\s+scenario\s+>= 0\.99\s+0\.995\s+pass/);
    expect(table.split("\n").at(-1)).toBe("gates: 1 of 2 FAILED");
  });
});

describe("baseline regression", () => {
  const baseline = { "command_latency.p95": 50, "publish_lag.p95": 10 };

  it("fails a p95 more than the allowed percentage above the baseline's, and ignores metrics the baseline lacks", () => {
    const gates = baselineGates(baseline, ["command_latency.p95", "publish_lag.p95", "call_setup.p95"], 10);
    expect(gates).toEqual([
      { metric: "command_latency.p95", operator: "<=", threshold: 55, source: "baseline" },
      { metric: "publish_lag.p95", operator: "<=", threshold: 11, source: "baseline" },
    ]);
    const results = evaluateGates(gates, { "command_latency.p95": 54.9, "publish_lag.p95": 13.2 });
    expect(results.map((r) => r.pass)).toEqual([true, false]);
    expect(results[1]).toMatchObject({ excess: 2.2, excessPercent: 20 });
    expect(() => baselineGates(baseline, [], -1)).toThrow(RangeError);
  });
});

describe("JUnit XML", () => {
  it("has one test case per gate and a failure element with the figure, escaped", () => {
    const results = evaluateGates(
      [
        ...gatesFromThresholds({ "command_latency.p95": "<50" }),
        ...gatesFromThresholds({ asr: ">=0.99" }, "cli"),
      ],
      metrics,
    );
    const xml = gatesJUnitXml({
      runId: "20260101T000000Z-smoke-abcd",
      scenario: "smoke",
      durationMs: 12_345,
      results,
    });
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="fs-esl-lab gates" tests="2" failures="1">/,
    );
    expect(xml).toContain(
      '<testsuite name="smoke" id="20260101T000000Z-smoke-abcd" tests="2" failures="1" errors="0" time="12.345">',
    );
    expect(xml).toContain(
      '<testcase classname="fs-esl-lab.smoke.scenario" name="command_latency.p95 &lt; 50" time="0">\n      <failure message="command_latency.p95 = 61.2, fails &lt; 50 by 11.2 (22.4 %)" type="gate">',
    );
    expect(xml).toContain(
      '<testcase classname="fs-esl-lab.smoke.cli" name="asr &gt;= 0.99" time="0">\n      <system-out>actual 0.995</system-out>',
    );
    expect(xml.match(/<testcase /g)).toHaveLength(2);
    expect(xml.match(/<failure /g)).toHaveLength(1);
  });
});

describe("trends", () => {
  it("follow the level, not one spike: the last third's median against the first third's, per unit of x", () => {
    const flat = Array.from({ length: 30 }, (_, x) => [x, 5] as const);
    const spiked = flat.map(([x, y]) => [x, x === 28 ? 500 : y] as const);
    const growing = Array.from({ length: 30 }, (_, x) => [x, 100 + 2 * x] as const);
    expect(trend(spiked)).toBe(0);
    expect(trend(growing)).toBeCloseTo(2, 9);
    expect(trend(flat.slice(0, 2))).toBe(0);
  });
});
