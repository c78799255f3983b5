import { textTable } from "../report/text-table.ts";
import { roundTo } from "../round.ts";

/**
 * Pass/fail gates on a run's figures, written as k6 writes thresholds: beside the scenario, as
 * `{ "command_latency.p95": "<50" }`, overridable on the command line (`--gate command_latency.p95<20`).
 * A failed gate makes the run exit 99, as k6 does.
 */

/** k6's exit code for failed thresholds: CI tells "the system is too slow" from "the harness broke". */
export const GATES_FAILED_EXIT_CODE = 99;

export type GateOperator = "<" | "<=" | ">" | ">=" | "==" | "!=";

/** A scenario's gates: metric name → one condition or several (`"<50"`, `[">=0.99", "<=1"]`). */
export type Thresholds = Readonly<Record<string, string | readonly string[]>>;

export type GateSource = "scenario" | "cli" | "baseline";

export interface Gate {
  metric: string;
  operator: GateOperator;
  threshold: number;
  source: GateSource;
}

export interface GateResult extends Gate {
  /** The measured figure; undefined when the run did not measure it (which fails the gate). */
  actual: number | undefined;
  pass: boolean;
  /** For a failed gate with a figure: how far past the threshold, in the metric's unit and in % of it. */
  excess?: number;
  excessPercent?: number;
}

const CONDITION = /^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;
const EXPRESSION = /^\s*([A-Za-z_][\w.:-]*)\s*((?:<=|>=|==|!=|<|>).*)$/;

/** Reads a condition such as `<50` or `>= 0.99`. */
export function parseCondition(text: string): { operator: GateOperator; threshold: number } {
  const match = CONDITION.exec(text);
  if (!match) throw new SyntaxError(`not a gate condition (want e.g. "<50"): ${JSON.stringify(text)}`);
  return { operator: match[1] as GateOperator, threshold: Number(match[2]) };
}

/** Reads a command-line gate such as `command_latency.p95<20`. */
export function parseGateExpression(text: string, source: GateSource = "cli"): Gate {
  const match = EXPRESSION.exec(text);
  if (!match)
    throw new SyntaxError(`not a gate (want e.g. "command_latency.p95<20"): ${JSON.stringify(text)}`);
  return { metric: match[1]!, ...parseCondition(match[2]!), source };
}

export function gatesFromThresholds(thresholds: Thresholds, source: GateSource = "scenario"): Gate[] {
  return Object.entries(thresholds).flatMap(([metric, conditions]) =>
    (typeof conditions === "string" ? [conditions] : conditions).map((condition) => ({
      metric,
      ...parseCondition(condition),
      source,
    })),
  );
}

/** Command-line gates replace every scenario gate on the same metric, and add the others. */
export function overrideGates(base: readonly Gate[], overrides: readonly Gate[]): Gate[] {
  const replaced = new Set(overrides.map((gate) => gate.metric));
  return [...base.filter((gate) => !replaced.has(gate.metric)), ...overrides];
}

export function evaluateGates(
  gates: readonly Gate[],
  metrics: Readonly<Record<string, number>>,
): GateResult[] {
  return gates.map((gate) => {
    const actual = metrics[gate.metric];
    if (actual === undefined || Number.isNaN(actual)) return { ...gate, actual: undefined, pass: false };
    const pass = holds(gate.operator, actual, gate.threshold);
    if (pass) return { ...gate, actual, pass };
    const excess = Math.abs(actual - gate.threshold);
    return {
      ...gate,
      actual,
      pass,
      excess: roundTo(excess, 3),
      ...(gate.threshold !== 0
        ? { excessPercent: roundTo((excess / Math.abs(gate.threshold)) * 100, 3) }
        : {}),
    };
  });
}

function holds(operator: GateOperator, actual: number, threshold: number): boolean {
  switch (operator) {
    case "<":
      return actual < threshold;
    case "<=":
      return actual <= threshold;
    case ">":
      return actual > threshold;
    case ">=":
      return actual >= threshold;
    case "==":
      return actual === threshold;
    case "!=":
      return actual !== threshold;
  }
}

/**
 * Gates against an earlier run: each `metric` (a latency p95, typically) may be at most `maxRegressionPct` %
 * above the baseline's figure. A metric the baseline lacks gets no gate.
 */
export function baselineGates(
  baseline: Readonly<Record<string, number>>,
  metrics: readonly string[],
  maxRegressionPct: number,
): Gate[] {
  if (!(maxRegressionPct >= 0)) throw new RangeError("the allowed regression must be a percentage >= 0");
  return metrics.flatMap((metric) => {
    const before = baseline[metric];
    if (before === undefined || !Number.isFinite(before)) return [];
    return [
      {
        metric,
        operator: "<=",
        threshold: roundTo(before * (1 + maxRegressionPct / 100), 3),
        source: "baseline",
      },
    ];
  });
}

export const gatesPassed = (results: readonly GateResult[]): boolean => results.every((r) => r.pass);

export const describeGate = (gate: Gate): string => `${gate.metric} ${gate.operator} ${gate.threshold}`;

/** Why a gate failed, in one line: `command_latency.p95 = 61.2, over < 50 by 11.2 (22.4 %)`. */
export function describeFailure(result: GateResult): string {
  if (result.actual === undefined) return `${result.metric} was not measured (gate ${describeGate(result)})`;
  const percent = result.excessPercent === undefined ? "" : ` (${result.excessPercent} %)`;
  return `${result.metric} = ${format(result.actual)}, fails ${result.operator} ${format(result.threshold)} by ${format(result.excess ?? 0)}${percent}`;
}

/** The table printed at the end of every run. */
export function formatGateTable(results: readonly GateResult[]): string {
  if (results.length === 0) return "gates: none";
  const rows = [
    ["gate", "source", "threshold", "actual", "result"],
    ...results.map((r) => [
      r.metric,
      r.source,
      `${r.operator} ${format(r.threshold)}`,
      r.actual === undefined ? "not measured" : format(r.actual),
      r.pass
        ? "pass"
        : r.actual === undefined
          ? "FAIL"
          : `FAIL by ${format(r.excess ?? 0)}${r.excessPercent === undefined ? "" : ` (${r.excessPercent} %)`}`,
    ]),
  ];
  const lines = textTable(rows, { trimEnd: true });
  const failed = results.filter((r) => !r.pass).length;
  lines.push(
    failed === 0 ? `gates: all ${results.length} passed` : `gates: ${failed} of ${results.length} FAILED`,
  );
  return lines.join("\n");
}

const format = (n: number): string => String(roundTo(n, 3));
