import type { Clock } from "../../src/harness/load/arrival.ts";

interface Timer {
  at: number;
  fire: () => void;
}

/**
 * A discrete-event clock for the arrival runner: sleeps are timers on virtual time, fired in order, each
 * after the microtasks of the previous one have run. `block(ms)` moves time on without firing anything, as
 * a blocked event loop would.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer: Timer = {
        at: this.time + Math.max(0, ms),
        fire: () => {
          signal.removeEventListener("abort", cancel);
          resolve();
        },
      };
      const cancel = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        resolve();
      };
      this.timers.push(timer);
      signal.addEventListener("abort", cancel, { once: true });
    });
  }

  block(ms: number): void {
    this.time += ms;
  }

  /** Fires timers in time order until `work` settles. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return work;
      const next = this.timers.reduce<Timer | undefined>((a, t) => (a && a.at <= t.at ? a : t), undefined);
      if (!next) throw new Error("virtual clock: nothing left to fire, but the work has not settled");
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      next.fire();
    }
  }
}
