import { farEnds } from "../src/harness/run/lab-handle.ts";
import { ADR_GATES, originateLoad, seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * Originates over real SIP: gateway → the double's SIP side (its `external` profile), or a real FreeSWITCH's
 * `external` profile (single-real, mixed) → Kamailio (outbound proxy) → the lab's SIPp carrier, which rings,
 * answers after 20 ms and hangs up after 500 ms. The host part
 * of the dial string is ignored: Kamailio sends every outbound call to the carrier. Gated on both sides:
 * ADR-0011's ESL figures and ASR, and SIP's own (SIPp's failed calls and retransmissions, Kamailio's drops).
 */
export const sipOriginate: Scenario = {
  name: "sip-originate",
  description:
    "200 originates/s for 60 s through Kamailio to the SIPp carrier (sharded-2); ADR-0011 gates, ASR, SIP gates",
  topology: "sharded-2",
  load: originateLoad({ mix: { weights: { originate: 1 }, destination: farEnds.freeswitch } }),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(3) },
    },
    { name: "hold", schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: seconds(60) } },
  ],
  gates: {
    ...ADR_GATES,
    error_rate: "<0.01",
    asr: ">=0.98",
    "sip.carrier.failure_rate": "<0.01",
    "sip.carrier.retransmission_rate": "<0.01",
    "sip.kamailio.dropped": "==0",
  },
  drainMs: 3_000,
};
