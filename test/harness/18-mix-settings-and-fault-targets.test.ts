import { describe, expect, it } from "vitest";
import { scenarios } from "../../scenarios/index.ts";
import { RequestMixer } from "../../src/harness/load/request-mix.ts";
import { CallTracker } from "../../src/harness/measure/telecom.ts";
import { FaultSchedule } from "../../src/harness/run/fault-schedule.ts";
import { resolveFaultTargets } from "../../src/harness/run/fault-targets.ts";
import { farEnds, type LabHandle, LabMismatchError } from "../../src/harness/run/lab-handle.ts";
import { applyRunArgs, RunArgError } from "../../src/harness/run/run-options.ts";
import { backoffResetWaitMs } from "../../src/harness/run/scenario-runner.ts";
import { mixOf } from "../../src/harness/run/traffic.ts";

const smoke = scenarios.smoke!;
const callControl = scenarios["call-control"]!;

type LabGateway = LabHandle["gateways"][number];
const doubleGateway: LabGateway = {
  name: "gateway",
  url: "http://127.0.0.1:1",
  destination: farEnds.double,
  freeswitch: { name: "fakeswitch", double: true, runByLab: true },
};
const realGateway: LabGateway = {
  name: "gateway",
  url: "http://127.0.0.1:1",
  destination: farEnds.freeswitch,
  freeswitch: { name: "freeswitch", double: false, runByLab: true },
};
const externalGateway: LabGateway = {
  name: "gateway",
  url: "http://127.0.0.1:1",
  freeswitch: { name: "freeswitch", double: false, runByLab: false },
};

describe("run options: what the load's gateway commands say", () => {
  it("sets the destination, application, transfer target, played file and hold of the mix", () => {
    const { scenario } = applyRunArgs(callControl, {
      destination: "sofia/gateway/pstn/14155550100",
      application: "playback:tone_stream://%(1000,0,440)",
      "transfer-extension": "park@default",
      play: "silence_stream://500",
      hold: "5000-15000",
    });
    expect(scenario.load.mix).toEqual({
      weights: callControl.load.mix?.weights,
      destination: "sofia/gateway/pstn/14155550100",
      application: { name: "playback", args: "tone_stream://%(1000,0,440)" },
      transfer: { extension: "park", context: "default" },
      playFile: "silence_stream://500",
      holdMs: [5_000, 15_000],
    });
    // A real FreeSWITCH's calls last as long as the carrier holds them: the range's middle.
    expect(scenario.lab?.carrierHoldMs).toBe(10_000);
    const plain = applyRunArgs(smoke, { application: "echo", "transfer-extension": "9999", hold: "800" });
    expect(plain.scenario.load.mix).toMatchObject({
      application: { name: "echo" },
      transfer: { extension: "9999" },
      holdMs: [800, 800],
    });
    expect(plain.scenario.lab?.carrierHoldMs).toBe(800);
  });

  it("refuses malformed values, and mix settings for a scenario whose calls the pipeline dials", () => {
    expect(() => applyRunArgs(smoke, { hold: "15000-5000" })).toThrow(/--hold must be <ms> or <min>-<max>/);
    expect(() => applyRunArgs(smoke, { hold: "soon" })).toThrow(RunArgError);
    expect(() => applyRunArgs(smoke, { application: "park()" })).toThrow(/--application must be/);
    expect(() => applyRunArgs(smoke, { "transfer-extension": "9999@" })).toThrow(/--transfer-extension/);
    expect(() => applyRunArgs(smoke, { destination: " " })).toThrow(/--destination must not be empty/);
    expect(() => applyRunArgs(scenarios["calls-pipeline"]!, { destination: "sofia/x" })).toThrow(
      /--destination: calls-pipeline places its calls through the calls API/,
    );
  });

  it("scales the warm-up with --rate, as the measured phases", () => {
    // smoke: warm-up 20/s, peak 200/s; at --rate 50 a 20/s warm-up would be 40 % of the load, not 10 %.
    const { scenario } = applyRunArgs(smoke, { rate: "50" });
    expect(scenario.phases[0]?.schedule).toEqual({
      executor: "constant-arrival-rate",
      rate: 5,
      durationMs: 2_000,
    });
  });

  it("passes --skip-fault to the runner", () => {
    expect(applyRunArgs(smoke, { "skip-fault": ["esl cut RST"] }).options.skipFaults).toEqual([
      "esl cut RST",
    ]);
  });
});

