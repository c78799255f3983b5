/**
 * An exponentially decaying event rate: each `mark()` adds 1/τ, and the sum decays with time constant τ,
 * so `perSecond()` follows the recent rate smoothly, in O(1) and with no per-event storage.
 */
export class RateMeter {
  private rate = 0;
  private at = performance.now();

  constructor(private readonly tauMs = 1000) {}

  mark(): void {
    this.decay();
    this.rate += 1000 / this.tauMs;
  }

  /** Events per second over roughly the last τ. */
  perSecond(): number {
    this.decay();
    return this.rate;
  }

  private decay(): void {
    const now = performance.now();
    if (now > this.at) this.rate *= Math.exp((this.at - now) / this.tauMs);
    this.at = now;
  }
}
