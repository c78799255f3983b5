import { connect, type NatsConnection } from "nats";
import type { Logger } from "pino";
import type { FsEventV1 } from "../contracts/fs-events-v1.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { DropOldestQueue } from "./ring-queue.ts";

interface PublisherOptions {
  servers: string[];
  subject: string;
  /** Also publish each event on `<subject>.<EVENT_TYPE>`. */
  perTypeSubjects: boolean;
  queueCapacity: number;
}

type NatsState = "connecting" | "connected" | "disconnected" | "closed";

const batchSize = 512;
/**
 * How long a sent batch may wait for the PING that confirms it, when nothing else asks for one: one PING
 * covers every batch of the interval (a PING per batch cost the gateway ~5 % of a core at 1,000 calls/s).
 */
const confirmIntervalMs = 10;
const dropWarningIntervalMs = 5_000;

/** Events handed to the NATS client and not yet confirmed by the server's PONG. */
interface UnconfirmedBatch {
  /** Batches are numbered in send order: a PONG confirms every batch up to the last one sent before its PING. */
  seq: number;
  events: FsEventV1[];
}

/**
 * Publishes normalised events to NATS through a bounded queue, so that reading ESL never waits on NATS
 * (the shape of mod_amqp's producer). While NATS is slow or down the queue fills and the oldest events
 * are dropped, counted and warned about at most every 5 s.
 *
 * An event counts as published only once the server has confirmed it: each batch is followed by a PING,
 * and its PONG proves the server read everything sent before it on the same connection. When the
 * connection drops, every batch not yet confirmed goes back to the head of the queue and is sent again
 * after the reconnect, so a NATS restart or a cut link loses nothing it could have kept; a subscriber may
 * see such an event twice (at least once, deduplicate on `core_uuid` + `sequence`). Invariant:
 * received = published + dropped + depth, where depth counts queued and unconfirmed events.
 *
 * Why the disconnect, not a failed PING, re-queues: nats.js writes a batch to the socket at once, and what
 * it writes to a dying socket is lost (a closed transport drops writes; the buffer is cleared before the
 * next dial). A batch sent after the last PING has no PING to fail, and the first PONG on the new
 * connection would "confirm" it though the server never read it. nats.js queues its `disconnect` status
 * before it dials again and the status iterator delivers it in microtasks, ahead of any read from the new
 * connection: the re-queue always comes first, and a PONG then confirms only batches sent since.
 */
export class EventPublisher {
  private readonly queue: DropOldestQueue<FsEventV1>;
  /** Oldest first; PONGs answer in order, so confirmations settle them from the front. */
  private readonly unconfirmed: UnconfirmedBatch[] = [];
  private unconfirmedEvents = 0;
  private nextBatchSeq = 0;
  private confirmTimer: NodeJS.Timeout | undefined;
  private nc: NatsConnection | undefined;
  private state_: NatsState = "connecting";
  private pumping = false;
  private droppedSinceWarning = 0;
  private lastDropWarning = 0;
  private readonly encoder = new TextEncoder();
  counts = { received: 0, published: 0, dropped: 0, resent: 0 };

