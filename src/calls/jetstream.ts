import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "nats";

/** Where call requests wait to be placed, and where the ones that cannot be placed end up. */
export const callsStream = {
  name: "calls",
  requestSubject: "calls.requests",
  deadLetterSubject: "calls.dead",
  orchestratorDurable: "orchestrator",
} as const;

/** The gateway's `fs.events`, kept so the CDR writer can fall behind, restart, or crash without losing events. */
export const fsEventsStream = { name: "FS_EVENTS", cdrWriterDurable: "cdr-writer" } as const;

const dayMs = 24 * 3_600_000;

/** Creates the `calls` stream, or updates it to this configuration. */
export async function ensureCallsStream(jsm: JetStreamManager): Promise<void> {
  await ensureStream(jsm, {
    name: callsStream.name,
    subjects: [callsStream.requestSubject, callsStream.deadLetterSubject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(7 * dayMs),
    // Nats-Msg-Id is the call id: a publish the API retries after a lost ack is stored once.
    duplicate_window: nanos(10 * 60_000),
  });
}

/**
 * Creates the stream capturing `<subject>` and `<subject>.>` (the gateway's per-type copies), or updates it.
 * Events are operational state: an hour is plenty to ride out a CDR writer outage.
 */
export async function ensureFsEventsStream(jsm: JetStreamManager, subject: string): Promise<void> {
  await ensureStream(jsm, {
    name: fsEventsStream.name,
    subjects: [subject, `${subject}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(3_600_000),
  });
}

interface WorkConsumerSettings {
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
}

/** A durable pull consumer with explicit acks, shared by every process that binds to it. */
export async function ensureWorkConsumer(
  jsm: JetStreamManager,
  stream: string,
  settings: WorkConsumerSettings,
): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: settings.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: settings.filterSubject,
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver,
    max_ack_pending: settings.maxAckPending,
  };
  try {
    await jsm.consumers.add(stream, config);
  } catch {
    // It exists with other settings (an older deployment): bring it to these. Filter and deliver policy
    // cannot change on a live consumer, so they are left as they are.
    const { deliver_policy: _deliver, filter_subject: _filter, ...editable } = config;
    await jsm.consumers.update(stream, settings.durable, editable);
  }
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // Already there (another process of the pipeline made it, or an earlier configuration).
    if (!/already in use/i.test((error as Error).message)) throw error;
    await jsm.streams.update(config.name, config);
  }
}

/** A clear start-up error when the server runs without JetStream (`nats-server -js`). */
export async function jetStreamManager(nc: NatsConnection): Promise<JetStreamManager> {
  try {
    return await nc.jetstreamManager();
  } catch (error) {
    throw new Error(
      `JetStream is not available on ${nc.getServer()} (start nats-server with -js): ${(error as Error).message}`,
    );
  }
}
