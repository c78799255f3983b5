import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { JwtAuthenticator } from "../contracts/bearer-token.ts";
import { CallerPolicy } from "../contracts/caller-policy.ts";
import { EslClient, type EslEvent } from "../esl/index.ts";
import { Admission } from "./admission.ts";
import { ChannelTable } from "./channels.ts";
import type { GatewayConfig } from "./config.ts";
import { FsControl } from "./fs-control.ts";
import { buildHttpApp } from "./http.ts";
import { GatewayMetrics } from "./metrics.ts";
import { normalizeEvent } from "./normalize.ts";
import { EventPublisher } from "./publisher.ts";

/** Redaction paths: the ESL password, JWT secret and Authorization headers never reach a log line. */
const redact = {
  paths: [
    "req.headers.authorization",
    "headers.authorization",
    "password",
    "*.password",
    "secret",
    "*.secret",
  ],
  censor: "[redacted]",
};

/**
 * FreeSWITCH's answers that may mean it is shutting down: hung up by its shutdown, or no endpoint module
 * any more (it unloads them first and answers ESL for seconds after). CHAN_NOT_IMPLEMENTED alone is also a
 * mistyped endpoint, so these only trigger a check ({@link Gateway.checkFreeswitch}).
 */
const SHUTDOWN_JOB_RESULT = /^-ERR (SYSTEM_SHUTDOWN|CHAN_NOT_IMPLEMENTED)\b/;
/** FreeSWITCH's disconnect notice when it shuts down ("The system is being shut down."). */
const SHUTDOWN_NOTICE = /being shut down/i;
/** `fsctl sps`: "+OK sessions per second: 30"; 0 while FreeSWITCH is shutting down. */
const SPS_REPLY = /^\+OK sessions per second: (\d+)/;

export function createLogger(level: string): Logger {
  return pino({ level, redact, base: { service: "fs-esl-gateway" } });
}

/**
 * fs-esl-gateway: owns ONE persistent ESL connection to FreeSWITCH, serves the REST API, and publishes
 * normalised events to NATS. ESL reading never waits on NATS or on HTTP.
 */
export class Gateway {
  readonly metrics = new GatewayMetrics();
  readonly channels = new ChannelTable();
  readonly esl: EslClient;
  readonly publisher: EventPublisher;
  private http: FastifyInstance | undefined;
  private readonly admission: Admission;
  private readonly control: FsControl;
  private lastEventAt = 0;
  private readLagMs: number | null = null;
  private reconnects = 0;
  private uptimeTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private checkingFreeswitch = false;
  private lastFreeswitchCheckAt = 0;

  constructor(
    private readonly config: GatewayConfig,
    readonly log: Logger = createLogger(config.logLevel),
  ) {
    this.esl = new EslClient({
      host: config.esl.host,
      port: config.esl.port,
      password: config.esl.password,
      events: { format: "plain", names: withShutdownEvent(config.events.names) },
      commandTimeoutMs: config.esl.commandTimeoutMs,
      jobTimeoutMs: config.esl.jobTimeoutMs,
      backoff: config.esl.backoff,
      liveness: { idleTimeoutMs: config.esl.idleTimeoutMs, probeIntervalMs: config.esl.idleTimeoutMs },
    });
    this.publisher = new EventPublisher(config.nats, this.metrics, log.child({ component: "nats" }));
    this.admission = new Admission(config.admission, this.metrics, this.esl);
    this.control = new FsControl(
      this.esl,
      this.channels,
      this.admission,
      this.metrics,
      new CallerPolicy(config.policy),
    );
    this.wireEsl();
  }

