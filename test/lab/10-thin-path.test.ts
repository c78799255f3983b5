import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario } from "../../lab/run/run.ts";
import { smoke } from "../../scenarios/smoke.ts";
import type { Scenario } from "../../scenarios/types.ts";

const resultsDir = mkdtempSync(join(tmpdir(), "lab-results-"));
afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

/** Running, not merely a zombie: a process the lab started from this test is reaped by us a moment later. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("the thin end-to-end path (real nats-server, FreeSWITCH double, gateway processes; Kamailio beside them)", () => {
  it("originates through the gateway, sees every call's events on NATS, writes the results, and leaves nothing behind", async () => {
    const scenario: Scenario = {
      ...smoke,
      lab: { fakeswitch: { hold: "100" } },
      phases: [
        { name: "steady", schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: 2_000 } },
      ],
      faults: [],
      gates: { error_rate: "==0", "calls.incomplete": "==0" },
      drainMs: 800,
    };
    const run = await runScenario(scenario, { resultsDir, log: () => {}, progress: false });
    const { load, lag, processes, sip } = run.summary;
    expect(run.exitCode).toBe(0);
    expect(load?.counts).toMatchObject({ planned: 40, sent: 40, ok: 40, errors: 0, dropped: 0 });
    expect(load?.statusCounts).toEqual({ "202": 40 });
    expect(lag?.calls).toMatchObject({ calls: 40, complete: 40, incomplete: 0, duplicates: 0 });
    expect(lag?.eventTypes).toMatchObject({
      CHANNEL_CREATE: 40,
      CHANNEL_ANSWER: 40,
      CHANNEL_HANGUP_COMPLETE: 40,
    });
    expect(lag?.publishLag.count).toBe(lag?.received);
    expect(run.text).toMatch(/command latency\s+40\s+0/);

    const written = JSON.parse(readFileSync(run.summaryPath, "utf8"));
    expect(written.schemaVersion).toBe(3);
    expect(written.topology).toMatchObject({ name: "single", mode: "embedded" });
    expect(processes?.map((p) => p.name).sort()).toEqual([
      "calls-api",
      "calls-cdr-writer",
      "calls-db",
      "calls-orchestrator-1",
      "calls-orchestrator-2",
      "carrier",
      "fakeswitch",
      "fault-proxy",
      "gateway",
      "harness",
      "kamailio",
      "nats",
    ]);
    // The originates stayed off SIP (sofia/internal); Kamailio was up, probing the double, its statistics read.
    expect(sip?.sipp.map((s) => [s.name, s.calls.created])).toEqual([["carrier", 0]]);
    expect(sip?.kamailio.counters["core:rcv_requests_invite"]).toBe(0);
    expect(sip?.kamailio.series.length).toBeGreaterThanOrEqual(2);
    expect(sip?.kamailio.dispatcher.destinations).toEqual([
      expect.objectContaining({ component: "fakeswitch", active: true }),
    ]);
    for (const proc of processes?.filter((p) => p.name !== "harness") ?? []) {
      for (const pid of proc.pids) expect(alive(pid), `${proc.name} (pid ${pid}) still running`).toBe(false);
    }
  }, 60_000);
});
