import { fileURLToPath } from "node:url";
import { findFreeswitch, freeswitchMissingHelp } from "../../lab/freeswitch/freeswitch.ts";
import { divergenceTable, readAllowList, runSuite, type SuiteResult, writeReport } from "./suite.ts";
import { startDouble, startRealFreeswitch, type Target } from "./targets.ts";

/**
 * Starts a real FreeSWITCH and the double, runs the suite against both, stops both (the real one's
 * configuration folder removed) whatever happened. Undefined when no FreeSWITCH is installed.
 */
export async function runConformance(): Promise<SuiteResult | undefined> {
  const binary = await findFreeswitch();
  if (!binary) return undefined;
  const allowList = readAllowList();
  const started: Target[] = [];
  try {
    const real = await startRealFreeswitch(binary);
    started.push(real);
    const double = await startDouble();
    started.push(double);
    return await runSuite(real, double, allowList);
  } finally {
    await Promise.all(started.map((t) => t.stop()));
  }
}

/** `npm run conformance`: the table on stdout, the report under results/, non-zero on a divergence not allowed. */
async function main(): Promise<number> {
  const result = await runConformance();
  if (!result) {
    console.error(`conformance: ${freeswitchMissingHelp}`);
    return 2;
  }
  console.log(divergenceTable(result));
  const dir = writeReport(result, fileURLToPath(new URL("../../results/", import.meta.url)));
  console.log(`report: ${dir}`);
  if (result.unexpected.length > 0)
    console.error(`${result.unexpected.length} divergence(s) not in docs/fidelity.md's allow-list`);
  return result.unexpected.length > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
