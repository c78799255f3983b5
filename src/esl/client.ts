import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import net from "node:net";
import { Backoff, type BackoffOptions } from "../net/backoff.ts";
import { Commands, type SendMessage } from "./commands.ts";
import { type DecoderLimits, FrameDecoder } from "./decoder.ts";
import {
  EslAuthError,
  EslBackpressureError,
  EslConnectionError,
  EslError,
  type EslProtocolError,
  EslTimeoutError,
} from "./errors.ts";
import { EslEvent, type EventFormat } from "./event.ts";
import { ContentType, type EslFrame } from "./frame.ts";
import { Liveness, type LivenessOptions } from "./liveness.ts";

export interface EslClientOptions {
  host: string;
  port: number;
  password: string;
  /** Events to subscribe to after every (re)connect. BACKGROUND_JOB is added unless ALL covers it (bgapi needs it). */
  events?: { format: Exclude<EventFormat, "xml">; names: readonly string[] };
  /** `filter <header> <value>` pairs restored after every (re)connect. */
  filters?: ReadonlyArray<readonly [string, string]>;
  connectTimeoutMs?: number;
  /** Time allowed for a command/reply or api/response. */
  commandTimeoutMs?: number;
  /** Time allowed between a bgapi and its BACKGROUND_JOB. */
  jobTimeoutMs?: number;
  /** Reconnect after losing the connection (not after an auth failure). Default true. */
  reconnect?: boolean;
  backoff?: Partial<BackoffOptions>;
  /** Half-open detection: see {@link Liveness}. */
  liveness?: Partial<LivenessOptions>;
  /** Bytes the client may buffer while the socket refuses writes before it rejects new commands. */
  maxPendingWriteBytes?: number;
  decoderLimits?: Partial<DecoderLimits>;
}

export interface CommandReply {
  /** `Reply-Text` starts with `+OK`. */
  ok: boolean;
  text: string;
  frame: EslFrame;
}

export interface ApiResponse {
  /** The body does not start with `-ERR` (or `-USAGE`). */
  ok: boolean;
  body: string;
  frame: EslFrame;
}

export interface JobResult {
  jobUuid: string;
  ok: boolean;
  body: string;
  event: EslEvent;
}

export interface BackgroundJob {
  jobUuid: string;
  /** Settles on BACKGROUND_JOB, on the job timeout, or when the connection is lost. */
  completion: Promise<JobResult>;
}

export type ConnectionState = "idle" | "connecting" | "authenticating" | "ready" | "waiting" | "closed";

export interface EslClientEvents {
  /** Authenticated and subscribed (after every connect). */
  ready: [info: { attempt: number }];
  disconnected: [reason: Error];
  reconnecting: [info: { delayMs: number; attempt: number }];
  event: [event: EslEvent];
  log: [frame: EslFrame];
  disconnectNotice: [text: string];
  /** Fatal errors (auth refused, ACL rejection): the client stops. */
  error: [error: Error];
  protocolError: [error: EslProtocolError];
}

interface PendingReply {
  kind: "command" | "api";
  resolve: (frame: EslFrame) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  /** The caller gave up (timeout); the reply still has its place in the FIFO and is discarded. */
  abandoned: boolean;
  /** performance.now() when written: the age of the oldest unanswered command is a live latency signal. */
  sentAt: number;
}

interface PendingJob {
  resolve: (result: JobResult) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * An inbound ESL client: one TCP connection to mod_event_socket, re-established with backoff.
 *
 * Replies are matched to commands in strict FIFO order (mod_event_socket answers each command in turn),
 * so commands may be pipelined. A caller whose command times out is released at once; its place in the
 * FIFO stays so that the late reply is discarded rather than handed to the next caller.
 */
export class EslClient extends EventEmitter<EslClientEvents> {
  private readonly options: Required<
    Omit<EslClientOptions, "events" | "filters" | "backoff" | "liveness" | "decoderLimits">
  > &
    Pick<EslClientOptions, "decoderLimits">;
  private readonly liveness: Liveness;
  private readonly backoff: Backoff;
  private subscription: { format: Exclude<EventFormat, "xml">; names: Set<string> } | undefined;
  private readonly filters: Array<readonly [string, string]>;

