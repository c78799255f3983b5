import type { Scenario } from "./types.ts";

/** The thin end-to-end path: open-loop originates at 50 calls/s for 10 s through the gateway. */
export const smoke: Scenario = {
  name: "smoke",
  description:
    "50 originates/s for 10 s through the gateway; every call answered after 20 ms and hung up after 500 ms",
  fakeswitch: {
    "answer-delay": "20",
    hold: "500",
    // FreeSWITCH's stock limits (1000 sessions, 30/s) would refuse this load by design; the lab raises them.
    sps: "5000",
    "max-sessions": "20000",
    heartbeat: "1000",
  },
  load: {
    schedule: { executor: "constant-arrival-rate", rate: 50, durationMs: 10_000 },
    connections: 16,
    maxInFlight: 500,
    destination: "sofia/internal/1000@127.0.0.1:5090",
  },
  drainMs: 1_500,
};
