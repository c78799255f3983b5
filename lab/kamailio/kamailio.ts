import { createSocket } from "node:dgram";
import { closeSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Peer } from "../../src/sip/transport.ts";
import { freeUdpPort } from "../plan/ports.ts";
import { ChildGroup } from "../run/child-group.ts";

const config = join(dirname(fileURLToPath(import.meta.url)), "kamailio.cfg");

interface KamailioOptions {
  /** UDP port on 127.0.0.1. */
  port: number;
  /** The FreeSWITCH instances inbound calls are balanced over (dispatcher set 1). */
  freeswitch: Peer[];
  /** How long an INVITE to an instance waits for any response before failing over (default 1000 ms). */
  frTimerMs?: number;
  /** Runtime folder (-Y): pid file, kamcmd's socket, dispatcher list, log. Default: a new temporary folder. */
  dir?: string;
}

/** One dispatcher destination as `dispatcher.list` shows it: `A` active, `I` inactive, `P` probing. */
interface DispatcherTarget {
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
interface KamailioLaunch {
  port: number;
  /** Runtime folder (-Y): pid file, dispatcher list; the working directory. */
  dir: string;
  /** kamcmd's address: `unix:<path>` or `tcp:127.0.0.1:<port>`. */
  ctl: string;
  /** JSON-RPC over UDP: `udp:127.0.0.1:<port>`. */
  rpc: string;
  freeswitch: Peer[];
  frTimerMs: number;
  /** The carrier every outbound call goes to; without one, the Request-URI's host. */
  carrier?: Peer;
}

/**
 * Kamailio's shared memory, MB (`-m`). A finished transaction stays in shared memory for tm's wait timer
 * (5 s): at 300 calls/s that is about 55 MB, and with 64 MB Kamailio ran out at 400 calls/s ("could not
 * allocate shared memory from shm pool"), dropping requests. Only the pages it touches are resident.
 */
const SHARED_MEMORY_MB = 256;

/** Writes the dispatcher list into `dir` and returns kamailio's arguments: foreground, loopback only. */
export function kamailioArgs(launch: KamailioLaunch): string[] {
  const list = join(launch.dir, "dispatcher.list");
  writeFileSync(list, launch.freeswitch.map((fs) => `1 sip:${fs.host}:${fs.port}\n`).join(""));
  return [
    ...["-f", config, "-DD", "-E", "-l", `udp:127.0.0.1:${launch.port}`],
    ...["-Y", launch.dir, "-P", join(launch.dir, "kamailio.pid"), "-w", launch.dir],
    ...["-m", String(SHARED_MEMORY_MB), "-M", "8"],
    ...["-A", `DISPATCHER_LIST="${list}"`, "-A", `CTL_SOCKET="${launch.ctl}"`],
    ...["-A", `JSONRPC_SOCKET="${launch.rpc}"`],
    ...["-A", `FR_TIMER_MS=${launch.frTimerMs}`],
    ...(launch.carrier ? ["-A", `CARRIER="sip:${launch.carrier.host}:${launch.carrier.port}"`] : []),
  ];
}

const RPC_TIMEOUT_MS = 2000;

/**
 * One JSON-RPC call to Kamailio over UDP (jsonrpcs' datagram transport, `udp:<host>:<port>`): one datagram
 * out, its answer back. No process is started, so the lab can read Kamailio every second at no cost to the
 * load it measures.
 */
async function kamailioRpc(address: string, method: string, params: unknown[] = []): Promise<unknown> {
  const m = /^udp:([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`not a JSON-RPC datagram address (udp:<host>:<port>): ${address}`);
  const socket = createSocket("udp4");
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kamailio did not answer ${method} within ${RPC_TIMEOUT_MS} ms`)),
        RPC_TIMEOUT_MS,
      );
      socket.once("error", reject);
      socket.once("message", (message) => {
        clearTimeout(timer);
        const reply = JSON.parse(message.toString("utf8")) as {
          result?: unknown;
          error?: { message?: string };
        };
        if (reply.error) reject(new Error(`kamailio ${method}: ${reply.error.message ?? "error"}`));
        else resolve(reply.result);
      });
      socket.send(JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }), Number(m[2]), m[1]);
    });
  } finally {
    socket.close();
  }
}

export const dispatcherTargets = async (rpc: string): Promise<DispatcherTarget[]> =>
  parseDispatcherList(await kamailioRpc(rpc, "dispatcher.list"));

export const kamailioStatistics = async (rpc: string): Promise<Record<string, number>> =>
  parseStatistics(await kamailioRpc(rpc, "stats.get_statistics", ["all"]));

/**
 * Kamailio in the foreground (-DD -E) as a child of this process, on 127.0.0.1:<port> with its own
 * runtime folder and pid file, kamcmd over a unix socket in that folder, JSON-RPC on a free loopback UDP
 * port. Resolves once JSON-RPC answers.
 */
export async function startKamailio(opts: KamailioOptions): Promise<Kamailio> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "kamailio-"));
  const ctl = `unix:${join(dir, "ctl.sock")}`;
  const rpc = `udp:127.0.0.1:${await freeUdpPort()}`;
  const logFile = join(dir, "kamailio.log");
  const log = openSync(logFile, "a");
  const args = kamailioArgs({ ...opts, dir, ctl, rpc, frTimerMs: opts.frTimerMs ?? 1000 });
  const child = new ChildGroup("kamailio", args, { cwd: dir, logFd: log });
  closeSync(log);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!child.running) throw new Error(`kamailio exited while starting; see ${logFile}`);
    const ok = await kamailioRpc(rpc, "core.uptime").then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`kamailio did not answer JSON-RPC within 10 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: opts.port,
    dir,
    logFile,
    exited: child.exited,
    statistics: () => kamailioStatistics(rpc),
    dispatcher: () => dispatcherTargets(rpc),
    stop: () => child.stop(),
  };
}

/** `stats.get_statistics`' result: `group:name = value` strings. */
function parseStatistics(result: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of Array.isArray(result) ? result : []) {
    const m = /^\s*([\w.-]+:[\w.-]+)\s*=\s*(-?\d+)/.exec(String(line));
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** `dispatcher.list`'s result: every set's destinations, each with its URI and flags. */
function parseDispatcherList(result: unknown): DispatcherTarget[] {
  type Listed = {
    RECORDS?: Array<{ SET?: { TARGETS?: Array<{ DEST?: { URI?: string; FLAGS?: string } }> } }>;
  };
  return ((result as Listed)?.RECORDS ?? []).flatMap((record) =>
    (record.SET?.TARGETS ?? []).flatMap(({ DEST }) =>
      DEST?.URI && DEST.FLAGS
        ? [{ uri: DEST.URI, flags: DEST.FLAGS, active: DEST.FLAGS.startsWith("A") }]
        : [],
    ),
  );
}
