import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { waitForPort } from "./ports.ts";

export interface ServiceSpec {
  /** Component name used in messages: "nats", "fakeswitch", "gateway"... */
  name: string;
  command: string;
  args: readonly string[];
  /** Extra environment; secrets go here, never in args (args show in process listings). */
  env?: Record<string, string>;
  logFile: string;
  /** Ready when this port accepts, and/or when stdout prints a line matching `line`. */
  ready: { port?: { host: string; port: number }; line?: RegExp };
  readyTimeoutMs?: number;
}

/** A lab process: started detached from the terminal's signals, logged to a file, stopped for sure. */
export class Service {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first stdout line matching `ready.line`, for services that report their address that way. */
  readyLine: string | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly spec: ServiceSpec,
    readonly child: ChildProcess,
    private readonly log: WriteStream,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  static async start(spec: ServiceSpec): Promise<Service> {
    const log = createWriteStream(spec.logFile, { flags: "a" });
    const child = spawn(spec.command, [...spec.args], {
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group: Ctrl-C reaches the lab, which then stops each service in order
    });
    const service = new Service(spec, child, log);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error) =>
        reject(new Error(`${spec.name}: cannot start ${spec.command}: ${error.message}`)),
      );
    });
    await spawned;
    try {
      await service.waitReady();
    } catch (error) {
      await service.stop();
      throw error;
    }
    return service;
  }

  private async waitReady(): Promise<void> {
    const { ready, name } = this.spec;
    const timeoutMs = this.spec.readyTimeoutMs ?? 10_000;
    const waits: Promise<void>[] = [];
    if (ready.line) waits.push(this.waitForLine(ready.line, timeoutMs));
    if (ready.port) waits.push(waitForPort(ready.port.host, ready.port.port, timeoutMs));
    const died = this.exited.then((info) => {
      throw new Error(`${name} exited before it was ready (code ${info.code}, signal ${info.signal})`);
    });
    try {
      await Promise.race([Promise.all(waits), died]);
    } catch (error) {
      const where = ready.port ? ` on ${ready.port.host}:${ready.port.port}` : "";
      throw new Error(
        `${name} not ready${where}: ${(error as Error).message}\n--- last lines of ${this.spec.logFile} ---\n${this.lastLogLines(15)}`,
      );
    } finally {
      died.catch(() => {});
    }
  }

  private waitForLine(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let buffered = "";
      const timer = setTimeout(() => {
        this.child.stdout?.off("data", onData);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        const line = lines.find((l) => pattern.test(l));
        if (line !== undefined) {
          clearTimeout(timer);
          this.child.stdout?.off("data", onData);
          this.readyLine = line;
          resolve();
        }
      };
      this.child.stdout?.on("data", onData);
    });
  }

  lastLogLines(count: number): string {
    try {
      return readFileSync(this.spec.logFile, "utf8").trimEnd().split("\n").slice(-count).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.running) {
      this.signal("SIGTERM");
      const killer = setTimeout(() => this.signal("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(killer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** Signal the whole process group (a tsx wrapper and its node child alike). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}
