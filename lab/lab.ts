/**
 * The lab's command line: `npm run lab [-- <command> [options]]`.
 * With no command it runs the default scenario end to end (start, load, report, stop).
 */
import { parseArgs } from "node:util";
import { smoke } from "../scenarios/smoke.ts";
import type { Scenario } from "../scenarios/types.ts";
import { runScenario } from "./lib/run.ts";
import { MissingDependencyError } from "./lib/system-deps.ts";

const scenarios: Record<string, Scenario> = { smoke };

const help = `fs-esl-lab: the embedded FreeSWITCH + NATS + gateway lab

usage: npm run lab [-- run <scenario>] [options]

commands:
  run <scenario>     start the embedded lab, run the scenario, print and write the summary, stop
                     (the default command, with scenario "smoke")

scenarios:
${Object.values(scenarios)
  .map((s) => `  ${s.name.padEnd(18)} ${s.description}`)
  .join("\n")}

options:
  --rate <cps>       override the scenario's arrival rate (calls per second)
  --duration <s>     override the scenario's duration
  -h, --help         this text

Results: results/<run-id>/summary.json plus every process's log.
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rate: { type: "string" },
      duration: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const [command = "run", name = "smoke"] = positionals;
  if (command !== "run") {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${help}`);
    return 2;
  }
  const base = scenarios[name];
  if (!base) {
    process.stderr.write(
      `unknown scenario ${JSON.stringify(name)}; known: ${Object.keys(scenarios).join(", ")}\n`,
    );
    return 2;
  }
  const scenario = withOverrides(base, values.rate, values.duration);
  const run = await runScenario(scenario);
  process.stdout.write(`${run.text}\n`);
  return run.summary.load && run.summary.load.counts.errors === 0 && run.summary.load.counts.dropped === 0
    ? 0
    : 1;
}

function withOverrides(scenario: Scenario, rate: string | undefined, duration: string | undefined): Scenario {
  if (rate === undefined && duration === undefined) return scenario;
  const schedule = scenario.load.schedule;
  if (schedule.executor !== "constant-arrival-rate")
    throw new Error("--rate/--duration apply to constant-rate scenarios");
  const positive = (text: string, what: string) => {
    const n = Number(text);
    if (!(n > 0)) throw new Error(`${what} must be a positive number, got ${JSON.stringify(text)}`);
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

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`lab: ${error instanceof MissingDependencyError ? "" : "failed: "}${message}\n`);
    process.exit(1);
  },
);
