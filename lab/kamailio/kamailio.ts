import { execFile } from "node:child_process";
import { closeSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Peer } from "../../src/sip/transport.ts";
import { ChildGroup } from "../lib/child-group.ts";

const run = promisify(execFile);
const config = join(dirname(fileURLToPath(import.meta.url)), "kamailio.cfg");

export interface KamailioOptions {
  /** UDP port on 127.0.0.1. */
  port: number;
  /** The FreeSWITCH instances inbound calls are balanced over (dispatcher set 1). */
  freeswitch: Peer[];
  /** How long an INVITE to an instance waits for any response before failing over (default 1000 ms). */
  frTimerMs?: number;
  /** Runtime folder (-Y): pid file, ctl socket, dispatcher list, log. Default: a new temporary folder. */
  dir?: string;
}

/** One dispatcher destination as `dispatcher.list` shows it: `A` active, `I` inactive, `P` probing. */
export interface DispatcherTarget {
  uri: string;
  flags: string;
  active: boolean;
}

export interface Kamailio {
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
  /** `stats.get_statistics all` as numbers (`core:rcv_requests_invite`, `tmx:2xx_transactions`…). */
  statistics(): Promise<Record<string, number>>;
  dispatcher(): Promise<DispatcherTarget[]>;
  stop(): Promise<void>;
}

/** What kamailio.cfg is given on the command line (see its header). */
export interface KamailioLaunch {
  port: number;
  /** Runtime folder (-Y): pid file, dispatcher list; the working directory. */
  dir: string;
  /** kamcmd's address: `unix:<path>` or `tcp:127.0.0.1:<port>`. */
  ctl: string;
  freeswitch: Peer[];
  frTimerMs: number;
  /** The carrier every outbound call goes to; without one, the Request-URI's host. */
  carrier?: Peer;
}

/** Writes the dispatcher list into `dir` and returns kamailio's arguments: foreground, loopback only. */
export function kamailioArgs(launch: KamailioLaunch): string[] {
  const list = join(launch.dir, "dispatcher.list");
  writeFileSync(list, launch.freeswitch.map((fs) => `1 sip:${fs.host}:${fs.port}\n`).join(""));
  return [
    ...["-f", config, "-DD", "-E", "-l", `udp:127.0.0.1:${launch.port}`],
    ...["-Y", launch.dir, "-P", join(launch.dir, "kamailio.pid"), "-w", launch.dir, "-m", "64", "-M", "8"],
    ...["-A", `DISPATCHER_LIST="${list}"`, "-A", `CTL_SOCKET="${launch.ctl}"`],
    ...["-A", `FR_TIMER_MS=${launch.frTimerMs}`],
    ...(launch.carrier ? ["-A", `CARRIER="sip:${launch.carrier.host}:${launch.carrier.port}"`] : []),
  ];
}

/** `kamcmd -s <ctl> <args…>`: its stdout. */
export async function kamcmd(ctl: string, ...args: string[]): Promise<string> {
  const env = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin` };
  return (await run("kamcmd", ["-s", ctl, ...args], { timeout: 3000, env })).stdout;
}

export const dispatcherTargets = async (ctl: string): Promise<DispatcherTarget[]> =>
  parseDispatcherList(await kamcmd(ctl, "dispatcher.list"));

export const kamailioStatistics = async (ctl: string): Promise<Record<string, number>> =>
  parseStatistics(await kamcmd(ctl, "stats.get_statistics", "all"));

/**
 * Kamailio in the foreground (-DD -E) as a child of this process, on 127.0.0.1:<port> with its own
 * runtime folder and pid file, kamcmd over a unix ctl socket in that folder. Resolves once kamcmd answers.
 */
export async function startKamailio(opts: KamailioOptions): Promise<Kamailio> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "kamailio-"));
  const ctl = `unix:${join(dir, "ctl.sock")}`;
  const logFile = join(dir, "kamailio.log");
  const log = openSync(logFile, "a");
  const args = kamailioArgs({ ...opts, dir, ctl, frTimerMs: opts.frTimerMs ?? 1000 });
  const child = new ChildGroup("kamailio", args, { cwd: dir, logFd: log });
  closeSync(log);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!child.running) throw new Error(`kamailio exited while starting; see ${logFile}`);
    const ok = await kamcmd(ctl, "core.uptime").then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`kamailio did not answer kamcmd within 10 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: opts.port,
    dir,
    logFile,
    exited: child.exited,
    statistics: () => kamailioStatistics(ctl),
    dispatcher: () => dispatcherTargets(ctl),
    stop: () => child.stop(),
  };
}

/** kamcmd's `group:name = value` lines. */
export function parseStatistics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^\s*([\w.-]+:[\w.-]+)\s*=\s*(-?\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** kamcmd's `dispatcher.list`: each DEST's URI and FLAGS. */
export function parseDispatcherList(text: string): DispatcherTarget[] {
  return [...text.matchAll(/URI:\s*(\S+)\s*\n\s*FLAGS:\s*(\S+)/g)].map((m) => ({
    uri: m[1]!,
    flags: m[2]!,
    active: m[2]!.startsWith("A"),
  }));
}
