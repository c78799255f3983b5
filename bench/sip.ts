/**
 * `npm run bench sip [-- --rates 200,300,400,500,600 --duration 60]`: the highest rate at which originates
 * over real SIP hold every gate of the `sip-originate` scenario (ADR-0011's ESL figures, ASR, SIPp's failed
 * calls and retransmissions, Kamailio's drops). One run of the scenario per rate, each on a lab of its own
 * (the SIPp carrier's statistics are per run), rising until a rate fails; prints a row per rate and the
 * highest passing one. results/<run-id>/ of each run has its report.html.
 */
import { parseArgs } from "node:util";
import { runScenario } from "../lab/run/run.ts";
import { seconds } from "../scenarios/common.ts";
import { sipOriginate } from "../scenarios/sip-originate.ts";

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "200,300,400,500,600" },
    duration: { type: "string", default: "60" },
  },
});
const rates = values.rates.split(",").map(Number);
const durationMs = Number(values.duration) * 1000;
if (rates.some((r) => !(r > 0)) || !(durationMs > 0))
  throw new Error("--rates and --duration must be positive");

const fmt = (v: number | undefined, unit = "") =>
  v === undefined ? "-" : `${Math.round(v * 1000) / 1000}${unit}`;
let highest: number | undefined;
console.log("rate     p95 ms   errors   ASR     SIPp failed  retrans  Kamailio dropped  gates");
for (const rate of rates) {
  const warmup = sipOriginate.phases.filter((p) => p.warmup);
  const run = await runScenario(
    {
      ...sipOriginate,
      name: `bench-sip-${rate}`,
      phases: [
        ...warmup,
        { name: `${rate}/s`, schedule: { executor: "constant-arrival-rate", rate, durationMs } },
      ],
      drainMs: seconds(3),
    },
    { progress: false, log: () => {} },
  );
  const m = run.summary.metrics ?? {};
  const failed = (run.summary.gates ?? []).filter((g) => !g.pass).map((g) => `${g.metric} ${fmt(g.actual)}`);
  console.log(
    [
      `${rate}/s`.padEnd(8),
      fmt(m["command_latency.p95"]).padStart(7),
      fmt(m.error_rate).padStart(8),
      fmt(m.asr).padStart(6),
      `${fmt(m["sip.carrier.failed"])} of ${fmt(m["sip.carrier.calls"])}`.padStart(14),
      fmt(m["sip.carrier.retransmissions"]).padStart(8),
      fmt(m["sip.kamailio.dropped"]).padStart(17),
      `  ${failed.length === 0 ? "pass" : `FAIL ${failed.join(", ")}`}  (${run.dir})`,
    ].join(" "),
  );
  if (failed.length > 0) break;
  highest = rate;
}
console.log(`highest rate where every sip-originate gate held: ${highest ?? "none"} calls/s`);
