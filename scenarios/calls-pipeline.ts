/**
 * `calls-pipeline`: POST /v1/calls at a fixed arrival rate through the whole pipeline (calls API →
 * JetStream → orchestrators → gateway → the FreeSWITCH double → fs.events → CDR writer → PGlite), once
 * without faults and once per fault kind, and reports setup latency, CDR completeness and what each fault
 * cost. Run: `npx tsx scenarios/calls-pipeline.ts [--rate 200] [--duration 60] [--faults none,gateway-restart,…]`.
 * Results: `results/calls-pipeline-<stamp>/summary.json` (and each run's process logs beside it).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import {
  type CallsPipelineProcesses,
  type ManagedProcess,
  runProcess,
  startCallsPipelineProcesses,
  stopProcess,
  tsxProcess,
} from "../lab/lib/calls-pipeline.ts";
import { freePorts } from "../lab/lib/ports.ts";
import { CallStore, type CallTally, type CallTimings } from "../src/calls/call-store.ts";
import { openPgPool } from "../src/calls/pg-client.ts";
import { runArrivals } from "../src/harness/arrival.ts";

export type PipelineFault = "none" | "gateway-restart" | "nats-restart" | "orchestrator-crash";
export const pipelineFaults: readonly PipelineFault[] = [
  "none",
  "gateway-restart",
  "nats-restart",
  "orchestrator-crash",
];

export const callsPipelineScenario = {
  name: "calls-pipeline",
  description:
    "POST /v1/calls at 200/s for 60 s; each call answered after 100 ms and held 1 s; one run per fault, the fault 20 s in",
  rate: 200,
  durationMs: 60_000,
  faultAtMs: 20_000,
  /** How long a crashed orchestrator stays down before it is started again. */
  orchestratorDownMs: 5_000,
  fakeswitch: {
    "answer-delay": "100",
    hold: "1000",
    sps: "5000",
    "max-sessions": "20000",
    heartbeat: "1000",
  },
  /** The events the CDR writer acts on; the rest would only cost the gateway, NATS and the writer. */
  gatewayEvents: "CHANNEL_CREATE,CHANNEL_ANSWER,CHANNEL_HANGUP_COMPLETE,BACKGROUND_JOB,HEARTBEAT",
  orchestrators: 2,
  /** After the load, how long calls get to end and their CDRs to be written. */
  drainMs: 30_000,
  /** A CDR written later than this after its hangup counts as late. */
  lateCdrMs: 5_000,
} as const;

export interface PipelineRunResult {
  fault: PipelineFault;
  posted: number;
  accepted: number;
  refused: number;
  tally: CallTally;
  timings: CallTimings;
  /** Answered calls with exactly one CDR, over answered calls. */
  cdrCompleteness: number;
  /** Answered calls that never got a CDR. */
  lostCdrs: number;
  lateCdrs: number;
  /** Accepted calls never placed or never ended (still queued, ringing or in progress after the drain). */
  unfinished: number;
  /** The host's 1-minute load average at the start and the end: other work on the machine skews latency. */
  loadAverage: { start: number; end: number };
}

const jetStreamReady = (line: string) => (line.includes("Server is ready") ? {} : undefined);

/** One run: the stack on loopback, the load, the fault, the drain, the figures. */
export async function runCallsPipeline(
  fault: PipelineFault,
  runDir: string,
  settings: { rate: number; durationMs: number } = callsPipelineScenario,
): Promise<PipelineRunResult> {
  const s = callsPipelineScenario;
  const loadAtStart = loadavg()[0] ?? 0;
  mkdirSync(runDir, { recursive: true });
  const [natsPort, gatewayPort] = await freePorts(2);
  const jwtSecret = randomBytes(32).toString("hex");
  const started: ManagedProcess[] = [];
  const start = async (proc: ManagedProcess) => {
    await runProcess(proc, runDir);
    started.push(proc);
    return proc;
  };
  const nats: ManagedProcess = {
    name: "nats",
    command: process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server",
    args: ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", join(runDir, "jetstream")],
    env: {},
    ready: jetStreamReady,
  };
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  let pipeline: CallsPipelineProcesses | undefined;
  let db: ReturnType<typeof openPgPool> | undefined;
  try {
    await start(nats);
    const fakeswitch = await start({
      name: "fakeswitch",
      command: process.execPath,
      args: [
        "--import",
        "tsx",
        "src/fakeswitch/cli.ts",
        "--port",
        "0",
        ...Object.entries(s.fakeswitch).flatMap(([flag, value]) => [`--${flag}`, value]),
      ],
      env: { FAKESWITCH_PASSWORD: "calls-pipeline-esl" },
      ready: (line) => (line.startsWith('{"listening"') ? JSON.parse(line) : undefined),
    });
    const listening = fakeswitch.readyInfo?.listening as { port: number } | undefined;
    if (!listening) throw new Error("the FreeSWITCH double did not say where it listens");
    const eslPort = String(listening.port);
    const gateway = tsxProcess("gateway", "src/gateway/main.ts", {
      FS_ESL_PORT: eslPort,
      FS_ESL_PASSWORD: "calls-pipeline-esl",
      JWT_SECRET: jwtSecret,
      HTTP_PORT: String(gatewayPort),
      NATS_URL: natsUrl,
      FS_EVENTS: s.gatewayEvents,
      LOG_LEVEL: "warn",
    });
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // The pipeline before the gateway: the FS_EVENTS stream must exist before events are worth keeping.
    pipeline = await startCallsPipelineProcesses({
      natsUrl,
      gatewayUrl,
      jwtSecret,
      database: { pgliteDir: join(runDir, "pglite") },
      logDir: runDir,
      orchestrators: s.orchestrators,
      env: { LOG_LEVEL: "warn" },
    });
    await start(gateway);
    await waitFor(`${gatewayUrl}/health`);
    db = openPgPool(pipeline.databaseUrl, 2);
    const store = new CallStore(db);

    const api = new Pool(pipeline.apiUrl, { connections: 32 });
    let accepted = 0;
    let refused = 0;
    const from = new Date();
    const faultTimer = setTimeout(() => {
      void injectFault(fault, { nats, gateway, pipeline: pipeline as CallsPipelineProcesses, runDir });
    }, s.faultAtMs);
    const load = await runArrivals({
      schedule: { executor: "constant-arrival-rate", rate: settings.rate, durationMs: settings.durationMs },
      maxInFlight: 2_000,
      gracefulStopMs: 10_000,
      start: async ({ signal }) => {
        const response = await api.request({
          method: "POST",
          path: "/v1/calls",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ to: "+14155550100", from: "+15105550100" }),
          signal,
        });
        await response.body.dump();
        if (response.statusCode === 202) accepted++;
        else refused++;
      },
    });
    clearTimeout(faultTimer);
    await api.close();
    const to = new Date();
    await drain(store, from, to, s.drainMs);
    const tally = await store.tally(from, to);
    const timings = await store.timings(from, to);
    const lateCdrs = await store.cdrsLaterThan(from, to, s.lateCdrMs);
    return {
      fault,
      posted: load.started,
      accepted,
      refused: refused + load.dropped + load.failed,
      tally,
      timings,
      cdrCompleteness: tally.answered === 0 ? 0 : tally.answered_with_cdr / tally.answered,
      lostCdrs: tally.answered - tally.answered_with_cdr,
      lateCdrs,
      unfinished: tally.queued + tally.ringing + tally.in_progress,
      loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
    };
  } finally {
    await db?.close();
    await pipeline?.stop();
    for (const proc of started.reverse()) await stopProcess(proc);
  }
}

