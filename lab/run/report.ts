import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RunSummary } from "../../src/harness/report/summary.ts";
import { formatRun } from "../../src/harness/report/summary-text.ts";
import type { ProcessStats } from "../../src/procfs/proc-stats.ts";

/** What a run prints at its end, and `lab report <run>` prints again later (a schema-1 run also its processes). */
export function formatRunReport(
  summary: RunSummary & { lab?: { processes?: ProcessStats[] } },
  summaryPath: string,
): string {
  const processes = summary.lab?.processes;
  return [
    formatRun(summary),
    ...(processes ? [formatProcesses(processes)] : []),
    `summary: ${summaryPath}`,
  ].join("\n");
}

function formatProcesses(processes: ProcessStats[]): string {
  const rows = processes.map(
    (p) =>
      `  ${p.name.padEnd(12)} pid ${String(p.pid).padEnd(8)} cpu mean ${(p.cpuMean * 100).toFixed(0).padStart(3)}%  max ${(p.cpuMax * 100).toFixed(0).padStart(3)}%  rss max ${p.rssMaxMb.toFixed(0)} MB`,
  );
  return ["processes (cpu: share of one core)", ...rows].join("\n");
}

/**
 * A run's summary.json from a run id (a folder of `resultsDir`), a run folder, or a summary.json path;
 * without one, the latest run's. Run ids sort by time.
 */
export function findSummary(run: string | undefined, resultsDir: string): string {
  if (run === undefined) {
    const runs = existsSync(resultsDir)
      ? readdirSync(resultsDir)
          .filter((d) => existsSync(join(resultsDir, d, "summary.json")))
          .sort()
      : [];
    const latest = runs.at(-1);
    if (!latest) throw new Error(`no run in ${resultsDir} yet; run one with: npm run lab`);
    return join(resultsDir, latest, "summary.json");
  }
  for (const candidate of [run, join(run, "summary.json"), join(resultsDir, run, "summary.json")]) {
    if (candidate.endsWith("summary.json") && existsSync(candidate)) return resolve(candidate);
  }
  throw new Error(
    `no summary for ${JSON.stringify(run)} (looked for ${join(resultsDir, run, "summary.json")})`,
  );
}

export function readSummary(path: string): RunSummary {
  return JSON.parse(readFileSync(path, "utf8")) as RunSummary;
}
