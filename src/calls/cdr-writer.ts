import { setMaxListeners } from "node:events";
import type { ConsumerMessages, JsMsg, NatsConnection } from "nats";
import type { Logger } from "pino";
import type { FsEventV1 } from "../contracts/fs-events-v1.ts";
import { Backoff } from "../net/backoff.ts";
import { type CallEventEffect, callEventEffect, type EffectBatch, foldEffects } from "./call-events.ts";
import type { CallStore } from "./call-store.ts";
import { sleep } from "./concurrency.ts";
import { ensureFsEventsStream, ensureWorkConsumer, fsEventsStream, jetStreamManager } from "./jetstream.ts";

interface CdrWriterOptions {
  /** The gateway's event subject (`NATS_SUBJECT`); the stream also captures its per-type copies. */
  eventsSubject: string;
  /** Events written together at most (one statement per kind of write). */
  batchSize: number;
  /** How long a partial batch waits for more events, ms. */
  batchDelayMs: number;
  ackWaitMs: number;
  maxDeliver: number;
}

interface CdrWriterCounts {
  events: number;
  /** Events that changed (or could have changed) a call: the rest concern no call of ours. */
  applied: number;
  batches: number;
  cdrsWritten: number;
  /** Hangups that wrote no CDR: one existed already (a redelivery), or the call is not the pipeline's. */
  hangupsNotRecorded: number;
  badEvents: number;
}

const decoder = new TextDecoder();

/**
 * Status tracking and CDRs: consumes `fs.events` through a JetStream stream, moves each call through
 * queued → ringing → in-progress → completed/failed, and writes one CDR per call from its
 * CHANNEL_HANGUP_COMPLETE. Events are written in batches, one batch at a time, so a call's events are
 * applied in stream order; every write is idempotent (see CallStore), so a redelivered event changes
 * nothing. While the database is unreachable it holds its batch and retries rather than burning deliveries.
 */
export class CdrWriter {
  readonly counts: CdrWriterCounts = {
    events: 0,
    applied: 0,
    batches: 0,
    cdrsWritten: 0,
    hangupsNotRecorded: 0,
    badEvents: 0,
  };
  private readonly stopping = new AbortController();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private pending: Array<{ msg: JsMsg; effect: CallEventEffect }> = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** The batch being written; the next waits for it. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: CallStore,
    private readonly options: CdrWriterOptions,
    private readonly log: Logger,
  ) {
    setMaxListeners(0, this.stopping.signal);
  }

  async start(): Promise<void> {
    const jsm = await jetStreamManager(this.nc);
    await ensureFsEventsStream(jsm, this.options.eventsSubject);
    await ensureWorkConsumer(jsm, fsEventsStream.name, {
      durable: fsEventsStream.cdrWriterDurable,
      // The plain subject only: with per-type copies on, each event is also stored once more under them.
      filterSubject: this.options.eventsSubject,
      ackWaitMs: this.options.ackWaitMs,
      maxDeliver: this.options.maxDeliver,
      maxAckPending: this.options.batchSize * 8,
    });
    const consumer = await this.nc
      .jetstream()
      .consumers.get(fsEventsStream.name, fsEventsStream.cdrWriterDurable);
    this.messages = await consumer.consume({ max_messages: this.options.batchSize * 2 });
    this.loop = this.run(this.messages);
  }

  /** Stops consuming and writes what it holds (unless the database is down: then it is redelivered later). */
  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
    clearTimeout(this.flushTimer);
    this.stopping.abort();
    this.flush();
    await this.writing;
  }

  /** Resolves once everything received so far is written and acked. */
  async idle(): Promise<void> {
    this.flush();
    await this.writing;
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      this.counts.events++;
      this.pending.push({ msg, effect: this.decode(msg) });
      if (this.pending.length >= this.options.batchSize) {
        this.flush();
        // Backpressure: no more than one batch waits behind the one being written.
        await this.writing;
      } else {
        this.flushTimer ??= setTimeout(() => this.flush(), this.options.batchDelayMs);
      }
    }
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.writing.then(() => this.write(batch));
  }

  private async write(batch: Array<{ msg: JsMsg; effect: CallEventEffect }>): Promise<void> {
    const effects = batch.map((b) => b.effect).filter((e) => e.kind !== "none");
    const folded = foldEffects(effects);
    const backoff = new Backoff({ initialMs: 50, maxMs: 2_000 });
    for (;;) {
      try {
        await this.apply(folded);
        break;
      } catch (error) {
        if (this.stopping.signal.aborted) {
          for (const { msg } of batch) msg.nak();
          return;
        }
        if (backoff.attempts === 0) {
          this.log.warn(
            { err: (error as Error).message },
            "database write failed; holding events and retrying",
          );
        }
        for (const { msg } of batch) msg.working();
        await sleep(backoff.next(), this.stopping.signal);
      }
    }
    this.counts.batches++;
    this.counts.applied += effects.length;
    for (const { msg } of batch) msg.ack();
  }

  private async apply(batch: EffectBatch): Promise<void> {
    await this.store.recordProgress(batch.progress);
    const written = await this.store.recordHangups(batch.hangups);
    this.counts.cdrsWritten += written.length;
    this.counts.hangupsNotRecorded += batch.hangups.length - written.length;
    // A refused originate of a call with a channel (a duplicate of a live call ends this way too) changes
    // nothing: only a call still queued fails, and its own hangup settles a live one.
    for (const failure of batch.originateFailures) {
      await this.store.failQueued(failure.callId, failure.cause, failure.at);
    }
  }

  private decode(msg: JsMsg): CallEventEffect {
    try {
      return callEventEffect(JSON.parse(decoder.decode(msg.data)) as FsEventV1);
    } catch (error) {
      this.counts.badEvents++;
      this.log.warn({ err: (error as Error).message, seq: msg.seq }, "event is not fs.events JSON; skipped");
      return { kind: "none" };
    }
  }
}