async function injectFault(
  fault: PipelineFault,
  stack: { nats: ManagedProcess; gateway: ManagedProcess; pipeline: CallsPipelineProcesses; runDir: string },
): Promise<void> {
  const s = callsPipelineScenario;
  const restart = async (proc: ManagedProcess) => {
    await stopProcess(proc);
    await runProcess(proc, stack.runDir);
  };
  try {
    if (fault === "gateway-restart") await restart(stack.gateway);
    else if (fault === "nats-restart") await restart(stack.nats);
    else if (fault === "orchestrator-crash") {
      await stack.pipeline.kill("calls-orchestrator-1");
      await new Promise((resolve) => setTimeout(resolve, s.orchestratorDownMs));
      await stack.pipeline.start("calls-orchestrator-1");
    }
  } catch (error) {
    console.error(`fault ${fault} failed: ${(error as Error).message}`);
  }
}

/** Until no call of the window is still on its way (or the time is up). */
async function drain(store: CallStore, from: Date, to: Date, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const t = await store.tally(from, to);
    if (t.queued + t.ringing + t.in_progress === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function waitFor(url: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} not healthy in 20 s`);
}

function formatTable(results: PipelineRunResult[]): string {
  const ms = (v: number | null) => (v === null ? "-" : v.toFixed(0));
  const rows = results.map((r) =>
    [
      r.fault,
      r.accepted,
      r.tally.answered,
      r.tally.answered_with_cdr,
      `${(r.cdrCompleteness * 100).toFixed(2)}%`,
      r.lostCdrs,
      r.lateCdrs,
      r.unfinished,
      r.tally.failed,
      `${ms(r.timings.acceptToAnswer.p50)}/${ms(r.timings.acceptToAnswer.p95)}/${ms(r.timings.acceptToAnswer.p99)}/${ms(r.timings.acceptToAnswer.max)}`,
      `${ms(r.timings.hangupToCdr.p50)}/${ms(r.timings.hangupToCdr.p99)}/${ms(r.timings.hangupToCdr.max)}`,
      `${r.loadAverage.start.toFixed(1)}→${r.loadAverage.end.toFixed(1)}`,
    ].join(" | "),
  );
  return [
    "fault | accepted | answered | with CDR | completeness | lost CDRs | late CDRs (>5 s) | unfinished | failed | setup ms p50/p95/p99/max | CDR lag ms p50/p99/max | load avg",
    "---|---|---|---|---|---|---|---|---|---|---|---",
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: "string", default: String(callsPipelineScenario.rate) },
      duration: { type: "string", default: String(callsPipelineScenario.durationMs / 1000) },
      faults: { type: "string", default: pipelineFaults.join(",") },
    },
  });
  const rate = Number(values.rate);
  const durationMs = Number(values.duration) * 1000;
  const faults = values.faults.split(",") as PipelineFault[];
  for (const fault of faults) {
    if (!pipelineFaults.includes(fault))
      throw new Error(`unknown fault ${fault} (${pipelineFaults.join(", ")})`);
  }
  if (!(rate > 0 && rate <= 2_000) || !(durationMs > 0 && durationMs <= 600_000)) {
    throw new Error("--rate must be in (0, 2000] and --duration in (0, 600] seconds");
  }
  const dir = join("results", `calls-pipeline-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const results: PipelineRunResult[] = [];
  for (const fault of faults) {
    console.log(`calls-pipeline: ${fault}, ${rate}/s for ${durationMs / 1000} s…`);
    results.push(await runCallsPipeline(fault, join(dir, fault), { rate, durationMs }));
    writeFileSync(join(dir, "summary.json"), `${JSON.stringify({ rate, durationMs, results }, null, 2)}\n`);
  }
  console.log(formatTable(results));
  console.log(`results: ${join(dir, "summary.json")}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
