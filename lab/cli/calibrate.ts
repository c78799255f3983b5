import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { type LoadProfile, readLoadProfile } from "../../src/fakeswitch/load-profile.ts";
import {
  type CalibrationPlan,
  calibrate as calibrateReal,
  checkProfile,
  checkRates,
  defaultPlan,
  measureRealFreeswitch,
  type ResidualRow,
  refit,
} from "../calibrate/calibration.ts";
import type { LoadStepResult } from "../calibrate/esl-load-step.ts";
import { requireFreeswitch } from "../freeswitch/freeswitch.ts";
import { repoRoot } from "../run/paths.ts";
import { type Command, intOption, parseCommandArgs, UsageError } from "./command.ts";

const profilesDir = join(repoRoot, "lab", "profiles");
export const defaultProfile = join(profilesDir, "freeswitch-1.10-2core.json");

export const calibrate: Command = {
  name: "calibrate",
  summary:
    "measure the real FreeSWITCH under rising load and fit a load profile the double loads (--check: the residual)",
  help: `usage: npm run lab -- calibrate [--name <name>] [--rates 20,50,…] [--step-s <s>] [--repeats <n>]
       npm run lab -- calibrate --check [--real] [--profile <file>] [--rates a,b,c] [--step-s <s>] [--repeats <n>]
       npm run lab -- calibrate --refit [--profile <file>]

Without --check: starts a lab of its own with the real FreeSWITCH (single-real without the calls pipeline
and fault proxies: FreeSWITCH, its gateway, nats, Kamailio and the SIPp carrier), drives FreeSWITCH's ESL
at each rate in turn (bgapi originate through Kamailio to the carrier, and 10 api uptime probes a second),
and measures command reply latency, job latency (originate to BACKGROUND_JOB), errors, events per call
and FreeSWITCH's CPU (/proc). A sweep stops at a rate where most work fails. It fits the double's queue
model to the figures and writes lab/profiles/<name>.json; stops the lab. Needs FreeSWITCH 1.10.

With --check: runs the double loaded with the profile (a single lab with load-profile set) at three of the
profile's measured rates, the same way, and prints double against real: command p95, job p50 and p95,
error rate. With --real, the real FreeSWITCH is measured again at those rates first (a lab of its own),
so that both sides run under the machine's load of the moment. docs/calibration.md describes the model
and the tolerance reached.

With --refit: fits the model again to the profile's measurements (after a change to the model) and
rewrites the file; measures nothing.

  --name <name>      the profile's name and file (default freeswitch-<major.minor>-<cores>core)
  --rates <list>     originates a second (default ${defaultPlan.rates.join(",")}; with --check: the lowest
                       measured rate, the last before the knee and the knee)
  --step-s <s>       seconds at each rate (default ${defaultPlan.stepMs / 1000}; 3 to 60)
  --repeats <n>      sweeps; each figure is the median over them (default ${defaultPlan.repeats}; 1 to 5)
  --check            the residual of a profile instead of a new one
  --real             with --check: measure the real FreeSWITCH again rather than use the profile's figures
  --refit            the profile's model fitted again to its measurements
  --profile <file>   with --check or --refit: the profile (default lab/profiles/freeswitch-1.10-2core.json)
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      name: { type: "string" },
      rates: { type: "string" },
      "step-s": { type: "string" },
      repeats: { type: "string" },
      check: { type: "boolean" },
      real: { type: "boolean" },
      refit: { type: "boolean" },
      profile: { type: "string" },
    });
    if (positionals.length > 0)
      throw new UsageError(`calibrate takes options only, got ${positionals.join(" ")}`);
    const rates = values.rates === undefined ? undefined : rateList(values.rates);
    const stepMs = (intOption(values["step-s"], "--step-s", 3, 60) ?? defaultPlan.stepMs / 1000) * 1000;
    const repeats = intOption(values.repeats, "--repeats", 1, 5) ?? defaultPlan.repeats;
    if (values.refit) {
      if (values.check || values.name !== undefined || values.rates !== undefined)
        throw new UsageError("--refit takes --profile only");
      const file = resolve(values.profile ?? defaultProfile);
      const profile = refit(readLoadProfile(file));
      writeFileSync(file, `${JSON.stringify(profile, null, 2)}\n`);
      process.stdout.write(
        `model: ${JSON.stringify(profile.model)}\nwrote ${relative(process.cwd(), file)}\n`,
      );
      return 0;
    }
    if (values.check) {
      if (values.name !== undefined) throw new UsageError("--name makes a profile; --check reads one");
      const file = resolve(values.profile ?? defaultProfile);
      const profile = readLoadProfile(file);
      const checked = rates ?? checkRates(profile);
      const unmeasured = checked.filter((r) => !profile.measured.rates.some((m) => m.rate === r));
      if (unmeasured.length > 0)
        throw new UsageError(`the profile has no measurement at ${unmeasured.join(", ")}/s to compare with`);
      process.stdout.write(
        `checking ${relative(process.cwd(), file)} at ${checked.join(", ")}/s, ${repeats}× ${stepMs / 1000} s\n`,
      );
      const plan: CalibrationPlan = { ...profile.measured.setup, rates: checked, stepMs, repeats };
      let real = profile.measured.rates;
      if (values.real) {
        await requireFreeswitch();
        process.stdout.write("the real FreeSWITCH:\n");
        real = (await measureRealFreeswitch(plan, printStep)).rates;
        process.stdout.write("the double with the profile:\n");
      }
      const rows = await checkProfile(profile, file, plan, printStep, real);
      process.stdout.write(`\n${residualTable(rows)}\n`);
      return 0;
    }
    if (values.profile !== undefined) throw new UsageError("--profile goes with --check or --refit");
    if (values.real) throw new UsageError("--real goes with --check");
    await requireFreeswitch();
    const plan: CalibrationPlan = { ...defaultPlan, rates: rates ?? defaultPlan.rates, stepMs, repeats };
    const name = values.name ?? `freeswitch-1.10-${cpus().length}core`;
    if (!/^[A-Za-z0-9_.-]+$/.test(name))
      throw new UsageError(`--name: letters, digits, . _ - only, got ${name}`);
    process.stdout.write(`calibrating: ${plan.rates.join(", ")}/s, ${repeats}× ${stepMs / 1000} s each\n`);
    const profile = await calibrateReal(name, plan, printStep);
    const file = join(profilesDir, `${name}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(profile, null, 2)}\n`);
    process.stdout.write(
      `\n${measuredTable(profile)}\n\nmodel: ${JSON.stringify(profile.model)}\nwrote ${relative(process.cwd(), file)}\n`,
    );
    return 0;
  },
};

function rateList(text: string): number[] {
  const rates = text.split(",").map((r) => Number(r.trim()));
  if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1 || r > 1000))
    throw new UsageError(`--rates: whole numbers from 1 to 1000, comma-separated, got ${text}`);
  return [...new Set(rates)].sort((a, b) => a - b);
}

function printStep(step: LoadStepResult, repeat: number): void {
  process.stdout.write(
    `  #${repeat + 1} ${String(step.rate).padStart(4)}/s  command p95 ${ms(step.command.p95)}  job p50 ${ms(step.job.p50)} p95 ${ms(step.job.p95)}  errors ${pct(step.errorRate)}  events/call ${step.eventsPerCall}${step.cpuCores === undefined ? "" : `  cpu ${step.cpuCores} cores`}  load ${step.loadAverage}\n`,
  );
}

