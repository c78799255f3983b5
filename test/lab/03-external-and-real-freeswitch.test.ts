import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { withExternalFreeswitch } from "../../lab/plan/embedded.ts";
import { loadTopology } from "../../lab/plan/topology.ts";
import { withCarrierHold } from "../../lab/run/lab.ts";
import { missingLabSettings } from "../../lab/run/run.ts";
import type { ComponentState } from "../../lab/run/state.ts";
import { scenarios } from "../../scenarios/index.ts";
import { pidListeningOn } from "../../src/procfs/proc-stats.ts";

describe("an external FreeSWITCH in the lab's topology", () => {
  it("takes the name freeswitch where the topology has the double, in its gateways and links too", () => {
    const topology = withExternalFreeswitch(loadTopology("single"));
    expect(topology.freeswitch).toMatchObject([{ name: "freeswitch", kind: "freeswitch" }]);
    expect(topology.gateways.map((g) => g.freeswitch)).toEqual(["freeswitch"]);
    expect(topology.links.map((l) => `${l.from} → ${l.to}`)).toEqual([
      "gateway → freeswitch",
      "gateway → nats",
    ]);
    const real = loadTopology("single-real");
    expect(withExternalFreeswitch(real)).toBe(real);
  });

  it("is sampled when it runs on this machine: the process listening on its ESL port", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(pidListeningOn(port)).toBe(process.pid);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(pidListeningOn(port)).toBeUndefined();
  });
});

describe("the SIPp carrier's hold: the hold of a real FreeSWITCH's calls", () => {
  const real: ComponentState = {
    name: "freeswitch",
    kind: "freeswitch",
    launch: {
      name: "freeswitch",
      command: "freeswitch",
      args: [],
      env: {},
      secretEnv: {},
      logFile: "/dev/null",
      ready: { port: { host: "127.0.0.1", port: 1 } },
    },
    endpoints: {},
    ports: [],
    health: { kind: "esl", endpoint: { host: "127.0.0.1", port: 1 } },
  };

  it("is set over the topology's for a lab started with it", () => {
    const topology = withCarrierHold(loadTopology("single-real"), 10_000);
    expect(topology.sip?.carrier).toEqual({ answerMs: 20, holdMs: 10_000 });
  });

  it("is held against a lab that is up with a real FreeSWITCH, not against one of doubles", () => {
    const callControl = scenarios["call-control"]!.lab;
    const topology = loadTopology("single-real");
    expect(missingLabSettings(callControl, { gateways: [], components: [real], topology })).toEqual([
      "SIPp carrier: hold 10000 ms, the hold of freeswitch's calls (it has 500 ms; lab up --carrier-hold-ms 10000)",
    ]);
    expect(
      missingLabSettings(callControl, {
        gateways: [],
        components: [real],
        topology: withCarrierHold(topology, 10_000),
      }),
    ).toEqual([]);
    expect(missingLabSettings(callControl, { gateways: [], components: [], topology })).toEqual([]);
  });
});
