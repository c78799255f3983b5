/** The switch as a whole, not any one call: Core-UUID, Event-Sequence, event listeners, session limits and counters. */
import { randomUUID } from "node:crypto";
import type { Channel } from "./channel.ts";
import { eventDate, nowUs } from "./clock.ts";
import type { CompiledTemplate, HeaderList } from "./event-serializer.ts";
import { ChannelEvent, HeaderEvent, type SwitchEvent } from "./events.ts";
import { type CompiledLogLine, logStamp, renderLogFrame } from "./log-lines.ts";
import { RateMeter } from "./rate-meter.ts";
import { T } from "./template-tokens.ts";
import { CAPTURED } from "./templates.ts";

/** A connection that may want events (implemented by EslConnection). */
export interface EventListener {
  /** Called synchronously for every fired event while the listener has events enabled. */
  offer(event: SwitchEvent): void;
  /** A cheap pre-check by event name (subscription only; filters are applied in `offer`). */
  wants(name: string): boolean;
}

/** A connection that asked for log lines (`log <level>`). */
export interface LogListener {
  /** Lines at this level or more severe (a lower number) are sent. */
  readonly logLevel: number | undefined;
  offerLog(frame: Buffer): void;
}

export interface SwitchStats {
  connections: number;
  connectionsOpen: number;
  commands: number;
  apiCommands: number;
  bgapiCommands: number;
  originates: number;
  channelsCreated: number;
  eventsFired: number;
  eventsSent: number;
  eventsLost: number;
  listenersKilled: number;
}

/**
 * The switch-wide state every module shares: identity (Core-UUID, hostname), the event sequence, the
 * listeners to deliver events to, session limits and counters. Mirrors what switch_core.c keeps in
 * `runtime` and `session_manager`.
 */
export class SwitchCore {
  coreUuid = randomUUID();
  hostname: string;
  readonly ipv4: string = CAPTURED.ipv4 ?? "127.0.0.1";
  readonly ipv6: string = CAPTURED.ipv6 ?? "::1";
  startedUs = nowUs();
  private sequence = 0;
  private readonly listeners = new Set<EventListener>();
  private readonly logListeners = new Set<LogListener>();

  /** switch_core_session_limit / sessions-per-second (runtime.sps_total). */
  maxSessions: number;
  sessionsPerSecond: number;
  /** runtime.sps: decremented per new session, refilled to sps_total every second. */
  spsRemaining: number;
  pausedInbound = false;
  pausedOutbound = false;
  /** SCF_SHUTTING_DOWN: from the SHUTDOWN event until the listeners are closed. */
  shuttingDown = false;
  readonly channels = new Map<string, Channel>();
  sessionsSinceStartup = 0;
  peakSessions = 0;
  spsLast = 0;
  spsPeak = 0;
  private spsThisSecond = 0;
  readonly stats: SwitchStats = {
    connections: 0,
    connectionsOpen: 0,
    commands: 0,
    apiCommands: 0,
    bgapiCommands: 0,
    originates: 0,
    channelsCreated: 0,
    eventsFired: 0,
    eventsSent: 0,
    eventsLost: 0,
    listenersKilled: 0,
  };
  /** Fault injection: events are counted but not delivered. */
  eventsPaused = false;
  /** Recent originates a second, for the load-dependent reply latency. */
  readonly originateRate = new RateMeter();

  constructor(opts: { hostname: string; maxSessions: number; sessionsPerSecond: number }) {
    this.hostname = opts.hostname;
    this.maxSessions = opts.maxSessions;
    this.sessionsPerSecond = opts.sessionsPerSecond;
    this.spsRemaining = opts.sessionsPerSecond;
  }

  /** Once a second (switch_core.c heartbeat thread): refill the session-per-second budget. */
  tickSecond(): void {
    this.spsRemaining = this.sessionsPerSecond;
    this.spsLast = this.spsThisSecond;
    if (this.spsThisSecond > this.spsPeak) this.spsPeak = this.spsThisSecond;
    this.spsThisSecond = 0;
  }

  /**
   * switch_core_session_request_uuid: a duplicate uuid, a paused core, an exhausted sessions-per-second
   * budget (`--runtime.sps <= 0`) or the session limit make it return NULL, which sofia_outgoing_channel
   * turns into its initial cause, DESTINATION_OUT_OF_ORDER.
   */
  admitSession(uuid: string, direction: "outbound" | "inbound" = "outbound"): string | undefined {
    // While shutting down, FreeSWITCH's endpoint modules are unloading: a real one answers this (observed).
    if (this.shuttingDown) return "CHAN_NOT_IMPLEMENTED";
    if (this.channels.has(uuid)) return "DESTINATION_OUT_OF_ORDER";
    if (direction === "outbound" ? this.pausedOutbound : this.pausedInbound)
      return "DESTINATION_OUT_OF_ORDER";
    const sps = --this.spsRemaining;
    if (sps <= 0) return "DESTINATION_OUT_OF_ORDER";
    if (this.channels.size + 1 > this.maxSessions) return "DESTINATION_OUT_OF_ORDER";
    return undefined;
  }

