/** A token bucket: `ratePerSecond` tokens a second, holding at most 10 ms worth (at least one). */
export class TokenBucket {
  private tokens: number;
  private at = performance.now();
  private readonly capacity: number;

  constructor(readonly ratePerSecond: number) {
    this.capacity = Math.max(1, ratePerSecond / 100);
    this.tokens = this.capacity;
  }

  /** Take one token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token. */
  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.ratePerSecond;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000);
    this.at = now;
  }
}
