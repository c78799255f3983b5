import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../../scenarios/types.ts";
import { mintToken } from "../../src/gateway/auth.ts";
import { type ArrivalSchedule, rateAt } from "../../src/harness/arrival.ts";
import type { HistogramSnapshot } from "../../src/harness/histogram.ts";
import { HttpLoad, type HttpLoadResult } from "../../src/harness/http-load.ts";
import { LagMonitor } from "../../src/harness/lag.ts";
import { startProgress } from "../../src/harness/progress.ts";
import {
  buildSummary,
  formatSummary,
  newRunId,
  type RunSummary,
  writeSummary,
} from "../../src/harness/summary.ts";
import { type EmbeddedLab, repoRoot, startEmbeddedLab } from "./embedded.ts";
import { type ProcessStats, sampleProcesses } from "./proc-stats.ts";

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
  topology: "single";
  mode: "embedded";
  startupMs: number;
  /** Where each component listened (all loopback). */
  ports: { nats: number; fakeswitch: number; gateway: number };
  processes: ProcessStats[];
  /** The gateway's own view at the end of the run (GET /health). */
  gatewayHealth: unknown;
  /** The gateway's Prometheus text at the end of the run, ESL latency and publish lag included. */
  gatewayMetricsFile: string;
}

/**
 * Runs one scenario on a fresh embedded lab: start, load, drain, measure, stop. Everything measured goes to
 * results/<run-id>/ beside every process's log; the lab is always torn down, also when the run fails.
 */
export async function runScenario(
  scenario: Scenario,
  options: { resultsDir?: string; log?: (line: string) => void } = {},
): Promise<ScenarioRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const resultsDir = options.resultsDir ?? join(repoRoot, "results");
  const runId = newRunId(scenario.name);
  const runDir = join(resultsDir, runId);
  mkdirSync(runDir, { recursive: true });

  log(`lab: starting embedded single topology (logs in ${runDir})`);
  const lab: EmbeddedLab = await startEmbeddedLab({
    runDir,
    fakeswitchFlags: scenario.fakeswitch,
    gatewayEnv: scenario.gatewayEnv,
  });
  try {
    log(
      `lab: up in ${lab.startupMs.toFixed(0)} ms — nats ${lab.nats.url}, fakeswitch 127.0.0.1:${lab.fakeswitch.port}, gateway ${lab.gateway.url}`,
    );
    const token = await mintToken(new TextEncoder().encode(lab.secrets.jwtSecret), {
      scopes: ["fs:originate"],
    });
    const originates = (schedule: ArrivalSchedule, onCall: (callUuid: string) => void) =>
      new HttpLoad({
        origin: lab.gateway.url,
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

    const monitor = await LagMonitor.start({ servers: lab.nats.url });
    // The harness itself (load generator + NATS subscriber) is sampled too: a starved harness reads as a slow gateway.
    const sampler = sampleProcesses([
      ...lab.services.map((s) => ({ name: s.spec.name, pid: s.pid })),
      { name: "harness", pid: process.pid },
    ]);
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
    await new Promise((resolve) => setTimeout(resolve, scenario.drainMs));
    const lagResult = await monitor.stop();
    const processes = sampler.stop();

    const healthResponse = await fetch(`${lab.gateway.url}/health`);
    const gatewayHealth = await healthResponse.json();
    const metricsText = await (await fetch(`${lab.gateway.url}/metrics`)).text();
    const gatewayMetricsFile = join(runDir, "gateway-metrics.prom");
    writeFileSync(gatewayMetricsFile, metricsText);

    const summary = {
      ...buildSummary({ runId, config: scenario, load: loadResult, lag: lagResult }),
      ...(warmup ? { warmup } : {}),
      lab: {
        topology: "single",
        mode: "embedded",
        startupMs: Math.round(lab.startupMs),
        ports: { nats: lab.nats.port, fakeswitch: lab.fakeswitch.port, gateway: lab.gateway.port },
        processes,
        gatewayHealth,
        gatewayMetricsFile,
      },
    } satisfies RunSummary & { lab: LabSection; warmup?: WarmupSection };
    const summaryPath = await writeSummary(summary, resultsDir);
    const text = `${formatSummary(summary)}\n${formatProcesses(processes)}\nsummary: ${summaryPath}`;
    return { summary, summaryPath, text };
  } finally {
    await lab.stop();
  }
}

function formatProcesses(processes: ProcessStats[]): string {
  const rows = processes.map(
    (p) =>
      `  ${p.name.padEnd(11)} pid ${String(p.pid).padEnd(8)} cpu mean ${(p.cpuMean * 100).toFixed(0).padStart(3)}%  max ${(p.cpuMax * 100).toFixed(0).padStart(3)}%  rss max ${p.rssMaxMb.toFixed(0)} MB`,
  );
  return ["processes (cpu: share of one core)", ...rows].join("\n");
}