  /** Listen on HTTP and connect to ESL and NATS in the background; returns the bound HTTP address. */
  async start(): Promise<{ host: string; port: number }> {
    this.publisher.start();
    this.esl.connect().catch((error: Error) => this.log.error({ err: error.message }, "ESL client stopped"));
    this.http = await buildHttpApp({
      log: this.log.child({ component: "http" }),
      auth: new JwtAuthenticator(this.config.jwt),
      control: this.control,
      channels: this.channels,
      metrics: this.metrics,
      health: () => this.health(),
    });
    await this.http.listen({ host: this.config.http.host, port: this.config.http.port });
    const address = this.http.server.address();
    const port = typeof address === "object" && address ? address.port : this.config.http.port;
    this.uptimeTimer = setInterval(() => {
      const since = this.esl.connectedSince;
      this.metrics.connectionUptime.set(since ? (Date.now() - since) / 1000 : 0);
    }, 1_000);
    this.uptimeTimer.unref();
    this.log.info(
      { http: `${this.config.http.host}:${port}`, esl: `${this.config.esl.host}:${this.config.esl.port}` },
      "gateway started",
    );
    return { host: this.config.http.host, port };
  }

  /** SIGTERM path: stop accepting, drain in-flight requests, flush the event queue, `exit` on ESL. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.uptimeTimer);
      const deadline = Date.now() + this.config.shutdownTimeoutMs;
      await this.closeHttp(deadline);
      await this.publisher.stop(Math.max(0, deadline - Date.now()));
      await this.esl.close(Math.max(100, Math.min(1_000, deadline - Date.now())));
      this.log.info({ events: this.publisher.counts }, "gateway stopped");
    })();
    return this.stopping;
  }

  /**
   * Stop accepting and let in-flight requests finish. A keep-alive connection busy when close() began
   * would otherwise hold the server open until its idle timeout: such connections are told
   * `Connection: close` and idle ones closed as they appear; at the deadline, all are closed.
   */
  private async closeHttp(deadline: number): Promise<void> {
    const http = this.http;
    if (!http) return;
    const server = http.server;
    const sweeper = setInterval(() => {
      if (Date.now() >= deadline) server.closeAllConnections();
      else server.closeIdleConnections();
    }, 50);
    try {
      await http.close();
    } finally {
      clearInterval(sweeper);
    }
  }

  health(): { healthy: boolean; body: Record<string, unknown> } {
    const now = Date.now();
    const since = this.esl.connectedSince;
    const reason = !this.esl.ready
      ? "esl_down"
      : this.admission.shuttingDown
        ? "freeswitch_shutting_down"
        : undefined;
    const healthy = reason === undefined;
    return {
      healthy,
      body: {
        status: healthy ? (this.publisher.state === "connected" ? "ok" : "degraded") : "unavailable",
        ...(reason && { reason }),
        esl: {
          state: this.esl.state,
          connected: this.esl.state === "authenticating" || this.esl.ready,
          authenticated: this.esl.ready,
          uptime_sec: since ? (now - since) / 1000 : 0,
          last_event_age_ms: this.lastEventAt ? now - this.lastEventAt : null,
          // How far behind FreeSWITCH the gateway reads (receive time - Event-Date-Timestamp of the latest event).
          read_lag_ms: this.readLagMs,
          reconnects: this.reconnects,
          outstanding_commands: this.esl.outstanding,
          pending_jobs: this.esl.pendingJobs,
        },
        nats: { state: this.publisher.state },
        queue: {
          depth: this.publisher.depth,
          capacity: this.config.nats.queueCapacity,
          ...this.publisher.counts,
        },
        admission: this.admission.status(),
        channels: this.channels.size,
      },
    };
  }

  private wireEsl(): void {
    this.esl.on("event", (event) => this.onEvent(event));
    this.esl.on("ready", () => {
      this.log.info("ESL connected and subscribed");
      this.metrics.connected.set(1);
      void this.checkFreeswitch();
      this.admission.observeChannelTableSeeding(true);
      void this.reseedChannels().finally(() => this.admission.observeChannelTableSeeding(false));
    });
    this.esl.on("disconnected", (reason) => {
      this.metrics.connected.set(0);
      this.metrics.connectionFailures.inc();
      this.log.warn({ reason: reason.message }, "ESL connection lost");
    });
    this.esl.on("reconnecting", ({ delayMs, attempt }) => {
      this.reconnects++;
      this.metrics.reconnects.inc();
      if (attempt > 1) this.metrics.connectionFailures.inc();
      this.log.info({ delayMs, attempt }, "ESL reconnecting");
    });
    this.esl.on("disconnectNotice", (text) => {
      this.log.warn({ notice: text.trim() }, "FreeSWITCH disconnect notice");
      if (SHUTDOWN_NOTICE.test(text)) this.freeswitchShuttingDown("disconnect notice");
    });
    this.esl.on("protocolError", (error) => {
      this.metrics.errors.inc({ type: "protocol" });
      this.log.error({ err: error.message }, "ESL protocol error; reconnecting");
    });
    this.esl.on("error", (error) => {
      this.metrics.errors.inc({ type: "auth" });
      this.log.error({ err: error.message }, "ESL fatal error: not reconnecting");
    });
  }

