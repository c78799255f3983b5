import { ADR_GATES, originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * One FreeSWITCH instance stops under inbound load (lab/topologies/sip-failover.yaml: SIPp calls Kamailio at
 * 50 calls/s). `lab run` prints the SIP side: how many of SIPp's calls failed, when Kamailio's dispatcher
 * marked the instance down (its OPTIONS probe, or the failure route after fr_timer), and Kamailio's counters;
 * the gateways' side is the run's: gateway-2 loses its FreeSWITCH, so originates through it are refused.
 */
export const dispatcherFailover: Scenario = {
  name: "dispatcher-failover",
  description:
    "inbound SIP at 50 calls/s through Kamailio; fakeswitch-2 stopped at 10 s; 30 s of 20 originates/s",
  topology: "sip-failover",
  load: originateLoad(),
  phases: [
    { name: "steady", schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(30) } },
  ],
  faults: [{ at: seconds(10), target: "fakeswitch-2", fault: { kind: "stop" } }],
  // Half the originates go to gateway-2, refused for the last 20 of 30 s: about a third fail by design.
  gates: { "command_latency.p95": ADR_GATES["command_latency.p95"] as string, error_rate: "<0.4" },
  drainMs: 2_000,
};
