import { ADR_GATES, originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

const INBOUND_RATE = 50;

/**
 * One FreeSWITCH instance stops under inbound load and starts again: the lab's SIPp caller calls Kamailio at
 * 50 calls/s in every phase (each call rings, is left unanswered and CANCELled after 300 ms), while the
 * harness originates 20/s through both gateways. The run shows how many inbound calls failed, when Kamailio's
 * dispatcher marked the instance inactive (its OPTIONS probe, or the failure route after fr_timer) and active
 * again, and what the gateways saw: gateway-2 loses its FreeSWITCH, so originates through it are refused.
 */
export const dispatcherFailover: Scenario = {
  name: "dispatcher-failover",
  description:
    "inbound SIP at 50 calls/s through Kamailio, 20 originates/s; the second gateway's FreeSWITCH stopped at 10 s, started at 20 s",
  topology: "sharded-2",
  load: originateLoad(),
  inbound: { ringMs: 300, holdMs: 0 },
  phases: [
    {
      name: "both up",
      inboundRate: INBOUND_RATE,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(10) },
    },
    {
      name: "one stopped",
      inboundRate: INBOUND_RATE,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(10) },
    },
    {
      name: "restarted",
      inboundRate: INBOUND_RATE,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(10) },
    },
  ],
  faults: [
    {
      at: seconds(10),
      target: { role: "freeswitch", gateway: 2 },
      fault: { kind: "stop" },
      durationMs: seconds(10),
    },
  ],
  gates: {
    "command_latency.p95": ADR_GATES["command_latency.p95"] as string,
    // Half the originates go to gateway-2, refused while its FreeSWITCH is down and until the gateway's
    // reconnect backoff (at most 5 s, ± 20 %) tries again: a sixth to a quarter fail by design.
    error_rate: "<0.3",
    "sip.caller.failure_rate": "<0.01",
    "sip.dispatcher.inactive_after_ms.max": "<3000",
    "sip.dispatcher.active_again_after_ms.max": "<3000",
  },
  drainMs: 2_000,
};
