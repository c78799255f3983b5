import { ADR_GATES, originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * nats-server stopped for 5 s under load and started again: commands must not notice, events wait in the
 * gateway's bounded queue and are published once NATS is back (none dropped at this rate). Events sent
 * into the dying connection and never confirmed are sent again, so no call misses a lifecycle event.
 */
export const natsOutage: Scenario = {
  name: "nats-outage",
  description: "100 originates/s for 25 s; nats-server stopped at 5 s for 5 s",
  load: originateLoad(),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 50, durationMs: seconds(2) },
    },
    { name: "steady", schedule: { executor: "constant-arrival-rate", rate: 100, durationMs: seconds(25) } },
  ],
  faults: [
    {
      at: seconds(5),
      target: "nats",
      fault: { kind: "stop" },
      durationMs: seconds(5),
      label: "nats-server stopped",
    },
  ],
  gates: {
    "command_latency.p95": ADR_GATES["command_latency.p95"]!,
    error_rate: "==0",
    "gateway.events_dropped": "==0",
    events_lost: "==0",
    "outages.unrecovered": "==0",
    "reconnect_ms.max": "<5000",
  },
  drainMs: 3_000,
};
