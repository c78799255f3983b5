import { randomUUID } from "node:crypto";
import net from "node:net";
import { ApiCommands, heartbeatHeaders } from "./api-commands.ts";
import { CallModel, type CallProfile } from "./call-model.ts";
import { type ConnectionHost, EslConnection } from "./connection.ts";
import { SHUTDOWN_NOTICE } from "./event-serializer.ts";
import { HeaderEvent } from "./events.ts";
import type { InboundCall } from "./inbound-calls.ts";
import type { LoadModel } from "./load-profile.ts";
import { type LoadLatency, ReplyLatency } from "./reply-latency.ts";
import { SipSide, type SipSideOptions } from "./sip-side.ts";
import { SwitchCore, type SwitchStats } from "./switch-core.ts";
import { CAPTURED, GENERIC_CALLING } from "./templates.ts";

export interface FakeSwitchOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  password: string;
  profile?: Partial<CallProfile>;
  /** max-sessions, default 1000 as in FreeSWITCH's switch.conf.xml. */
  maxSessions?: number;
  /** sessions-per-second, default 30 as in FreeSWITCH; the lab raises it. */
  sessionsPerSecond?: number;
  /** HEARTBEAT period, default 20000 ms (switch_core.c). */
  heartbeatIntervalMs?: number;
  /** FreeSWITCH-Hostname / -Switchname, default `fakeswitch`. */
  hostname?: string;
  /** Events a listener may hold while its client does not read (MAX_QUEUE_LEN, default 100000). */
  eventQueueLength?: number;
  /** Lost events past which the listener is killed (MAX_MISSED, default 500). */
  maxLostEvents?: number;
  /** Load-dependent reply latency from the start (see {@link FakeSwitch.setLoadLatency}). */
  loadLatency?: LoadLatency;
  /**
   * A calibrated model of a real FreeSWITCH's load behaviour (a load profile's `model`, load-profile.ts):
   * originates load one queue that commands wait behind, so jobs and replies slow with load as that
   * FreeSWITCH's did.
   */
  loadModel?: LoadModel;
  /** Events written to each client a second at most, from the start (see {@link FakeSwitch.capEventRate}). */
  eventRatePerSecond?: number;
  /** A SIP side (sip-side.ts): its sofia profile's legs dialled for real, inbound INVITEs, OPTIONS. Default: none. */
  sip?: SipSideOptions;
}

export type FakeSwitchStats = SwitchStats & {
  channels: number;
  /** Originates a second, recently (~1 s decay): what the load latency model sees. */
  originatesPerSecond: number;
  /** The delay the next command would get now (fixed plus load-dependent). */
  replyDelayMs: number;
  /** The per-client event rate cap, 0 when off. */
  eventRatePerSecond: number;
};

/** What a test or the lab can do to the double, and what it can read back. */
export interface FakeSwitch {
  readonly port: number;
  readonly host: string;
  readonly coreUuid: string;
  readonly channelCount: number;
  /** The SIP side's UDP port, when it has one. */
  readonly sipPort: number | undefined;
  readonly stats: Readonly<FakeSwitchStats>;
  readonly profile: CallProfile;
  setProfile(profile: Partial<CallProfile>): void;
  /**
   * An INVITE from outside: CHANNEL_CREATE (Call-Direction inbound) … CHANNEL_PARK, unanswered until
   * uuid_answer. Returns the channel's uuid, or the cause the switch refused it with.
   */
  inboundCall(call: InboundCall): { uuid: string } | { refused: string };
  close(): Promise<void>;

  // ---- fault injection --------------------------------------------------------------------------
  /** Close every client connection without a disconnect notice: a FIN, or an RST. */
  dropConnections(how: "fin" | "rst"): void;
  /** Stop listening for `ms` (connects get ECONNREFUSED), then listen again on the same port. */
  refuseConnections(ms: number): Promise<void>;
  /** While on, the double neither reads nor writes on existing connections (a vanished peer, no FIN). */
  halfOpen(on: boolean): void;
  /** Delay the handling of every command by `ms` (0 restores). */
  delayReplies(ms: number): void;
  /**
   * FreeSWITCH under CPU pressure: delay every command by an amount that grows with the live channels
   * and the originate rate (added to `delayReplies`). `undefined` (or `{}`) turns it off.
   */
  setLoadLatency(latency: LoadLatency | undefined): void;
  /** Slow event delivery: write at most `perSecond` events a second to each client (0 lifts the cap). */
  capEventRate(perSecond: number): void;
  /** Events are still fired (sequence numbers advance) but not delivered until `resumeEvents`. */
  pauseEvents(): void;
  resumeEvents(): void;
  /** Fire `n` events at once (default HEARTBEAT) to every subscribed client. */
  eventBurst(n: number, eventName?: string): void;
  /** Write bytes that are not an ESL frame to every authenticated connection. */
  sendMalformedFrame(): void;
  /**
   * The `fsctl shutdown` / SIGTERM path: SHUTDOWN, every channel hung up SYSTEM_SHUTDOWN, the
   * `The system is being shut down.` notice, sockets closed, the port stops listening.
   * `lingerMs` keeps the connections (and the port) up that long after SHUTDOWN, as a real FreeSWITCH does
   * while its modules unload (seconds, up to ~30 s under load): originates then fail
   * `-ERR CHAN_NOT_IMPLEMENTED`, `fsctl sps` answers 0 and `status` says `not ready`.
   * `notice: false` mimics SIGKILL: sockets closed with no events and no notice.
   */
  shutdown(opts?: { notice?: boolean; lingerMs?: number }): Promise<void>;
  /** After a shutdown (or on a running switch: shut down first), listen again with a new Core-UUID. */
  restart(): Promise<void>;
}

