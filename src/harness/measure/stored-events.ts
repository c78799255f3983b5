import {
  connect,
  DeliverPolicy,
  type JetStreamManager,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
} from "nats";

/** What a JetStream stream stored on the gateway's subject during a run. */
export interface StoredEvents {
  subject: string;
  stream: string;
  /** The harness made the stream for the run (no stream of the lab captured the subject) and removed it after. */
  ownStream: boolean;
  /** Messages stored on the subject itself (not its per-type copies). */
  messages: number;
  /** Distinct events among them, by `core_uuid` + `sequence`: a batch the gateway sent again is stored twice. */
  events: number;
}

/** The stream the harness makes when no stream of the lab captures the subject; removed after the run. */
export const RUN_EVENTS_STREAM = "LAB_RUN_EVENTS";

const FETCH_BATCH = 1_000;
const FETCH_EXPIRES_MS = 2_000;

/**
 * Counts the events a JetStream stream stored on `fs.events` between `start` and `stop`: the ground truth
 * for "the gateway counted it published, and NATS has it". A plain subscriber cannot be: through a NATS
 * restart it misses what is published before it has subscribed again. The lab's own stream on the subject
 * is used when there is one (`FS_EVENTS`, the calls pipeline's): JetStream refuses a second stream on the
 * same subject. Otherwise the harness makes one for the run, on file (a memory stream would not outlive the
 * nats-server restart of `nats-outage`), replicated on a 3-node cluster so that one node's stop keeps it.
 */
export class StoredEventCounter {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    readonly subject: string,
    readonly stream: string,
    readonly ownStream: boolean,
    /** The stream's last sequence at the start: the run's messages come after it. */
    private readonly startSeq: number,
  ) {}

  static async start(options: { servers: string[]; subject?: string }): Promise<StoredEventCounter> {
    const subject = options.subject ?? "fs.events";
    const nc = await connect({
      servers: options.servers,
      name: "fs-esl-lab stored events",
      reconnectTimeWait: 100,
      reconnectJitter: 0,
      reconnectJitterTLS: 0,
      maxReconnectAttempts: -1,
    });
    try {
      const jsm = await nc.jetstreamManager();
      let stream = await jsm.streams.find(subject).catch(() => undefined);
      if (stream === undefined) {
        stream = RUN_EVENTS_STREAM;
        await jsm.streams.add({
          name: stream,
          subjects: [subject],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          num_replicas: options.servers.length >= 3 ? 3 : 1,
          // Removed after the run; the age limit only bounds one a crashed harness left behind.
          max_age: nanos(3_600_000),
        });
      }
      const { state } = await jsm.streams.info(stream);
      return new StoredEventCounter(nc, jsm, subject, stream, stream === RUN_EVENTS_STREAM, state.last_seq);
    } catch (error) {
      await nc.close();
      throw new Error(
        `cannot count the events NATS stores on ${subject} (JetStream needed: nats-server -js): ${(error as Error).message}`,
      );
    }
  }

  /** Reads what the stream stored on the subject since the start, removes the harness's own stream, closes. */
  async stop(): Promise<StoredEvents> {
    try {
      const { state } = await this.jsm.streams.info(this.stream);
      const ids = new Set<string>();
      let messages = 0;
      if (state.last_seq > this.startSeq) {
        const consumer = await this.nc.jetstream().consumers.get(this.stream, {
          filterSubjects: this.subject,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.startSeq + 1,
        });
        reading: for (;;) {
          const batch = await consumer.fetch({ max_messages: FETCH_BATCH, expires: FETCH_EXPIRES_MS });
          let fetched = 0;
          for await (const m of batch) {
            fetched++;
            if (m.seq > state.last_seq) break reading;
            messages++;
            ids.add(eventId(m.data) ?? `stream-seq-${m.seq}`);
            if (m.seq === state.last_seq || m.info.pending === 0) break reading;
          }
          if (fetched === 0) break;
        }
      }
      return {
        subject: this.subject,
        stream: this.stream,
        ownStream: this.ownStream,
        messages,
        events: ids.size,
      };
    } finally {
      if (this.ownStream) await this.jsm.streams.delete(this.stream).catch(() => {});
      await this.nc.close();
    }
  }
}

const decoder = new TextDecoder();

/** `core_uuid/sequence` of an fs.events v1 message (docs/fs-events.md), or undefined. */
function eventId(data: Uint8Array): string | undefined {
  try {
    const event = JSON.parse(decoder.decode(data)) as { core_uuid?: unknown; sequence?: unknown };
    return typeof event.core_uuid === "string" && typeof event.sequence === "number"
      ? `${event.core_uuid}/${event.sequence}`
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * summary.json's `publisher`: what the gateways counted published over the run against what NATS stored.
 * A count, not a match of events: an event the server stored and the gateway then dropped (a batch sent
 * again that no longer fit its queue) offsets one that is missing, so it is exact when nothing was dropped.
 */
export interface PublisherSection extends StoredEvents {
  /** The increases of the gateways' `fs_esl_events_published_total` over the run, summed. */
  published: number;
  /** published − events, at least 0: events a gateway counted published that NATS does not have. */
  unstored: number;
}

export function publisherSection(
  stored: StoredEvents,
  gateways: ReadonlyArray<{ totals: { eventsPublished: number } }>,
): PublisherSection {
  const published = gateways.reduce((sum, g) => sum + g.totals.eventsPublished, 0);
  return { ...stored, published, unstored: Math.max(0, published - stored.events) };
}
