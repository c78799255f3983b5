/**
 * The lab's command line: `npm run lab [-- <command> [options]]`. Alone, it runs the default scenario end
 * to end on a lab of its own (up, run, report, down) and exits non-zero if the run failed.
 */

import { LoadProfileError } from "../src/fakeswitch/load-profile.ts";
import { LabMismatchError } from "../src/harness/run/lab-handle.ts";
import { calibrate } from "./cli/calibrate.ts";
import { type Command, UsageError } from "./cli/command.ts";
import { down } from "./cli/down.ts";
import { env } from "./cli/env.ts";
import { fault } from "./cli/fault.ts";
import { logs } from "./cli/logs.ts";
import { report } from "./cli/report.ts";
import { defaultScenario, endToEnd, endToEndHelp, run } from "./cli/run.ts";
import { status } from "./cli/status.ts";
import { up } from "./cli/up.ts";
import { FreeswitchMissingError } from "./freeswitch/freeswitch.ts";
import { TopologyError } from "./plan/topology.ts";
import { LabSettingsError, NoLabError, TargetError } from "./run/lab.ts";
import { LabAlreadyUpError } from "./run/state.ts";
import { MissingDependencyError } from "./run/system-deps.ts";

const commands: Command[] = [up, status, logs, fault, run, report, env, down, calibrate];

const help = `fs-esl-lab: one command brings up a FreeSWITCH + NATS + gateway world

usage: npm run lab                      the ${defaultScenario} scenario end to end: up, run, report, down
       npm run lab -- <command> [options]

commands:
${commands.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join("\n")}

\`npm run lab -- <command> --help\` shows a command's options. Without a command:
${endToEndHelp}

Every server binds 127.0.0.1. Results and logs: results/<id>/. The lab that is up: .lab/state.json.
`;

/** Errors that are the user's to act on: their message is the whole story. */
const plainErrors = [
  NoLabError,
  TargetError,
  LabAlreadyUpError,
  MissingDependencyError,
  TopologyError,
  LabSettingsError,
  LabMismatchError,
  LoadProfileError,
  FreeswitchMissingError,
];

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "-h" || first === "--help" || first === "help") {
    const command = commands.find((c) => c.name === rest[0]);
    process.stdout.write(command ? command.help : help);
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  const args = command ? rest : argv;
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(command ? command.help : help);
    return 0;
  }
  try {
    return await (command ?? endToEnd).run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(
        `lab${command ? ` ${command.name}` : ""}: ${error.message}\n(see npm run lab -- ${command ? `${command.name} ` : ""}--help)\n`,
      );
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    const plain = plainErrors.some((kind) => error instanceof kind);
    process.stderr.write(`lab${command ? ` ${command.name}` : ""}: ${plain ? "" : "failed: "}${message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
