import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeSwitchOptions } from "../../src/fakeswitch/index.ts";
import { farEnds, type LabHandle } from "../../src/harness/run/lab-handle.ts";
import type { Fault } from "../../src/harness/run/scenario.ts";
import { type GatewayUnderTest, startGatewayUnderTest, testJwtSecret } from "../helpers/gateway.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats.ts";

export interface InProcessLab {
  handle: LabHandle;
  gateway: GatewayUnderTest;
  nats: TestNatsServer;
  /** Every fault the handle was asked for, in order. */
  faults: Array<{ target: string; fault: Fault }>;
  stop(): Promise<void>;
}

/**
 * A lab for harness tests: a real nats-server (JetStream on, as in every lab, so a run counts what it
 * stored), and the gateway and the FreeSWITCH double in this process.
 * Faults go straight to the double (the ESL link's faults are the double's connection faults).
 */
export async function startInProcessLab(
  options: { fakeswitch?: Partial<FakeSwitchOptions>; env?: Record<string, string> } = {},
): Promise<InProcessLab> {
  const jetStreamDir = mkdtempSync(join(tmpdir(), "in-process-lab-js-"));
  const nats = await startNatsServer({ jetStreamDir });
  const gateway = await startGatewayUnderTest({
    natsUrl: nats.url,
    fakeswitch: options.fakeswitch,
    env: options.env,
  });
  const faults: InProcessLab["faults"] = [];
  const fs = gateway.fs;
  const handle: LabHandle = {
    topology: "in-process",
    mode: "test",
    gateways: [
      {
        name: "gateway",
        url: gateway.base,
        destination: farEnds.double,
        freeswitch: { name: "fakeswitch", double: true, runByLab: true },
      },
    ],
    natsUrls: [nats.url],
    jwtSecret: testJwtSecret,
    processes: () => [],
    async fault(target, fault) {
      faults.push({ target, fault });
      if (target !== "esl" && target !== "fakeswitch")
        throw new Error(`no target ${target} in the in-process lab`);
      switch (fault.kind) {
        case "cut":
          return fs.dropConnections(fault.mode);
        case "blackhole":
          return fs.halfOpen(true);
        case "clear":
          return fs.halfOpen(false);
        case "restart":
          return fs.restart();
        case "delay-replies":
          return fs.delayReplies(fault.ms);
        case "event-burst":
          return fs.eventBurst(fault.count, fault.event);
        default:
          throw new Error(`the in-process lab cannot ${fault.kind}`);
      }
    },
  };
  return {
    handle,
    gateway,
    nats,
    faults,
    async stop() {
      await gateway.stop();
      await nats.stop();
      rmSync(jetStreamDir, { recursive: true, force: true });
    },
  };
}
