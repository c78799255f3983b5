/** RFC 3261 §17.1.1.1 and Table 4: T1 (RTT estimate), T2 (retransmit cap), T4 (network lifetime). */
export interface TimerValues {
  t1: number;
  t2: number;
  t4: number;
}

export const RFC3261_TIMERS: TimerValues = { t1: 500, t2: 4000, t4: 5000 };

/**
 * The timers of one transaction: each named (A, B, E…), so restarting one replaces it, and `clear()` on
 * termination leaves nothing behind.
 */
export class TransactionTimers {
  private readonly running = new Map<string, NodeJS.Timeout>();

  set(name: string, ms: number, fire: () => void): void {
    this.stop(name);
    this.running.set(
      name,
      setTimeout(() => {
        this.running.delete(name);
        fire();
      }, ms),
    );
  }

  /**
   * A retransmission timer that starts at `firstMs` and doubles after each firing, capped at `capMs`
   * (Timer A has no cap: §17.1.1.2; E and G stop at T2: §17.1.2.2, §17.2.1).
   */
  retransmit(name: string, firstMs: number, capMs: number, resend: () => void): void {
    const arm = (ms: number) =>
      this.set(name, ms, () => {
        resend();
        arm(Math.min(ms * 2, capMs));
      });
    arm(firstMs);
  }

  stop(name: string): void {
    const t = this.running.get(name);
    if (t) clearTimeout(t);
    this.running.delete(name);
  }

  clear(): void {
    for (const t of this.running.values()) clearTimeout(t);
    this.running.clear();
  }
}