  private socket: net.Socket | undefined;
  private decoder = new FrameDecoder();
  private replies: PendingReply[] = [];
  private readonly jobs = new Map<string, PendingJob>();
  private outbox: string[] = [];
  private outboxBytes = 0;
  private writeBlocked = false;
  private state_: ConnectionState = "idle";
  private connectedAt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private authRequested: (() => void) | undefined;
  private firstReady: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;
  private sessionAttempt = 0;

  constructor(options: EslClientOptions) {
    super();
    this.options = {
      host: options.host,
      port: options.port,
      password: options.password,
      connectTimeoutMs: options.connectTimeoutMs ?? 3_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 5_000,
      jobTimeoutMs: options.jobTimeoutMs ?? 60_000,
      reconnect: options.reconnect ?? true,
      maxPendingWriteBytes: options.maxPendingWriteBytes ?? 4 * 1024 * 1024,
      decoderLimits: options.decoderLimits,
    };
    this.liveness = new Liveness(options.liveness, {
      outstanding: () => this.replies.length,
      halfOpen: (reason) => {
        this.closeReason = reason;
        this.socket?.destroy();
      },
      probe: (timeoutMs) => {
        this.api("uptime", timeoutMs).catch(() => {});
      },
    });
    this.backoff = new Backoff(options.backoff);
    if (options.events) {
      this.subscription = {
        format: options.events.format,
        names: withBackgroundJob(options.events.names),
      };
    }
    this.filters = [...(options.filters ?? [])];
  }

  get state(): ConnectionState {
    return this.state_;
  }
  get ready(): boolean {
    return this.state_ === "ready";
  }
  /** Commands written and awaiting their reply (including abandoned ones whose reply is still due). */
  get outstanding(): number {
    return this.replies.length;
  }
  /** How long the oldest unanswered command has waited, ms (0 when none): FreeSWITCH's lag, right now. */
  get oldestOutstandingMs(): number {
    const oldest = this.replies[0];
    return oldest ? performance.now() - oldest.sentAt : 0;
  }
  get pendingJobs(): number {
    return this.jobs.size;
  }
  get pendingWriteBytes(): number {
    return this.outboxBytes;
  }
  get connectedSince(): number | undefined {
    return this.state_ === "ready" ? this.connectedAt : undefined;
  }

  /**
   * Start connecting. Resolves once the first session is authenticated and subscribed; rejects on an
   * auth failure, or on the first connection failure when `reconnect` is off. With `reconnect` on, a
   * FreeSWITCH that is down keeps the promise pending while the client retries with backoff.
   */
  connect(): Promise<void> {
    if (this.firstReady) return this.firstReady.promise;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller may watch the 'error' event instead of awaiting: an unawaited rejection must not crash it.
    promise.catch(() => {});
    this.firstReady = { promise, resolve, reject };
    this.openSession();
    return promise;
  }

  /** Send `exit`, wait briefly for FreeSWITCH to close, and stop for good. Idempotent. */
  async close(timeoutMs = 1_000): Promise<void> {
    if (this.state_ === "closed") return;
    const wasReady = this.state_ === "ready";
    this.state_ = "closed";
    clearTimeout(this.reconnectTimer);
    this.liveness.stop();
    if (!wasReady) this.firstReady?.reject(new EslConnectionError("ESL client closed before it was ready"));
    const socket = this.socket;
    if (!socket) return;
    if (wasReady && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.write(Commands.exit());
      const timer = setTimeout(() => socket.destroy(), timeoutMs);
      await closed;
      clearTimeout(timer);
    } else {
      socket.destroy();
    }
  }

  // ---- commands -------------------------------------------------------------------------------

  async api(command: string, timeoutMs = this.options.commandTimeoutMs): Promise<ApiResponse> {
    const frame = await this.request("api", Commands.api(command), timeoutMs);
    const body = frame.bodyText();
    return { ok: !body.startsWith("-ERR") && !body.startsWith("-USAGE"), body, frame };
  }

