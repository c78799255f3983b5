import { EslConnectionError } from "./errors.ts";

export interface LivenessOptions {
  /** With commands outstanding, this long without a byte from FreeSWITCH means the peer is gone. */
  idleTimeoutMs: number;
  /** With nothing outstanding, this long without a byte sends a cheap `api uptime` probe. 0 disables. */
  probeIntervalMs: number;
}

const defaultLiveness: LivenessOptions = { idleTimeoutMs: 10_000, probeIntervalMs: 15_000 };

/** What the watch needs of the connection it watches. */
interface LivenessTarget {
  /** Commands written whose reply is still due. */
  outstanding(): number;
  /** The peer is gone: close the connection, giving this reason. */
  halfOpen(reason: Error): void;
  /** Send a cheap command; its reply is the byte that proves the peer alive. */
  probe(timeoutMs: number): void;
}

/**
 * Half-open detection. TCP alone may not notice a peer that vanished (a cable pulled, a host frozen): the
 * socket stays open and replies never come. So silence is measured: while commands await their replies,
 * idleTimeoutMs without a byte closes the connection; while none do, probeIntervalMs without a byte sends a
 * probe, so that a dead peer is found before the next real command waits on it.
 */
export class Liveness {
  private readonly options: LivenessOptions;
  private lastReceivedAt = 0;
  /** When the reply queue last went from empty to non-empty. */
  private awaitingSince = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    options: Partial<LivenessOptions> | undefined,
    private readonly target: LivenessTarget,
  ) {
    this.options = { ...defaultLiveness, ...options };
  }

  /** Bytes arrived (or the connection opened): the peer is alive now. */
  received(): void {
    this.lastReceivedAt = Date.now();
  }

  /** A command was written to an empty reply queue: its reply falls due from now. */
  awaiting(): void {
    this.awaitingSince = Date.now();
  }

  start(): void {
    this.stop();
    const { idleTimeoutMs, probeIntervalMs } = this.options;
    const period = Math.max(50, Math.min(idleTimeoutMs, probeIntervalMs || idleTimeoutMs) / 4);
    this.timer = setInterval(() => this.check(), period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const { idleTimeoutMs, probeIntervalMs } = this.options;
    const now = Date.now();
    const outstanding = this.target.outstanding();
    if (outstanding > 0) {
      // Silence counts from the later of the last byte and the moment a reply fell due: a command sent
      // after a quiet spell gets its full idleTimeoutMs.
      const silentFor = now - Math.max(this.lastReceivedAt, this.awaitingSince);
      if (silentFor < idleTimeoutMs) return;
      this.target.halfOpen(
        new EslConnectionError(
          `no bytes from FreeSWITCH for ${silentFor} ms with ${outstanding} commands outstanding (half-open)`,
        ),
      );
    } else if (probeIntervalMs > 0 && now - this.lastReceivedAt >= probeIntervalMs) {
      this.target.probe(idleTimeoutMs);
    }
  }
}