class FakeSwitchServer implements FakeSwitch, ConnectionHost {
  readonly core: SwitchCore;
  readonly model: CallModel;
  readonly api: ApiCommands;
  readonly password: string;
  readonly eventQueueLength: number;
  readonly maxLostEvents: number;
  readonly latency: ReplyLatency;
  eventRatePerSecond: number;
  halfOpenActive = false;
  private server: net.Server | undefined;
  private readonly connections = new Set<EslConnection>();
  private readonly sockets = new Set<net.Socket>();
  private timers: NodeJS.Timeout[] = [];
  private boundPort = 0;
  readonly host: string;
  private readonly heartbeatMs: number;
  private stopped = true;
  sip: SipSide | undefined;

  constructor(opts: FakeSwitchOptions) {
    this.host = opts.host ?? "127.0.0.1";
    this.password = opts.password;
    this.eventQueueLength = opts.eventQueueLength ?? 100_000;
    this.maxLostEvents = opts.maxLostEvents ?? 500;
    this.heartbeatMs = opts.heartbeatIntervalMs ?? 20_000;
    this.core = new SwitchCore({
      hostname: opts.hostname ?? "fakeswitch",
      maxSessions: opts.maxSessions ?? 1000,
      sessionsPerSecond: opts.sessionsPerSecond ?? 30,
    });
    this.model = new CallModel(this.core, opts.profile);
    this.latency = new ReplyLatency(() => ({
      channels: this.core.channels.size,
      originatesPerSecond: this.core.originateRate.perSecond(),
    }));
    this.setLoadLatency(opts.loadLatency);
    this.latency.calibrate(opts.loadModel);
    this.eventRatePerSecond = Math.max(0, opts.eventRatePerSecond ?? 0);
    this.api = new ApiCommands(this.core, this.model, {
      shutdown: () => void this.shutdown(),
      admitOriginate: () => this.latency.admitOriginate(),
    });
    this.boundPort = opts.port ?? 0;
  }

  get port(): number {
    return this.boundPort;
  }
  get sipPort(): number | undefined {
    return this.sip?.port;
  }
  get coreUuid(): string {
    return this.core.coreUuid;
  }
  get channelCount(): number {
    return this.core.channels.size;
  }
  get stats(): FakeSwitchStats {
    return {
      ...this.core.stats,
      channels: this.core.channels.size,
      originatesPerSecond: this.core.originateRate.perSecond(),
      replyDelayMs: this.latency.currentMs() + this.latency.calibratedCommandMs(),
      eventRatePerSecond: this.eventRatePerSecond,
    };
  }
  replyDelayMs(): number {
    return this.latency.currentMs();
  }
  calibratedCommandMs(): number {
    return this.latency.calibratedCommandMs();
  }
  get profile(): CallProfile {
    return this.model.profile;
  }
  setProfile(profile: Partial<CallProfile>): void {
    this.model.profile = { ...this.model.profile, ...profile };
  }

  inboundCall(call: InboundCall): { uuid: string } | { refused: string } {
    const result = this.model.inbound(call);
    return typeof result === "string" ? { refused: result } : { uuid: result.uuid };
  }

