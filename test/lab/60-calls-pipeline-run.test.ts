import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario } from "../../lab/run/run.ts";
import { callsPipeline } from "../../scenarios/calls-pipeline.ts";
import { applyRunArgs } from "../../src/harness/run/run-options.ts";
import { processesUsing, scratchDir } from "./lab-helpers.ts";

const scratch = scratchDir();
afterAll(() => scratch.remove());

describe("calls-pipeline through the scenario runner, on a single lab started for it", () => {
  it("posts calls to the lab's calls API, finds each one's CDR in the pipeline's database, writes the run's files, and leaves nothing behind", async () => {
    // 20 calls/s for 3 s, no warm-up: the scenario as `lab run calls-pipeline --rate 20 --duration 3` has it.
    const { scenario: scaled } = applyRunArgs(callsPipeline, { rate: "20", duration: "3" });
    // Every gate but the setup latency's: that one is the measurement's business, and with no warm-up on a
    // shared 2-core machine a few slow first calls must not fail a test of the plumbing.
    const { "pipeline_setup.p95": _latency, ...untimed } = scaled.gates;
    const scenario = {
      ...scaled,
      gates: untimed,
      phases: scaled.phases.filter((p) => !p.warmup),
      drainMs: 1_500,
    };
    const run = await runScenario(scenario, {
      resultsDir: scratch.resultsDir,
      log: () => {},
      progress: false,
    });

    expect(run.exitCode, run.text).toBe(0);
    const { pipeline, load, gates } = run.summary;
    expect(load?.statusCounts).toEqual({ "202": 60 });
    expect(pipeline?.settled).toBe(true);
    expect(pipeline?.segments.map((s) => s.name)).toEqual(["none"]);
    expect(pipeline?.total).toMatchObject({
      sent: 60,
      accepted: 60,
      missing: 0,
      answered: 60,
      answeredWithCdr: 60,
      cdrCompleteness: 1,
      lostCdrs: 0,
      lateCdrs: 0,
      unplaced: 0,
      unfinished: { queued: 0, ringing: 0, inProgress: 0 },
    });
    // The scenario's double answers after 100 ms and hangs up 1 s later.
    expect(pipeline?.total.setup.p50).toBeGreaterThanOrEqual(100);
    expect(pipeline?.total.setup.count).toBe(60);
    expect(gates?.map((g) => [g.metric, g.pass])).toEqual([
      ["pipeline.unplaced", true],
      ["pipeline.missing", true],
      ["pipeline.refused", true],
      ["cdr.completeness", true],
      ["pipeline.unfinished", true],
    ]);
    expect(run.summary.calls).toBeUndefined(); // its calls are audited in the database, not followed on NATS

    for (const file of ["summary.json", "series.ndjson", "junit.xml", "report.html"])
      expect(existsSync(join(run.dir, file)), file).toBe(true);
    expect(readFileSync(join(run.dir, "report.html"), "utf8")).toContain("Calls pipeline: CDRs per fault");
    expect(readFileSync(join(run.dir, "junit.xml"), "utf8")).toContain('name="cdr.completeness == 1"');
    const series = readFileSync(join(run.dir, "series.ndjson"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(series.reduce((sum, row) => sum + (row.pipeline?.accepted ?? 0), 0)).toBe(60);
    expect(existsSync(join(run.dir, "calls-db", "PG_VERSION"))).toBe(true); // PGlite under the lab's folder

    expect(processesUsing(run.dir), "processes still holding the lab's logs").toEqual([]);
  }, 90_000);
});
