import { ADR_GATES, originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * A fixed rate for a while: does anything creep? Memory and publish lag are fitted with a line over the
 * run (slope per minute); a leak or a growing queue shows as a slope. `--duration` makes it a soak.
 */
export const steady: Scenario = {
  name: "steady",
  description: "200 originates/s for 60 s: latency, publish lag and memory trends",
  load: originateLoad(),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 50, durationMs: seconds(3) },
    },
    { name: "steady", schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: seconds(60) } },
  ],
  gates: {
    ...ADR_GATES,
    error_rate: "==0",
    "calls.incomplete": "==0",
    "rss_mb.gateway.slope_per_min": "<20",
    "publish_lag.p95.slope_per_min": "<10",
  },
  drainMs: 1_500,
};
