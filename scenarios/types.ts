import type { ArrivalSchedule } from "../src/harness/arrival.ts";

/** What a scenario asks of the lab: the FreeSWITCH double's profile, the load, and how long to let calls finish. */
export interface Scenario {
  name: string;
  description: string;
  /** The lab topology it runs on when it starts its own lab (lab/topologies/<name>.yaml); default single. */
  topology?: string;
  /** Flags for the FreeSWITCH double's CLI (`npm run fakeswitch -- --help`). */
  fakeswitch: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  load: {
    schedule: ArrivalSchedule;
    /** Keep-alive HTTP connections to the gateway. */
    connections: number;
    maxInFlight: number;
    /** A warm-up at the starting rate before measuring (JIT, connection pools); recorded, not gated. */
    warmupMs?: number;
    /** Dial string each originate uses. */
    destination: string;
  };
  /** After the last request, time for the calls' remaining events (answer, hangup) to arrive. */
  drainMs: number;
}
