/**
 * FreeSWITCH's CPU as one first-come-first-served server, for a double fitted to a real switch's load
 * behaviour (load-profile.ts). Each piece of work (an originate's call set-up, a command) waits for the work
 * admitted before it, then takes its own service time: Lindley's recursion, computed when the work arrives,
 * so nothing runs in the background. Service times are drawn exponentially around their mean: call set-up
 * costs vary from call to call, and that variation is what makes waits grow before the server is fully busy,
 * even under evenly spaced arrivals (a D/M/1 queue); past full utilisation the backlog grows for as long as
 * the overload lasts, as a saturated switch's does.
 */
export class ServiceQueue {
  /** When the server finishes the work admitted so far, on `now`'s clock. */
  private freeAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {}

  /** Admits work with mean service time `meanMs`: ms until it is done (its wait, then its own service). */
  admit(meanMs: number): number {
    const now = this.now();
    const start = Math.max(now, this.freeAt);
    this.freeAt = start + this.draw(meanMs);
    return this.freeAt - now;
  }

  /** Work queued ahead of anything admitted now, ms. */
  backlogMs(): number {
    return Math.max(0, this.freeAt - this.now());
  }

  /** An exponential draw of mean `meanMs` (0 stays 0). */
  private draw(meanMs: number): number {
    if (meanMs <= 0) return 0;
    return -meanMs * Math.log(1 - this.random());
  }
}

/** A seeded uniform [0, 1) generator (mulberry32): the calibration's fit simulates the queue reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
