import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SCRIPTS, type Script } from "./checks.ts";
import { type Observation, Probe } from "./probe.ts";
import type { Target } from "./targets.ts";

/** A check where the double does not answer as the real FreeSWITCH does (`-` where one side saw nothing). */
export interface Divergence {
  check: string;
  real: string;
  double: string;
  /** Its reason in docs/fidelity.md's allow-list, when it is listed there. */
  allowed?: string;
}

export interface SuiteResult {
  checks: number;
  divergences: Divergence[];
  /** Divergences not in the allow-list: each fails the run. */
  unexpected: Divergence[];
  /** Allow-list entries that matched nothing this run (fixed, or renamed): worth removing. */
  stale: string[];
  durationMs: number;
}

/**
 * Runs every script on both targets, each script on the two side by side (each target runs its scripts
 * one after the other: the limits change its settings), and compares what they recorded.
 */
export async function runSuite(
  real: Target,
  double: Target,
  allowList: ReadonlyMap<string, string>,
  scripts: readonly Script[] = SCRIPTS,
): Promise<SuiteResult> {
  const started = Date.now();
  const divergences: Divergence[] = [];
  let checks = 0;
  for (const script of scripts) {
    const [seenReal, seenDouble] = await Promise.all([observe(script, real), observe(script, double)]);
    const ids = new Set([...seenReal.keys(), ...seenDouble.keys()]);
    checks += ids.size;
    for (const check of ids) {
      const divergence = compare(check, seenReal.get(check), seenDouble.get(check));
      if (divergence) divergences.push({ ...divergence, allowed: allowList.get(check) });
    }
  }
  const matched = new Set(divergences.map((d) => d.check));
  return {
    checks,
    divergences,
    unexpected: divergences.filter((d) => d.allowed === undefined),
    stale: [...allowList.keys()].filter((check) => !matched.has(check)),
    durationMs: Date.now() - started,
  };
}

async function observe(script: Script, target: Target): Promise<Map<string, Observation>> {
  const probe = new Probe(target);
  try {
    await script.run(probe);
  } catch (error) {
    probe.record(`${script.id}: script`, `failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    probe.close();
  }
  return probe.observations;
}

function compare(check: string, real: Observation | undefined, double: Observation | undefined) {
  if (real === undefined || double === undefined) {
    if (real === double) return undefined;
    return {
      check,
      real: real === undefined ? "-" : show(real),
      double: double === undefined ? "-" : show(double),
    };
  }
  if (typeof real === "string" || typeof double === "string") {
    return show(real) === show(double) ? undefined : { check, real: show(real), double: show(double) };
  }
  // Sets: each side shows what only it has.
  const onlyReal = real.set.filter((n) => !double.set.includes(n)).sort();
  const onlyDouble = double.set.filter((n) => !real.set.includes(n)).sort();
  if (onlyReal.length === 0 && onlyDouble.length === 0) return undefined;
  return {
    check,
    real: `only here: ${onlyReal.join(" ") || "-"}`,
    double: `only here: ${onlyDouble.join(" ") || "-"}`,
  };
}

const show = (o: Observation): string => (typeof o === "string" ? o : `{${[...o.set].sort().join(" ")}}`);

export const FIDELITY_DOC = fileURLToPath(new URL("../../docs/fidelity.md", import.meta.url));
const ALLOW_LIST_HEADING = "## Known divergences (allow-list of npm run conformance)";

/**
 * The allow-list: the rows of the table in docs/fidelity.md's section ALLOW_LIST_HEADING, whose first
 * column is a check id in backticks and whose last column is the reason.
 */
export function readAllowList(doc = FIDELITY_DOC): Map<string, string> {
  const text = readFileSync(doc, "utf8");
  const start = text.indexOf(ALLOW_LIST_HEADING);
  if (start === -1) throw new Error(`${doc}: no section "${ALLOW_LIST_HEADING}"`);
  const rest = text.slice(start + ALLOW_LIST_HEADING.length);
  const section = rest.slice(0, rest.search(/^## /m) === -1 ? rest.length : rest.search(/^## /m));
  const allowed = new Map<string, string>();
  for (const line of section.split("\n")) {
    const row = /^\|\s*`([^`]+)`\s*\|(?:.*\|)?\s*([^|]+?)\s*\|\s*$/.exec(line);
    if (row?.[1] && row[2]) allowed.set(row[1], row[2]);
  }
  return allowed;
}

/** The divergence table, one row per divergence, as printed and as written to table.txt. */
export function divergenceTable(result: SuiteResult): string {
  const rows = result.divergences.map((d) => [d.allowed ? "allowed" : "NEW", d.check, d.real, d.double]);
  const header = ["status", "check", "real FreeSWITCH", "double"];
  const width = (i: number) => Math.min(60, Math.max(...[header, ...rows].map((r) => (r[i] ?? "").length)));
  const cell = (text: string, i: number) => {
    const w = width(i);
    return text.length > w ? `${text.slice(0, w - 1)}…` : text.padEnd(w);
  };
  const lines = [header, header.map((_, i) => "-".repeat(width(i))), ...rows].map((r) =>
    r.map((c, i) => cell(c, i)).join(" | "),
  );
  const summary =
    `${result.checks} checks, ${result.divergences.length} divergences ` +
    `(${result.unexpected.length} not in docs/fidelity.md), ${(result.durationMs / 1000).toFixed(1)} s`;
  const stale = result.stale.length
    ? [`allow-list entries that matched nothing (remove them): ${result.stale.join(", ")}`]
    : [];
  return [...lines, "", summary, ...stale].join("\n");
}

/** results/conformance-<timestamp>/: divergences.json (the whole result, untruncated) and table.txt. */
export function writeReport(result: SuiteResult, resultsDir: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = join(resultsDir, `conformance-${stamp}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "divergences.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, "table.txt"), `${divergenceTable(result)}\n`);
  return dir;
}
