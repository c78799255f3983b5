import type { Scenario } from "../../scenarios/types.ts";
import { newRunId } from "../../src/harness/report/summary.ts";
import {
  type HarnessRunOptions,
  runOnLab,
  type ScenarioRunResult,
} from "../../src/harness/run/scenario-runner.ts";
import { validateScenario } from "../../src/harness/run/validate-scenario.ts";
import type { Topology } from "../plan/topology.ts";
import { Lab, LabSettingsError } from "./lab.ts";
import { defaultResultsDir } from "./paths.ts";
import type { LabState } from "./state.ts";

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
    // The scenario's own settings only reach a lab started for it: its gates count on them.
    const missing = missingLabSettings(scenario.lab, lab.state);
    if (missing.length > 0)
      throw new LabSettingsError(
        `${scenario.name} needs settings that lab ${lab.state.labId}, which is up, does not have:\n  ${missing.join("\n  ")}\n` +
          (lab.state.mode === "external"
            ? "A lab in external mode is started by you: npm run lab -- down, then up again with them (--gateway-env NAME=VALUE)"
            : `Run it on a lab of its own, started with them and stopped after the run: npm run lab -- down, then npm run lab -- run ${scenario.name} --topology ${lab.state.topology.name}`),
      );
    log(`lab: running on lab ${lab.state.labId} (${lab.state.topology.name}, ${lab.state.mode})`);
  } else {
    log(`lab: starting embedded ${scenario.topology ?? "single"} topology`);
    lab = await Lab.up({
      topology: scenario.topology ?? "single",
      stateFile: null,
      resultsDir,
      labId: runId,
      fakeswitchProfile: scenario.lab?.fakeswitch,
      gatewayEnv: scenario.lab?.gatewayEnv,
      carrierHoldMs: scenario.lab?.carrierHoldMs,
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

/**
 * The scenario's lab settings (gateway environment, FreeSWITCH double flags, the carrier's hold) that a
 * lab's gateways, doubles and carrier were not started with, one line each. A real FreeSWITCH takes no
 * double flags: it has its own configuration, so they are not held against the lab; the carrier's hold is
 * held against a lab only when it runs a real FreeSWITCH, whose calls last as long as the carrier holds them.
 */
export function missingLabSettings(
  wanted: Scenario["lab"],
  state: Pick<LabState, "gateways" | "components"> & { topology?: Pick<Topology, "sip"> },
): string[] {
  const missing: string[] = [];
  for (const [name, value] of Object.entries(wanted?.gatewayEnv ?? {}))
    for (const gateway of state.gateways)
      if (gateway.env[name] !== value)
        missing.push(
          `gateway ${gateway.name}: ${name}=${value} (it has ${gateway.env[name] ?? "the default"})`,
        );
  const doubles = state.components.filter((c) => c.kind === "fakeswitch");
  for (const [flag, value] of Object.entries(wanted?.fakeswitch ?? {}))
    for (const double of doubles) {
      const args = double.launch?.args ?? [];
      const at = args.lastIndexOf(`--${flag}`);
      const has = at === -1 ? undefined : args[at + 1];
      if (has !== value)
        missing.push(`FreeSWITCH double ${double.name}: --${flag} ${value} (it has ${has ?? "the default"})`);
    }
  const carrier = state.topology?.sip?.carrier;
  const real = state.components.filter((c) => c.kind === "freeswitch" && c.launch);
  if (
    wanted?.carrierHoldMs !== undefined &&
    carrier &&
    real.length > 0 &&
    carrier.holdMs !== wanted.carrierHoldMs
  )
    missing.push(
      `SIPp carrier: hold ${wanted.carrierHoldMs} ms, the hold of ${real.map((c) => c.name).join(", ")}'s calls (it has ${carrier.holdMs} ms; lab up --carrier-hold-ms ${wanted.carrierHoldMs})`,
    );
  return missing;
}
