import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderHtmlReport } from "./html-report.ts";
import { gatesJUnitXml } from "./junit.ts";
import type { RunSummary } from "./summary.ts";

export const RESULT_FILES = {
  summary: "summary.json",
  series: "series.ndjson",
  junit: "junit.xml",
  report: "report.html",
  log: "harness.log",
} as const;

/**
 * Writes a run's folder: summary.json, the per-second series of every source merged into one NDJSON line a
 * second, the gates as JUnit XML, the HTML report, and the harness's own log. Returns summary.json's path.
 */
export async function writeRunFiles(
  dir: string,
  summary: RunSummary,
  logLines: readonly string[],
): Promise<string> {
  summary.files = { ...RESULT_FILES };
  const summaryPath = join(dir, RESULT_FILES.summary);
  await Promise.all([
    writeFile(summaryPath, `${JSON.stringify(summary, null, 2)}\n`),
    writeFile(
      join(dir, RESULT_FILES.series),
      mergedSeries(summary)
        .map((row) => `${JSON.stringify(row)}\n`)
        .join(""),
    ),
    writeFile(
      join(dir, RESULT_FILES.junit),
      gatesJUnitXml({
        runId: summary.runId,
        scenario: summary.scenario?.name ?? "run",
        durationMs: summary.durationMs,
        results: summary.gates ?? [],
      }),
    ),
    writeFile(join(dir, RESULT_FILES.report), renderHtmlReport(summary)),
    writeFile(join(dir, RESULT_FILES.log), logLines.map((line) => `${line}\n`).join("")),
  ]);
  return summaryPath;
}

/** One object per second of the measured run, with whatever each source recorded in it. */
function mergedSeries(summary: RunSummary): Array<Record<string, unknown>> {
  const rows = new Map<number, Record<string, unknown>>();
  const at = (second: number) => {
    let row = rows.get(second);
    if (!row) {
      row = { second };
      rows.set(second, row);
    }
    return row;
  };
  const put = (second: number, key: string, value: unknown) => {
    at(second)[key] = value;
  };
  for (const { second, ...rest } of summary.load?.series ?? []) put(second, "load", rest);
  for (const { second, ...rest } of summary.lag?.series ?? []) put(second, "lag", rest);
  for (const { second, ...rest } of summary.calls?.series ?? []) put(second, "calls", rest);
  for (const { second, ...rest } of summary.pipeline?.series ?? []) put(second, "pipeline", rest);
  for (const gateway of summary.gateways ?? []) {
    for (const { second, ...rest } of gateway.series) {
      const row = at(second);
      row.gateways = { ...(row.gateways as object), [gateway.name]: rest };
    }
  }
  for (const process of summary.processes ?? []) {
    for (const { second, ...rest } of process.series) {
      const row = at(second);
      row.processes = { ...(row.processes as object), [process.name]: rest };
    }
  }
  return [...rows.values()].sort((a, b) => (a.second as number) - (b.second as number));
}
