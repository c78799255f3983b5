import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import {
  DockerComposeEnvironment,
  getContainerRuntimeClient,
  type StartedDockerComposeEnvironment,
  Wait,
} from "testcontainers";
import { afterAll, describe, expect, it } from "vitest";
import { FaultControlClient } from "../../lab/faults/fault-control.ts";
import { dispatcherTargets } from "../../lab/kamailio/kamailio.ts";
import { composeFile, writeComposeSecrets } from "../../lab/plan/compose.ts";
import { freePorts, freeUdpPort } from "../../lab/plan/ports.ts";
import { scratchDir, watchHealth } from "./lab-helpers.ts";

/** Why this machine cannot run containers, or undefined when a Docker engine answers. */
const noEngine = await getContainerRuntimeClient().then(
  () => undefined,
  (error: Error) => error.message,
);
if (noEngine)
  console.warn(`compose/compose.yaml on testcontainers: SKIPPED, no Docker engine was found (${noEngine})`);

const scratch = scratchDir();
let environment: StartedDockerComposeEnvironment | undefined;
afterAll(async () => {
  await environment?.down({ removeVolumes: true });
  scratch.remove();
});

describe("compose/compose.yaml on a Docker engine (testcontainers)", () => {
  it("runs a real FreeSWITCH, Kamailio, NATS, the fault proxy and the gateway; an ESL cut takes /health to 503 and back", async ({
    skip,
  }) => {
    if (noEngine) skip(`no Docker engine was found: ${noEngine}`);
    const secrets = {
      eslPassword: randomBytes(18).toString("base64url"),
      jwtSecret: randomBytes(32).toString("base64url"),
      controlToken: randomBytes(18).toString("base64url"),
    };
    const secretsDir = join(scratch.dir, "secrets");
    writeComposeSecrets(secretsDir, secrets);
    const [gatewayPort, controlPort, natsPort, monitorPort, kamcmdPort] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const kamailioRpcPort = await freeUdpPort();
    environment = await new DockerComposeEnvironment(dirname(composeFile), "compose.yaml")
      .withEnvironment({
        LAB_SECRETS_DIR: secretsDir,
        LAB_GATEWAY_PORT: String(gatewayPort),
        LAB_FAULT_CONTROL_PORT: String(controlPort),
        LAB_NATS_PORT: String(natsPort),
        LAB_NATS_MONITOR_PORT: String(monitorPort),
        LAB_KAMAILIO_SIP_PORT: String(await freeUdpPort()),
        LAB_KAMAILIO_CTL_PORT: String(kamcmdPort),
        LAB_KAMAILIO_RPC_PORT: String(kamailioRpcPort),
      })
      .withBuild()
      .withWaitStrategy("gateway-1", Wait.forHealthCheck())
      .withWaitStrategy("kamailio-1", Wait.forHealthCheck())
      .withStartupTimeout(300_000)
      .up();

    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const health = await fetch(`${gatewayUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ esl: { authenticated: true }, nats: { state: "connected" } });

    // Kamailio's dispatcher has FreeSWITCH's SIP profile as its one destination, read over JSON-RPC.
    expect(await dispatcherTargets(`udp:127.0.0.1:${kamailioRpcPort}`)).toHaveLength(1);

    const watch = watchHealth(gatewayUrl);
    const control = new FaultControlClient(`http://127.0.0.1:${controlPort}`, secrets.controlToken);
    expect((await control.cut("esl", "rst")).cut).toBe(1);
    await watch.until([200, 503, 200], 20_000);
    await watch.stop();
  }, 600_000);
});
