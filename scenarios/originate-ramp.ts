import { stepPhases } from "../src/harness/load/phases.ts";
import { originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * A capacity search: originates in steps from 50 to 2,000 calls/s, each step gated on its own; the answer
 * is the highest step at which every gate held (`capacity_cps`). The search stops after the first failing
 * step. ADR-0011 expects 200 calls/s of production load on one gateway.
 */
export const originateRamp: Scenario = {
  name: "originate-ramp",
  description:
    "originate steps 50 → 2,000 calls/s, 5 s each, until a step fails its gates; reports the highest passing rate",
  load: originateLoad(),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 50, durationMs: seconds(3) },
    },
    ...stepPhases([50, 100, 200, 300, 400, 500, 700, 1_000, 1_500, 2_000], seconds(5)),
  ],
  capacity: {
    gates: {
      "command_latency.p95": "<50",
      "publish_lag.p95": "<100",
      error_rate: "==0",
      hung_requests: "==0",
    },
  },
  gates: { capacity_cps: ">=200", "gateway_rss_mb.max": "<512" },
  drainMs: 1_500,
};
