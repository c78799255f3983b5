import { type ChildProcess, spawn } from "node:child_process";

/**
 * A foreground child of this process in its own process group (Kamailio forks workers; SIPp does not, but
 * is treated alike), so a stop reaches every process it started. Should this process exit without
 * stopping it, the whole group is killed: no kamailio or sipp is ever left running.
 */
export class ChildGroup {
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly killOnExit = () => this.signal("SIGKILL");

  constructor(command: string, args: string[], opts: { cwd: string; logFd: number }) {
    this.child = spawn(command, args, {
      cwd: opts.cwd,
      stdio: ["ignore", opts.logFd, opts.logFd],
      detached: true,
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code) => resolve(code));
      this.child.once("error", () => resolve(null));
    });
    process.once("exit", this.killOnExit);
    void this.exited.then(() => process.off("exit", this.killOnExit));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  /** `signal` to the group (SIGTERM by default), SIGKILL after `graceMs`; resolves once the leader exited. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.signal(signal);
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }
}
