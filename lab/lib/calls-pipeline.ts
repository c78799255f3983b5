/**
 * How the lab starts the calls pipeline (src/calls): its processes, each configured by environment, on
 * loopback. Given NATS, the gateway, the JWT secret and a database, it starts
 *   calls-db              PGlite served over the PostgreSQL protocol (only without a DATABASE_URL),
 *   calls-cdr-writer      status tracking and CDRs from fs.events,
 *   calls-orchestrator-N  placing calls through the gateway (several share the JetStream consumer),
 *   calls-api             POST /v1/calls, GET /v1/calls/{id},
 * in that order, each once it printed its `ready` line; logs go to `<logDir>/<name>.log`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface CallsPipelineLaunch {
  natsUrl: string;
  gatewayUrl: string;
  jwtSecret: string;
  /** A PostgreSQL server (`postgres://…`), or a directory for an embedded PGlite database (served by calls-db). */
  database: { url: string } | { pgliteDir: string };
  logDir: string;
  /** Port of the calls API (0: a free one). */
  apiPort?: number;
  orchestrators?: number;
  /** Extra environment for every pipeline proc (src/calls/config.ts names them). */
  env?: Record<string, string>;
}

export interface CallsPipelineProcesses {
  apiUrl: string;
  databaseUrl: string;
  /** Names and pids, asked again after a restart. */
  processes(): Array<{ name: string; pid: number }>;
  /** SIGKILL, as a crash: JetStream redelivers what it held once its ack wait runs out. */
  kill(name: string): Promise<void>;
  /** Starts a killed or stopped proc again with the same settings. */
  start(name: string): Promise<void>;
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const readyTimeoutMs = 30_000;
const stopGraceMs = 10_000;

/** A child process of the pipeline (or of a scenario's stack): how to start it, and its current run. */
export interface ManagedProcess {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Recognises the line (stdout or stderr) that says it is ready; what it returns is kept as `ready`. */
  ready: (line: string) => Record<string, unknown> | undefined;
  child?: ChildProcess;
  exited?: Promise<void>;
  readyInfo?: Record<string, unknown>;
}

/** `node --import tsx <entry>` printing `{"ready":{…}}`: the pipeline's processes are not bundled (PGlite loads its WASM beside its module). */
export function tsxProcess(name: string, entry: string, env: Record<string, string>): ManagedProcess {
  return {
    name,
    command: process.execPath,
    args: ["--import", "tsx", entry],
    env,
    ready: (line) =>
      line.startsWith('{"ready"')
        ? (JSON.parse(line) as { ready: Record<string, unknown> }).ready
        : undefined,
  };
}

export async function startCallsPipelineProcesses(
  launch: CallsPipelineLaunch,
): Promise<CallsPipelineProcesses> {
  const managed = new Map<string, ManagedProcess>();
  const common = {
    NATS_URL: launch.natsUrl,
    GATEWAY_URL: launch.gatewayUrl,
    JWT_SECRET: launch.jwtSecret,
    ...launch.env,
  };
  const add = async (name: string, entry: string, env: Record<string, string>) => {
    const proc = tsxProcess(name, entry, env);
    managed.set(name, proc);
    await runProcess(proc, launch.logDir);
    return proc;
  };
  const stop = async () => {
    // The reverse of the start order: the API stops taking calls first, the database goes last.
    for (const proc of [...managed.values()].reverse()) await stopProcess(proc);
  };
  try {
    let databaseUrl: string;
    let migrate = "true";
    if ("url" in launch.database) databaseUrl = launch.database.url;
    else {
      const db = await add("calls-db", "src/calls/pglite-main.ts", { PGLITE_DIR: launch.database.pgliteDir });
      databaseUrl = String(db.readyInfo?.database_url);
      // calls-db migrated its database; through pglite-socket a client's transaction is not isolated.
      migrate = "false";
    }
    const withDb = { ...common, DATABASE_URL: databaseUrl, CALLS_MIGRATE: migrate };
    await add("calls-cdr-writer", "src/calls/main.ts", { ...withDb, CALLS_ROLES: "cdr-writer" });
    for (let i = 1; i <= (launch.orchestrators ?? 2); i++) {
      await add(`calls-orchestrator-${i}`, "src/calls/main.ts", { ...withDb, CALLS_ROLES: "orchestrator" });
    }
    const api = await add("calls-api", "src/calls/main.ts", {
      ...withDb,
      CALLS_ROLES: "api",
      CALLS_HTTP_PORT: String(launch.apiPort ?? 0),
    });
    const apiUrl = String(api.readyInfo?.http);
    const named = (name: string) => {
      const proc = managed.get(name);
      if (!proc) throw new Error(`no calls pipeline process ${name} (${[...managed.keys()].join(", ")})`);
      return proc;
    };
    return {
      apiUrl,
      databaseUrl,
      processes: () =>
        [...managed.values()].flatMap((p) => (p.child?.pid ? [{ name: p.name, pid: p.child.pid }] : [])),
      async kill(name) {
        const proc = named(name);
        proc.child?.kill("SIGKILL");
        await proc.exited;
      },
      start: (name) => runProcess(named(name), launch.logDir),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts the process and resolves once it says it is ready; its output goes to `<logDir>/<name>.log`. */
export async function runProcess(proc: ManagedProcess, logDir: string): Promise<void> {
  const log = createWriteStream(join(logDir, `${proc.name}.log`), { flags: "a" });
  const child = spawn(proc.command, proc.args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", ...proc.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.child = child;
  proc.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  void proc.exited.then(() => {
    process.off("exit", killOnExit);
    log.end();
  });
  proc.readyInfo = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${proc.name}: not ready in ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => {
        if (!log.writableEnded) log.write(`${line}\n`);
        const info = proc.ready(line);
        if (info === undefined) return;
        clearTimeout(timer);
        resolve(info);
      });
    }
    void proc.exited?.then(() => {
      clearTimeout(timer);
      reject(new Error(`${proc.name} exited before it was ready; see ${join(logDir, `${proc.name}.log`)}`));
    });
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves once it is gone. */
export async function stopProcess(proc: ManagedProcess): Promise<void> {
  const child = proc.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), stopGraceMs);
  await proc.exited;
  clearTimeout(killer);
}
