import { spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { groupMembers, readProcStat } from "../../src/procfs/proc-stats.ts";
import type { Endpoint } from "../faults/fault-proxy.ts";
import { waitForPort } from "../plan/ports.ts";

/**
 * When a lab process counts as ready: its port accepts, an HTTP GET answers 200, it wrote a file (UDP-only
 * SIPp), or its log has a line starting with `logLine` since this start (a worker with no port of its own).
 */
type ReadyCheck = { port: Endpoint } | { http: string } | { file: string } | { logLine: string };

/** How to start a lab process. Recorded in the lab's state so `lab fault <x> start` can start it again. */
export interface LaunchSpec {
  /** Component name used in messages: "nats", "fakeswitch", "gateway"... */
  name: string;
  command: string;
  args: string[];
  /** Working directory; default the lab's. */
  cwd?: string;
  /** Environment besides PATH/HOME/LANG; never secrets (those are passed to `startProcess` separately). */
  env: Record<string, string>;
  /** stdout and stderr, appended. */
  logFile: string;
  ready: ReadyCheck;
  readyTimeoutMs?: number;
  /** How long a stop waits after SIGTERM before SIGKILL (default `stopProcess`'s). */
  stopGraceMs?: number;
}

/** A running lab process: its pid, and its start time to tell it from a later process given the same pid. */
export interface ProcessRef {
  name: string;
  pid: number;
  startTime: number;
  logFile: string;
}

class ServiceError extends Error {
  override name = "ServiceError";
}

/** The only variables a lab process inherits: the lab's own settings must not leak in from the caller's shell. */
const inherited = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];
const pollMs = 25;

/**
 * Starts a lab process in its own process group, detached from the caller: its output goes straight to its
 * log file (no pipe through the caller), so it keeps running after `lab up` exits, and Ctrl-C in the
 * terminal reaches only the lab CLI, which then stops each process itself. Secrets arrive in `secretEnv`:
 * the environment, never argv (argv shows in process listings). Resolves once ready; if it is not, the
 * process is stopped and the error names the component, where it should answer, and its last log lines.
 */
export async function startProcess(
  spec: LaunchSpec,
  secretEnv: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<ProcessRef> {
  const log = openSync(spec.logFile, "a");
  writeSync(
    log,
    `--- ${new Date().toISOString()} lab: starting ${spec.name}: ${spec.command} ${spec.args.join(" ")}\n`,
  );
  // Where this start's output begins: an earlier run's ready line must not count.
  const logFrom = fstatSync(log).size;
  const base = Object.fromEntries(inherited.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
  const child = spawn(spec.command, spec.args, {
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    env: { ...base, ...spec.env, ...secretEnv },
    stdio: ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, sig) => resolve(sig ? ` (signal ${sig})` : ` (exit code ${code})`)),
  );
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error) =>
      reject(new ServiceError(`${spec.name}: cannot start ${spec.command}: ${error.message}`)),
    );
  });
  child.unref();
  const ref: ProcessRef = {
    name: spec.name,
    pid: child.pid as number,
    startTime: readProcStat(child.pid as number)?.startTime ?? 0,
    logFile: spec.logFile,
  };
  try {
    await waitReady(ref, spec, exited, logFrom, signal);
  } catch (error) {
    await stopProcess(ref);
    throw error;
  }
  return ref;
}

async function waitReady(
  ref: ProcessRef,
  spec: LaunchSpec,
  exited: Promise<string>,
  logFrom: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const timeoutMs = spec.readyTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const where =
    "port" in spec.ready
      ? `${spec.ready.port.host}:${spec.ready.port.port}`
      : "file" in spec.ready
        ? spec.ready.file
        : "logLine" in spec.ready
          ? `${spec.logFile} (a line starting ${spec.ready.logLine})`
          : spec.ready.http;
  let last = "";
  for (;;) {
    if (signal?.aborted) throw new ServiceError(`${spec.name}: start-up interrupted`);
    if (!isRunning(ref)) {
      // /proc shows it gone a moment before node has reaped it and knows how it ended.
      const how = await Promise.race([exited, sleep(200).then(() => "")]);
      throw new ServiceError(`${spec.name} exited before it was ready${how}\n${logTail(ref.logFile)}`);
    }
    last = await probe(spec.ready, spec.logFile, logFrom);
    if (last === "") return;
    if (Date.now() > deadline)
      throw new ServiceError(
        `${spec.name} (pid ${ref.pid}) not ready at ${where} within ${timeoutMs} ms: ${last}\n${logTail(ref.logFile)}`,
      );
    await sleep(pollMs);
  }
}

/** "" when ready, else what was seen. */
async function probe(ready: ReadyCheck, logFile: string, logFrom: number): Promise<string> {
  if ("file" in ready) return existsSync(ready.file) ? "" : "not written yet";
  if ("logLine" in ready) {
    const lines = readFileSync(logFile).subarray(logFrom).toString("utf8").split("\n");
    return lines.some((line) => line.startsWith(ready.logLine)) ? "" : "no ready line yet";
  }
  if ("port" in ready) {
    return waitForPort(ready.port.host, ready.port.port, 0).then(
      () => "",
      () => "connection refused",
    );
  }
  try {
    const response = await fetch(ready.http, { signal: AbortSignal.timeout(1_000) });
    const body = await response.text();
    return response.status === 200 ? "" : `HTTP ${response.status} ${body.slice(0, 300)}`;
  } catch (error) {
    return (error as Error).cause
      ? String((error as Error & { cause: Error }).cause.message)
      : (error as Error).message;
  }
}

/** The last lines of a log file, framed for an error message. */
function logTail(logFile: string, lines = 15): string {
  let text: string;
  try {
    text = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    text = "(no log)";
  }
  return `--- last lines of ${logFile} ---\n${text}`;
}

/** Still the process that was started (not gone, not a zombie, not another process given the same pid). */
export function isRunning(ref: ProcessRef): boolean {
  const stat = readProcStat(ref.pid);
  return stat !== undefined && stat.state !== "Z" && stat.startTime === ref.startTime;
}

/**
 * SIGTERM to the process group, SIGKILL after `graceMs`; resolves once no process of the group is left (a
 * shell's children included), or reports that some are left. A pid now used by an unrelated process is
 * not signalled.
 */
export async function stopProcess(ref: ProcessRef, graceMs = 5_000): Promise<boolean> {
  // A pid cannot be reused while its process group exists; so if the pid now belongs to a live process
  // that is not ours, our group is gone, and that process's group is none of our business.
  const leader = readProcStat(ref.pid);
  const reused = leader !== undefined && leader.state !== "Z" && leader.startTime !== ref.startTime;
  if (reused || groupMembers(ref.pid).length === 0) return true;
  signalGroup(ref.pid, "SIGTERM");
  if (await groupGone(ref.pid, graceMs)) return true;
  signalGroup(ref.pid, "SIGKILL");
  return groupGone(ref.pid, 2_000);
}

/** Sends a signal to the process's group if the process is still the one started. */
export function signalProcess(ref: ProcessRef, signal: NodeJS.Signals): boolean {
  if (!isRunning(ref)) return false;
  signalGroup(ref.pid, signal);
  return true;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