  /**
   * `bgapi`: resolves once FreeSWITCH accepted the job (`+OK Job-UUID`); the job's own result comes in
   * `completion`. The Job-UUID is chosen here and sent as a header, so the job is tracked before the
   * reply and a BACKGROUND_JOB can never race past it.
   */
  async bgapi(command: string, jobTimeoutMs = this.options.jobTimeoutMs): Promise<BackgroundJob> {
    this.requireReady();
    if (!this.subscription?.names.has("BACKGROUND_JOB") && !this.subscription?.names.has("ALL")) {
      throw new EslError("bgapi needs a BACKGROUND_JOB subscription (pass `events` in the client options)");
    }
    const jobUuid = randomUUID();
    let resolve!: (r: JobResult) => void;
    let reject!: (e: Error) => void;
    const completion = new Promise<JobResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    completion.catch(() => {}); // a caller that only wanted the acceptance must not cause an unhandled rejection
    const timer = setTimeout(() => {
      this.jobs.delete(jobUuid);
      reject(
        new EslTimeoutError(`no BACKGROUND_JOB for job ${jobUuid} within ${jobTimeoutMs} ms`, jobTimeoutMs),
      );
    }, jobTimeoutMs);
    this.jobs.set(jobUuid, { resolve, reject, timer });
    try {
      const reply = await this.command(Commands.bgapi(command, jobUuid));
      if (!reply.ok) throw new EslError(`bgapi refused: ${reply.text}`);
    } catch (error) {
      clearTimeout(timer);
      this.jobs.delete(jobUuid);
      throw error;
    }
    return { jobUuid, completion };
  }

  /** Subscribe to more events; remembered and restored after every reconnect. */
  async subscribe(format: Exclude<EventFormat, "xml">, names: readonly string[]): Promise<CommandReply> {
    const merged = withBackgroundJob([
      ...(this.subscription?.format === format ? this.subscription.names : []),
      ...names,
    ]);
    this.subscription = { format, names: merged };
    return this.command(Commands.event(format, [...merged]));
  }

  async nixevent(names: readonly string[]): Promise<CommandReply> {
    for (const name of names) this.subscription?.names.delete(name);
    return this.command(Commands.nixevent(names));
  }

  async noevents(): Promise<CommandReply> {
    this.subscription = undefined;
    return this.command(Commands.noevents());
  }

  async filter(header: string, value: string): Promise<CommandReply> {
    this.filters.push([header, value]);
    return this.command(Commands.filter(header, value));
  }

  async filterDelete(header: string, value?: string): Promise<CommandReply> {
    for (let i = this.filters.length - 1; i >= 0; i--) {
      const [h, v] = this.filters[i] ?? [];
      if (h === header && (value === undefined || v === value)) this.filters.splice(i, 1);
    }
    return this.command(Commands.filterDelete(header, value));
  }

  myevents(uuid: string): Promise<CommandReply> {
    return this.command(Commands.myevents(uuid));
  }
  linger(seconds?: number): Promise<CommandReply> {
    return this.command(Commands.linger(seconds));
  }
  sendmsg(uuid: string, message: SendMessage): Promise<CommandReply> {
    return this.command(Commands.sendmsg(uuid, message));
  }
  log(level: number | string): Promise<CommandReply> {
    return this.command(Commands.log(level));
  }
  nolog(): Promise<CommandReply> {
    return this.command(Commands.nolog());
  }

  /** Any pre-encoded command expecting a command/reply (see {@link Commands}). */
  async command(encoded: string, timeoutMs = this.options.commandTimeoutMs): Promise<CommandReply> {
    const frame = await this.request("command", encoded, timeoutMs);
    const text = frame.header("Reply-Text") ?? "";
    return { ok: text.startsWith("+OK"), text, frame };
  }

  // ---- request plumbing -----------------------------------------------------------------------

  private requireReady(): void {
    if (this.state_ !== "ready") throw new EslConnectionError(`ESL connection is not ready (${this.state_})`);
  }

