import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { portIsFree } from "../../lab/lib/ports.ts";
import { runScenario } from "../../lab/lib/run.ts";
import { smoke } from "../../scenarios/smoke.ts";

const resultsDir = mkdtempSync(join(tmpdir(), "lab-results-"));
afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the thin end-to-end path (real nats-server, FreeSWITCH double, gateway processes)", () => {
  it("originates through the gateway, sees every call's events on NATS, writes the summary, and leaves nothing behind", async () => {
    const scenario = {
      ...smoke,
      load: {
        ...smoke.load,
        schedule: { executor: "constant-arrival-rate" as const, rate: 20, durationMs: 2_000 },
      },
      fakeswitch: { ...smoke.fakeswitch, hold: "100" },
      drainMs: 800,
    };
    const run = await runScenario(scenario, { resultsDir, log: () => {} });
    const { load, lag, lab } = run.summary;
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
    expect(written.schemaVersion).toBe(1);
    expect(written.lab.processes.map((p: { name: string }) => p.name)).toEqual([
      "nats",
      "fakeswitch",
      "fault-proxy",
      "gateway",
      "harness",
    ]);

    for (const proc of lab.processes.filter((p) => p.name !== "harness")) {
      expect(alive(proc.pid), `${proc.name} (pid ${proc.pid}) still running`).toBe(false);
    }
    for (const [name, ports] of Object.entries(lab.ports)) {
      for (const port of ports)
        expect(await portIsFree("127.0.0.1", port), `${name} port ${port} still open`).toBe(true);
    }
  }, 60_000);
});
