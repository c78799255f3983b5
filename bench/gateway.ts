/**
 * `npm run bench gateway [-- --rates 200,500,1000,1500 --duration 60]`: the originate-ramp scenario with
 * the given steps and targets, on one embedded lab of the `gateway-bench` topology (`single` without the
 * calls pipeline, whose CDR writer would compete for the cores): open-loop originates through the gateway's HTTP API,
 * every call's events followed on NATS, each step gated on its own. Prints the run (a table per step) and
 * the highest rate at which every target held; results/<run-id>/ has report.html.
 */
import { parseArgs } from "node:util";
import { runScenario } from "../lab/run/run.ts";
import { originateRamp } from "../scenarios/originate-ramp.ts";
import { stepPhases } from "../src/harness/load/phases.ts";

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "200,500,1000,1500" },
    duration: { type: "string", default: "60" },
    warmup: { type: "string", default: "5" },
    "p95-ms": { type: "string", default: "10" },
    "lag-p95-ms": { type: "string", default: "5" },
    "rss-mb": { type: "string", default: "150" },
  },
});
const rates = values.rates.split(",").map(Number);
const durationMs = Number(values.duration) * 1000;
const warmupMs = Number(values.warmup) * 1000;
if (rates.some((r) => !(r > 0)) || !(durationMs > 0) || !(warmupMs > 0))
  throw new Error("--rates, --duration and --warmup must be positive");

const run = await runScenario(
  {
    ...originateRamp,
    name: "bench-gateway",
    topology: "gateway-bench",
    description: `originate steps ${rates.join(", ")} calls/s, ${durationMs / 1000} s each`,
    lab: { gatewayEnv: { LOG_LEVEL: "warn" } },
    phases: [
      {
        name: "warm-up",
        warmup: true,
        schedule: { executor: "constant-arrival-rate", rate: rates[0]!, durationMs: warmupMs },
      },
      ...stepPhases(rates, durationMs),
    ],
    capacity: {
      gates: {
        "command_latency.p95": `<=${values["p95-ms"]}`,
        "publish_lag.p95": `<=${values["lag-p95-ms"]}`,
        error_rate: "==0",
        hung_requests: "==0",
        "gateway_rss_mb.max": `<=${values["rss-mb"]}`,
      },
    },
  },
  { progress: false, log: () => {} },
);
console.log(run.text);
console.log(`highest rate where every target held: ${run.summary.capacity?.cps ?? "none"} calls/s`);
