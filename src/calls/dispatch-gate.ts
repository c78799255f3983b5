import { Backoff, type BackoffOptions } from "../net/backoff.ts";
import { sleep } from "./concurrency.ts";

/**
 * One gate for every originate of an orchestrator process: while the gateway answers 503/429 (or does not
 * answer), all of them wait, for the gateway's Retry-After or a growing backoff, whichever is longer,
 * instead of each hammering it on its own schedule. The first success opens the gate and resets the backoff.
 */
export class DispatchGate {
  private closedUntil = 0;
  private readonly backoff: Backoff;

  constructor(backoff: Partial<BackoffOptions>) {
    this.backoff = new Backoff(backoff);
  }

  get holding(): boolean {
    return Date.now() < this.closedUntil;
  }

  /** Waits while the gate is closed, calling `stillWorking` every `heartbeatMs` (to keep a message's lease). */
  async pass(stillWorking: () => void, heartbeatMs: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.closedUntil - Date.now();
      if (wait <= 0 || signal.aborted) return;
      await sleep(Math.min(wait, heartbeatMs), signal);
      stillWorking();
    }
  }

  /** An attempt failed; attempts already in flight when the gate closed do not grow the backoff again. */
  failed(retryAfterMs: number | undefined): void {
    const now = Date.now();
    const backoffMs = now >= this.closedUntil ? this.backoff.next() : 0;
    this.closedUntil = Math.max(this.closedUntil, now + Math.max(backoffMs, retryAfterMs ?? 0));
  }

  succeeded(): void {
    this.backoff.reset();
  }
}
