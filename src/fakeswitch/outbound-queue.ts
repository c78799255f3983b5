import type net from "node:net";
import { disconnectNotice } from "./event-serializer.ts";
import type { SwitchStats } from "./switch-core.ts";
import { TokenBucket } from "./token-bucket.ts";

/** The listener's queue bounds and the faults that act on its output (ConnectionHost has them). */
interface OutboundLimits {
  /** Events a listener may hold before it loses them (mod_event_socket MAX_QUEUE_LEN). */
  readonly eventQueueLength: number;
  /** Lost events past which the listener is killed (mod_event_socket MAX_MISSED). */
  readonly maxLostEvents: number;
  /** Fault injection: events written to each client a second at most (0: no cap). */
  readonly eventRatePerSecond: number;
  /** Fault injection: the peer vanished without a FIN: nothing is written. */
  readonly halfOpenActive: boolean;
}

/** What the queue asks of its connection. */
interface OutboundOwner {
  /** A command in progress holds events back (a blocking `api` holds the listener's events until it returns). */
  holding(): boolean;
  /** The connection still runs: held events may go out. */
  running(): boolean;
  /** More events were lost than allowed: kill the listener. */
  overflow(): void;
}

const EMPTY = Buffer.alloc(0);
/** Socket bytes buffered before events are held in the listener's own queue. */
const SOCKET_HIGH_WATER = 1024 * 1024;

/**
 * One connection's output. Replies and notices are written in order, coalesced into one socket write per
 * turn of the event loop. Events and log lines go out only while the socket keeps up, no command holds
 * them and the rate cap allows; otherwise they wait in the listener's bounded queue, and past its length
 * they are lost, too many lost killing the listener, as mod_event_socket does.
 */
export class OutboundQueue {
  private out: Array<string | Buffer> = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** The listener's event queue (events the socket could not take yet): `held[heldHead…]`. */
  private held: Buffer[] = [];
  private heldHead = 0;
  private lostEvents = 0;
  private closing = false;
  /** The event rate cap's budget, and the timer that releases held events when it refills. */
  private bucket: TokenBucket | undefined;
  private paceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly limits: OutboundLimits,
    private readonly stats: SwitchStats,
    private readonly owner: OutboundOwner,
  ) {}

  /** An event or log frame: written now if it may go, else held (or lost when the queue is full). */
  enqueue(frame: Buffer): void {
    if (this.canSend() && this.heldCount === 0 && this.paced()) {
      this.stats.eventsSent++;
      this.write(frame);
      return;
    }
    if (this.heldCount >= this.limits.eventQueueLength) {
      this.stats.eventsLost++;
      if (++this.lostEvents > this.limits.maxLostEvents) {
        this.stats.listenersKilled++;
        this.owner.overflow();
      }
      return;
    }
    this.lostEvents = 0;
    this.held.push(frame);
  }

  /** `noevents`: the events held so far are not sent. */
  dropHeld(): void {
    this.held = [];
    this.heldHead = 0;
  }

  private canSend(): boolean {
    return !this.owner.holding() && this.socket.writableLength + this.outBytes < SOCKET_HIGH_WATER;
  }

  private get heldCount(): number {
    return this.held.length - this.heldHead;
  }

  /** Whether the event rate cap lets one more event out now (taking it); if not, retry when it will. */
  private paced(): boolean {
    const rate = this.limits.eventRatePerSecond;
    if (rate <= 0) return true;
    if (this.bucket?.ratePerSecond !== rate) this.bucket = new TokenBucket(rate);
    if (this.bucket.take()) return true;
    if (!this.paceTimer) {
      this.paceTimer = setTimeout(
        () => {
          this.paceTimer = undefined;
          this.releaseHeld();
        },
        Math.max(1, Math.ceil(this.bucket.msUntilToken())),
      );
    }
    return false;
  }

  /** Write held events while the socket, the command in progress and the rate cap let them out. */
  releaseHeld(): void {
    if (this.heldCount === 0 || !this.owner.running()) return;
    while (this.heldHead < this.held.length && this.canSend() && this.paced()) {
      this.stats.eventsSent++;
      this.write(this.held[this.heldHead] as Buffer);
      this.held[this.heldHead++] = EMPTY;
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    } else if (this.heldHead > 4096 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
  }

  write(data: string | Buffer): void {
    if (this.closing || this.limits.halfOpenActive) return;
    this.out.push(data);
    this.outBytes += data.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0) return;
    const data =
      this.out.length === 1
        ? (this.out[0] as string | Buffer)
        : Buffer.concat(this.out.map((x) => (typeof x === "string" ? Buffer.from(x, "utf8") : x)));
    this.out = [];
    this.outBytes = 0;
    if (this.socket.destroyed) return;
    const accepted = this.socket.write(data);
    // Held events wait for 'drain'; a write the kernel took whole emits no 'drain', so go on now.
    if (accepted && this.heldCount > 0) setImmediate(() => this.releaseHeld());
  }

  /** Write what is pending now, with a disconnect notice last if given; nothing more is written after. */
  finish(notice?: string): void {
    if (notice !== undefined) this.out.push(disconnectNotice(notice));
    this.flush();
    this.closing = true;
  }

  /** Abort: what is pending is not written, nor anything after. */
  discard(): void {
    this.closing = true;
    this.out = [];
  }

  /** The socket closed: no more pacing. */
  stop(): void {
    clearTimeout(this.paceTimer);
  }
}
