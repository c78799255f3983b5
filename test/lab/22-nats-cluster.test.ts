import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../lab/run/lab.ts";
import { downAndCheckNothingLeft, originate, scratchDir, subscribeEvents } from "./lab-helpers.ts";

const scratch = scratchDir();
let lab: Lab;

beforeAll(async () => {
  lab = await Lab.up({ topology: "nats-cluster", stateFile: null, resultsDir: scratch.resultsDir });
});
afterAll(async () => {
  await lab?.down();
  scratch.remove();
});

/** The NATS node the gateway's connection is on, from each node's /connz (the proxy is the peer it sees). */
async function gatewayNode(): Promise<string | undefined> {
  for (const node of lab.state.components.filter((c) => c.kind === "nats")) {
    const connz = await fetch(`${node.endpoints.monitor}/connz`).then(
      (r) => r.json() as Promise<{ connections?: { name?: string }[] }>,
      () => ({ connections: [] }),
    );
    if (connz.connections?.some((c) => c.name === "fs-esl-gateway")) return node.name;
  }
  return undefined;
}

async function gatewayNats(): Promise<string> {
  const body = (await (await fetch(`${lab.gatewayUrl()}/health`)).json()) as { nats: { state: string } };
  return body.nats.state;
}

describe("the nats-cluster topology, embedded (3-node JetStream cluster, the gateway given all three)", () => {
  it("comes up with three healthy NATS nodes and the gateway connected to one of them", async () => {
    const status = await lab.status();
    expect(status.components.filter((c) => c.health !== "ok")).toEqual([]);
    expect(status.components.filter((c) => c.kind === "nats").map((c) => c.name)).toEqual([
      "nats-1",
      "nats-2",
      "nats-3",
    ]);
    expect(lab.state.gateways[0]?.env.NATS_URL?.split(",")).toHaveLength(3);
    expect(await gatewayNode()).toBeDefined();
  });

  it("killing the gateway's NATS node: the gateway fails over and keeps publishing through another node", async () => {
    const victim = (await gatewayNode()) as string;
    const survivor = lab.state.components.find((c) => c.kind === "nats" && c.name !== victim);
    const events = await subscribeEvents(survivor?.endpoints.client as string);
    try {
      expect(await lab.fault(victim, { kind: "kill" })).toMatch(
        new RegExp(`^${victim} \\(pid \\d+\\) killed \\(SIGKILL\\)$`),
      );
      const callUuid = await originate(lab);
      await events.waitFor((e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_ANSWER");
      const now = await gatewayNode();
      expect(now).toBeDefined();
      expect(now).not.toBe(victim);
      expect(await gatewayNats()).toBe("connected");
      expect((await lab.status()).components.find((c) => c.name === victim)).toMatchObject({
        running: false,
        health: "down",
      });
    } finally {
      await events.close();
    }
  });

  it("the killed node restarts and rejoins the cluster", async () => {
    const killed = (await lab.status()).components.find((c) => c.kind === "nats" && !c.running)
      ?.name as string;
    expect(killed).toBeDefined();
    expect(await lab.fault(killed, { kind: "start" })).toMatch(new RegExp(`^${killed} started`));
    expect((await lab.status()).components.filter((c) => c.health !== "ok")).toEqual([]);
  });

  it("tears down with no process or port left behind", async () => {
    await downAndCheckNothingLeft(lab);
  });
});