/** The measured figures per rate, as docs/calibration.md shows them. */
export function measuredTable(profile: LoadProfile): string {
  const head =
    "| rate/s | command p50 / p95 ms | job p50 / p95 ms | errors | events/call | CPU cores | CPU ms/call | load avg |";
  const rows = profile.measured.rates.map(
    (r) =>
      `| ${r.rate} | ${ms(r.commandP50Ms)} / ${ms(r.commandP95Ms)} | ${ms(r.jobP50Ms)} / ${ms(r.jobP95Ms)} | ${pct(r.errorRate)} | ${r.eventsPerCall} | ${r.cpuCores ?? "–"} | ${r.cpuMsPerCall ?? "–"} | ${r.loadAverage} |`,
  );
  return [head, "|---|---|---|---|---|---|---|---|", ...rows].join("\n");
}

/** Double against real per rate, and the worst ratio of each latency figure over the rates. */
export function residualTable(rows: readonly ResidualRow[]): string {
  const pair = (real: number, double: number) => `${ms(real)} / ${ms(double)} (${ratio(double, real)})`;
  const lines = rows.map(
    ({ rate, real, double }) =>
      `| ${rate} | ${pair(real.commandP95Ms, double.commandP95Ms)} | ${pair(real.jobP50Ms, double.jobP50Ms)} | ${pair(real.jobP95Ms, double.jobP95Ms)} | ${pct(real.errorRate)} / ${pct(double.errorRate)} |`,
  );
  const worst = (pick: (r: ResidualRow["real"]) => number) =>
    Math.max(...rows.map((r) => Math.abs(pick(r.double) / Math.max(pick(r.real), 0.001) - 1)));
  return [
    "| rate/s | command p95 ms: real / double | job p50 ms: real / double | job p95 ms: real / double | errors: real / double |",
    "|---|---|---|---|---|",
    ...lines,
    "",
    `largest deviation: command p95 ${pct(worst((r) => r.commandP95Ms))}, job p50 ${pct(worst((r) => r.jobP50Ms))}, job p95 ${pct(worst((r) => r.jobP95Ms))}`,
  ].join("\n");
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function pct(share: number): string {
  return `${(share * 100).toFixed(share > 0 && share < 0.01 ? 1 : 0)} %`;
}

function ratio(double: number, real: number): string {
  return `×${(double / Math.max(real, 0.001)).toFixed(2)}`;
}
