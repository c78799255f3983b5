import { seconds } from "./common.ts";
import type { Scenario } from "./types.ts";

/**
 * The commands of a call's life in a realistic mix: originate, then play prompts and transfer while the
 * call is up, and hang up from our side, with calls held 5–15 s. Each command is gated on its own latency.
 * The double holds each call as long as its originate says; a real FreeSWITCH's calls last as long as the
 * far end holds them: in the lab, the SIPp carrier, 10 s (the range's middle) for every call.
 */
export const callControl: Scenario = {
  name: "call-control",
  description:
    "120 commands/s for 30 s: originate 40 %, play 30 %, transfer 10 %, hangup 20 %; calls held 5–15 s",
  lab: { carrierHoldMs: 10_000 },
  load: {
    connections: 32,
    maxInFlight: 2_000,
    requestTimeoutMs: 10_000,
    mix: {
      weights: { originate: 4, play: 3, transfer: 1, hangup: 2 },
      holdMs: [5_000, 15_000],
    },
  },
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(2) },
    },
    { name: "mix", schedule: { executor: "constant-arrival-rate", rate: 120, durationMs: seconds(30) } },
  ],
  gates: {
    "command_latency.originate.p95": "<50",
    "command_latency.play.p95": "<50",
    "command_latency.transfer.p95": "<50",
    "command_latency.hangup.p95": "<50",
    asr: ">=0.99",
    // A call may end on its own just before a command for it arrives (404): rare, not zero.
    error_rate: "<0.02",
  },
  // Calls outlive the load by up to their longest hold: their hangups arrive before the run ends.
  drainMs: 16_000,
};
