import { originateLoad, seconds } from "./common.ts";
import { FIRST_FREESWITCH, type Scenario } from "./types.ts";

/**
 * Event bursts far above the steady state (FreeSWITCH firing tens of thousands of events at once, as a
 * mass hangup does): the publish lag they cause, whether the bounded queue drops any, and whether the
 * commands of the ongoing calls notice.
 */
export const eventStorm: Scenario = {
  name: "event-storm",
  description: "100 originates/s for 20 s with bursts of 20,000 and 50,000 events",
  load: originateLoad(),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 50, durationMs: seconds(2) },
    },
    { name: "steady", schedule: { executor: "constant-arrival-rate", rate: 100, durationMs: seconds(20) } },
  ],
  faults: [
    {
      at: seconds(5),
      target: FIRST_FREESWITCH,
      fault: { kind: "event-burst", count: 20_000 },
      outage: false,
    },
    {
      at: seconds(12),
      target: FIRST_FREESWITCH,
      fault: { kind: "event-burst", count: 50_000 },
      outage: false,
    },
  ],
  gates: {
    "gateway.events_dropped": "==0",
    "publish_lag.p99": "<2000",
    "command_latency.p95": "<50",
    "events.malformed": "==0",
  },
  drainMs: 3_000,
};
