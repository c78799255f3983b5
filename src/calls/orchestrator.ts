import { setMaxListeners } from "node:events";
import type { ConsumerMessages, JetStreamClient, JsMsg, NatsConnection } from "nats";
import type { Logger } from "pino";
import type { OriginateInput } from "../contracts/originate-input.ts";
import type { BackoffOptions } from "../net/backoff.ts";
import { type CallRequest, decodeCallRequest } from "./call-request.ts";
import type { CallStore } from "./call-store.ts";
import { Limiter } from "./concurrency.ts";
import { DispatchGate } from "./dispatch-gate.ts";
import type { GatewayClient } from "./gateway-client.ts";
import { callsStream, ensureCallsStream, ensureWorkConsumer, jetStreamManager } from "./jetstream.ts";

interface OrchestratorOptions {
  /** Originates in flight at once in this process. */
  concurrency: number;
  /** Unacked this long, a request goes to another orchestrator (the holder is presumed dead). */
  ackWaitMs: number;
  /** Deliveries of one request at most; the last one dead-letters it instead of trying again. */
  maxDeliver: number;
  /** A call not placed this long after the API accepted it is dead-lettered (the caller has given up). */
  placeDeadlineMs: number;
  /** Dial string for a number, `{to}` replaced: `sofia/gateway/carrier/{to}`. */
  dialString: string;
  backoff: Partial<BackoffOptions>;
}

interface OrchestratorCounts {
  originated: number;
  duplicates: number;
  alreadyHandled: number;
  retries: number;
  deadLettered: number;
}

/**
 * Places queued calls: takes requests from the `calls` stream (a durable consumer any number of
 * orchestrator processes share), and originates each through the gateway's REST API with call_uuid = the
 * call id. It never speaks ESL. A request is acked only once the gateway has it (202) or had it (409), so a
 * crash means redelivery; the claim in the database and the gateway's 409 make a redelivery harmless.
 */
export class Orchestrator {
  readonly counts: OrchestratorCounts = {
    originated: 0,
    duplicates: 0,
    alreadyHandled: 0,
    retries: 0,
    deadLettered: 0,
  };
  private readonly gate: DispatchGate;
  private readonly limiter: Limiter;
  private readonly stopping = new AbortController();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private js: JetStreamClient | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: CallStore,
    private readonly gateway: GatewayClient,
    private readonly options: OrchestratorOptions,
    private readonly log: Logger,
  ) {
    this.gate = new DispatchGate(options.backoff);
    this.limiter = new Limiter(options.concurrency);
    // Every held message waits on this signal: as many listeners as the concurrency allows.
    setMaxListeners(0, this.stopping.signal);
  }

  async start(): Promise<void> {
    const jsm = await jetStreamManager(this.nc);
    await ensureCallsStream(jsm);
    await ensureWorkConsumer(jsm, callsStream.name, {
      durable: callsStream.orchestratorDurable,
      filterSubject: callsStream.requestSubject,
      ackWaitMs: this.options.ackWaitMs,
      maxDeliver: this.options.maxDeliver,
      // Requests leased to all orchestrators together; the rest wait in the stream.
      maxAckPending: Math.max(1000, this.options.concurrency * 4),
    });
    this.js = this.nc.jetstream();
    const consumer = await this.js.consumers.get(callsStream.name, callsStream.orchestratorDurable);
    this.messages = await consumer.consume({ max_messages: this.options.concurrency });
    this.loop = this.run(this.messages);
  }

  /** Stops taking requests, lets the ones in hand finish (or, past the deadline, leaves them to redelivery). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.messages?.close();
    await this.loop;
    await this.limiter.idle();
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      await this.limiter.acquire();
      if (this.stopping.signal.aborted) {
        this.limiter.release();
        msg.nak();
        continue;
      }
      void this.handle(msg)
        .catch((error: Error) => {
          // Left unacked: it comes back after ack_wait.
          this.log.error({ err: error.message, seq: msg.seq }, "call request not handled");
        })
        .finally(() => this.limiter.release());
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    let request: CallRequest;
    try {
      request = decodeCallRequest(msg.data);
    } catch (error) {
      await this.deadLetter(msg, undefined, (error as Error).message);
      return;
    }
    if (msg.info.deliveryCount >= this.options.maxDeliver) {
      await this.deadLetter(msg, request, `delivered ${msg.info.deliveryCount} times without being placed`);
      return;
    }
    const deadline = Date.parse(request.accepted_at) + this.options.placeDeadlineMs;
    const heartbeatMs = Math.max(100, Math.floor(this.options.ackWaitMs / 3));
    let lastReason = "no attempt made";
    for (;;) {
      await this.gate.pass(() => msg.working(), heartbeatMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return msg.nak();
      if (Date.now() > deadline) {
        await this.deadLetter(
          msg,
          request,
          `not placed within ${this.options.placeDeadlineMs} ms: ${lastReason}`,
        );
        return;
      }
      const reason = await this.attempt(request);
      if (reason === undefined) return msg.ack();
      lastReason = reason.text;
      if (reason.final) {
        await this.deadLetter(msg, request, reason.text);
        return;
      }
      this.counts.retries++;
      msg.working();
    }
  }

  /** One originate attempt; undefined when the request is settled, else why not (final: never will be). */
  private async attempt(request: CallRequest): Promise<{ text: string; final: boolean } | undefined> {
    let attempt: number | undefined;
    try {
      attempt = await this.store.claimForOriginate(request.call_id);
    } catch (error) {
      this.gate.failed(undefined);
      return { text: `database: ${(error as Error).message}`, final: false };
    }
    if (attempt === undefined) {
      // FreeSWITCH already reported on this call (or it failed): an earlier delivery placed it.
      this.counts.alreadyHandled++;
      return undefined;
    }
    const outcome = await this.gateway.originate(this.originateInput(request));
    switch (outcome.kind) {
      case "accepted":
        this.counts.originated++;
        this.gate.succeeded();
        return undefined;
      case "duplicate":
        this.counts.duplicates++;
        this.gate.succeeded();
        return undefined;
      case "rejected":
        return { text: outcome.reason, final: true };
      case "retry":
        if (!this.gate.holding)
          this.log.warn({ reason: outcome.reason, attempt }, "gateway refused; holding");
        this.gate.failed(outcome.retryAfterMs);
        return { text: outcome.reason, final: false };
    }
  }

  private originateInput(request: CallRequest): OriginateInput {
    const input: OriginateInput = {
      destination: this.options.dialString.replaceAll("{to}", request.to),
      call_uuid: request.call_id,
      caller_id: { number: request.from },
    };
    if (request.options.timeout_sec !== undefined) input.timeout_sec = request.options.timeout_sec;
    if (request.options.variables !== undefined) input.variables = request.options.variables;
    return input;
  }

  /** To `calls.dead` (kept in the stream) and the call marked failed; acked only once both are done. */
  private async deadLetter(msg: JsMsg, request: CallRequest | undefined, reason: string): Promise<void> {
    const js = this.js as JetStreamClient;
    const body = {
      call_id: request?.call_id ?? null,
      reason,
      deliveries: msg.info.deliveryCount,
      stream_sequence: msg.seq,
      request: request ?? new TextDecoder().decode(msg.data),
    };
    await js.publish(callsStream.deadLetterSubject, JSON.stringify(body), {
      msgID: `dead:${request?.call_id ?? msg.seq}`,
    });
    if (request) await this.store.failQueued(request.call_id, `NOT_PLACED: ${reason}`, new Date());
    this.counts.deadLettered++;
    this.log.warn({ call_id: request?.call_id, reason }, "call dead-lettered");
    msg.ack();
  }
}
