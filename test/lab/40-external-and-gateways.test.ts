import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../lab/plan/ports.ts";
import { Lab } from "../../lab/run/lab.ts";
import { repoRoot } from "../../lab/run/paths.ts";
import { startProcess, stopProcess } from "../../lab/run/service.ts";
import { secretValues } from "../../lab/run/state.ts";
import { startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { downAndCheckNothingLeft, processesUsing, scratchDir, watchHealth } from "./lab-helpers.ts";

const scratch = scratchDir();
afterAll(() => scratch.remove());

describe("external mode: the lab's gateway pointed at a FreeSWITCH it does not run", () => {
  it("reaches it through the ESL fault proxy, with the password read from a file by the gateway only", async () => {
    // The "existing FreeSWITCH": a double this test runs, on loopback.
    const password = "external-pw-8f2k";
    const freeswitch = await startFakeSwitch({ port: 0, password, heartbeatIntervalMs: 1000 });
    const passwordFile = join(scratch.dir, "esl-password");
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    const lab = await Lab.up({
      external: { host: "127.0.0.1", port: freeswitch.port, passwordFile },
      stateFile: null,
      resultsDir: scratch.resultsDir,
    });
    try {
      expect(lab.state.mode).toBe("external");
      const status = await lab.status();
      expect(status.components.map((c) => [c.name, c.kind, c.pid === undefined, c.health])).toEqual([
        ["nats", "nats", false, "ok"],
        // A real FreeSWITCH, never called fakeswitch (single's name for its double).
        ["freeswitch", "freeswitch", true, "ok"],
        ["fault-proxy", "fault-proxy", false, "ok"],
        ["gateway", "gateway", false, "ok"],
        // single's calls pipeline places its calls through the lab's gateway, whatever FreeSWITCH is behind it.
        ["calls-db", "calls-db", false, "ok"],
        ["calls-cdr-writer", "calls-worker", false, "ok"],
        ["calls-orchestrator-1", "calls-worker", false, "ok"],
        ["calls-orchestrator-2", "calls-worker", false, "ok"],
        ["calls-api", "calls-api", false, "ok"],
      ]);
      expect(lab.state.gateways[0]?.env.FS_ESL_PASSWORD_FILE).toBe(passwordFile);
      // The events' source_host, and the table of processes: it runs here (in this test's process), so its
      // CPU is the lab's, not work of someone else's.
      expect(lab.state.gateways[0]?.env.SOURCE_HOST).toBe("freeswitch");
      expect(lab.processes()).toContainEqual({ name: "freeswitch", pid: process.pid });
      expect(lab.handle().gateways).toEqual([
        {
          name: "gateway",
          url: lab.gatewayUrl(),
          freeswitch: { name: "freeswitch", double: false, runByLab: false },
        },
      ]);
      expect(JSON.stringify(lab.state)).not.toContain(password);

      const health = watchHealth(lab.gatewayUrl());
      await lab.fault("esl", { kind: "cut", mode: "rst" });
      await health.until([200, 503, 200]);
      await health.stop();
      await expect(lab.fault("freeswitch", { kind: "stop" })).rejects.toThrow(
        "freeswitch is not run by the lab (it is external): the lab cannot stop it",
      );
      await downAndCheckNothingLeft(lab);
    } finally {
      await lab.down();
      await freeswitch.close();
    }
  });
});

describe("the gateway under test is pluggable", () => {
  it("--gateway-cmd: any command, given the lab's environment; its whole process group is stopped", async () => {
    // Not exec'd: sh stays as the group leader with the gateway as its child, and both must go.
    const lab = await Lab.up({
      gateway: { kind: "command", command: `"${process.execPath}" --import tsx src/gateway/main.ts` },
      stateFile: null,
      resultsDir: scratch.resultsDir,
    });
    const gateway = lab.component("gateway");
    expect(gateway.launch?.command).toBe("/bin/sh");
    expect((await lab.status()).components.find((c) => c.name === "gateway")?.health).toBe("ok");
    await downAndCheckNothingLeft(lab);
  });

  it("a gateway that cannot start: the error names it and shows its log, and everything started is stopped", async () => {
    const stateFile = join(scratch.dir, "failed-state.json");
    const start = Lab.up({
      labId: "failed-start",
      gateway: { kind: "command", command: "echo 'gateway: bad configuration' >&2; exit 78" },
      stateFile,
      resultsDir: scratch.resultsDir,
    });
    await expect(start).rejects.toThrow(
      /^gateway exited before it was ready \(exit code 78\)\n--- last lines of .*gateway\.log ---\n.*\ngateway: bad configuration$/,
    );
    expect(processesUsing(join(scratch.resultsDir, "failed-start"))).toEqual([]);
    expect(existsSync(stateFile)).toBe(false);
  });

  it("--gateway-url: a gateway started by someone else with the environment `lab env` gives", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const lab = await Lab.up({
      gateway: { kind: "url", url },
      stateFile: null,
      resultsDir: scratch.resultsDir,
    });
    try {
      expect(lab.component("gateway").process).toBeUndefined();
      expect((await lab.status()).components.find((c) => c.name === "gateway")?.health).toBe("down");
      const gateway = lab.state.gateways[0];
      if (!gateway) throw new Error("no gateway");
      const own = await startProcess(
        {
          name: "own-gateway",
          command: process.execPath,
          args: ["--import", "tsx", join(repoRoot, "src/gateway/main.ts")],
          env: gateway.env,
          logFile: join(scratch.dir, "own-gateway.log"),
          ready: { http: `${url}/health` },
        },
        secretValues(gateway.secretEnv, lab.secrets),
      );
      try {
        expect((await lab.status()).components.find((c) => c.name === "gateway")?.health).toBe("ok");
      } finally {
        await stopProcess(own);
      }
    } finally {
      await downAndCheckNothingLeft(lab);
    }
  });
});
