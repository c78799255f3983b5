import type { Scenario } from "../../scenarios/types.ts";
import {
  type RunOptions as HarnessRunOptions,
  runScenario as runOnLab,
  type ScenarioRunResult,
  validateScenario,
} from "../../src/harness/scenario-runner.ts";
import { newRunId } from "../../src/harness/summary.ts";
import { Lab } from "./lab.ts";
import { defaultResultsDir } from "./paths.ts";

export interface RunOptions extends Omit<HarnessRunOptions, "runId"> {
  /** Run on this lab (a lab that is up); without one, a lab of the scenario's topology is started for the run and stopped after it. */
  lab?: Lab;
  /** A lab started for the run keeps its calls in this PostgreSQL server (`DATABASE_URL`), not PGlite. */
  callsDatabaseUrl?: string;
}

/**
 * Runs one scenario through the harness's scenario runner (src/harness/scenario-runner.ts), which measures
 * everything and writes results/<run-id>/. This only provides the lab: the one given, or one of the
 * scenario's topology started for the run (its logs in the run's folder) and always torn down after it.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<ScenarioRunResult> {
  validateScenario(scenario); // before a lab is started for nothing
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const resultsDir = options.resultsDir ?? defaultResultsDir;
  const runId = newRunId(scenario.name);
  let lab = options.lab;
  if (lab) {
    log(
      `lab: running on lab ${lab.state.labId} (${lab.state.topology.name}, ${lab.state.mode}); its FreeSWITCH profile is the lab's`,
    );
    // The scenario's own settings only reach a lab started for it: say so, its gates may count on them.
    if (scenario.lab?.fakeswitch || scenario.lab?.gatewayEnv)
      log(
        `lab: note: ${scenario.name} wants ${JSON.stringify(scenario.lab)}, which the lab that is up does not have; run it without a lab up to get them`,
      );
  } else {
    log(`lab: starting embedded ${scenario.topology ?? "single"} topology`);
    lab = await Lab.up({
      topology: scenario.topology ?? "single",
      stateFile: null,
      resultsDir,
      labId: runId,
      fakeswitchProfile: scenario.lab?.fakeswitch,
      gatewayEnv: scenario.lab?.gatewayEnv,
      callsDatabaseUrl: options.callsDatabaseUrl,
      signal: options.signal,
    });
    log(`lab: up in ${lab.state.startupMs ?? "?"} ms (logs in ${lab.state.runDir})`);
  }
  try {
    return await runOnLab(scenario, lab.handle(), { ...options, resultsDir, runId, log });
  } finally {
    if (!options.lab) await lab.down();
  }
}
