/** Real SIP in an embedded lab: its UDP ports, Kamailio in front of the FreeSWITCHes, the SIPp carrier. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { kamailioArgs } from "../kamailio/kamailio.ts";
import type { ComponentState } from "../run/state.ts";
import { sippArgs } from "../sipp/sipp.ts";
import { freeUdpPort } from "./ports.ts";
import type { SipSpec, Topology } from "./topology.ts";

const loopback = "127.0.0.1";

export interface SipPlan {
  /** The SIPp carrier's port and timings. */
  carrier: { port: number; answerMs: number; holdMs: number };
  port: number;
  ctlPort: number;
  /** JSON-RPC's UDP port. */
  rpcPort: number;
  dir: string;
  frTimerMs: number;
  /** Each double's SIP port. */
  freeswitch: Map<string, number>;
}

/** Free UDP ports for Kamailio, each double's SIP side and the carrier; Kamailio's runtime folder in the run's. */
export async function planSip(
  topology: Topology,
  spec: SipSpec,
  runDir: string,
  ctlPort: number,
): Promise<SipPlan> {
  const dir = join(runDir, "kamailio");
  mkdirSync(dir, { recursive: true });
  const freeswitch = new Map<string, number>();
  for (const fs of topology.freeswitch) freeswitch.set(fs.name, await freeUdpPort());
  return {
    port: await freeUdpPort(),
    ctlPort,
    rpcPort: await freeUdpPort(),
    dir,
    frTimerMs: spec.frTimerMs,
    freeswitch,
    carrier: { ...spec.carrier, port: await freeUdpPort() },
  };
}

/**
 * Kamailio in front of the doubles (lab/kamailio/kamailio.cfg): kamcmd over TCP on loopback (for people, and
 * its readiness), JSON-RPC over UDP on loopback (what the lab reads).
 */
export function kamailioComponent(sip: SipPlan, command: string, logFile: string): ComponentState {
  const ctl = `tcp:${loopback}:${sip.ctlPort}`;
  const rpc = `udp:${loopback}:${sip.rpcPort}`;
  const freeswitch = [...sip.freeswitch.values()].map((port) => ({ host: loopback, port }));
  return {
    name: "kamailio",
    kind: "kamailio",
    launch: {
      name: "kamailio",
      command,
      args: kamailioArgs({
        port: sip.port,
        dir: sip.dir,
        ctl,
        rpc,
        freeswitch,
        frTimerMs: sip.frTimerMs,
        carrier: { host: loopback, port: sip.carrier.port },
      }),
      env: {},
      secretEnv: {},
      logFile,
      // The ctl socket opens once the configuration is loaded and the workers run.
      ready: { port: { host: loopback, port: sip.ctlPort } },
    },
    endpoints: { sip: `udp://${loopback}:${sip.port}`, ctl, rpc },
    ports: [sip.ctlPort],
    health: { kind: "kamailio", rpc },
  };
}

/**
 * The carrier: SIPp answering every call (lab/sipp/carrier-answer.xml) in its own folder, its working
 * directory, where it also writes its response times. A lab may stay up for long, so its bound is large but
 * finite: a million calls or a day. SIPp speaks UDP only: it is ready once it has written its statistics
 * file's header.
 */
export function carrierComponent(
  carrier: SipPlan["carrier"],
  command: string,
  dir: string,
  logFile: string,
): ComponentState {
  mkdirSync(dir, { recursive: true });
  const scenario = "carrier-answer";
  const { args, statsFile } = sippArgs(
    {
      scenario,
      port: carrier.port,
      calls: 1_000_000,
      timeoutS: 86_400,
      timings: { ANSWER_MS: carrier.answerMs, HOLD_MS: carrier.holdMs },
    },
    dir,
  );
  const name = "carrier";
  return {
    name,
    kind: "sipp",
    launch: { name, command, args, cwd: dir, env: {}, secretEnv: {}, logFile, ready: { file: statsFile } },
    endpoints: { sip: `udp://${loopback}:${carrier.port}`, scenario, stats: statsFile },
    ports: [],
    health: { kind: "sipp", statsFile },
  };
}
