import { createSocket } from "node:dgram";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SippReading } from "../../src/harness/measure/sip-numbers.ts";
import type { Peer } from "../../src/sip/transport.ts";
import { ChildGroup } from "../run/child-group.ts";
import { readResponseTimes, readSippRows, sippStartMs } from "./stats.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** The scenarios in this folder; each has `{{NAME}}` placeholders for timings SIPp reads only at load. */
export type SippScenario = "carrier-answer" | "carrier-busy" | "carrier-no-answer" | "inbound-caller";

/** What each scenario's response time 1 (`start_rtd`/`rtd` in its XML) measures. */
const RESPONSE_TIME_OF: Readonly<Record<SippScenario, string>> = {
  "carrier-answer": "200 sent → ACK received",
  "carrier-busy": "486 sent → ACK received",
  "carrier-no-answer": "487 sent → ACK received",
  "inbound-caller": "INVITE sent → 180 received",
};

export interface SippOptions {
  scenario: SippScenario;
  /** ANSWER_MS, HOLD_MS, RING_MS, T1_MS (the retransmission interval), in ms. */
  timings?: Partial<Record<"ANSWER_MS" | "HOLD_MS" | "RING_MS" | "T1_MS", number>>;
  /** The local UDP port on 127.0.0.1. */
  port: number;
  /** A caller's target (SIPp's remote host); a UAS has none. */
  remote?: Peer;
  /** The Request-URI user of a caller (`-s`). */
  service?: string;
  /** A caller's rate, calls a second (`-r`); 0 starts it idle, for `setRate` later. */
  rate?: number;
  /** A caller's limit on open calls (`-l`); default ten seconds' worth of calls at `rate`, at least 100. */
  limit?: number;
  /** `-m`: SIPp exits after this many calls. Every run is bounded. */
  calls: number;
  /** `-timeout`: SIPp exits after this many seconds whatever happened. */
  timeoutS: number;
  /** SIPp's remote-control UDP port on 127.0.0.1 (`-cp`), for `setRate`. */
  controlPort?: number;
  /**
   * Its own folder: the scenario, the `-trace_stat` CSV, the `-trace_rtt` CSV (SIPp writes it into its
   * working directory, which this is), the error log. Default: a new temporary folder.
   */
  dir?: string;
}

export interface SippRun {
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  readonly statsFile: string;
  /** Resolves with SIPp's exit code (0: every call succeeded, 1: some failed, 97/99: stopped early). */
  readonly exited: Promise<number | null>;
  /** Its statistics and response times so far (SIPp writes a row a second and a last one at exit). */
  read(name: string): SippReading;
  /** Sets the call rate through the control port (`cset rate N`, as typed at SIPp's keyboard). */
  setRate(callsPerSecond: number): Promise<void>;
  /** Stops SIPp (SIGUSR1: its own graceful quit; SIGKILL after a second) and waits for it. */
  stop(): Promise<void>;
}

const DEFAULT_TIMINGS = { ANSWER_MS: 0, HOLD_MS: 1000, RING_MS: 5000, T1_MS: 500 };

/** The scenario with its placeholders filled in, written into `dir`. */
function renderScenario(scenario: SippScenario, timings: SippOptions["timings"], dir: string): string {
  const values: Record<string, number> = { ...DEFAULT_TIMINGS, ...timings };
  const text = readFileSync(join(here, `${scenario}.xml`), "utf8").replace(/\{\{(\w+)\}\}/g, (_, name) =>
    String(Math.round(values[name] ?? 0)),
  );
  const file = join(dir, `${scenario}.xml`);
  writeFileSync(file, text);
  return file;
}

/**
 * SIPp's arguments for a run in `dir` (its working directory): loopback only, bounded, statistics every
 * second into `statsFile`, every response time 1 into `<scenario>_<pid>_rtt.csv`.
 */
