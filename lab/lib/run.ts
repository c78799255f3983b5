import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../../scenarios/types.ts";
import { type ArrivalSchedule, rateAt } from "../../src/harness/arrival.ts";
import type { HistogramSnapshot } from "../../src/harness/histogram.ts";
import { HttpLoad, type HttpLoadResult } from "../../src/harness/http-load.ts";
import { LagMonitor } from "../../src/harness/lag.ts";
import { startProgress } from "../../src/harness/progress.ts";
import { buildSummary, newRunId, type RunSummary, writeSummary } from "../../src/harness/summary.ts";
import { Lab } from "./lab.ts";
import { defaultResultsDir } from "./paths.ts";
import { type ProcessStats, sampleProcesses } from "./proc-stats.ts";
import { formatRunReport } from "./report.ts";
import type { LabMode } from "./state.ts";

export interface WarmupSection {
  counts: HttpLoadResult["counts"];
  latency: HistogramSnapshot;
}

export interface ScenarioRun {
  summary: RunSummary & { lab: LabSection; warmup?: WarmupSection };
  summaryPath: string;
  text: string;
}

export interface LabSection {
  labId: string;
  topology: string;
  mode: LabMode;
  startupMs: number;
  /** Folder of every lab process's log (the run's own folder when the lab was started for the run). */
  logsDir: string;
  /** Where each component listened (all loopback), by component. */
  ports: Record<string, number[]>;
  processes: ProcessStats[];
  /** The gateway's own view at the end of the run (GET /health). */
  gatewayHealth: unknown;
  /** The gateway's Prometheus text at the end of the run, ESL latency and publish lag included. */
  gatewayMetricsFile: string;
}

export interface RunOptions {
  resultsDir?: string;
  log?: (line: string) => void;
  /** Run on this lab (a lab that is up); without one, a lab of the scenario's topology is started for the run and stopped after it. */
  lab?: Lab;
  /** Ends the load early; the run is still summarised and its own lab stopped. */
  signal?: AbortSignal;
}

/**
 * Runs one scenario: load through the (first) gateway, drain, measure. Everything measured goes to
 * results/<run-id>/; a lab started for the run keeps its logs there too, and is always torn down, also
 * when the run fails. The load goes to the first gateway of the topology.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<ScenarioRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const resultsDir = options.resultsDir ?? defaultResultsDir;
  const runId = newRunId(scenario.name);
  const runDir = join(resultsDir, runId);
  mkdirSync(runDir, { recursive: true });

  const topology = scenario.topology ?? "single";
  let lab = options.lab;
  if (lab)
    log(
      `lab: running on lab ${lab.state.labId} (${lab.state.topology.name}, ${lab.state.mode}); its FreeSWITCH profile is the lab's`,
    );
  else {
    log(`lab: starting embedded ${topology} topology (logs in ${runDir})`);
    lab = await Lab.up({
      topology,
      stateFile: null,
      resultsDir,
      labId: runId,
      fakeswitchProfile: scenario.fakeswitch,
      gatewayEnv: scenario.gatewayEnv,
      signal: options.signal,
    });
  }
  const ownLab = options.lab === undefined;
  try {
    const gatewayUrl = lab.gatewayUrl();
    const [natsUrl] = lab.natsUrls();
    log(`lab: up in ${lab.state.startupMs ?? "?"} ms — nats ${natsUrl}, gateway ${gatewayUrl}`);
    const token = await lab.token(["fs:originate"]);
    const originates = (schedule: ArrivalSchedule, onCall: (callUuid: string) => void) =>
      new HttpLoad({
        origin: gatewayUrl,
        signal: options.signal,
        schedule,
        connections: scenario.load.connections,
        maxInFlight: scenario.load.maxInFlight,
        request: () => {
          const callUuid = randomUUID();
          onCall(callUuid);
          return {
            method: "POST",
            path: "/api/v1/fs/originate",
            headers: { authorization: `Bearer ${token}` },
            body: {
              destination: scenario.load.destination,
              application: { name: "park" },
              call_uuid: callUuid,
            },
          };
        },
      });

    let warmup: WarmupSection | undefined;
    if (scenario.load.warmupMs) {
      // Warm the JIT and the connection pools at the starting rate; measured and kept, but not gated.
      const rate = rateAt(scenario.load.schedule, 0) || 1;
      log(`lab: warming up at ${rate}/s for ${scenario.load.warmupMs / 1000} s (not counted)`);
      const result = await originates(
        { executor: "constant-arrival-rate", rate, durationMs: scenario.load.warmupMs },
        () => {},
      ).run();
      warmup = { counts: result.counts, latency: result.latency.snapshot() };
      await new Promise((resolve) => setTimeout(resolve, scenario.drainMs)); // its calls end before measuring starts
    }

    const monitor = await LagMonitor.start({ servers: natsUrl as string });
    // The harness itself (load generator + NATS subscriber) is sampled too: a starved harness reads as a slow gateway.
    const sampler = sampleProcesses([...lab.processes(), { name: "harness", pid: process.pid }]);
    const load = originates(scenario.load.schedule, (callUuid) => monitor.expectCall(callUuid));
    const progress = startProgress(() => {
      const live = load.live();
      if (!live) return undefined;
      const lag = monitor.live();
      return { ...live, lagP95Ms: lag.publishLagP95Ms };
    });
    log(`lab: running ${scenario.name}: ${scenario.description}`);
    const loadResult = await load.run();
    progress.stop();
    if (!options.signal?.aborted) await new Promise((resolve) => setTimeout(resolve, scenario.drainMs));
    const lagResult = await monitor.stop();
    const processes = sampler.stop();

    const healthResponse = await fetch(`${gatewayUrl}/health`);
    const gatewayHealth = await healthResponse.json();
    const metricsText = await (await fetch(`${gatewayUrl}/metrics`)).text();
    const gatewayMetricsFile = join(runDir, "gateway-metrics.prom");
    writeFileSync(gatewayMetricsFile, metricsText);

    const summary = {
      ...buildSummary({ runId, config: scenario, load: loadResult, lag: lagResult }),
      ...(warmup ? { warmup } : {}),
      lab: {
        labId: lab.state.labId,
        topology: lab.state.topology.name,
        mode: lab.state.mode,
        startupMs: lab.state.startupMs ?? 0,
        logsDir: lab.state.runDir,
        ports: Object.fromEntries(lab.state.components.map((c) => [c.name, c.ports])),
        processes,
        gatewayHealth,
        gatewayMetricsFile,
      },
    } satisfies RunSummary & { lab: LabSection; warmup?: WarmupSection };
    const summaryPath = await writeSummary(summary, resultsDir);
    return { summary, summaryPath, text: formatRunReport(summary, summaryPath) };
  } finally {
    if (ownLab) await lab.down();
  }
}
