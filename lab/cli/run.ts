import { smoke } from "../../scenarios/smoke.ts";
import type { Scenario } from "../../scenarios/types.ts";
import { Lab, NoLabError } from "../lib/lab.ts";
import { runScenario } from "../lib/run.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { onInterrupt } from "./interrupt.ts";

const scenarios: Record<string, Scenario> = { smoke };
export const defaultScenario = "smoke";

const scenarioList = Object.values(scenarios)
  .map((s) => `  ${s.name.padEnd(18)} ${s.description}`)
  .join("\n");

const options = {
  rate: { type: "string" },
  duration: { type: "string" },
} as const;

const optionHelp = `  --rate <cps>       override the scenario's arrival rate (calls per second)
  --duration <s>     override the scenario's duration`;

export const run: Command = {
  name: "run",
  summary: "run a scenario: on the lab that is up, or on a lab started (and stopped) for it",
  help: `usage: npm run lab -- run [scenario] [--rate <cps>] [--duration <s>]

Drives the scenario's load through the (first) gateway, follows every call's events on NATS, prints the
summary and writes results/<run-id>/summary.json. When a lab is up (\`npm run lab -- up\`) the scenario runs
on it and leaves it up (with the lab's FreeSWITCH profile); otherwise a lab of the scenario's topology is
started for the run and stopped after it. Ctrl-C ends the load early; what ran is still summarised.

scenarios:
${scenarioList}

${optionHelp}

Exit code: 0 when every request succeeded and none was dropped, else 1.
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

async function runAndReport(
  base: Scenario,
  overrides: { rate?: string; duration?: string },
  lab: Lab | undefined,
): Promise<number> {
  const scenario = withOverrides(base, overrides.rate, overrides.duration);
  const controller = new AbortController();
  const removeHandlers = onInterrupt(() => controller.abort());
  try {
    const result = await runScenario(scenario, { lab, signal: controller.signal });
    process.stdout.write(`${result.text}\n`);
    if (controller.signal.aborted) return 130;
    const load = result.summary.load;
    return load && load.counts.errors === 0 && load.counts.dropped === 0 ? 0 : 1;
  } finally {
    removeHandlers();
  }
}

function withOverrides(scenario: Scenario, rate: string | undefined, duration: string | undefined): Scenario {
  if (rate === undefined && duration === undefined) return scenario;
  const schedule = scenario.load.schedule;
  if (schedule.executor !== "constant-arrival-rate")
    throw new UsageError("--rate/--duration apply to constant-rate scenarios");
  const positive = (text: string, what: string) => {
    const n = Number(text);
    if (!(n > 0)) throw new UsageError(`${what} must be a positive number, got ${JSON.stringify(text)}`);
    return n;
  };
  return {
    ...scenario,
    load: {
      ...scenario.load,
      schedule: {
        ...schedule,
        rate: rate === undefined ? schedule.rate : positive(rate, "--rate"),
        durationMs: duration === undefined ? schedule.durationMs : positive(duration, "--duration") * 1000,
      },
    },
  };
}
