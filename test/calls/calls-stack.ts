import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pino from "pino";
import { labAllowedVariables } from "../../lab/plan/embedded-gateway.ts";
import { loadCallsConfig } from "../../src/calls/config.ts";
import { openPglite } from "../../src/calls/pglite-client.ts";
import { type CallsPipeline, startCallsPipeline } from "../../src/calls/pipeline.ts";
import type { SqlClient } from "../../src/calls/sql.ts";
import { type FakeSwitch, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { testEslPassword, testJwtSecret } from "../helpers/gateway.ts";
import { freeLoopbackPort, startNatsServer, type TestNatsServer } from "../helpers/nats.ts";

/** The gateway as its own process, so a test can SIGKILL it like a crash and start it again on its port. */
export interface GatewayProcess {
  url: string;
  port: number;
  kill(): Promise<void>;
}

export async function startGatewayProcess(options: {
  eslPort: number;
  natsUrl: string;
  httpPort?: number;
}): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/gateway/main.ts"], {
    env: {
      ...process.env,
      FS_ESL_PORT: String(options.eslPort),
      FS_ESL_PASSWORD: testEslPassword,
      JWT_SECRET: testJwtSecret,
      HTTP_PORT: String(options.httpPort ?? 0),
      NATS_URL: options.natsUrl,
      ESL_BACKOFF_INITIAL_MS: "20",
      ESL_BACKOFF_MAX_MS: "200",
      LOG_LEVEL: "warn",
      ALLOWED_VARIABLES: labAllowedVariables.join(","),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      if (line.startsWith('{"ready"')) resolve((JSON.parse(line) as { ready: { http: string } }).ready.http);
    });
    void exited.then(() => reject(new Error("gateway process exited before it was ready")));
  });
  // Ready when ESL is up: /health answers 200.
  for (
    const deadline = Date.now() + 10_000;
    !(await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    ));
  ) {
    if (Date.now() > deadline) throw new Error("gateway not healthy in 10 s");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    url,
    port: Number(new URL(url).port),
    async kill() {
      child.kill("SIGKILL");
      await exited;
      process.off("exit", killOnExit);
    },
  };
}

/** nats-server with JetStream, the FreeSWITCH double, the gateway process and the pipeline on PGlite. */
export interface CallsStack {
  nats: TestNatsServer;
  fs: FakeSwitch;
  gateway: GatewayProcess;
  db: SqlClient;
  pipeline: CallsPipeline;
  api: string;
  logLines: string[];
  /** A second pipeline process's worth of roles on the same NATS and database. */
  startMore(env: Record<string, string>): Promise<CallsPipeline>;
  stop(): Promise<void>;
}

function pipelineEnv(stack: { nats: TestNatsServer; gatewayUrl: string }, env: Record<string, string> = {}) {
  return {
    NATS_URL: stack.nats.url,
    GATEWAY_URL: stack.gatewayUrl,
    JWT_SECRET: testJwtSecret,
    CALLS_HTTP_PORT: "0",
    CALLS_DIAL_STRING: "sofia/internal/{to}@127.0.0.1:5090",
    // One name more than the gateway allows: a call the API takes and the gateway refuses (dead-lettered).
    ALLOWED_VARIABLES: [...labAllowedVariables, "x_tenant"].join(","),
    ORCHESTRATOR_ACK_WAIT_MS: "3000",
    ...env,
  };
}

export async function startCallsStack(): Promise<CallsStack> {
  const storeDir = mkdtempSync(join(tmpdir(), "calls-js-"));
  const nats = await startNatsServer({ jetStreamDir: storeDir });
  const fs = await startFakeSwitch({
    password: testEslPassword,
    port: 0,
    sessionsPerSecond: 1000,
    heartbeatIntervalMs: 500,
    profile: { answerDelayMs: 10 },
  });
  const db = await openPglite(undefined);
  const logLines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
  const pipelines: CallsPipeline[] = [];
  // Not yet running: the pipeline starts first (its FS_EVENTS stream must exist before the gateway
  // publishes) and is told the address the gateway will take.
  const gatewayPort = await freeLoopbackPort();
  let gateway: GatewayProcess = {
    url: `http://127.0.0.1:${gatewayPort}`,
    port: gatewayPort,
    kill: async () => {},
  };
  const startMore = async (env: Record<string, string>) => {
    const config = loadCallsConfig(pipelineEnv({ nats, gatewayUrl: gateway.url }, env));
    const pipeline = await startCallsPipeline(config, log, { db });
    pipelines.push(pipeline);
    return pipeline;
  };
  const stop = async () => {
    for (const pipeline of pipelines.reverse()) await pipeline.stop();
    await stack?.gateway.kill();
    await gateway.kill();
    await fs.close();
    await db.close();
    await nats.stop();
    rmSync(storeDir, { recursive: true, force: true });
  };
  let stack: CallsStack | undefined;
  try {
    const pipeline = await startMore({});
    gateway = await startGatewayProcess({ eslPort: fs.port, natsUrl: nats.url, httpPort: gatewayPort });
    stack = { nats, fs, db, logLines, gateway, pipeline, api: pipeline.apiUrl as string, startMore, stop };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}