  private request(
    kind: PendingReply["kind"],
    encoded: string,
    timeoutMs: number,
    duringHandshake = false,
  ): Promise<EslFrame> {
    if (!duringHandshake) this.requireReady();
    const bytes = Buffer.byteLength(encoded);
    if (this.writeBlocked && this.outboxBytes + bytes > this.options.maxPendingWriteBytes) {
      return Promise.reject(
        new EslBackpressureError(
          `ESL write buffer full (${this.outboxBytes} bytes pending): FreeSWITCH is not reading`,
        ),
      );
    }
    return new Promise<EslFrame>((resolve, reject) => {
      const pending: PendingReply = {
        kind,
        resolve,
        reject,
        timer: undefined,
        abandoned: false,
        sentAt: performance.now(),
      };
      pending.timer = setTimeout(() => {
        pending.abandoned = true;
        reject(new EslTimeoutError(`no ${kind} reply within ${timeoutMs} ms`, timeoutMs));
      }, timeoutMs);
      if (this.replies.length === 0) this.liveness.awaiting();
      this.replies.push(pending);
      this.write(encoded, bytes);
    });
  }

  /** Respect socket.write() returning false: hold further writes until 'drain'. */
  private write(encoded: string, bytes: number): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    if (this.writeBlocked) {
      this.outbox.push(encoded);
      this.outboxBytes += bytes;
      return;
    }
    if (!socket.write(encoded)) this.writeBlocked = true;
  }

  private flushOutbox(): void {
    const socket = this.socket;
    this.writeBlocked = false;
    while (socket && this.outbox.length > 0 && !this.writeBlocked) {
      const next = this.outbox.shift() as string;
      this.outboxBytes -= Buffer.byteLength(next);
      if (!socket.write(next)) this.writeBlocked = true;
    }
  }

  // ---- session lifecycle ----------------------------------------------------------------------