  async listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: this.host, port: this.boundPort, exclusive: true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address && typeof address === "object") this.boundPort = address.port;
    this.server = server;
    if (this.stopped) {
      this.stopped = false;
      this.startTimers();
    }
  }

  private accept(socket: net.Socket): void {
    this.core.stats.connections++;
    this.core.stats.connectionsOpen++;
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.core.stats.connectionsOpen--;
    });
    this.connections.add(new EslConnection(socket, this));
  }

  connectionClosed(connection: EslConnection): void {
    this.connections.delete(connection);
  }

  private startTimers(): void {
    const second = setInterval(() => this.core.tickSecond(), 1000);
    const heartbeat = setInterval(() => this.heartbeat(), this.heartbeatMs);
    second.unref();
    heartbeat.unref();
    this.timers = [second, heartbeat];
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** send_heartbeat (switch_core.c), then the scheduler's RE_SCHEDULE of the heartbeat task. */
  heartbeat(): void {
    const core = this.core;
    core.fireHeaders("HEARTBEAT", GENERIC_CALLING.HEARTBEAT, () => heartbeatHeaders(core));
    const next = Math.floor(Date.now() / 1000) + Math.round(this.heartbeatMs / 1000);
    core.fireHeaders("RE_SCHEDULE", GENERIC_CALLING.RE_SCHEDULE, () => [
      ["Task-ID", "1"],
      ["Task-Desc", CAPTURED.taskDesc ?? "heartbeat"],
      ["Task-Group", CAPTURED.taskGroup ?? "core"],
      ["Task-Runtime", String(next)],
    ]);
  }

  // ---- fault injection ----------------------------------------------------------------------------

  dropConnections(how: "fin" | "rst"): void {
    for (const c of [...this.connections]) c.drop(how);
  }

  async refuseConnections(ms: number): Promise<void> {
    await this.closeListener();
    await new Promise((resolve) => setTimeout(resolve, ms));
    await this.listen();
  }

  halfOpen(on: boolean): void {
    this.halfOpenActive = on;
  }

  delayReplies(ms: number): void {
    this.latency.fixedMs = Math.max(0, ms);
  }

  setLoadLatency(latency: LoadLatency | undefined): void {
    this.latency.load = latency && Object.keys(latency).length > 0 ? { ...latency } : undefined;
  }

  capEventRate(perSecond: number): void {
    this.eventRatePerSecond = Math.max(0, perSecond);
    for (const c of this.connections) c.releaseHeld();
  }

  pauseEvents(): void {
    this.core.eventsPaused = true;
  }

  resumeEvents(): void {
    this.core.eventsPaused = false;
  }

  eventBurst(n: number, eventName = "HEARTBEAT"): void {
    const core = this.core;
    for (let i = 0; i < n; i++) {
      if (eventName === "HEARTBEAT") {
        core.fireHeaders("HEARTBEAT", GENERIC_CALLING.HEARTBEAT, () => heartbeatHeaders(core));
      } else {
        const headers = core.coreHeaders(eventName, ["fakeswitch", "eventBurst", "0"]);
        core.deliver(new HeaderEvent(eventName, [...headers, ["Burst-Index", String(i)]]));
      }
    }
  }

  sendMalformedFrame(): void {
    for (const c of this.connections) {
      if (c.isAuthed)
        c.write("Content-Type: text/event-plain\nContent-Length: banana\n\nthis is not ESL\n\n");
    }
  }

  async shutdown(opts: { notice?: boolean; lingerMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTimers();
    const notice = opts.notice ?? true;
    if (notice) {
      const core = this.core;
      core.fireHeaders("SHUTDOWN", ["switch_core.c", "switch_core_destroy", "3023"], () => [
        ["Event-Info", "System Shutting Down"],
      ]);
      core.shuttingDown = true;
      this.model.hupall("SYSTEM_SHUTDOWN");
      if (opts.lingerMs) await new Promise((resolve) => setTimeout(resolve, opts.lingerMs));
      await this.closeListener();
      // Let the hangup teardown (scheduled with setImmediate) reach the listeners first.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      for (const c of [...this.connections]) c.kill(SHUTDOWN_NOTICE);
    } else {
      await this.closeListener();
      for (const ch of this.core.channels.values()) ch.clearTimers();
      this.core.channels.clear();
      for (const s of this.sockets) s.destroy();
    }
    await this.waitSocketsClosed(2000);
  }

  async restart(): Promise<void> {
    await this.shutdown();
    this.core.coreUuid = randomUUID();
    this.core.shuttingDown = false;
    this.core.startedUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    await this.listen();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.stopTimers();
    for (const ch of this.core.channels.values()) ch.clearTimers();
    await this.sip?.close();
    await this.closeListener();
    for (const s of this.sockets) s.destroy();
    await this.waitSocketsClosed(1000);
  }

  private async closeListener(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // close() stops accepting at once; its callback waits for the open connections, so do not await it.
    server.close();
  }

  private async waitSocketsClosed(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const s of this.sockets) s.destroy();
  }
}

export async function startFakeSwitch(opts: FakeSwitchOptions): Promise<FakeSwitch> {
  const server = new FakeSwitchServer(opts);
  await server.listen();
  if (opts.sip) server.sip = await SipSide.start(server.model, opts.sip);
  return server;
}
