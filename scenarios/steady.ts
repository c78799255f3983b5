import { ADR_GATES, originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * A fixed rate for a while: does anything creep? Memory and publish lag get a trend per minute (the last
 * third of the run against the first, robust to one spike): a leak or a growing queue shows as one.
 * `--duration` makes it a soak.
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
    "rss_mb.gateway.trend_per_min": "<20",
    "publish_lag.p95.trend_per_min": "<10",
  },
  drainMs: 1_500,
};