  private openSession(): void {
    if (this.state_ === "closed") return;
    this.state_ = "connecting";
    this.sessionAttempt++;
    this.decoder = new FrameDecoder(this.options.decoderLimits);
    this.writeBlocked = false;
    this.outbox = [];
    this.outboxBytes = 0;
    const socket = net.connect({ host: this.options.host, port: this.options.port, noDelay: true });
    this.socket = socket;
    socket.setTimeout(this.options.connectTimeoutMs, () => {
      socket.destroy(new EslConnectionError(`no ESL greeting within ${this.options.connectTimeoutMs} ms`));
    });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.flushOutbox());
    socket.on("error", () => {}); // the 'close' handler reports; 'error' alone must not crash the process
    socket.on("close", () => this.onClose(socket));
    socket.once("connect", () => {
      this.liveness.received();
      this.state_ = "authenticating";
      void this.handshake(socket);
    });
    this.closeReason = undefined;
    socket.once("error", (error) => {
      this.closeReason ??= error;
    });
  }

  private closeReason: Error | undefined;

  private async handshake(socket: net.Socket): Promise<void> {
    try {
      await new Promise<void>((resolve) => {
        this.authRequested = resolve;
      });
      socket.setTimeout(0);
      const auth = await this.request(
        "command",
        Commands.auth(this.options.password),
        this.options.commandTimeoutMs,
        true,
      );
      const authText = auth.header("Reply-Text") ?? "";
      if (!authText.startsWith("+OK")) throw new EslAuthError(`ESL authentication refused: ${authText}`);
      if (this.subscription) {
        const reply = await this.request(
          "command",
          Commands.event(this.subscription.format, [...this.subscription.names]),
          this.options.commandTimeoutMs,
          true,
        );
        if (!(reply.header("Reply-Text") ?? "").startsWith("+OK")) {
          throw new EslError(`event subscription refused: ${reply.header("Reply-Text")}`);
        }
      }
      for (const [header, value] of this.filters) {
        await this.request("command", Commands.filter(header, value), this.options.commandTimeoutMs, true);
      }
      if (socket !== this.socket || socket.destroyed) return;
      this.state_ = "ready";
      this.connectedAt = Date.now();
      this.liveness.start();
      this.emit("ready", { attempt: this.sessionAttempt });
      this.firstReady?.resolve();
    } catch (error) {
      const err = error instanceof Error ? error : new EslError(String(error));
      if (err instanceof EslAuthError) this.fatal(err);
      else {
        this.closeReason = err;
        socket.destroy();
      }
    }
  }

  private fatal(error: Error): void {
    this.state_ = "closed";
    clearTimeout(this.reconnectTimer);
    this.closeReason = error;
    this.socket?.destroy();
    this.firstReady?.reject(error);
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  private onData(chunk: Buffer): void {
    this.liveness.received();
    const frames = this.decoder.push(chunk);
    for (const frame of frames) this.dispatch(frame);
    if (this.decoder.error) {
      const error = this.decoder.error;
      this.emit("protocolError", error);
      this.closeReason = error;
      this.socket?.destroy();
    }
  }

  private dispatch(frame: EslFrame): void {
    switch (frame.contentType) {
      case ContentType.commandReply:
      case ContentType.apiResponse: {
        const pending = this.replies.shift();
        if (!pending) return; // a reply nobody asked for: nothing to match it with
        clearTimeout(pending.timer);
        if (!pending.abandoned) pending.resolve(frame);
        return;
      }
      case ContentType.eventPlain:
      case ContentType.eventJson:
      case ContentType.eventXml: {
        const event = EslEvent.fromFrame(frame);
        if (!event) return;
        if (event.name === "BACKGROUND_JOB") this.completeJob(event);
        this.emit("event", event);
        return;
      }
      case ContentType.authRequest:
        this.authRequested?.();
        this.authRequested = undefined;
        return;
      case ContentType.logData:
        this.emit("log", frame);
        return;
      case ContentType.disconnectNotice:
        this.emit("disconnectNotice", frame.bodyText());
        return;
      case ContentType.rudeRejection:
        this.fatal(new EslAuthError(`FreeSWITCH rejected the connection by ACL: ${frame.bodyText().trim()}`));
        return;
      default:
        return;
    }
  }

  private completeJob(event: EslEvent): void {
    const jobUuid = event.jobUuid;
    if (!jobUuid) return;
    const job = this.jobs.get(jobUuid);
    if (!job) return;
    this.jobs.delete(jobUuid);
    clearTimeout(job.timer);
    const body = event.body;
    job.resolve({ jobUuid, ok: body.startsWith("+OK"), body, event });
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.liveness.stop();
    this.authRequested = undefined;
    const wasReady = this.state_ === "ready";
    const upFor = wasReady ? Date.now() - this.connectedAt : 0;
    const reason = this.closeReason ?? new EslConnectionError("ESL connection closed by FreeSWITCH");
    const lost = new EslConnectionError(`ESL connection lost: ${reason.message}`);
    for (const pending of this.replies.splice(0)) {
      clearTimeout(pending.timer);
      if (!pending.abandoned) pending.reject(lost);
    }
    for (const [uuid, job] of this.jobs) {
      clearTimeout(job.timer);
      job.reject(lost);
      this.jobs.delete(uuid);
    }
    this.outbox = [];
    this.outboxBytes = 0;
    if (this.state_ === "closed") return;
    if (wasReady) this.emit("disconnected", reason);
    if (!this.options.reconnect) {
      this.state_ = "closed";
      this.firstReady?.reject(lost);
      return;
    }
    this.backoff.connectionLasted(upFor);
    const delayMs = this.backoff.next();
    this.state_ = "waiting";
    this.emit("reconnecting", { delayMs, attempt: this.backoff.attempts });
    this.reconnectTimer = setTimeout(() => this.openSession(), delayMs);
  }
}

/** The names to subscribe to, with BACKGROUND_JOB added unless ALL already covers it (bgapi needs it). */
function withBackgroundJob(names: readonly string[]): Set<string> {
  const set = new Set(names);
  if (!set.has("ALL")) set.add("BACKGROUND_JOB");
  return set;
}