  registerChannel(channel: Channel): void {
    this.channels.set(channel.uuid, channel);
    this.sessionsSinceStartup++;
    this.spsThisSecond++;
    this.stats.channelsCreated++;
    if (this.channels.size > this.peakSessions) this.peakSessions = this.channels.size;
  }

  addLogListener(listener: LogListener): void {
    this.logListeners.add(listener);
  }
  removeLogListener(listener: LogListener): void {
    this.logListeners.delete(listener);
  }

  /** switch_log_printf → mod_event_socket's log queue: each line to the listeners whose level takes it. */
  private fireLogs(channel: Channel, lines: readonly CompiledLogLine[]): void {
    for (const line of lines) {
      let frame: Buffer | undefined;
      for (const l of this.logListeners) {
        if (l.logLevel === undefined || line.level > l.logLevel) continue;
        if (!frame) {
          channel.tokens.set(T.LOG_STAMP, logStamp(nowUs()));
          frame = renderLogFrame(line, channel.tokens, channel.uuid);
        }
        l.offerLog(frame);
      }
    }
  }

  addListener(listener: EventListener): void {
    this.listeners.add(listener);
  }
  removeListener(listener: EventListener): void {
    this.listeners.delete(listener);
  }

  private get delivering(): boolean {
    return this.listeners.size > 0 && !this.eventsPaused;
  }

  /** Whether any listener may take an event of this name (skips rendering what nobody wants). */
  private wanted(name: string): boolean {
    for (const l of this.listeners) if (l.wants(name)) return true;
    return false;
  }

  /** Fire a channel event: stamp sequence and date into the channel's tokens, deliver synchronously. */
  fireChannel(channel: Channel, template: CompiledTemplate): void {
    if (template.logsBefore && this.logListeners.size > 0) this.fireLogs(channel, template.logsBefore);
    this.deliverChannel(channel, template);
    if (template.logsAfter && this.logListeners.size > 0) this.fireLogs(channel, template.logsAfter);
  }

  private deliverChannel(channel: Channel, template: CompiledTemplate): void {
    const seq = ++this.sequence;
    this.stats.eventsFired++;
    if (template.hasVariables) channel.lastTemplate = template;
    if (!this.delivering || !this.wanted(template.event)) return;
    if (channel.other) channel.copyOtherLeg();
    const t = channel.tokens;
    const us = nowUs();
    const date = eventDate(us);
    const s = String(seq);
    const ts = String(us);
    t.setEncoded(T.SEQ, s, s, s);
    t.setBytes(T.DATE_LOCAL, date.local, date.bytes.localUrl, date.bytes.local);
    t.setBytes(T.DATE_GMT, date.gmt, date.bytes.gmtUrl, date.bytes.gmt);
    t.setEncoded(T.EVENT_TS, ts, ts, ts);
    const event = new ChannelEvent(template, t, channel.uuid);
    for (const l of this.listeners) l.offer(event);
  }

  /** The 13 headers every event starts with (switch_event_prep_for_delivery_detailed). */
  coreHeaders(
    name: string,
    calling: readonly [string, string, string] | readonly string[],
  ): Array<[string, string]> {
    const us = nowUs();
    const date = eventDate(us);
    return [
      ["Event-Name", name],
      ["Core-UUID", this.coreUuid],
      ["FreeSWITCH-Hostname", this.hostname],
      ["FreeSWITCH-Switchname", this.hostname],
      ["FreeSWITCH-IPv4", this.ipv4],
      ["FreeSWITCH-IPv6", this.ipv6],
      ["Event-Date-Local", date.local],
      ["Event-Date-GMT", date.gmt],
      ["Event-Date-Timestamp", String(us)],
      ["Event-Calling-File", calling[0] ?? ""],
      ["Event-Calling-Function", calling[1] ?? ""],
      ["Event-Calling-Line-Number", calling[2] ?? ""],
      ["Event-Sequence", String(this.sequence + 1)],
    ];
  }

  /** Fire a non-channel event built from `coreHeaders(...)` plus its own headers. */
  fireHeaders(
    name: string,
    calling: readonly string[],
    build: () => HeaderList,
    body?: string,
    subclass?: string,
  ): void {
    this.stats.eventsFired++;
    if (!this.delivering || !this.wanted(name)) {
      this.sequence++;
      return;
    }
    const headers = [...this.coreHeaders(name, calling), ...build()];
    this.sequence++;
    const event = new HeaderEvent(name, headers, body, subclass);
    for (const l of this.listeners) l.offer(event);
  }

  /** Deliver a pre-built event (fault injection: bursts). */
  deliver(event: SwitchEvent): void {
    this.sequence++;
    this.stats.eventsFired++;
    if (!this.delivering) return;
    for (const l of this.listeners) l.offer(event);
  }

  get nextSequence(): number {
    return this.sequence + 1;
  }

  uptimeUs(): number {
    return nowUs() - this.startedUs;
  }
}
