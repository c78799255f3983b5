import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../lab/run/lab.ts";
import {
  downAndCheckNothingLeft,
  originate,
  scratchDir,
  subscribeEvents,
  watchHealth,
} from "./lab-helpers.ts";

const scratch = scratchDir();
let lab: Lab;

beforeAll(async () => {
  lab = await Lab.up({ topology: "sharded-2", stateFile: null, resultsDir: scratch.resultsDir });
});
afterAll(async () => {
  await lab?.down();
  scratch.remove();
});

describe("the sharded-2 topology, embedded (two FreeSWITCH doubles behind Kamailio, a gateway each, one NATS)", () => {
  it("comes up with both shards healthy, each gateway publishing its own FreeSWITCH's events", async () => {
    const status = await lab.status();
    expect(status.components.filter((c) => c.health !== "ok")).toEqual([]);
    expect(status.components.map((c) => c.name).sort()).toEqual([
      "carrier",
      "fakeswitch",
      "fakeswitch-2",
      "fault-proxy",
      "gateway",
      "gateway-2",
      "kamailio",
      "nats",
    ]);
    const events = await subscribeEvents(lab.natsUrls()[0] as string);
    try {
      const first = await originate(lab, lab.gatewayUrl("gateway"));
      const second = await originate(lab, lab.gatewayUrl("gateway-2"));
      expect((await events.waitFor((e) => e.call_uuid === first)).source_host).toBe("fakeswitch");
      expect((await events.waitFor((e) => e.call_uuid === second)).source_host).toBe("fakeswitch-2");
    } finally {
      await events.close();
    }
  });

  it("a fault on one shard's ESL link takes down that gateway only", async () => {
    const shard1 = watchHealth(lab.gatewayUrl("gateway"));
    const shard2 = watchHealth(lab.gatewayUrl("gateway-2"));
    try {
      await lab.fault("esl-2", { kind: "refuse" });
      await lab.fault("esl-2", { kind: "cut", mode: "rst" });
      await shard2.until([200, 503]);
      await lab.clearFault("esl-2");
      await shard2.until([200, 503, 200]);
      expect(shard1.seen).not.toContain(503);
    } finally {
      await Promise.all([shard1.stop(), shard2.stop()]);
    }
  });

  it("tears down with no process or port left behind", async () => {
    await downAndCheckNothingLeft(lab);
  });
});
