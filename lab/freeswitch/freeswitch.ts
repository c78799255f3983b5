import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { locate } from "../run/system-deps.ts";

const template = join(dirname(fileURLToPath(import.meta.url)), "freeswitch.xml");

/** Where a real FreeSWITCH is looked for when FREESWITCH_BIN is unset and none is on PATH. */
const defaultInstall = "/usr/local/freeswitch/bin/freeswitch";

export class FreeswitchMissingError extends Error {
  override name = "FreeswitchMissingError";
}

/**
 * The FreeSWITCH binary: FREESWITCH_BIN, else `freeswitch` on PATH, else /usr/local/freeswitch. Undefined
 * when there is none (the embedded default runs the double and needs none).
 */
export async function findFreeswitch(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.FREESWITCH_BIN) return existsSync(env.FREESWITCH_BIN) ? env.FREESWITCH_BIN : undefined;
  return (await locate("freeswitch")) ?? (existsSync(defaultInstall) ? defaultInstall : undefined);
}

/** What to tell a user whose topology asks for a real FreeSWITCH on a machine without one. */
export const freeswitchMissingHelp = [
  "no FreeSWITCH binary found (FREESWITCH_BIN, PATH, /usr/local/freeswitch/bin/freeswitch).",
  "Topologies with `kind: freeswitch` need FreeSWITCH 1.10: on Debian/Ubuntu, SignalWire's packages",
  "(https://developer.signalwire.com/freeswitch/, a free token), or build it from source; topologies with",
  "the double (the default, `single`) need none.",
].join("\n  ");

export async function requireFreeswitch(): Promise<string> {
  const binary = await findFreeswitch();
  if (!binary) throw new FreeswitchMissingError(freeswitchMissingHelp);
  return binary;
}

/** One lab instance of a real FreeSWITCH. */
interface FreeswitchInstance {
  name: string;
  eslPort: number;
  /** UDP port of its one SIP profile, `external`. */
  sipPort: number;
  /** Kamailio: every outbound `sofia/external/...` call goes through it (to the carrier). */
  outboundProxy?: { host: string; port: number };
  sessionsPerSecond: number;
  maxSessions: number;
  /** How long an inbound call from Kamailio is held before FreeSWITCH hangs up, as the doubles do. */
  inboundHoldMs: number;
  /** Its RTP port range: instances side by side must not share one. */
  rtpPorts: readonly [number, number];
}

/** Folders of one instance: its configuration (holding the ESL password) apart from what it writes. */
interface FreeswitchDirs {
  /** A private temporary folder (0700), never under results/: freeswitch.xml holds the password. */
  conf: string;
  /** Under the run's folder: log, db, run, temp, storage, cache, recordings. */
  state: string;
}

/**
 * Writes the instance's freeswitch.xml from lab/freeswitch/freeswitch.xml into a new private folder, and
 * creates the folders it writes to. `down` removes the configuration with `removeFreeswitchConfig`.
 */
export function writeFreeswitchConfig(
  instance: FreeswitchInstance,
  eslPassword: string,
  runDir: string,
): FreeswitchDirs {
  if (!/^[A-Za-z0-9_-]+$/.test(eslPassword))
    throw new Error("the ESL password must be URL-safe base64 to be written into freeswitch.xml");
  const conf = mkdtempSync(join(tmpdir(), `fs-esl-lab-${instance.name}-`));
  const state = join(runDir, instance.name);
  for (const sub of stateFolders) mkdirSync(join(state, sub), { recursive: true });
  const values: Record<string, string> = {
    NAME: instance.name,
    CORE_UUID: crypto.randomUUID(),
    MAX_SESSIONS: String(instance.maxSessions),
    SESSIONS_PER_SECOND: String(instance.sessionsPerSecond),
    RTP_START: String(instance.rtpPorts[0]),
    RTP_END: String(instance.rtpPorts[1]),
    ESL_PORT: String(instance.eslPort),
    ESL_PASSWORD: eslPassword,
    SIP_PORT: String(instance.sipPort),
    INBOUND_HOLD_MS: String(instance.inboundHoldMs),
  };
  let xml = readFileSync(template, "utf8").replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) =>
    key === "OUTBOUND_PROXY" ? whole : (values[key] ?? whole),
  );
  // Without Kamailio (a topology with `sip: false`) outbound SIP calls have nowhere to go: no proxy line.
  xml = instance.outboundProxy
    ? xml.replace("{{OUTBOUND_PROXY}}", `sip:${instance.outboundProxy.host}:${instance.outboundProxy.port}`)
    : xml.replace(/^.*\{\{OUTBOUND_PROXY\}\}.*\n/m, "");
  const unfilled = /\{\{[A-Z_]+\}\}/.exec(xml);
  if (unfilled) throw new Error(`lab/freeswitch/freeswitch.xml: no value for ${unfilled[0]}`);
  writeFileSync(join(conf, "freeswitch.xml"), xml, { mode: 0o600 });
  return { conf, state };
}

export function removeFreeswitchConfig(dirs: Pick<FreeswitchDirs, "conf">): void {
  rmSync(dirs.conf, { recursive: true, force: true });
}

const stateFolders = ["log", "db", "run", "temp", "storage", "cache", "recordings"] as const;

/**
 * FreeSWITCH in the foreground (`-nf`) under the lab's supervision, every folder its own, no NAT probing
 * (loopback only) and no clock calibration (it would cost a second at every start).
 */
export function freeswitchArgs(dirs: FreeswitchDirs): string[] {
  return [
    "-nf",
    "-nonat",
    "-nonatmap",
    "-nocal",
    "-conf",
    dirs.conf,
    ...stateFolders.flatMap((sub) => [`-${sub}`, join(dirs.state, sub)]),
  ];
}

/**
 * How long `down` waits after SIGTERM before SIGKILL. An idle FreeSWITCH takes about 6 s to exit here;
 * under load 35–37 s were measured (it hangs up every call and shuts sofia down first).
 */
export const freeswitchStopGraceMs = 45_000;
