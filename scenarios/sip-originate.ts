import { ADR_GATES, originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * Originates over real SIP: gateway → the double's SIP side → Kamailio (outbound proxy) → the SIPp carrier,
 * which rings, answers after 20 ms and hangs up after 500 ms (lab/topologies/sip-2.yaml). The host part of
 * the dial string is ignored: Kamailio sends every outbound call to the lab's carrier.
 */
export const sipOriginate: Scenario = {
  name: "sip-originate",
  description: "200 originates/s for 60 s through Kamailio to a SIPp carrier (sip-2); ADR-0011 gates, ASR",
  topology: "sip-2",
  load: originateLoad({ mix: { weights: { originate: 1 }, destination: "sofia/external/1000@carrier" } }),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(3) },
    },
    { name: "hold", schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: seconds(60) } },
  ],
  gates: { ...ADR_GATES, error_rate: "<0.01", asr: ">=0.98" },
  drainMs: 3_000,
};
