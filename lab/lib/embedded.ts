import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildServices } from "./build.ts";
import { freePort } from "./ports.ts";
import { Service } from "./service.ts";
import { ensureSystemDependencies, natsServer } from "./system-deps.ts";

export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const loopback = "127.0.0.1";

export interface LabSecrets {
  eslPassword: string;
  jwtSecret: string;
}

export interface EmbeddedLabOptions {
  /** Folder for this run's logs (created). */
  runDir: string;
  /** FreeSWITCH double call profile flags, e.g. { "answer-delay": "20", hold: "500" }. */
  fakeswitchFlags?: Record<string, string>;
  /** Extra gateway environment (thresholds, log level...). */
  gatewayEnv?: Record<string, string>;
}

export interface EmbeddedLab {
  secrets: LabSecrets;
  nats: { url: string; port: number; service: Service };
  fakeswitch: { host: string; port: number; service: Service };
  gateway: { url: string; port: number; service: Service };
  services: Service[];
  /** Milliseconds from the first spawn to the gateway's ESL connection being ready. */
  startupMs: number;
  stop(): Promise<void>;
}

/** `node dist/<name>.mjs`: one plain node process per service, so its CPU and RSS are its own. */
function nodeService(file: string): { command: string; args: string[] } {
  return { command: process.execPath, args: ["--enable-source-maps", file] };
}

/**
 * The `single` topology, embedded: a real nats-server, the FreeSWITCH double and the gateway, each a
 * process on a free loopback port, logs under `runDir`. Secrets are generated per lab and passed in the
 * environment only. If any part fails to start, what did start is stopped again.
 */
export async function startEmbeddedLab(options: EmbeddedLabOptions): Promise<EmbeddedLab> {
  const started = performance.now();
  mkdirSync(options.runDir, { recursive: true });
  const [bins, built] = await Promise.all([ensureSystemDependencies([natsServer]), buildServices()]);
  const secrets: LabSecrets = {
    eslPassword: randomBytes(18).toString("base64url"),
    jwtSecret: randomBytes(32).toString("base64url"),
  };
  const services: Service[] = [];
  const stopAll = async () => {
    for (const service of [...services].reverse()) await service.stop();
  };
  try {
    const natsPort = await freePort();
    const nats = await Service.start({
      name: "nats",
      command: bins["nats-server"] as string,
      args: ["-a", loopback, "-p", String(natsPort), "-n", "lab-nats"],
      logFile: join(options.runDir, "nats.log"),
      ready: { port: { host: loopback, port: natsPort } },
    });
    services.push(nats);

    const eslPort = await freePort();
    const flags = Object.entries(options.fakeswitchFlags ?? {}).flatMap(([k, v]) => [`--${k}`, v]);
    const fs = nodeService(built.fakeswitch);
    const fakeswitch = await Service.start({
      name: "fakeswitch",
      command: fs.command,
      args: [...fs.args, "--host", loopback, "--port", String(eslPort), ...flags],
      env: { FAKESWITCH_PASSWORD: secrets.eslPassword },
      logFile: join(options.runDir, "fakeswitch.log"),
      ready: { port: { host: loopback, port: eslPort } },
    });
    services.push(fakeswitch);

    const httpPort = await freePort();
    const gw = nodeService(built.gateway);
    const natsUrl = `nats://${loopback}:${natsPort}`;
    const gateway = await Service.start({
      name: "gateway",
      command: gw.command,
      args: gw.args,
      env: {
        FS_ESL_HOST: loopback,
        FS_ESL_PORT: String(eslPort),
        FS_ESL_PASSWORD: secrets.eslPassword,
        JWT_SECRET: secrets.jwtSecret,
        HTTP_HOST: loopback,
        HTTP_PORT: String(httpPort),
        NATS_URL: natsUrl,
        SOURCE_HOST: "lab-fs-1",
        LOG_LEVEL: "info",
        ...options.gatewayEnv,
      },
      logFile: join(options.runDir, "gateway.log"),
      ready: { line: /"ready":/ },
    });
    services.push(gateway);
    const gatewayUrl = `http://${loopback}:${httpPort}`;
    await waitForHealthy(gatewayUrl, 10_000);

    return {
      secrets,
      nats: { url: natsUrl, port: natsPort, service: nats },
      fakeswitch: { host: loopback, port: eslPort, service: fakeswitch },
      gateway: { url: gatewayUrl, port: httpPort, service: gateway },
      services,
      startupMs: performance.now() - started,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Polls GET /health until 200 (ESL authenticated and subscribed). */
export async function waitForHealthy(baseUrl: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}/health`);
      const body = (await response.json()) as Record<string, unknown>;
      if (response.ok) return body;
      last = JSON.stringify(body);
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway at ${baseUrl} not healthy within ${timeoutMs} ms; last /health: ${last}`);
}
