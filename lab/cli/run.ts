import { defaultScenarioName, scenarios } from "../../scenarios/index.ts";
import type { Scenario } from "../../scenarios/types.ts";
import {
  applyRunArgs,
  RUN_ARG_OPTIONS,
  RUN_ARGS_HELP,
  RunArgError,
  type RunArgValues,
} from "../../src/harness/run/run-options.ts";
import { Lab, NoLabError } from "../run/lab.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { onInterrupt } from "./interrupt.ts";

export const defaultScenario = defaultScenarioName;

const scenarioList = Object.values(scenarios)
  .map((s) => `  ${s.name.padEnd(18)} ${s.description}`)
  .join("\n");

const options = RUN_ARG_OPTIONS;
const optionHelp = RUN_ARGS_HELP;

export const run: Command = {
  name: "run",
  summary: "run a scenario: on the lab that is up, or on a lab started (and stopped) for it",
  help: `usage: npm run lab -- run [scenario] [--gate <gate>]... [--baseline <run>] [--rate <cps>] [--duration <s>]

Drives the scenario's load through the lab's gateways, follows every call's events on NATS, prints the
summary and the gate table, and writes results/<run-id>/ (summary.json, series.ndjson, junit.xml,
report.html). When a lab is up (\`npm run lab -- up\`) the scenario runs on it and leaves it up, unless
the scenario needs gateway or FreeSWITCH double settings that lab was not started with (then it is refused,
saying which); otherwise a lab of the scenario's topology is started for the run and stopped after it. Ctrl-C ends the load early; what ran is still summarised.

scenarios:
${scenarioList}

${optionHelp}
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, options);
    if (positionals.length > 1) throw new UsageError("run takes one scenario");
    let lab: Lab | undefined;
    try {
      lab = await Lab.attach();
    } catch (error) {
      if (!(error instanceof NoLabError)) throw error;
    }
    return runAndReport(scenarioNamed(positionals[0] ?? defaultScenario), values, lab);
  },
};

/** `npm run lab` alone: the default scenario end to end on a lab of its own (up, run, report, down). */
export const endToEnd: Command = {
  name: "(default)",
  summary: "",
  help: "",
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, options);
    if (positionals.length > 0) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}`);
    return runAndReport(scenarioNamed(defaultScenario), values, undefined);
  },
};

export const endToEndHelp = `${optionHelp}`;

function scenarioNamed(name: string): Scenario {
  const scenario = scenarios[name];
  if (!scenario)
    throw new UsageError(
      `unknown scenario ${JSON.stringify(name)}; known: ${Object.keys(scenarios).join(", ")}`,
    );
  return scenario;
}

async function runAndReport(base: Scenario, values: RunArgValues, lab: Lab | undefined): Promise<number> {
  let prepared: ReturnType<typeof applyRunArgs>;
  try {
    prepared = applyRunArgs(base, values);
  } catch (error) {
    if (error instanceof RunArgError) throw new UsageError(error.message);
    throw error;
  }
  const controller = new AbortController();
  const removeHandlers = onInterrupt(() => controller.abort());
  try {
    // Loaded here, not at the top: the load generator and NATS client would slow every other command's start.
    const { runScenario } = await import("../run/run.ts");
    const result = await runScenario(prepared.scenario, {
      ...prepared.options,
      lab,
      callsDatabaseUrl: process.env.DATABASE_URL || undefined,
      signal: controller.signal,
    });
    process.stdout.write(`${result.text}\n`);
    return controller.signal.aborted ? 130 : result.exitCode;
  } finally {
    removeHandlers();
  }
}
