import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallerOptions, SipHandle } from "../../src/harness/measure/sip-numbers.ts";
import type { RunSummary } from "../../src/harness/report/summary.ts";
import { parseGateExpression } from "../../src/harness/run/gates.ts";
import type { Scenario } from "../../src/harness/run/scenario.ts";
import { runOnLab } from "../../src/harness/run/scenario-runner.ts";
import { validateScenario } from "../../src/harness/run/validate-scenario.ts";
import { type InProcessLab, startInProcessLab } from "./in-process-lab.ts";
import { summarySchemaErrors } from "./summary-schema.ts";
import { syntheticSummary } from "./synthetic-summary.ts";

const resultsDir = mkdtempSync(join(tmpdir(), "harness-runs-"));
let lab: InProcessLab;
beforeAll(async () => {
  lab = await startInProcessLab({
    fakeswitch: { heartbeatIntervalMs: 200, profile: { answerDelayMs: 10, holdMs: 300 } },
    env: { LOG_LEVEL: "warn" },
  });
});
afterAll(async () => {
  await lab?.stop();
  rmSync(resultsDir, { recursive: true, force: true });
});

const scenario: Scenario = {
  name: "runner-test",
  description: "two short steps with an ESL cut by RST in the first",
  load: {
    connections: 8,
    maxInFlight: 200,
    requestTimeoutMs: 3_000,
    mix: {
      weights: { originate: 3, play: 1 },
      destination: "sofia/internal/1000@127.0.0.1",
      holdMs: [200, 400],
    },
  },
  phases: [
    {
      name: "warm",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: 300 },
    },
    { name: "20/s", schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: 1_500 } },
    { name: "40/s", schedule: { executor: "constant-arrival-rate", rate: 40, durationMs: 1_000 } },
  ],
  faults: [{ at: 600, target: "esl", fault: { kind: "cut", mode: "rst" } }],
  gates: { "command_latency.p95": "<1000", hung_commands: "==0", "reconnect_ms.max": "<5000" },
  capacity: {
    gates: { "command_latency.p95": "<1000", hung_requests: "==0", "rss_mb.harness.max": "<100000" },
  },
  drainMs: 800,
};

