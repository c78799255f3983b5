import { describe, expect, it } from "vitest";
import { withCarrierHold } from "../../lab/lib/lab.ts";
import { missingLabSettings } from "../../lab/lib/run.ts";
import type { ComponentState } from "../../lab/lib/state.ts";
import { loadTopology } from "../../lab/lib/topology.ts";
import { scenarios } from "../../scenarios/index.ts";

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
