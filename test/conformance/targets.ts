import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freeswitchArgs,
  removeFreeswitchConfig,
  writeFreeswitchConfig,
} from "../../lab/freeswitch/freeswitch.ts";
import { freePort, freeUdpPort, waitForPort } from "../../lab/plan/ports.ts";
import { ChildGroup } from "../../lab/run/child-group.ts";
import { startFakeSwitch } from "../../src/fakeswitch/index.ts";

/** One switch the suite talks to: its ESL port and password, and how to stop it. */
export interface Target {
  name: "real" | "double";
  eslPort: number;
  password: string;
  /** Its sofia profile `external` on UDP 127.0.0.1: where the inbound SIPp caller sends its INVITE. */
  sipPort: number;
  stop(): Promise<void>;
}

export const PASSWORD = "ClueCon";
/** The suite's own limits, the vanilla values (the checks of the limits change them at runtime and back). */
const MAX_SESSIONS = 1000;
const SESSIONS_PER_SECOND = 30;

/**
 * A real FreeSWITCH from lab/freeswitch (no outbound proxy: `sofia/external/…@127.0.0.1:<port>` reaches the
 * SIPp far end directly). Its configuration (holding the password) and its folders are removed at stop,
 * and on a failed start.
 */
export async function startRealFreeswitch(binary: string): Promise<Target> {
  const runDir = mkdtempSync(join(tmpdir(), "fs-conformance-"));
  const [eslPort, sipPort] = [await freePort(), await freeUdpPort()];
  const dirs = writeFreeswitchConfig(
    {
      name: "conformance",
      eslPort,
      sipPort,
      sessionsPerSecond: SESSIONS_PER_SECOND,
      maxSessions: MAX_SESSIONS,
      inboundHoldMs: 500,
      rtpPorts: [42_000, 42_999],
    },
    PASSWORD,
    runDir,
  );
  const logFd = openSync(join(runDir, "freeswitch.log"), "a");
  const child = new ChildGroup(binary, freeswitchArgs(dirs), { cwd: runDir, logFd });
  closeSync(logFd);
  const stop = async () => {
    // An idle FreeSWITCH exits on SIGTERM in a few seconds; past 10 s it is killed.
    await child.stop("SIGTERM", 10_000);
    removeFreeswitchConfig(dirs);
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForPort("127.0.0.1", eslPort, 30_000),
      child.exited.then((code) => {
        throw new Error(`FreeSWITCH exited (${code}) before ESL accepted; see ${runDir}/freeswitch.log`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name: "real", eslPort, password: PASSWORD, sipPort, stop };
}

/** The double with the same limits and a SIP side as sofia profile `external`, as the real one has. */
export async function startDouble(): Promise<Target> {
  const fs = await startFakeSwitch({
    password: PASSWORD,
    maxSessions: MAX_SESSIONS,
    sessionsPerSecond: SESSIONS_PER_SECOND,
    sip: { port: 0, profile: "external" },
  });
  return {
    name: "double",
    eslPort: fs.port,
    password: PASSWORD,
    sipPort: fs.sipPort ?? 0,
    stop: () => fs.close(),
  };
}