export function sippArgs(opts: SippOptions, dir: string): { args: string[]; statsFile: string } {
  const file = renderScenario(opts.scenario, opts.timings, dir);
  const statsFile = join(dir, `${opts.scenario}-${opts.port}.csv`);
  const limit = opts.limit ?? Math.max(100, (opts.rate ?? 0) * 10);
  const args = [
    ...(opts.remote ? [`${opts.remote.host}:${opts.remote.port}`] : []),
    ...["-sf", file, "-i", "127.0.0.1", "-p", String(opts.port), "-t", "u1", "-mi", "127.0.0.1"],
    ...["-m", String(opts.calls), "-timeout", `${opts.timeoutS}s`, "-nostdin", "-nd"],
    ...["-trace_stat", "-stf", statsFile, "-fd", "1", "-trace_rtt", "-rtt_freq", "1"],
    ...["-trace_err", "-error_file", join(dir, "errors.log")],
    ...(opts.controlPort !== undefined ? ["-cp", String(opts.controlPort)] : []),
    ...(opts.service ? ["-s", opts.service] : []),
    ...(opts.rate !== undefined ? ["-r", String(opts.rate), "-rp", "1000", "-l", String(limit)] : []),
  ];
  return { args, statsFile };
}

/**
 * What a SIPp run has written beside `statsFile`: its statistics rows, and the response times of its newest
 * process (a restarted SIPp writes a new `<scenario>_<pid>_rtt.csv`).
 */
export function readSippDir(name: string, scenario: SippScenario, statsFile: string): SippReading {
  const csv = existsSync(statsFile) ? readFileSync(statsFile, "utf8") : "";
  const startMs = sippStartMs(csv);
  const dir = dirname(statsFile);
  const rtt = readdirSync(dir)
    .filter((f) => f.startsWith(`${scenario}_`) && f.endsWith("_rtt.csv"))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
    .at(-1);
  return {
    name,
    scenario,
    responseTimeOf: RESPONSE_TIME_OF[scenario],
    rows: readSippRows(csv),
    responseTimes: rtt && startMs !== undefined ? readResponseTimes(readFileSync(rtt, "utf8"), startMs) : [],
  };
}

/** Sends one remote-control command to a SIPp's `-cp` port. */
async function sippControl(port: number, command: string): Promise<void> {
  const socket = createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) =>
      socket.send(command, port, "127.0.0.1", (error) => (error ? reject(error) : resolve())),
    );
  } finally {
    socket.close();
  }
}

/**
 * SIPp in the foreground as a child of this process (never `-bg`), bound to 127.0.0.1, with a bounded call
 * count and a global timeout, statistics every second in a CSV (`-trace_stat -stf -fd 1`).
 */
export function startSipp(opts: SippOptions): SippRun {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "sipp-"));
  mkdirSync(dir, { recursive: true });
  const { args, statsFile } = sippArgs(opts, dir);
  const log = openSync(join(dir, `${opts.scenario}-${opts.port}.log`), "a");
  const child = new ChildGroup("sipp", args, { cwd: dir, logFd: log });
  closeSync(log);
  const { exited } = child;
  // SIGUSR1 is SIPp's own graceful quit (as the `q` key).
  const stop = () => child.stop("SIGUSR1", 1000);
  // SIPp's own -timeout waits for calls that are paused in a scenario; ours does not.
  const guard = setTimeout(() => void stop(), (opts.timeoutS + 1) * 1000);
  void exited.then(() => clearTimeout(guard));
  return {
    port: opts.port,
    pid: child.pid,
    dir,
    statsFile,
    exited,
    read: (name) => readSippDir(name, opts.scenario, statsFile),
    setRate: async (callsPerSecond) => {
      if (opts.controlPort === undefined) throw new Error("this SIPp has no control port (controlPort)");
      await sippControl(opts.controlPort, `cset rate ${callsPerSecond}`);
    },
    stop,
  };
}