describe("a mix's destinations", () => {
  it("are each gateway's far end unless the mix names one, and an external FreeSWITCH needs one", () => {
    const two = [doubleGateway, { ...realGateway, name: "gateway-2", url: "http://127.0.0.1:2" }];
    expect(mixOf({ weights: { originate: 1 } }, { gateways: two }).gateways).toEqual({
      "http://127.0.0.1:1": { destination: farEnds.double, double: true },
      "http://127.0.0.1:2": { destination: farEnds.freeswitch, double: false },
    });
    expect(() => mixOf({ weights: { originate: 1 } }, { gateways: [externalGateway] })).toThrow(
      /no dial string that answers from the FreeSWITCH of gateway \(freeswitch[\s\S]*--destination/,
    );
    expect(
      mixOf(
        { weights: { originate: 1 }, destination: "loopback/echo/default" },
        { gateways: [externalGateway] },
      ).gateways,
    ).toEqual({ "http://127.0.0.1:1": { destination: "loopback/echo/default", double: false } });
  });

  it("send the per-call hold to the double only (a real FreeSWITCH's caller policy may refuse the name)", () => {
    const origins = ["http://127.0.0.1:1", "http://127.0.0.1:2"];
    const mix = {
      weights: { originate: 1 },
      holdMs: [2_000, 2_000] as const,
      application: { name: "echo" },
      gateways: {
        [origins[0]!]: { destination: "sofia/internal/1000@127.0.0.1:5090", double: true },
        [origins[1]!]: { destination: "sofia/external/1000@carrier", double: false },
      },
    };
    const mixer = new RequestMixer(mix, "token", new CallTracker(0), origins, () => 0);
    const [toDouble, toReal] = [mixer.next().spec.body, mixer.next().spec.body];
    expect(toDouble).toMatchObject({
      application: { name: "echo" },
      variables: { fakeswitch_hold_ms: 2_000 },
    });
    expect(toReal).toMatchObject({
      destination: "sofia/external/1000@carrier",
      application: { name: "echo" },
    });
    expect(toReal).not.toHaveProperty("variables");
  });
});

describe("fault targets by role", () => {
  const reconnect = scenarios.reconnect!;

  it("resolve to the FreeSWITCH of the gateway: the double on single, the real one on single-real", () => {
    const restart = (gateways: LabGateway[]) =>
      resolveFaultTargets(reconnect.faults ?? [], gateways).find((f) => f.fault.kind === "restart");
    expect(restart([doubleGateway])?.target).toBe("fakeswitch");
    expect(restart([realGateway])?.target).toBe("freeswitch");
    const failover = scenarios["dispatcher-failover"]!.faults ?? [];
    const second = {
      ...doubleGateway,
      name: "gateway-2",
      freeswitch: { ...doubleGateway.freeswitch, name: "fakeswitch-2" },
    };
    expect(resolveFaultTargets(failover, [doubleGateway, second]).map((f) => f.target)).toEqual([
      "fakeswitch-2",
    ]);
    expect(() => resolveFaultTargets(failover, [doubleGateway])).toThrow(
      /there is no gateway 2, the lab has 1/,
    );
  });

  it("refuse the double's faults on a real FreeSWITCH, before the run", () => {
    for (const name of ["backpressure", "event-storm"]) {
      expect(() => resolveFaultTargets(scenarios[name]!.faults ?? [], [realGateway])).toThrow(
        LabMismatchError,
      );
      expect(() => resolveFaultTargets(scenarios[name]!.faults ?? [], [realGateway])).toThrow(
        /needs the FreeSWITCH double: freeswitch is a real FreeSWITCH/,
      );
    }
    expect(() => resolveFaultTargets(scenarios.backpressure!.faults ?? [], [doubleGateway])).not.toThrow();
  });

  it("refuse restarting an external FreeSWITCH, and run without that step when told", () => {
    expect(() => resolveFaultTargets(reconnect.faults ?? [], [externalGateway])).toThrow(
      /freeswitch is an external FreeSWITCH, and the lab cannot restart someone else's FreeSWITCH; run without this step: --skip-fault "FreeSWITCH restart"/,
    );
    const kept = resolveFaultTargets(reconnect.faults ?? [], [externalGateway], ["FreeSWITCH restart"]);
    expect(kept.map((f) => f.target)).toEqual(["esl", "esl", "esl"]);
    expect(() => resolveFaultTargets(reconnect.faults ?? [], [externalGateway], ["restart"])).toThrow(
      /--skip-fault "restart": no such fault; its faults are "esl cut FIN", "esl cut RST", "esl half-open", "FreeSWITCH restart"/,
    );
  });
});

describe("the gateway's reconnect backoff between runs", () => {
  it("is waited out until each ESL connection will be up 30 s at the first outage", () => {
    // Up 5 s, first outage 10 s in: 15 s to go.
    expect(backoffResetWaitMs([5], 10_000)).toBe(15_000);
    expect(backoffResetWaitMs([5, 25], 2_000)).toBe(23_000);
    expect(backoffResetWaitMs([40], 0)).toBe(0);
    expect(backoffResetWaitMs([undefined], 0)).toBe(0);
    expect(backoffResetWaitMs([1], undefined)).toBe(0);
  });
});

describe("a fault that is over once applied", () => {
  it("ends when the lab has applied it: a restarted FreeSWITCH answering again, from which reconnects are timed", async () => {
    const handle = {
      fault: () => new Promise<void>((resolve) => setTimeout(resolve, 300)),
    } as unknown as LabHandle;
    const start = performance.now();
    const schedule = new FaultSchedule(
      [{ at: 0, target: "freeswitch", fault: { kind: "restart" } }],
      handle,
      start,
      () => {},
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await schedule.stop();
    const [restart] = schedule.applied;
    expect(restart!.clearedAt! - restart!.requestedAt!).toBeGreaterThanOrEqual(295);
  });
});
