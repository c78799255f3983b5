import { describe, expect, it } from "vitest";
import { gatewayEnvironment } from "../../lab/cli/up.ts";
import { type Lab, LabSettingsError } from "../../lab/run/lab.ts";
import { missingLabSettings, runScenario } from "../../lab/run/run.ts";
import type { ComponentState, GatewayState, LabState } from "../../lab/run/state.ts";
import { backpressure } from "../../scenarios/backpressure.ts";
import { reconnect } from "../../scenarios/reconnect.ts";

const gateway = (env: Record<string, string>): GatewayState => ({
  name: "gateway",
  url: "http://127.0.0.1:1",
  freeswitch: "fakeswitch",
  env,
  secretEnv: {},
});
const double = (args: string[]): ComponentState => ({
  name: "fakeswitch",
  kind: "fakeswitch",
  launch: {
    name: "fakeswitch",
    command: "node",
    args,
    env: {},
    secretEnv: {},
    logFile: "/dev/null",
    ready: { port: { host: "127.0.0.1", port: 1 } },
  },
  endpoints: {},
  ports: [],
  health: { kind: "esl", endpoint: { host: "127.0.0.1", port: 1 } },
});

/** A lab that is up, as far as runScenario reads it before a run starts. */
function labUp(gateways: GatewayState[], components: ComponentState[]): Lab {
  const state = { labId: "lab-1", mode: "embedded", topology: { name: "single" }, gateways, components };
  return { state: state as unknown as LabState } as Lab;
}

describe("a scenario run on the lab that is up", () => {
  it("is refused, saying what to do, when the lab's gateway lacks the scenario's settings (reconnect)", async () => {
    const lab = labUp([gateway({ LOG_LEVEL: "info" })], [double(["--hold", "500"])]);
    const run = runScenario(reconnect, { lab, log: () => {}, progress: false });
    await expect(run).rejects.toThrow(LabSettingsError);
    await expect(run).rejects.toThrow(
      /gateway gateway: ESL_IDLE_TIMEOUT_MS=2000 \(it has the default\)[\s\S]*npm run lab -- down, then npm run lab -- run reconnect/,
    );
  });

  it("names every double flag and gateway variable the lab lacks, and nothing it has", () => {
    expect(
      missingLabSettings(backpressure.lab, {
        gateways: [gateway({})],
        components: [double(["--max-sessions", "20000", "--hold", "3000"])],
      }),
    ).toEqual(["FreeSWITCH double fakeswitch: --max-sessions 400 (it has 20000)"]);
    expect(
      missingLabSettings(reconnect.lab, {
        gateways: [gateway({ ESL_IDLE_TIMEOUT_MS: "2000" })],
        components: [],
      }),
    ).toEqual([]);
    expect(missingLabSettings(undefined, { gateways: [gateway({})], components: [double([])] })).toEqual([]);
  });
});

describe("a scenario run on a lab in external mode that lacks its settings", () => {
  it("says to start the lab again with them, since run cannot start an external lab of its own", async () => {
    const lab = labUp([gateway({})], []);
    (lab.state as { mode: string }).mode = "external";
    await expect(runScenario(reconnect, { lab, log: () => {}, progress: false })).rejects.toThrow(
      /ESL_IDLE_TIMEOUT_MS=2000[\s\S]*up again with them \(--gateway-env NAME=VALUE\)/,
    );
  });

  it("lab up --gateway-env takes NAME=VALUE pairs", () => {
    expect(gatewayEnvironment(["ESL_IDLE_TIMEOUT_MS=2000", "LOG_LEVEL=debug=x"])).toEqual({
      ESL_IDLE_TIMEOUT_MS: "2000",
      LOG_LEVEL: "debug=x",
    });
    expect(() => gatewayEnvironment(["ESL_IDLE_TIMEOUT_MS"])).toThrow(/--gateway-env must be NAME=VALUE/);
  });
});
