import { existsSync, statSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../lab/run/lab.ts";
import { readState } from "../../lab/run/state.ts";
import { groupMembers } from "../../src/procfs/proc-stats.ts";
import { until } from "../helpers/gateway.ts";
import {
  downAndCheckNothingLeft,
  originate,
  processesUsing,
  scratchDir,
  subscribeEvents,
  watchHealth,
} from "./lab-helpers.ts";

const scratch = scratchDir();
let lab: Lab;

beforeAll(async () => {
  lab = await Lab.up({ topology: "single", stateFile: scratch.stateFile, resultsDir: scratch.resultsDir });
});
afterAll(async () => {
  if (readState(scratch.stateFile)) await lab.down();
  scratch.remove();
});

describe("the single topology, embedded (nats-server, FreeSWITCH double, Kamailio, SIPp carrier, fault proxies, gateway, calls pipeline as processes)", () => {
  it("comes up healthy, recorded in a private state file another shell can attach to", async () => {
    expect(lab.state.startupMs).toBeGreaterThan(0);
    const status = await lab.status();
    expect(status.components.map((c) => [c.name, c.health])).toEqual([
      ["nats", "ok"],
      ["fakeswitch", "ok"],
      ["kamailio", "ok"],
      ["carrier", "ok"],
      ["fault-proxy", "ok"],
      ["gateway", "ok"],
      ["calls-db", "ok"],
      ["calls-cdr-writer", "ok"],
      ["calls-orchestrator-1", "ok"],
      ["calls-orchestrator-2", "ok"],
      ["calls-api", "ok"],
    ]);
    expect(status.calls).toEqual({
      apiUrl: lab.state.calls?.apiUrl,
      database: expect.stringMatching(
        /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres \(PGlite in .*\/calls-db\)$/,
      ),
    });
    expect(status.links.map((l) => [l.name, l.proxy?.connections])).toEqual([
      ["esl", 1],
      ["nats", 1],
    ]);
    expect(statSync(scratch.stateFile).mode & 0o777).toBe(0o600);
    // Each process holds its log open: Kamailio's workers hold its log too.
    const processes = lab.state.components.flatMap((c) => (c.process ? groupMembers(c.process.pid) : []));
    expect(processes.length).toBeGreaterThan(lab.state.components.length);
    expect(processesUsing(lab.state.runDir).sort()).toEqual(processes.sort());
    const attached = await Lab.attach(scratch.stateFile);
    expect(attached.state.labId).toBe(lab.state.labId);
    // Secrets are in the state file and the environment, never in a process's arguments.
    for (const component of lab.state.components)
      for (const secret of Object.values(lab.secrets))
        expect(component.launch?.args.join(" ") ?? "").not.toContain(secret);
  });

  it("serves the REST API with a token signed by the lab's secret, and publishes the call's events to NATS", async () => {
    const response = await fetch(`${lab.gatewayUrl()}/api/v1/fs/channels`, {
      headers: { authorization: `Bearer ${await lab.token()}` },
    });
    expect(response.status).toBe(200);
    const events = await subscribeEvents(lab.natsUrls()[0] as string);
    try {
      const callUuid = await originate(lab);
      expect(
        await events.waitFor((e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_ANSWER"),
      ).toMatchObject({
        source_host: "fakeswitch",
      });
    } finally {
      await events.close();
    }
  });

  it("takes a call on the calls API: placed through the gateway, answered, hung up, one CDR", async () => {
    const calls = lab.calls();
    if (!calls) throw new Error("single runs the calls pipeline");
    const authorization = `Bearer ${await lab.token(["calls:write", "calls:read"])}`;
    const posted = await fetch(`${calls.apiUrl}/v1/calls`, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ to: "+14155550100", from: "+15105550100" }),
    });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    // The lab's double answers after 20 ms and hangs up after 500 ms.
    const call = await until("the call's CDR", async () => {
      const response = await fetch(`${calls.apiUrl}/v1/calls/${id}`, { headers: { authorization } });
      const body = (await response.json()) as { status: string; cdr: unknown };
      return body.cdr ? body : undefined;
    });
    expect(call).toMatchObject({
      status: "completed",
      originate_attempts: 1,
      cdr: { hangup_cause: "NORMAL_CLEARING", source_host: "fakeswitch" },
    });
    // The CDR is in the lab's database, once.
    const db = new pg.Client({ connectionString: calls.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query("SELECT count(*)::int AS n FROM cdrs WHERE call_id = $1", [id]);
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await db.end();
    }
  });

  it("ESL cut (RST): gateway /health goes 503, then back to 200 once it reconnects through the proxy", async () => {
    const health = watchHealth(lab.gatewayUrl());
    try {
      await health.until([200]);
      expect(await lab.fault("esl", { kind: "cut", mode: "rst" })).toBe("esl: cut 1 connection with RST");
      await health.until([200, 503, 200]);
    } finally {
      await health.stop();
    }
  });

  it("ESL refused and cut with FIN: 503 for as long as the link refuses, 200 once the fault is off", async () => {
    const health = watchHealth(lab.gatewayUrl());
    try {
      expect(await lab.fault("esl", { kind: "refuse" })).toBe("esl: refusing new connections");
      await lab.fault("esl", { kind: "cut", mode: "fin" });
      await health.until([200, 503]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(health.seen.at(-1)).toBe(503);
      expect(await lab.clearFault("esl", "refuse")).toBe("esl: no faults (forwarding normally)");
      await health.until([503, 200]);
    } finally {
      await health.stop();
    }
  });

  it("restarting the FreeSWITCH double: the gateway sees the shutdown, reconnects to the new process", async () => {
    const before = lab.component("fakeswitch").process?.pid;
    const health = watchHealth(lab.gatewayUrl());
    try {
      expect(await lab.fault("fakeswitch", { kind: "restart" })).toMatch(
        /^fakeswitch restarted \(pid \d+ → \d+\)$/,
      );
      expect(lab.component("fakeswitch").process?.pid).not.toBe(before);
      await health.until([200, 503, 200]);
      // The restart is recorded for other shells.
      expect(
        readState(scratch.stateFile)?.components.find((c) => c.name === "fakeswitch")?.process?.pid,
      ).toBe(lab.component("fakeswitch").process?.pid);
    } finally {
      await health.stop();
    }
  });

  it("tears down with no process or port left behind, and no state file", async () => {
    await downAndCheckNothingLeft(lab);
    expect(existsSync(scratch.stateFile)).toBe(false);
  });
});
