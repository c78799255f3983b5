import { ADR_GATES, originateLoad, PUBLISHER_GATES, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * nats-server stopped for 5 s under load and started again: commands must not notice, events wait in the
 * gateway's bounded queue and are published once NATS is back (none dropped at this rate). Events sent
 * into the dying connection and never confirmed are sent again, so no call misses a lifecycle event.
 *
 * Loss is gated on what NATS stored (`events_unstored`), not on `events_lost`: that counts what the
 * harness's plain subscriber saw, and after the restart it may subscribe again only once the gateway has
 * sent its backlog, missing events the server did get. `events_lost` is still reported.
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
    ...PUBLISHER_GATES,
    "outages.unrecovered": "==0",
    "reconnect_ms.max": "<5000",
  },
  drainMs: 3_000,
};
