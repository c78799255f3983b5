import { compareRuns } from "../../src/harness/report/compare.ts";
import { defaultResultsDir } from "../run/paths.ts";
import { findSummary, formatRunReport, readSummary } from "../run/report.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";

export const report: Command = {
  name: "report",
  summary: "print a run's summary again (default: the latest run), or compare two runs",
  help: `usage: npm run lab -- report [run]
       npm run lab -- report <run A> <run B>

With one run (or none: the latest), prints its results/<run-id>/summary.json as the table a run prints at
its end; its report.html beside it has the charts. With two, sets them side by side: every figure of A and
B, B − A and the change in %, which way is better, and the gates that fail in only one of them.

  run    a run id (a folder of results/), a run folder, or a summary.json
`,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {});
    if (positionals.length > 2) throw new UsageError("report takes at most two runs");
    if (positionals.length === 2) {
      const [a, b] = positionals.map((run) => readSummary(findSummary(run, defaultResultsDir)));
      process.stdout.write(`${compareRuns(a!, b!).text}\n`);
      return 0;
    }
    const path = findSummary(positionals[0], defaultResultsDir);
    process.stdout.write(`${formatRunReport(readSummary(path), path)}\n`);
    return 0;
  },
};
