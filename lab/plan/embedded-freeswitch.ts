import type { Endpoint } from "../faults/fault-proxy.ts";
import { freeswitchArgs, freeswitchStopGraceMs, writeFreeswitchConfig } from "../freeswitch/freeswitch.ts";
import type { ComponentState } from "../run/state.ts";
import type { RealFreeswitchSpec } from "./topology.ts";

const loopback = "127.0.0.1";

/** Whether this FreeSWITCH is a real one the lab runs (not the double, not an external one). */
export function isRealFreeswitch(components: readonly ComponentState[], name: string): boolean {
  return components.some((c) => c.name === name && c.kind === "freeswitch" && c.launch !== undefined);
}

/**
 * A real FreeSWITCH: its configuration written from lab/freeswitch/freeswitch.xml into a private folder
 * (it holds the ESL password; removed by `down`), run in the foreground with its own folders under the
 * run's. Ready once ESL accepts: mod_event_socket is the last module it loads.
 */
export function realFreeswitchComponent(plan: {
  spec: RealFreeswitchSpec;
  index: number;
  binary: string;
  eslPort: number;
  sipPort: number;
  kamailio: Endpoint | undefined;
  inboundHoldMs: number;
  eslPassword: string;
  runDir: string;
  logFile: string;
}): ComponentState {
  const { spec, eslPort, sipPort } = plan;
  // Below the ephemeral range (32768+), 1,000 ports an instance: the instances of a lab never share one.
  const rtpStart = 20_000 + plan.index * 1_000;
  const dirs = writeFreeswitchConfig(
    {
      name: spec.name,
      eslPort,
      sipPort,
      outboundProxy: plan.kamailio,
      sessionsPerSecond: spec.sessionsPerSecond,
      maxSessions: spec.maxSessions,
      inboundHoldMs: plan.inboundHoldMs,
      rtpPorts: [rtpStart, rtpStart + 999],
    },
    plan.eslPassword,
    plan.runDir,
  );
  const endpoint = { host: loopback, port: eslPort };
  return {
    name: spec.name,
    kind: "freeswitch",
    launch: {
      name: spec.name,
      command: plan.binary,
      args: freeswitchArgs(dirs),
      env: {},
      secretEnv: {},
      logFile: plan.logFile,
      ready: { port: endpoint },
      readyTimeoutMs: 30_000,
      stopGraceMs: freeswitchStopGraceMs,
    },
    privateDir: dirs.conf,
    endpoints: { esl: `tcp://${loopback}:${eslPort}`, sip: `udp://${loopback}:${sipPort}` },
    ports: [eslPort],
    health: { kind: "freeswitch", endpoint },
  };
}
