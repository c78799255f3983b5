import { type RunMetrics, runMetrics } from "../measure/run-metrics.ts";
import { roundTo } from "../round.ts";
import type { RunSummary } from "./summary.ts";
import { textTable } from "./text-table.ts";

export interface ComparedMetric {
  metric: string;
  a: number | undefined;
  b: number | undefined;
  /** b − a. */
  delta?: number;
  /** (b − a) / a, %. */
  deltaPercent?: number;
  /** Whether b is better (true), worse (false) or neither (undefined) by this metric's direction. */
  better?: boolean;
}

export interface RunComparison {
  a: ComparedRun;
  b: ComparedRun;
  rows: ComparedMetric[];
  /** Gates that passed in A and fail in B, and the reverse. */
  newlyFailing: string[];
  newlyPassing: string[];
  text: string;
}

export interface ComparedRun {
  runId: string;
  scenario?: string;
  /** Other work took more than half the host's cores: it is in this run's figures. */
  busyHost: boolean;
}

/** The figures worth a side-by-side, in this order; any other metric both runs have follows. */
const HEADLINE = [
  "capacity_cps",
  "rate.achieved",
  "requests.sent",
  "error_rate",
  "command_latency.p50",
  "command_latency.p95",
  "command_latency.p99",
  "esl_command_latency.p95",
  "publish_lag.p95",
  "publish_lag.p99",
  "asr",
  "call_setup.p95",
  "erlangs",
  "events_lost",
  "events_unstored",
  "gateway_rss_mb.max",
  "cpu.gateway.mean",
  "detect_ms.max",
  "reconnect_ms.max",
  "hung_commands",
];

/** Metrics where a larger figure is better; for every other one (latency, errors, memory) smaller is. */
const HIGHER_IS_BETTER =
  /^(capacity_cps|rate\.achieved|asr|erlangs|requests\.(sent|ok)|calls\.(answered|seizures)|cdr\.([^.]+\.)?completeness|pipeline\.([^.]+\.)?(accepted|answered))$/;
/** Counts of things that happened, not a quality: no better or worse. */
const NEUTRAL =
  /^(http\.|events\.(received|stored)|requests\.sent|calls\.attempts|.*\.count$|rate\.target|pipeline\.([^.]+\.)?sent$)/;

/** Two runs side by side, B against A: every metric either has, with deltas, headline figures first. */
export function compareRuns(a: RunSummary, b: RunSummary): RunComparison {
  const ma = metricsOf(a);
  const mb = metricsOf(b);
  const names = [
    ...HEADLINE.filter((name) => name in ma || name in mb),
    ...Object.keys({ ...ma, ...mb })
      .filter((name) => !HEADLINE.includes(name))
      .sort(),
  ];
  const rows = names.map((metric) => compareMetric(metric, ma[metric], mb[metric]));
  const failing = (s: RunSummary) =>
    new Set((s.gates ?? []).filter((g) => !g.pass).map((g) => `${g.metric} ${g.operator} ${g.threshold}`));
  const fa = failing(a);
  const fb = failing(b);
  const comparison = {
    a: comparedRun(a),
    b: comparedRun(b),
    rows,
    newlyFailing: [...fb].filter((g) => !fa.has(g)),
    newlyPassing: [...fa].filter((g) => !fb.has(g)),
  };
  return { ...comparison, text: formatComparison(comparison) };
}

function comparedRun(summary: RunSummary): ComparedRun {
  const host = summary.host;
  return {
    runId: summary.runId,
    ...(summary.scenario ? { scenario: summary.scenario.name } : {}),
    busyHost: host?.busy === true,
  };
}

function metricsOf(summary: RunSummary): RunMetrics {
  return summary.metrics ?? runMetrics(summary);
}

function compareMetric(metric: string, a: number | undefined, b: number | undefined): ComparedMetric {
  if (a === undefined || b === undefined) return { metric, a, b };
  const delta = roundTo(b - a, 3);
  const row: ComparedMetric = { metric, a, b, delta };
  if (a !== 0) row.deltaPercent = roundTo(((b - a) / Math.abs(a)) * 100, 3);
  if (delta !== 0 && !NEUTRAL.test(metric))
    row.better = HIGHER_IS_BETTER.test(metric) ? delta > 0 : delta < 0;
  return row;
}

function formatComparison(c: Omit<RunComparison, "text">): string {
  const cell = (n: number | undefined) => (n === undefined ? "-" : String(n));
  const table = [
    ["metric", `A ${c.a.runId}`, `B ${c.b.runId}`, "B − A", "%", ""],
    ...c.rows.map((r) => [
      r.metric,
      cell(r.a),
      cell(r.b),
      r.delta === undefined ? "" : `${r.delta > 0 ? "+" : ""}${r.delta}`,
      r.deltaPercent === undefined ? "" : `${r.deltaPercent > 0 ? "+" : ""}${r.deltaPercent}%`,
      r.better === undefined ? "" : r.better ? "better" : "worse",
    ]),
  ];
  const lines = textTable(table, { numbers: true, trimEnd: true });
  for (const [name, run] of [
    ["A", c.a],
    ["B", c.b],
  ] as const) {
    if (run.busyHost)
      lines.unshift(
        `note: ${name} ran on a busy host (other work on half its cores or more): differences may be the host's`,
      );
  }
  if (c.a.scenario !== c.b.scenario)
    lines.unshift(`note: different scenarios (A ${c.a.scenario ?? "?"}, B ${c.b.scenario ?? "?"})`);
  if (c.newlyFailing.length > 0) lines.push(`gates failing in B only: ${c.newlyFailing.join(", ")}`);
  if (c.newlyPassing.length > 0) lines.push(`gates passing in B only: ${c.newlyPassing.join(", ")}`);
  return lines.join("\n");
}
