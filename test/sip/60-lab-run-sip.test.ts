import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario } from "../../lab/run/run.ts";
import type { Scenario } from "../../scenarios/types.ts";
import { groupMembers } from "../../src/procfs/proc-stats.ts";
import { summarySchemaErrors } from "../harness/summary-schema.ts";
import { missing } from "./binaries.ts";

const resultsDir = mkdtempSync(join(tmpdir(), "lab-sip-run-"));
afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

const phase = (name: string, inboundRate: number): Scenario["phases"][number] => ({
  name,
  inboundRate,
  schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: 2_000 },
});

/** SIP both ways on a `single` lab: originates over SIP to the carrier, and an inbound caller phase by phase. */
const scenario: Scenario = {
  name: "sip-run-test",
  description: "20 originates/s over SIP; inbound calls 0, 20, 0 a second",
  load: {
    connections: 8,
    maxInFlight: 200,
    requestTimeoutMs: 5_000,
    mix: { weights: { originate: 1 }, destination: "sofia/external/1000@carrier" },
  },
  inbound: { ringMs: 200, holdMs: 0 },
  phases: [phase("quiet", 0), phase("inbound", 20), phase("after", 0)],
  gates: { "sip.carrier.failure_rate": "==0", "sip.caller.failed": "==0", "sip.kamailio.dropped": "==0" },
  drainMs: 2_000,
};

describe.skipIf(missing("kamailio", "sipp", "nats-server"))(
  "a run with SIP both ways on a lab started for it (single: Kamailio, the SIPp carrier, an inbound caller)",
  () => {
    it("puts SIPp's and Kamailio's numbers, per second and per phase, into summary.json and report.html", async () => {
      const run = await runScenario(scenario, { resultsDir, log: () => {}, progress: false });
      const { sip, phases, processes, calls } = run.summary;
      expect(run.exitCode, run.text).toBe(0);
      expect(summarySchemaErrors(JSON.parse(readFileSync(run.summaryPath, "utf8")))).toEqual([]);

      // Outbound: every originate went through Kamailio to the carrier and was answered there.
      expect(calls?.answered).toBe(120);
      const carrier = sip?.sipp.find((s) => s.name === "carrier");
      expect(carrier?.calls).toMatchObject({ created: 120, successful: 120, failed: 0 });
      expect(carrier?.responseTime.count).toBe(120);

      // Inbound: the caller made calls only in the phase that asked for them (its rows are written once a
      // second, so calls of the phase's last second may be counted in the next phase).
      const caller = sip?.sipp.find((s) => s.name === "caller");
      expect(caller?.calls.created).toBeGreaterThanOrEqual(38);
      expect(caller?.calls.created).toBeLessThanOrEqual(41);
      expect(caller?.calls.failed).toBe(0);
      expect(caller?.responseTime.count).toBe(caller?.calls.created);
      const inbound = phases?.map((p) => [p.sip?.inboundRate, p.sip?.sipp.caller?.created]);
      expect(inbound?.[0]).toEqual([0, 0]);
      expect(inbound?.[1]?.[1]).toBeGreaterThanOrEqual(18);
      expect((inbound?.[1]?.[1] ?? 0) + (inbound?.[2]?.[1] ?? 0)).toBe(caller?.calls.created);

      // Kamailio saw both: the originates' INVITEs from the double and the caller's (and any retransmission).
      const invites = sip?.kamailio.counters["core:rcv_requests_invite"] ?? 0;
      expect(invites).toBeGreaterThanOrEqual(120 + (caller?.calls.created ?? 0));
      expect(sip?.kamailio.series.reduce((sum, r) => sum + r.invites, 0)).toBe(invites);

      // Kamailio's workers are sampled with it; every process is gone after the run.
      const kamailio = processes?.find((p) => p.name === "kamailio");
      expect(kamailio?.group).toBe(true);
      expect(kamailio?.pids.length).toBeGreaterThan(3);
      expect(kamailio?.series.length).toBeGreaterThan(3);
      for (const p of processes?.filter((p) => p.name !== "harness") ?? [])
        for (const pid of p.pids) expect(groupMembers(pid), `${p.name} (pid ${pid})`).toEqual([]);

      const report = readFileSync(join(run.dir, "report.html"), "utf8");
      expect(report).toContain('id="chart-sip"');
      expect(report).toContain("caller (inbound-caller)");
    }, 60_000);
  },
);
