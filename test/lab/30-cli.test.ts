import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { down } from "../../lab/cli/down.ts";
import { env } from "../../lab/cli/env.ts";
import { fault } from "../../lab/cli/fault.ts";
import { logs } from "../../lab/cli/logs.ts";
import { report } from "../../lab/cli/report.ts";
import { run } from "../../lab/cli/run.ts";
import { status } from "../../lab/cli/status.ts";
import { up } from "../../lab/cli/up.ts";
import { topologyNames } from "../../lab/plan/topology.ts";
import { repoRoot } from "../../lab/run/paths.ts";
import type { LabState } from "../../lab/run/state.ts";
import { isLoopbackHost } from "../../src/net/loopback.ts";
import { groupMembers } from "../../src/procfs/proc-stats.ts";
import { scratchDir } from "./lab-helpers.ts";

const scratch = scratchDir();
afterAll(() => {
  // A failed test may leave a lab up: stop it before removing its folder.
  if (existsSync(scratch.stateFile)) lab("down");
  scratch.remove();
});

/** `npm run lab -- <args>` as a separate process, as from another shell, on this file's private state file. */
function lab(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "lab/main.ts"), ...args], {
    cwd: repoRoot,
    env: { ...process.env, LAB_STATE_FILE: scratch.stateFile, LAB_RESULTS_DIR: scratch.resultsDir },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const state = (): LabState => JSON.parse(readFileSync(scratch.stateFile, "utf8"));

describe("npm run lab -- <command>, each from its own process", () => {
  it("up returns with the lab running in the background and prints its start-up time", () => {
    const up = lab("up");
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/^lab \S+-single-\w+ is up in \d+ ms \(single, embedded\)$/m);
    expect(up.stdout).toMatch(/^gateway\s+\d+\s+ok\s+\d+/m);
    expect(statSync(scratch.stateFile).mode & 0o777).toBe(0o600);
    for (const component of state().components)
      expect(groupMembers(component.process?.pid ?? 0), `${component.name} is running`).not.toEqual([]);
  });

  it("a second up is refused while the lab is up", () => {
    const again = lab("up");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is already up; stop it first: npm run lab -- down/);
  });

  it("status prints the table; status --json carries a token the gateway and the calls API accept", async () => {
    const table = lab("status");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^COMPONENT\s+PID\s+HEALTH\s+PORTS\s+URLS/m);
    expect(table.stdout).toMatch(
      /^esl\s+gateway → fakeswitch\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:\d+\s+1\s+-$/m,
    );
    expect(table.stdout).toMatch(/^calls API http:\/\/127\.0\.0\.1:\d+ {2}database postgres:\/\//m);
    expect(table.stdout).toMatch(/^calls-orchestrator-2\s+\d+\s+ok\s+-\s+consumer calls\/orchestrator: /m);
    const json = JSON.parse(lab("status", "--json").stdout) as {
      token: string;
      gateways: { url: string }[];
      calls: { apiUrl: string };
      components: { name: string; health: string }[];
    };
    expect(json.components.every((c) => c.health === "ok")).toBe(true);
    const response = await fetch(`${json.gateways[0]?.url}/api/v1/fs/channels`, {
      headers: { authorization: `Bearer ${json.token}` },
    });
    expect(response.status).toBe(200);
    const unknownCall = await fetch(`${json.calls.apiUrl}/v1/calls/6f1c1d7e-0000-4000-8000-000000000000`, {
      headers: { authorization: `Bearer ${json.token}` },
    });
    expect(unknownCall.status).toBe(404);
  });

  it("fault: cuts a link, switches a link fault on and off, refuses wrong targets with a clear message", () => {
    expect(lab("fault", "esl", "cut")).toMatchObject({ code: 0, stdout: "esl: cut 1 connection with RST\n" });
    expect(lab("fault", "esl", "latency", "--ms", "20").stdout).toBe("esl: latency 20 ms\n");
    expect(lab("fault", "esl", "latency", "--off").stdout).toBe("esl: no faults (forwarding normally)\n");
    expect(lab("fault", "esl", "kill")).toMatchObject({
      code: 1,
      stderr:
        "lab fault: esl is a link, not a component; components: nats, fakeswitch, kamailio, carrier, fault-proxy, gateway, calls-db, calls-cdr-writer, calls-orchestrator-1, calls-orchestrator-2, calls-api\n",
    });
  });

  it("logs shows a component's log; env prints the gateway's environment and the calls API's URL", () => {
    const logs = lab("logs", "gateway", "-n", "50");
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/ESL connection lost/);
    expect(lab("logs", "calls-api").stdout).toMatch(/^\{"ready":\{"roles":\["api"\]/m);
    const env = lab("env").stdout;
    expect(env).toMatch(/^export FS_ESL_PORT='\d+'$/m);
    expect(env).toContain(`export JWT_SECRET='${state().secrets.jwtSecret}'`);
    expect(env).toContain(`export CALLS_API_URL='${state().calls?.apiUrl}'\n`);
  });

  it("down stops everything, frees every port, removes the record; a second down has nothing to do", () => {
    const pids = state().components.map((c) => c.process?.pid ?? 0);
    const down = lab("down");
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/^lab \S+ is down in \d+ ms: 11 components stopped, 11 ports free$/m);
    expect(existsSync(scratch.stateFile)).toBe(false);
    for (const pid of pids) expect(groupMembers(pid)).toEqual([]);
    expect(lab("down")).toMatchObject({
      code: 0,
      stdout: "nothing to stop: no lab is up; start one with: npm run lab -- up\n",
    });
  });

  it("a record whose processes are all gone (a crash) is found stale and removed", () => {
    expect(lab("up").code).toBe(0);
    const crashed = state();
    for (const component of crashed.components) process.kill(-(component.process?.pid ?? 0), "SIGKILL");
    const status = lab("status");
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(
      /had stopped \(none of its processes is left, as after a crash or reboot\); removed its stale record/,
    );
    expect(existsSync(scratch.stateFile)).toBe(false);
  });

  it("every command has its own --help; bad usage exits 2 pointing at it", () => {
    for (const command of [up, down, status, logs, run, fault, report, env])
      expect(command.help).toMatch(new RegExp(`^usage: npm run lab -- ${command.name}`));
    const topLevelHelp = lab("--help").stdout;
    expect(topLevelHelp).toMatch(/^fs-esl-lab: one command brings up/);
    // Every shipped topology, gateway-bench included, in both the command list and up's own help.
    for (const name of topologyNames()) {
      expect(topLevelHelp).toContain(name);
      expect(up.help).toContain(name);
    }
    expect(lab("up", "--mode", "triple")).toMatchObject({
      code: 2,
      stderr: "lab up: --mode must be one of embedded, external, compose\n(see npm run lab -- up --help)\n",
    });
  });

  it("counts only 127.0.0.0/8, ::1 and localhost as loopback, without resolving any other name", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of [
      "192.0.2.10",
      "10.0.0.1",
      "0.0.0.0",
      "::",
      "fs-01",
      "localhost.example.com",
      "128.0.0.1",
    ])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it("external mode refuses a FreeSWITCH off loopback without --yes-i-mean-it, before sending it anything", () => {
    const passwordFile = join(scratch.dir, "esl-password");
    writeFileSync(passwordFile, "ClueCon\n", { mode: 0o600 });
    const refused = lab(
      "up",
      "--mode",
      "external",
      "--esl-host",
      "192.0.2.10",
      "--esl-password-file",
      passwordFile,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /FreeSWITCH at 192\.0\.2\.10:8021 is not on loopback; the lab sends it traffic\. Add --yes-i-mean-it/,
    );
    expect(existsSync(scratch.stateFile)).toBe(false);
  });

  it("compose mode says plainly when there is no Docker engine", () => {
    const compose = lab("up", "--mode", "compose");
    if (compose.code === 0) {
      lab("down"); // a machine with a Docker engine: the testcontainers test covers it
      return;
    }
    expect(compose.stderr).toMatch(
      /^lab up: failed: compose mode needs a Docker engine, and none was found: /,
    );
    expect(existsSync(scratch.stateFile)).toBe(false);
  });
});
