import { originateLoad, seconds } from "./common.ts";
import { FIRST_FREESWITCH, type Scenario } from "./types.ts";

/**
 * FreeSWITCH slowed (every command answered 300 ms late) and then full (max-sessions reached): the gateway
 * must refuse fast with 429/503 instead of queueing, so callers see quick refusals, never hung requests.
 */
export const backpressure: Scenario = {
  name: "backpressure",
  description: "200 originates/s for 25 s; FreeSWITCH 300 ms slow for 6 s, then full at max-sessions 400",
  lab: {
    // Calls hold 3 s: at 200/s FreeSWITCH would need 600 sessions; it has 400.
    fakeswitch: { "max-sessions": "400", hold: "3000" },
  },
  // Connections enough that no request waits on our side for one: a refusal's latency is then the gateway's.
  load: originateLoad({ connections: 1_000 }),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(2) },
    },
    { name: "slow", schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: seconds(12) } },
    { name: "full", schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: seconds(13) } },
  ],
  faults: [
    {
      at: seconds(3),
      target: FIRST_FREESWITCH,
      fault: { kind: "delay-replies", ms: 300 },
      durationMs: seconds(6),
      outage: false,
    },
  ],
  gates: {
    "shed_latency.p95": "<50",
    hung_requests: "==0",
    "http.429": ">0",
    "gateway.in_flight.max": "<2000",
  },
  drainMs: 3_500,
};
