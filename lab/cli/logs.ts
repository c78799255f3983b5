import { Lab } from "../run/lab.ts";
import { type Command, intOption, parseCommandArgs, UsageError } from "./command.ts";

export const logs: Command = {
  name: "logs",
  summary: "the last lines of every component's log, or one component's (-f to follow)",
  help: `usage: npm run lab -- logs [component] [-n <lines>] [-f]

Prints the end of each component's log (results/<lab-id>/<component>.log; compose mode: docker compose logs).

  component         one component (see \`npm run lab -- status\`); default: all
  -n, --lines <n>   how many lines of each (default 20)
  -f, --follow      keep printing new lines (Ctrl-C to stop); follows a component across restarts
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      lines: { type: "string", short: "n" },
      follow: { type: "boolean", short: "f" },
    });
    if (positionals.length > 1) throw new UsageError("logs takes at most one component");
    const lab = await Lab.attach();
    const components = positionals[0] ? [lab.component(positionals[0])] : lab.state.components;
    const lines = intOption(values.lines, "--lines", 0, 1_000_000) ?? 20;
    await lab.runtime.showLogs(lab.state, components, { lines, follow: values.follow === true });
    return 0;
  },
};
