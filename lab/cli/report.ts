import { defaultResultsDir } from "../lib/paths.ts";
import { findSummary, formatRunReport, readSummary } from "../lib/report.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";

export const report: Command = {
  name: "report",
  summary: "print a run's summary again (default: the latest run)",
  help: `usage: npm run lab -- report [run]

Prints a run's results/<run-id>/summary.json as the table a run prints at its end.

  run    a run id (a folder of results/), a run folder, or a summary.json; default: the latest run
`,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {});
    if (positionals.length > 1) throw new UsageError("report takes at most one run");
    const path = findSummary(positionals[0], defaultResultsDir);
    process.stdout.write(`${formatRunReport(readSummary(path), path)}\n`);
    return 0;
  },
};
