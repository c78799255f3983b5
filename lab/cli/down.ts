import { Lab, NoLabError } from "../run/lab.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";

export const down: Command = {
  name: "down",
  summary: "stop the lab that is up, and check that no process or port is left behind",
  help: `usage: npm run lab -- down

Stops every component of the lab that is up (gateways first; SIGTERM to each process group, SIGKILL after
5 s), checks that none of their processes and none of their ports is left, and removes .lab/state.json.
A record left by a crashed lab (its processes gone) is cleaned up too.

Exit code: 0 when everything is gone (or nothing was up), 1 when something was left behind.
`,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {});
    if (positionals.length > 0) throw new UsageError(`down takes no arguments, got ${positionals.join(" ")}`);
    let lab: Lab;
    try {
      lab = await Lab.attach();
    } catch (error) {
      if (!(error instanceof NoLabError)) throw error;
      process.stdout.write(`nothing to stop: ${error.message}\n`);
      return 0;
    }
    const started = performance.now();
    const report = await lab.down();
    const { labId, components } = lab.state;
    if (report.leftovers.length === 0 && report.busyPorts.length === 0) {
      const ports = components.flatMap((c) => c.ports).length;
      process.stdout.write(
        `lab ${labId} is down in ${Math.round(performance.now() - started)} ms: ${components.length} components stopped, ${ports} ports free\n`,
      );
      return 0;
    }
    process.stderr.write(
      `lab ${labId} left things behind: ${[...report.leftovers, ...report.busyPorts.map((p) => `port ${p} still open`)].join(", ")}\n`,
    );
    return 1;
  },
};