  constructor(
    private readonly options: PublisherOptions,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {
    this.queue = new DropOldestQueue(options.queueCapacity);
  }

  get state(): NatsState {
    return this.state_;
  }
  /** Events not yet confirmed by NATS: queued, or sent and awaiting the server's PONG. */
  get depth(): number {
    return this.queue.size + this.unconfirmedEvents;
  }

  /** Connects in the background, retrying forever; events queue (bounded) until NATS is reachable. */
  start(): void {
    connect({
      servers: this.options.servers,
      name: "fs-esl-gateway",
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
      pingInterval: 5_000,
      maxPingOut: 2,
    })
      .then((nc) => {
        if (this.state_ === "closed") {
          void nc.close();
          return;
        }
        this.nc = nc;
        this.state_ = "connected";
        void this.watchStatus(nc);
        this.schedulePump();
      })
      .catch((error: Error) => {
        this.log.error({ err: error.message }, "NATS connection failed for good");
        this.state_ = "closed";
      });
  }

  enqueue(event: FsEventV1): void {
    this.counts.received++;
    const dropped = this.queue.push(event);
    if (dropped) this.noteDrop(1);
    this.metrics.queueDepth.set(this.depth);
    this.schedulePump();
  }

  /** Publish what is queued (bounded by `timeoutMs`), then close; what NATS did not confirm counts as dropped. */
  async stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.depth > 0 && this.state_ === "connected" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const left = this.queue.size;
    while (this.queue.shift()) {}
    if (left > 0) this.noteDrop(left);
    this.state_ = "closed";
    const nc = this.nc;
    this.nc = undefined;
    if (nc) {
      await Promise.race([
        nc.drain().catch(() => {}),
        new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()))),
      ]);
      if (!nc.isClosed()) await nc.close().catch(() => {});
    }
    clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    // Confirmations that did not come before the close never will.
    for (const batch of this.unconfirmed.splice(0)) this.settle(batch, "dropped");
    this.metrics.queueDepth.set(this.depth);
  }

  private schedulePump(): void {
    if (this.pumping || this.state_ !== "connected") return;
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /**
   * Publish in batches. While more is queued, a PING follows each batch and its PONG is waited for: the
   * backpressure signal from NATS. Once the queue is empty, the batches sent wait (at most
   * `confirmIntervalMs`) for one PING that confirms them all; nothing waits on that, so a quiet stream adds
   * no round trip to its lag.
   */
  private async pump(): Promise<void> {
    try {
      while (this.state_ === "connected" && this.nc && this.queue.size > 0) {
        const nc = this.nc;
        const events: FsEventV1[] = [];
        for (let i = 0; i < batchSize && this.queue.size > 0; i++) {
          const event = this.queue.shift() as FsEventV1;
          const payload = this.encoder.encode(JSON.stringify(event));
          nc.publish(this.options.subject, payload);
          if (this.options.perTypeSubjects)
            nc.publish(`${this.options.subject}.${event.event_type}`, payload);
          this.metrics.publishLag.observe(
            performance.timeOrigin + performance.now() - event.gateway_received_at,
          );
          events.push(event);
        }
        this.unconfirmed.push({ seq: this.nextBatchSeq++, events });
        this.unconfirmedEvents += events.length;
        if (this.queue.size > 0) await this.confirm(nc);
      }
    } finally {
      this.pumping = false;
    }
    if (this.queue.size > 0 && this.state_ === "connected") this.schedulePump();
    else if (this.unconfirmed.length > 0 && !this.confirmTimer) {
      this.confirmTimer = setTimeout(() => {
        this.confirmTimer = undefined;
        if (this.nc && this.state_ === "connected") void this.confirm(this.nc);
      }, confirmIntervalMs);
    }
  }

  /**
   * A PING for every batch sent so far; resolves either way. A PING that fails (the connection died) settles
   * nothing: the disconnect has put the unconfirmed batches back in the queue, or stop() drops them.
   */
  private confirm(nc: NatsConnection): Promise<void> {
    const last = this.nextBatchSeq - 1;
    return nc.flush().then(
      () => {
        while ((this.unconfirmed[0]?.seq ?? Number.POSITIVE_INFINITY) <= last)
          this.settle(this.unconfirmed.shift() as UnconfirmedBatch, "published");
      },
      () => {},
    );
  }

  /** Every batch not yet confirmed goes back to the head of the queue, oldest first, to be sent again. */
  private requeueUnconfirmed(): number {
    const events = this.unconfirmedEvents;
    // Newest first, so that unshifting leaves the oldest at the head.
    for (const lost of this.unconfirmed.splice(0).reverse()) this.settle(lost, "requeued");
    return events;
  }

  /** Ends a batch taken off `unconfirmed`: counted published, put back in the queue, or dropped. */
  private settle(batch: UnconfirmedBatch, outcome: "published" | "requeued" | "dropped"): void {
    this.unconfirmedEvents -= batch.events.length;
    const count = batch.events.length;
    if (outcome === "published") {
      this.counts.published += count;
      this.metrics.eventsPublished.inc(count);
    } else if (outcome === "dropped") {
      this.noteDrop(count);
    } else {
      let refused = 0;
      for (let i = count - 1; i >= 0; i--) if (this.queue.unshift(batch.events[i] as FsEventV1)) refused++;
      this.counts.resent += count - refused;
      this.metrics.eventsResent.inc(count - refused);
      if (refused > 0) this.noteDrop(refused);
    }
    this.metrics.queueDepth.set(this.depth);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.state_ === "closed") return;
      if (status.type === "disconnect" || status.type === "staleConnection") {
        this.state_ = "disconnected";
        const requeued = this.requeueUnconfirmed();
        this.log.warn(
          { server: status.data, requeued },
          "NATS disconnected; events queue until it returns, unconfirmed ones to be sent again",
        );
      } else if (status.type === "reconnect") {
        this.state_ = "connected";
        this.log.info({ server: status.data }, "NATS reconnected");
        this.schedulePump();
      }
    }
  }

  private noteDrop(count: number): void {
    this.counts.dropped += count;
    this.metrics.eventsDropped.inc(count);
    this.droppedSinceWarning += count;
    const now = Date.now();
    if (now - this.lastDropWarning >= dropWarningIntervalMs) {
      this.log.warn(
        { dropped: this.droppedSinceWarning, queueCapacity: this.options.queueCapacity, nats: this.state_ },
        "event queue full: dropped oldest events",
      );
      this.lastDropWarning = now;
      this.droppedSinceWarning = 0;
    }
  }
}