  private onEvent(event: EslEvent): void {
    const receivedAt = performance.timeOrigin + performance.now();
    this.lastEventAt = Date.now();
    this.metrics.eventsReceived.inc();
    const normalized = normalizeEvent(
      event,
      receivedAt,
      this.config.sourceHost,
      this.config.events.allFields,
    );
    this.readLagMs = Math.round((receivedAt - normalized.fs_timestamp_us / 1000) * 100) / 100;
    this.metrics.readLag.set(this.readLagMs);
    this.channels.apply(normalized);
    if (normalized.event_type === "HEARTBEAT") this.admission.observeHeartbeat(normalized.fields);
    else this.admission.observeSessionCount(this.channels.size);
    if (event.name === "SHUTDOWN") this.freeswitchShuttingDown("SHUTDOWN event");
    else if (event.name === "BACKGROUND_JOB" && SHUTDOWN_JOB_RESULT.test(event.body)) this.suspectShutdown();
    this.metrics.channels.set(this.channels.size);
    this.publisher.enqueue(normalized);
  }

  /**
   * Ask FreeSWITCH its sessions-per-second limit (`fsctl sps`), on every connect and when an originate
   * failed the way they do during a shutdown. The answer is 0 once FreeSWITCH is shutting down (it
   * refuses every fsctl then), which also catches a shutdown whose SHUTDOWN event came before this
   * connection. Anything else clears the shutting-down state: an unknown is not a reason to refuse.
   */
  private async checkFreeswitch(): Promise<void> {
    if (this.checkingFreeswitch || !this.esl.ready) return;
    this.checkingFreeswitch = true;
    this.lastFreeswitchCheckAt = Date.now();
    try {
      const { body } = await this.esl.api("fsctl sps");
      const limit = SPS_REPLY.exec(body)?.[1];
      if (limit === "0") return this.freeswitchShuttingDown("fsctl sps answered 0");
      if (limit === undefined) this.log.warn({ reply: body.trim() }, "fsctl sps: unexpected answer");
      else this.admission.observeSessionsPerSecondLimit(Number(limit));
      this.freeswitchAvailable();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "could not read FreeSWITCH's sessions-per-second");
    } finally {
      this.checkingFreeswitch = false;
    }
  }

  /** A failed originate that may mean a shutdown: check, at most once a second (a bad dial string repeats). */
  private suspectShutdown(): void {
    if (this.admission.shuttingDown || Date.now() - this.lastFreeswitchCheckAt < 1_000) return;
    void this.checkFreeswitch();
  }

  private freeswitchShuttingDown(why: string): void {
    if (this.admission.shuttingDown) return;
    this.admission.observeShutdown(true);
    this.log.warn({ why }, "FreeSWITCH is shutting down: originates refused with 503 until it is back");
  }

  private freeswitchAvailable(): void {
    if (!this.admission.shuttingDown) return;
    this.admission.observeShutdown(false);
    this.log.info("FreeSWITCH is back: originates admitted again");
  }

  private async reseedChannels(): Promise<void> {
    try {
      const { ok, body } = await this.esl.api("show channels as json");
      if (ok)
        this.log.info({ channels: this.channels.reseed(body) }, "channel table re-seeded from FreeSWITCH");
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "could not re-seed the channel table");
    }
  }
}

/** The configured events plus SHUTDOWN, which the gateway needs whatever FS_EVENTS says. */
function withShutdownEvent(names: readonly string[]): string[] {
  return names.includes("ALL") || names.includes("SHUTDOWN") ? [...names] : [...names, "SHUTDOWN"];
}
