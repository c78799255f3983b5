import { originateLoad, RECONNECT_GATES, seconds } from "./common.ts";
import { FIRST_FREESWITCH, type Scenario } from "./types.ts";

/**
 * ESL outages under load, one after another: an orderly close (FIN), a reset (RST), a half-open connection
 * (the link holds bytes, nothing arrives: only the gateway's idle timeout can tell), and FreeSWITCH restarted
 * (the double, or a real one the lab runs; not an external one: --skip-fault "FreeSWITCH restart"). Each is
 * timed (detected, reconnected), with the commands that failed (fast, 503) and hung (must be none) and the
 * call events lost while ESL was down.
 */
export const reconnect: Scenario = {
  name: "reconnect",
  description:
    "100 originates/s for 40 s through ESL cut FIN, cut RST, a 4 s half-open link and a FreeSWITCH restart",
  lab: {
    // Half-open: with commands outstanding and no byte for 2 s, the gateway drops the connection.
    gatewayEnv: { ESL_IDLE_TIMEOUT_MS: "2000" },
  },
  load: originateLoad({ connections: 32 }),
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 50, durationMs: seconds(2) },
    },
    { name: "steady", schedule: { executor: "constant-arrival-rate", rate: 100, durationMs: seconds(40) } },
  ],
  faults: [
    { at: seconds(5), target: "esl", fault: { kind: "cut", mode: "fin" } },
    { at: seconds(12), target: "esl", fault: { kind: "cut", mode: "rst" } },
    {
      at: seconds(19),
      target: "esl",
      fault: { kind: "blackhole" },
      durationMs: seconds(4),
      label: "esl half-open",
    },
    // Last, with 12 s to go: a real FreeSWITCH takes 5–7 s to stop and start here, and the gateway's
    // backoff, grown by the three outages before (each connection up under 30 s), up to 5 s more.
    { at: seconds(28), target: FIRST_FREESWITCH, fault: { kind: "restart" }, label: "FreeSWITCH restart" },
  ],
  gates: { ...RECONNECT_GATES, "detect_ms.max": "<3000", "command_latency.p50": "<50" },
  drainMs: 2_000,
};
