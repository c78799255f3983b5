import { connect, type NatsConnection } from "nats";
import type { Logger } from "pino";
import type { GatewayMetrics } from "./metrics.ts";
import type { FsEventV1 } from "./normalize.ts";
import { DropOldestQueue } from "./ring-queue.ts";

export interface PublisherOptions {
  servers: string[];
  subject: string;
  /** Also publish each event on `<subject>.<EVENT_TYPE>`. */
  perTypeSubjects: boolean;
  queueCapacity: number;
}

export type NatsState = "connecting" | "connected" | "disconnected" | "closed";

const batchSize = 512;
const dropWarningIntervalMs = 5_000;

/**
 * Publishes normalised events to NATS through a bounded queue, so that reading ESL never waits on NATS
 * (the shape of mod_amqp's producer). While NATS is slow or down the queue fills and the oldest events
 * are dropped, counted and warned about at most every 5 s. Invariant: received = published + dropped +
 * queued.
 */
export class EventPublisher {
  private readonly queue: DropOldestQueue<FsEventV1>;
  private nc: NatsConnection | undefined;
  private state_: NatsState = "connecting";
  private pumping = false;
  private droppedSinceWarning = 0;
  private lastDropWarning = 0;
  private readonly encoder = new TextEncoder();
  counts = { received: 0, published: 0, dropped: 0 };

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
  get depth(): number {
    return this.queue.size;
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
    this.metrics.queueDepth.set(this.queue.size);
    this.schedulePump();
  }

  /** Publish what is queued (bounded by `timeoutMs`), then close; leftovers count as dropped. */
  async stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.size > 0 && this.state_ === "connected" && Date.now() < deadline) {
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
  }

  private schedulePump(): void {
    if (this.pumping || this.state_ !== "connected") return;
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /** Publish in batches; a flush round trip after each batch is the backpressure signal from NATS. */
  private async pump(): Promise<void> {
    try {
      while (this.state_ === "connected" && this.nc && this.queue.size > 0) {
        const nc = this.nc;
        for (let i = 0; i < batchSize && this.queue.size > 0; i++) {
          const event = this.queue.shift() as FsEventV1;
          const payload = this.encoder.encode(JSON.stringify(event));
          nc.publish(this.options.subject, payload);
          if (this.options.perTypeSubjects)
            nc.publish(`${this.options.subject}.${event.event_type}`, payload);
          this.counts.published++;
          this.metrics.eventsPublished.inc();
          this.metrics.publishLag.observe(
            performance.timeOrigin + performance.now() - event.gateway_received_at,
          );
        }
        this.metrics.queueDepth.set(this.queue.size);
        if (this.queue.size > 0) await nc.flush();
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "NATS flush failed; events stay queued");
    } finally {
      this.pumping = false;
    }
    if (this.queue.size > 0 && this.state_ === "connected") this.schedulePump();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.state_ === "closed") return;
      if (status.type === "disconnect" || status.type === "staleConnection") {
        this.state_ = "disconnected";
        this.log.warn({ server: status.data }, "NATS disconnected; events queue until it returns");
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
