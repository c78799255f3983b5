import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Peer } from "../../src/sip/transport.ts";
import { ChildGroup } from "../lib/child-group.ts";
import { readSippStats, type SippStats } from "./stats.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** The scenarios in this folder; each has `{{NAME}}` placeholders for timings SIPp reads only at load. */
export type SippScenario = "carrier-answer" | "carrier-busy" | "carrier-no-answer" | "inbound-caller";

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
  /** A caller's rate, calls a second (`-r`). */
  rate?: number;
  /** `-m`: SIPp exits after this many calls. Every run is bounded. */
  calls: number;
  /** `-timeout`: SIPp exits after this many seconds whatever happened. */
  timeoutS: number;
  /** Where the scenario, the `-trace_stat` CSV and the log go (default: a new temporary folder). */
  dir?: string;
}

export interface SippRun {
  readonly port: number;
  readonly statsFile: string;
  /** Resolves with SIPp's exit code (0: every call succeeded, 1: some failed, 97/99: stopped early). */
  readonly exited: Promise<number | null>;
  /** Reads the statistics CSV so far (SIPp writes a row a second and a last one at exit). */
  stats(): SippStats | undefined;
  /** Stops SIPp (SIGUSR1: its own graceful quit; SIGKILL after a second) and waits for it. */
  stop(): Promise<void>;
}

const DEFAULT_TIMINGS = { ANSWER_MS: 0, HOLD_MS: 1000, RING_MS: 5000, T1_MS: 500 };

/** The scenario with its placeholders filled in, written into `dir`. */
export function renderScenario(scenario: SippScenario, timings: SippOptions["timings"], dir: string): string {
  const values: Record<string, number> = { ...DEFAULT_TIMINGS, ...timings };
  const text = readFileSync(join(here, `${scenario}.xml`), "utf8").replace(/\{\{(\w+)\}\}/g, (_, name) =>
    String(Math.round(values[name] ?? 0)),
  );
  const file = join(dir, `${scenario}.xml`);
  writeFileSync(file, text);
  return file;
}

/** SIPp's arguments for a run: loopback only, bounded, statistics every second into `statsFile`. */
export function sippArgs(opts: SippOptions, dir: string): { args: string[]; statsFile: string } {
  const file = renderScenario(opts.scenario, opts.timings, dir);
  const statsFile = join(dir, `${opts.scenario}-${opts.port}.csv`);
  const args = [
    ...(opts.remote ? [`${opts.remote.host}:${opts.remote.port}`] : []),
    ...["-sf", file, "-i", "127.0.0.1", "-p", String(opts.port), "-t", "u1", "-mi", "127.0.0.1"],
    ...["-m", String(opts.calls), "-timeout", `${opts.timeoutS}s`, "-nostdin", "-nd"],
    ...["-trace_stat", "-stf", statsFile, "-fd", "1", "-trace_err", "-error_file", join(dir, "errors.log")],
    ...(opts.service ? ["-s", opts.service] : []),
    ...(opts.rate !== undefined ? ["-r", String(opts.rate), "-rp", "1000"] : []),
    ...(opts.rate !== undefined ? ["-l", String(Math.max(100, opts.rate * 10))] : []),
  ];
  return { args, statsFile };
}

/**
 * SIPp in the foreground as a child of this process (never `-bg`), bound to 127.0.0.1, with a bounded call
 * count and a global timeout, statistics every second in a CSV (`-trace_stat -stf -fd 1`).
 */
export function startSipp(opts: SippOptions): SippRun {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "sipp-"));
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
    statsFile,
    exited,
    stats: () => (existsSync(statsFile) ? readSippStats(readFileSync(statsFile, "utf8")) : undefined),
    stop,
  };
}
