/** Reconnect delay policy: exponential growth with jitter, a cap, and a reset once a connection proves healthy. */
export interface BackoffOptions {
  /** First delay, ms. */
  initialMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Largest delay, ms. */
  maxMs: number;
  /** Share of each delay that is randomised, 0 (none) to 1 (full jitter: uniform in [0, delay]). */
  jitter: number;
  /** A connection that stayed up this long resets the delay to `initialMs`. */
  resetAfterMs: number;
}

export const defaultBackoff: BackoffOptions = {
  initialMs: 100,
  factor: 2,
  maxMs: 10_000,
  jitter: 0.2,
  resetAfterMs: 30_000,
};

export class Backoff {
  private attempt = 0;
  private readonly options: BackoffOptions;

  constructor(
    options: Partial<BackoffOptions> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...defaultBackoff, ...options };
    const { initialMs, factor, maxMs, jitter } = this.options;
    if (!(initialMs > 0) || !(factor >= 1) || !(maxMs >= initialMs) || !(jitter >= 0 && jitter <= 1)) {
      throw new RangeError("backoff needs initialMs > 0, factor >= 1, maxMs >= initialMs, 0 <= jitter <= 1");
    }
  }

  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one failed attempt. */
  next(): number {
    const { initialMs, factor, maxMs, jitter } = this.options;
    const base = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 - jitter) + base * jitter * this.random());
  }

  /** Call when a connection that was up goes down: one that lasted `resetAfterMs` earns a fresh start. */
  connectionLasted(upForMs: number): void {
    if (upForMs >= this.options.resetAfterMs) this.attempt = 0;
  }

  reset(): void {
    this.attempt = 0;
  }
}