describe("the scenario runner on a lab (real NATS, gateway and FreeSWITCH double in process)", () => {
  let summary: RunSummary;
  let exitCode: number;
  let dir: string;

  beforeAll(async () => {
    const run = await runOnLab(scenario, lab.handle, {
      resultsDir,
      progress: false,
      log: () => {},
      gates: [parseGateExpression("command_latency.p50<0.001")],
      // A baseline 1,000 times slower: its regression gates are there, and pass.
      baseline: { summary: syntheticSummary("20260101T000000Z-baseline-0001", 1000), maxRegressionPct: 10 },
    });
    summary = run.summary;
    exitCode = run.exitCode;
    dir = run.dir;
    if (process.env.SHOW_RUN) console.log(run.text);
  }, 30_000);

  it("drives the measured phases as one open-loop load after the warm-up, and judges each capacity step", () => {
    expect(summary.warmup?.[0]?.counts.sent).toBe(6);
    expect(summary.load?.counts.planned).toBe(70);
    expect(summary.phases?.map((p) => [p.name, p.sent, p.startMs, p.endMs])).toEqual([
      ["20/s", 30, 0, 1500],
      ["40/s", 40, 1500, 2500],
    ]);
    expect(summary.phases?.every((p) => p.passed === true)).toBe(true);
    // Each step's own CPU and RSS: a capacity step can be gated on memory.
    for (const phase of summary.phases ?? []) {
      const harness = phase.processes?.find((p) => p.name === "harness");
      expect(harness?.rssMaxMb).toBeGreaterThan(10);
      expect(phase.gates?.find((g) => g.metric === "rss_mb.harness.max")?.actual).toBe(harness?.rssMaxMb);
    }
    expect(summary.capacity?.cps).toBe(40);
    expect(summary.metrics?.capacity_cps).toBe(40);
  });

  it("injects the fault at its time and times detection and recovery from the gateway's /health", () => {
    expect(lab.faults).toEqual([{ target: "esl", fault: { kind: "cut", mode: "rst" } }]);
    const [fault] = summary.faults ?? [];
    expect(fault?.label).toBe("esl cut RST");
    expect(fault?.outage?.gateway).toBe("gateway");
    expect(fault?.injectedAtMs).toBeGreaterThanOrEqual(595); // timers may fire a fraction of a ms early
    expect(fault?.injectedAtMs).toBeLessThan(1_000); // a timer on a busy machine may fire late
    expect(fault?.outage?.recoveredAtMs).toBeGreaterThan(fault?.injectedAtMs ?? 0);
    expect(fault?.outage?.outageMs).toBeLessThan(2_000);
    expect(fault?.outage?.commands.hung).toBe(0);
    expect(summary.metrics?.hung_commands).toBe(0);
    expect(summary.metrics?.["reconnect_ms.max"]).toBeGreaterThanOrEqual(0);
  });

  it("follows calls to the telecom figures and the gateway's own metrics", () => {
    const calls = summary.calls!;
    expect(calls.attempts).toBeGreaterThan(30); // 3 in 4 of the 70 requests, drawn at random
    expect(calls.answered).toBeGreaterThan(0);
    expect(calls.asr).toBeGreaterThan(0.5);
    expect(calls.setupLatency.count).toBe(
      calls.answered - calls.answeredBeforeAccept + calls.answeredBeforeAccept,
    );
    expect(summary.operations?.originate?.count).toBeGreaterThan(0);
    expect(summary.operations?.play?.count ?? 0).toBeGreaterThanOrEqual(0);
    expect(summary.gateways?.[0]?.totals.commands).toBeGreaterThan(0);
    expect(summary.metrics?.["esl_command_latency.p95"]).toBeGreaterThan(0);
    // The lab has no stream on fs.events: the harness's own stored every event the gateway counted published.
    expect(summary.publisher).toMatchObject({ stream: "LAB_RUN_EVENTS", ownStream: true, unstored: 0 });
    expect(summary.publisher?.published).toBe(summary.gateways?.[0]?.totals.eventsPublished);
    expect(summary.publisher?.events).toBeGreaterThanOrEqual(summary.publisher?.published ?? 1);
    expect(summary.metrics?.events_unstored).toBe(0);
    expect(summary.processes?.map((p) => p.name)).toEqual(["harness"]);
    expect(summary.host?.cpus).toBeGreaterThan(0);
  });

  it("fails the command-line gate with exit code 99 and writes every result file", () => {
    expect(exitCode).toBe(99);
    expect(summary.outcome).toEqual({ passed: false, exitCode: 99, problems: [] });
    const failed = summary.gates?.filter((g) => !g.pass).map((g) => `${g.metric}:${g.source}`);
    expect(failed).toEqual(["command_latency.p50:cli"]);
    expect(summary.gates?.filter((g) => g.source === "baseline").map((g) => g.metric)).toEqual([
      "command_latency.p95",
      "esl_command_latency.p95",
      "publish_lag.p95",
      "call_setup.p95",
    ]);
    expect(summary.baseline).toEqual({ runId: "20260101T000000Z-baseline-0001", maxRegressionPct: 10 });
    const written = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    expect(summarySchemaErrors(written)).toEqual([]);
    expect(readFileSync(join(dir, "junit.xml"), "utf8")).toContain('failures="1"');
    const series = readFileSync(join(dir, "series.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(series.length).toBeGreaterThanOrEqual(3);
    expect(series[0]).toHaveProperty("load");
    expect(readFileSync(join(dir, "report.html"), "utf8")).toContain("esl cut RST");
  });

  it("refuses a load on the calls API on a lab that runs no calls pipeline, and a load of both kinds or neither", async () => {
    const calls = { to: "+1", from: "+2", settleMs: 1_000, lateCdrMs: 5_000 };
    const onCalls: Scenario = {
      ...scenario,
      capacity: undefined,
      faults: [],
      load: { ...scenario.load, mix: undefined, calls },
    };
    await expect(
      runOnLab(onCalls, lab.handle, { resultsDir, progress: false, log: () => {} }),
    ).rejects.toThrow(
      "scenario runner-test places calls through the calls API, and this lab runs no calls pipeline",
    );
    expect(() => validateScenario({ ...onCalls, load: { ...onCalls.load, mix: scenario.load.mix } })).toThrow(
      "its load needs either a request mix for the gateway (mix) or calls for the calls API (calls)",
    );
    expect(() => validateScenario({ ...onCalls, load: { ...onCalls.load, calls: undefined } })).toThrow(
      /either a request mix/,
    );
  });
});

/** A lab's SIP side that records what the runner asks of it: the caller's rates, when, and its stop. */
function recordingSip() {
  const rates: Array<{ rate: number; atMs: number }> = [];
  const calls: { options?: CallerOptions; stopped: boolean } = { stopped: false };
  let invites = 0;
  const handle: SipHandle = {
    kamailioStatistics: async () => {
      invites += 7;
      return { "core:rcv_requests_invite": invites };
    },
    dispatcher: async () => [
      { uri: "sip:127.0.0.1:5071", flags: "AP", active: true, component: "fakeswitch" },
    ],
    sipps: () => [],
    startCaller: async (options) => {
      calls.options = options;
      return {
        name: "caller",
        pid: process.pid,
        setRate: async (rate) => {
          rates.push({ rate, atMs: performance.now() });
        },
        stop: async () => {
          calls.stopped = true;
        },
        read: () => ({
          name: "caller",
          scenario: "inbound-caller",
          responseTimeOf: "INVITE sent → 180 received",
          rows: [],
          responseTimes: [],
        }),
      };
    },
  };
  return { handle, rates, calls };
}

describe("the scenario runner's inbound SIP caller, phase by phase", () => {
  const inbound: Scenario = {
    name: "inbound-test",
    description: "inbound calls at 5, 0, then 20 a second beside 10 originates a second",
    load: {
      ...scenario.load,
      mix: { weights: { originate: 1 }, destination: "sofia/internal/1000@127.0.0.1" },
    },
    inbound: { ringMs: 300, holdMs: 0 },
    phases: [
      {
        name: "five",
        inboundRate: 5,
        schedule: { executor: "constant-arrival-rate", rate: 10, durationMs: 600 },
      },
      {
        name: "none",
        inboundRate: 0,
        schedule: { executor: "constant-arrival-rate", rate: 10, durationMs: 600 },
      },
      {
        name: "twenty",
        inboundRate: 20,
        schedule: { executor: "constant-arrival-rate", rate: 10, durationMs: 600 },
      },
    ],
    gates: { "sip.kamailio.invites": ">0" },
    drainMs: 300,
  };

  it("starts the caller before the measured load, sets each phase's rate at its start and 0 at the end, then stops it", async () => {
    const sip = recordingSip();
    const run = await runOnLab(
      inbound,
      { ...lab.handle, sip: sip.handle },
      {
        resultsDir,
        progress: false,
        log: () => {},
      },
    );
    expect(sip.calls.options).toMatchObject({ ringMs: 300, holdMs: 0, maxRate: 20, timeoutS: 63 });
    expect(sip.calls.options?.dir).toBe(join(run.dir, "caller"));
    expect(sip.rates.map((r) => r.rate)).toEqual([5, 0, 20, 0]);
    const offsets = sip.rates.map((r) => r.atMs - sip.rates[0]!.atMs);
    for (const [i, expected] of [0, 600, 1200, 1800].entries()) {
      expect(offsets[i]).toBeGreaterThanOrEqual(expected - 50); // measured from the first, which may be late
      expect(offsets[i]).toBeLessThan(expected + 250); // a timer on a busy machine may fire late
    }
    expect(sip.calls.stopped).toBe(true);
    const { summary } = run;
    expect(summary.phases?.map((p) => p.sip?.inboundRate)).toEqual([5, 0, 20]);
    expect(summary.sip?.kamailio.series.every((r) => r.invites === 7)).toBe(true);
    expect(summary.sip?.kamailio.dispatcher.destinations).toEqual([
      { uri: "sip:127.0.0.1:5071", flags: "AP", active: true, component: "fakeswitch" },
    ]);
    expect(summary.sip?.sipp.map((s) => s.name)).toEqual(["caller"]);
    expect(summary.processes?.map((p) => p.name)).toContain("caller");
    expect(run.exitCode).toBe(0);
  }, 20_000);

  it("refuses inbound calls the lab cannot make, and inbound rates without a caller", async () => {
    await expect(
      runOnLab(inbound, lab.handle, { resultsDir, progress: false, log: () => {} }),
    ).rejects.toThrow(
      "scenario inbound-test makes inbound SIP calls, and the lab has no SIP side (Kamailio)",
    );
    const { inbound: _caller, ...withoutCaller } = inbound;
    expect(() => validateScenario(withoutCaller)).toThrow(
      "a phase has an inbound rate, and the scenario no inbound caller (inbound: { ringMs, holdMs })",
    );
  });
});
