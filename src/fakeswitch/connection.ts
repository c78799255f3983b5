import { randomUUID } from "node:crypto";
import type net from "node:net";
import type { ApiCommands } from "./api-commands.ts";
import type { CallModel } from "./call-model.ts";
import { type ClientCommand, CommandParser, header } from "./command-parser.ts";
import { isEventName } from "./event-names.ts";
import { apiResponse, commandReply, disconnectNotice, GOODBYE } from "./event-serializer.ts";
import type { SwitchEvent } from "./events.ts";
import type { EventListener, LogListener, SwitchCore } from "./switch-core.ts";
import { GENERIC_CALLING } from "./templates.ts";
import { TokenBucket } from "./token-bucket.ts";
import type { Format } from "./tokens.ts";

export interface ConnectionHost {
  readonly core: SwitchCore;
  readonly api: ApiCommands;
  readonly model: CallModel;
  readonly password: string;
  /** Events a listener may hold before it loses them (mod_event_socket MAX_QUEUE_LEN). */
  readonly eventQueueLength: number;
  /** Lost events past which the listener is killed (mod_event_socket MAX_MISSED). */
  readonly maxLostEvents: number;
  /** Fault injection: the delay before the next command is handled (fixed and load-dependent). */
  replyDelayMs(): number;
  /** A calibrated load model's delay of a command just arrived, counted from its arrival (0: none). */
  calibratedCommandMs(): number;
  /** Fault injection: events written to each client a second at most (0: no cap). */
  readonly eventRatePerSecond: number;
  /** Fault injection: the peer vanished without a FIN: nothing is read or written. */
  readonly halfOpenActive: boolean;
  connectionClosed(connection: EslConnection): void;
}

const EMPTY = Buffer.alloc(0);
/** Socket bytes buffered before events are held in the listener's own queue. */
const SOCKET_HIGH_WATER = 1024 * 1024;
/** switch_log_str2level: names and numbers 0..7. */
const LOG_LEVELS: Record<string, number> = {
  console: 0,
  alert: 1,
  crit: 2,
  err: 3,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/**
 * One inbound ESL connection: a listener of mod_event_socket (listener_run / parse_command /
 * read_packet). Commands are answered strictly in order; a blocking `api` (originate) holds both later
 * commands and the listener's events until it returns, as the listener thread of FreeSWITCH does.
 */
export class EslConnection implements EventListener, LogListener {
  private readonly parser = new CommandParser();
  private authed = false;
  private running = true;
  private format: Format = "plain";
  private eventsEnabled = false;
  private allEvents = false;
  private readonly names = new Set<string>();
  private readonly nixed = new Set<string>();
  private allCustom = false;
  private readonly subclasses = new Set<string>();
  private filters: Array<[string, string]> = [];
  private myeventsUuid: string | undefined;
  private myevents = false;
  private linger: number | undefined;
  /** `log <level>`: log/data lines at this level or more severe are sent. */
  logLevel: number | undefined;

  private busy = false;
  /** Commands read and not yet handled, each with the time a calibrated load model lets it be handled. */
  private readonly commands: Array<{ command: ClientCommand; readyAt: number }> = [];
  private out: Array<string | Buffer> = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** The listener's event queue (events the socket could not take yet): `held[heldHead…]`. */
  private held: Buffer[] = [];
  private heldHead = 0;
  private lostEvents = 0;
  private closing = false;
  /** The event rate cap's budget, and the timer that releases held events when it refills. */
  private bucket: TokenBucket | undefined;
  private paceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly host: ConnectionHost,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.releaseHeld());
    socket.on("error", () => {});
    socket.on("close", () => this.onClose());
    this.write("Content-Type: auth/request\n\n");
  }

  get isAuthed(): boolean {
    return this.authed;
  }

  // ---- input ----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.host.halfOpenActive || !this.running) return;
    for (const command of this.parser.push(chunk))
      this.commands.push({ command, readyAt: performance.now() + this.host.calibratedCommandMs() });
    this.pump();
  }

  private pump(): void {
    while (!this.busy && this.running && this.commands.length > 0) {
      const { command, readyAt } = this.commands.shift() as { command: ClientCommand; readyAt: number };
      const delay = this.host.replyDelayMs() + Math.max(0, readyAt - performance.now());
      if (delay > 0) {
        this.busy = true;
        setTimeout(() => {
          this.busy = false;
          if (this.running) this.handle(command);
          this.pump();
        }, delay);
        return;
      }
      this.handle(command);
    }
  }

  private handle(command: ClientCommand): void {
    this.host.core.stats.commands++;
    const reply = this.parseCommand(command);
    if (reply !== undefined) this.reply(reply);
  }

  /** parse_command (mod_event_socket.c), in its order of checks: the Reply-Text, if the command has one. */
  private parseCommand(command: ClientCommand): string | undefined {
    const cmd = command.line;
    const lower = cmd.toLowerCase();

    if (lower.startsWith("exit") || lower.startsWith("...")) {
      this.reply("+OK bye");
      this.close(GOODBYE);
      return undefined;
    }

    if (!this.authed) {
      if (lower.startsWith("auth ")) {
        if (cmd.slice(5) === this.host.password) {
          this.authed = true;
          return "+OK accepted";
        }
        this.reply("-ERR invalid");
        this.close(GOODBYE);
        return undefined;
      }
      if (lower.startsWith("userauth ")) {
        this.reply("-ERR invalid");
        this.close(GOODBYE);
        return undefined;
      }
      return "-ERR command not found";
    }

    if (lower.startsWith("filter ")) return this.filter(cmd.slice(7));
    if (lower.startsWith("myevents")) return this.myeventsCommand(cmd);
    if (lower.startsWith("divert_events")) {
      return this.myeventsUuid ? "+OK events not diverted" : "-ERR not controlling a session.";
    }
    if (lower.startsWith("sendmsg")) return this.sendmsg(command);
    if (lower.startsWith("sendevent")) return this.sendevent(command);
    if (lower.startsWith("api ")) {
      this.api(cmd.slice(4));
      return undefined;
    }
    if (lower.startsWith("bgapi ")) {
      this.bgapi(cmd.slice(6), command);
      return undefined;
    }
    if (lower.startsWith("log")) return this.log(cmd);
    if (lower.startsWith("linger")) return this.lingerCommand(cmd);
    if (lower.startsWith("nolinger")) {
      if (!this.myeventsUuid) return "-ERR not controlling a session";
      this.linger = undefined;
      return "+OK will not linger";
    }
    if (lower.startsWith("nolog")) {
      if (this.logLevel === undefined) return "-ERR not loging";
      this.logLevel = undefined;
      this.host.core.removeLogListener(this);
      return "+OK no longer logging";
    }
    if (lower.startsWith("event")) return this.event(cmd);
    if (lower.startsWith("nixevent")) return this.nixevent(cmd);
    if (lower.startsWith("noevents")) return this.noevents();
    return "-ERR command not found";
  }

  private noevents(): string {
    this.held = [];
    this.heldHead = 0;
    if (!this.eventsEnabled) return "-ERR not listening for events";
    this.eventsEnabled = false;
    this.allEvents = false;
    this.allCustom = false;
    this.names.clear();
    this.nixed.clear();
    this.subclasses.clear();
    this.host.core.removeListener(this);
    return "+OK no longer listening for events";
  }

  // ---- commands -------------------------------------------------------------------------------

  /** `api <cmd> [arg]`: api_exec with bg = 0; the listener is blocked until the command returns. */
  private api(text: string): void {
    const core = this.host.core;
    core.stats.apiCommands++;
    const space = text.indexOf(" ");
    const cmd = space === -1 ? text : text.slice(0, space);
    const arg = space === -1 ? undefined : text.slice(space + 1);
    this.busy = true;
    let sync = true;
    this.host.api.execute(cmd, arg ?? "", (outcome) => {
      let body = outcome.found ? outcome.body : `-ERR ${cmd} Command not found!\n`;
      if (body.length === 0) body = "-ERR no reply\n";
      if (this.running) this.write(apiResponse(body));
      this.busy = false;
      if (outcome.found) this.fireApiEvent(cmd, arg);
      this.releaseHeld();
      if (!sync) this.pump();
    });
    sync = false;
  }

  /** `bgapi <cmd> [arg]`: reply at once with the Job-UUID, run the command, then BACKGROUND_JOB. */
  private bgapi(text: string, command: ClientCommand): void {
    const core = this.host.core;
    core.stats.bgapiCommands++;
    const space = text.indexOf(" ");
    const cmd = space === -1 ? text : text.slice(0, space);
    const arg = space === -1 ? undefined : text.slice(space + 1);
    const jobUuid = header(command, "job-uuid") || randomUUID();
    this.write(commandReply(`+OK Job-UUID: ${jobUuid}`, `Job-UUID: ${jobUuid}\n`));
    this.host.api.execute(cmd, arg ?? "", (outcome) => {
      const body = outcome.found
        ? outcome.body || "Command returned no output!"
        : `-ERR ${cmd} Command not found!\n`;
      if (outcome.found) this.fireApiEvent(cmd, arg);
      core.fireHeaders(
        "BACKGROUND_JOB",
        GENERIC_CALLING.BACKGROUND_JOB,
        () => {
          const headers: Array<[string, string]> = [
            ["Job-UUID", jobUuid],
            ["Job-Command", cmd],
          ];
          if (arg !== undefined) headers.push(["Job-Command-Arg", arg]);
          return headers;
        },
        body,
      );
    });
  }

  private fireApiEvent(cmd: string, arg: string | undefined): void {
    this.host.core.fireHeaders("API", GENERIC_CALLING.API, () =>
      arg === undefined
        ? [["API-Command", cmd]]
        : [
            ["API-Command", cmd],
            ["API-Command-Argument", arg],
          ],
    );
  }

  /** `event [plain|json|xml] <names…>`: unknown names are ignored, `CUSTOM` is followed by subclasses. */
  private event(cmd: string): string {
    const words = cmd.split(" ").slice(1);
    let keys = 0;
    let custom = false;
    words.forEach((word, i) => {
      if (!word) return;
      if (i === 0) {
        const f = word.toLowerCase();
        if (f === "plain" || f === "json" || f === "xml") {
          this.format = f;
          return;
        }
      }
      if (custom) {
        this.subclasses.add(word);
        return;
      }
      const name = isEventName(word);
      if (!name) return;
      keys++;
      if (name === "ALL") {
        this.allEvents = true;
        this.allCustom = true;
        this.nixed.clear();
      } else {
        this.names.add(name);
        this.nixed.delete(name);
      }
      if (name === "CUSTOM") custom = true;
    });
    if (keys === 0) return "-ERR no keywords supplied";
    this.enableEvents();
    return `+OK event listener enabled ${this.format}`;
  }

  private nixevent(cmd: string): string {
    const words = cmd.split(" ").slice(1);
    let keys = 0;
    let custom = false;
    for (const word of words) {
      if (!word) continue;
      if (custom) {
        this.subclasses.delete(word);
        continue;
      }
      const name = isEventName(word);
      if (!name) continue;
      keys++;
      if (name === "CUSTOM") custom = true;
      else if (name === "ALL") {
        this.allEvents = false;
        this.allCustom = false;
        this.names.clear();
        this.nixed.clear();
      } else {
        this.names.delete(name);
        if (this.allEvents) this.nixed.add(name);
      }
    }
    if (keys === 0) return "-ERR no keywords supplied";
    this.enableEvents();
    return "+OK events nixed";
  }

  private enableEvents(): void {
    if (this.eventsEnabled) return;
    this.eventsEnabled = true;
    this.host.core.addListener(this);
  }

  /** `filter <header> <value>`, `filter delete <header> [value]`, `filter delete all`. */
  private filter(rest: string): string {
    const text = rest.replace(/^ +/, "");
    const sp = text.indexOf(" ");
    let name = sp === -1 ? text : text.slice(0, sp);
    let value: string | undefined = sp === -1 ? undefined : text.slice(sp + 1);
    if (name.toLowerCase() === "delete" && value !== undefined) {
      const sp2 = value.indexOf(" ");
      name = sp2 === -1 ? value : value.slice(0, sp2);
      value = sp2 === -1 ? undefined : value.slice(sp2 + 1);
      if (name.toLowerCase() === "all") this.filters = [];
      else
        this.filters = this.filters.filter(
          ([h, v]) => !(h.toLowerCase() === name.toLowerCase() && (value === undefined || v === value)),
        );
      return `+OK filter deleted. [${name}][${value ?? ""}]`;
    }
    if (value === undefined) return "-ERR invalid syntax";
    if (name.toLowerCase() === "add") {
      const sp2 = value.indexOf(" ");
      name = sp2 === -1 ? value : value.slice(0, sp2);
      value = sp2 === -1 ? "" : value.slice(sp2 + 1);
    }
    this.filters.push([name, value]);
    return `+OK filter added. [${name}]=[${value}]`;
  }

  /** `myevents <uuid> [plain|json|xml]`: only that channel's events, and the socket follows the channel. */
  private myeventsCommand(cmd: string): string {
    if (this.myevents) return "-ERR aready enabled.";
    const [, uuid = "", fmt] = cmd.split(" ");
    const channel = this.host.core.channels.get(uuid);
    if (!channel && fmt) return "-ERR invalid uuid";
    if (channel) this.myeventsUuid = uuid;
    for (const name of MYEVENTS) this.names.add(name);
    this.myevents = true;
    if (/xml/i.test(cmd)) this.format = "xml";
    if (/json/i.test(cmd)) this.format = "json";
    if (/ plain/i.test(cmd)) this.format = "plain";
    this.enableEvents();
    return "+OK Events Enabled";
  }

  private lingerCommand(cmd: string): string {
    if (!this.myeventsUuid) return "-ERR not controlling a session";
    const n = Number.parseInt(cmd.slice(7), 10);
    this.linger = cmd.charAt(6) === " " && Number.isFinite(n) ? n : -1;
    return this.linger >= 0 ? `+OK will linger ${this.linger} seconds` : "+OK will linger";
  }

  private log(cmd: string): string {
    const levelText = cmd.slice(3).replace(/^ +/, "").split(" ")[0] ?? "";
    let level = 7;
    if (levelText) {
      const named = LOG_LEVELS[levelText.toLowerCase()];
      level = /^\d+$/.test(levelText) ? Number(levelText) : (named ?? -1);
      if (level < 0 || level > 7) return "-ERR invalid log level";
    }
    this.logLevel = level;
    this.host.core.addLogListener(this);
    return `+OK log level ${levelText} [${level}]`;
  }

  /** `sendmsg [uuid]` with call-command execute / hangup (switch_ivr_parse_event). */
  private sendmsg(command: ClientCommand): string {
    let uuid = command.line.slice(7).trim();
    if (!uuid) uuid = header(command, "session-id") ?? this.myeventsUuid ?? "";
    const channel = uuid ? this.host.core.channels.get(uuid) : undefined;
    if (!channel) return `-ERR invalid session id [${uuid}]`;
    const callCommand = (header(command, "call-command") ?? "").toLowerCase();
    const model = this.host.model;
    if (callCommand === "hangup") {
      const cause = (header(command, "hangup-cause") ?? "NORMAL_CLEARING").toUpperCase();
      setImmediate(() => model.hangup(channel, cause));
    } else if (callCommand === "execute") {
      const app = (header(command, "execute-app-name") ?? "").toLowerCase();
      const arg = header(command, "execute-app-arg") ?? command.body ?? "";
      setImmediate(() => {
        if (app === "playback") model.playback(channel, arg, false);
        else if (app === "answer") model.answer(channel);
        else if (app === "hangup") model.hangup(channel, arg.trim().toUpperCase() || "NORMAL_CLEARING");
        else if (app === "transfer")
          model.transfer(channel, arg.split(" ")[0] ?? "", arg.split(" ")[2] ?? "default");
      });
    }
    return "+OK";
  }

  /** `sendevent <NAME>` with headers (and an optional body): fired to every listener. */
  private sendevent(command: ClientCommand): string {
    const name = command.line.slice(9).trim().split(" ")[0]?.toUpperCase() || "CUSTOM";
    const eventUuid = randomUUID();
    const subclass = header(command, "event-subclass");
    const own = command.headers.filter(([k]) => k.toLowerCase() !== "content-length");
    this.host.core.fireHeaders(
      isEventName(name) ?? "CUSTOM",
      ["mod_event_socket.c", "parse_command", "1"],
      () => [...own, ["Event-UUID", eventUuid]],
      command.body,
      subclass,
    );
    return `+OK ${eventUuid}`;
  }

  // ---- events ---------------------------------------------------------------------------------

  wants(name: string): boolean {
    if (!this.eventsEnabled || !this.running) return false;
    return (this.allEvents && !this.nixed.has(name)) || this.names.has(name);
  }

  /** event_handler (mod_event_socket.c): subscription, filters, myevents, then the bounded queue. */
  offer(event: SwitchEvent): void {
    if (!this.eventsEnabled || !this.running) return;
    const name = event.name;
    let send = false;
    if (this.allEvents && !this.nixed.has(name)) send = true;
    else if (this.names.has(name)) {
      send = name !== "CUSTOM" || !event.subclass || this.allCustom || this.subclasses.has(event.subclass);
    }
    if (send && this.filters.length > 0) send = this.passesFilters(event);
    if (send && this.myevents) {
      const uuid = event.uniqueId;
      if (!uuid || (this.myeventsUuid && uuid !== this.myeventsUuid)) send = false;
    }
    if (!send) return;
    this.enqueue(event.frame(this.format));
    if (this.myeventsUuid && name === "CHANNEL_HANGUP" && event.uniqueId === this.myeventsUuid) {
      this.sessionDown();
    }
  }

  /** A log/data frame: through the same queue as events (mod_event_socket keeps a log queue beside it). */
  offerLog(frame: Buffer): void {
    if (this.running) this.enqueue(frame);
  }

  private passesFilters(event: SwitchEvent): boolean {
    let send = false;
    for (const [name, raw] of this.filters) {
      const value = event.header(name);
      if (value === undefined) continue;
      let compare = raw;
      let positive = true;
      while (compare.length > 0 && (compare[0] === "+" || compare[0] === "-" || compare[0] === " ")) {
        if (compare[0] === "+") positive = true;
        else if (compare[0] === "-") positive = false;
        compare = compare.slice(1);
      }
      if (send && positive) continue;
      let match: boolean;
      if (raw.startsWith("/")) {
        const body = compare.replace(/^\/|\/$/g, "");
        try {
          match = new RegExp(body).test(value);
        } catch {
          match = false;
        }
      } else match = value.toLowerCase() === compare.toLowerCase();
      if (match) {
        if (positive) send = true;
        else {
          send = false;
          break;
        }
      }
    }
    return send;
  }

  private enqueue(frame: Buffer): void {
    const core = this.host.core;
    if (this.canSend() && this.heldCount === 0 && this.paced()) {
      core.stats.eventsSent++;
      this.write(frame);
      return;
    }
    if (this.heldCount >= this.host.eventQueueLength) {
      core.stats.eventsLost++;
      if (++this.lostEvents > this.host.maxLostEvents) {
        core.stats.listenersKilled++;
        this.kill("killed listener because of lost events\n");
      }
      return;
    }
    this.lostEvents = 0;
    this.held.push(frame);
  }

  private canSend(): boolean {
    return !this.busy && this.socket.writableLength + this.outBytes < SOCKET_HIGH_WATER;
  }

  private get heldCount(): number {
    return this.held.length - this.heldHead;
  }

  /** Whether the event rate cap lets one more event out now (taking it); if not, retry when it will. */
  private paced(): boolean {
    const rate = this.host.eventRatePerSecond;
    if (rate <= 0) return true;
    if (this.bucket?.ratePerSecond !== rate) this.bucket = new TokenBucket(rate);
    if (this.bucket.take()) return true;
    if (!this.paceTimer) {
      this.paceTimer = setTimeout(
        () => {
          this.paceTimer = undefined;
          this.releaseHeld();
        },
        Math.max(1, Math.ceil(this.bucket.msUntilToken())),
      );
    }
    return false;
  }

  /** Write held events while the socket, the command in progress and the rate cap let them out. */
  releaseHeld(): void {
    if (this.heldCount === 0 || !this.running) return;
    while (this.heldHead < this.held.length && this.canSend() && this.paced()) {
      this.host.core.stats.eventsSent++;
      this.write(this.held[this.heldHead] as Buffer);
      this.held[this.heldHead++] = EMPTY;
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    } else if (this.heldHead > 4096 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
  }

  /** The myevents channel went down: without linger the listener closes (read_packet). */
  private sessionDown(): void {
    if (this.linger === undefined) {
      setImmediate(() => this.close(GOODBYE));
      return;
    }
    const uuid = this.myeventsUuid ?? "";
    this.write(
      `Content-Type: text/disconnect-notice\nController-Session-UUID: ${uuid}\nContent-Disposition: linger\nChannel-Name: \nLinger-Time: ${this.linger}\nContent-Length: 0\n\n`,
    );
    if (this.linger >= 0) setTimeout(() => this.close(GOODBYE), this.linger * 1000).unref();
  }

  // ---- output ---------------------------------------------------------------------------------

  private reply(text: string): void {
    this.write(commandReply(text));
  }

  write(data: string | Buffer): void {
    if (this.closing || this.host.halfOpenActive) return;
    this.out.push(data);
    this.outBytes += data.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0) return;
    const data =
      this.out.length === 1
        ? (this.out[0] as string | Buffer)
        : Buffer.concat(this.out.map((x) => (typeof x === "string" ? Buffer.from(x, "utf8") : x)));
    this.out = [];
    this.outBytes = 0;
    if (this.socket.destroyed) return;
    const accepted = this.socket.write(data);
    // Held events wait for 'drain'; a write the kernel took whole emits no 'drain', so go on now.
    if (accepted && this.heldCount > 0) setImmediate(() => this.releaseHeld());
  }

  /** Send a disconnect notice (optional) and close, as listener_run's exit path does. */
  close(notice?: string): void {
    if (!this.running) return;
    this.running = false;
    if (notice !== undefined) this.out.push(disconnectNotice(notice));
    this.flush();
    this.closing = true;
    this.host.core.removeListener(this);
    this.host.core.removeLogListener(this);
    this.socket.end();
    // A peer that never reads must not keep the socket forever; 5 s is ample to drain a notice.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** kill_listener: the notice, then shutdown(RDWR) of the socket. */
  kill(message: string): void {
    this.close(message);
  }

  /** Abort without a notice: a FIN (`end`) or an RST (`resetAndDestroy`). */
  drop(how: "fin" | "rst"): void {
    this.running = false;
    this.closing = true;
    this.out = [];
    this.host.core.removeListener(this);
    this.host.core.removeLogListener(this);
    if (how === "rst") this.socket.resetAndDestroy();
    else this.socket.end();
  }

  private onClose(): void {
    this.running = false;
    clearTimeout(this.paceTimer);
    this.host.core.removeListener(this);
    this.host.core.removeLogListener(this);
    this.host.connectionClosed(this);
  }
}

/** The events `myevents` subscribes (parse_command). */
const MYEVENTS = [
  "CHANNEL_ANSWER",
  "CHANNEL_APPLICATION",
  "CHANNEL_BRIDGE",
  "CHANNEL_CREATE",
  "CHANNEL_DATA",
  "CHANNEL_DESTROY",
  "CHANNEL_EXECUTE",
  "CHANNEL_EXECUTE_COMPLETE",
  "CHANNEL_HANGUP",
  "CHANNEL_HANGUP_COMPLETE",
  "CHANNEL_ORIGINATE",
  "CHANNEL_UUID",
  "CHANNEL_OUTGOING",
  "CHANNEL_PARK",
  "CHANNEL_PROGRESS",
  "CHANNEL_PROGRESS_MEDIA",
  "CHANNEL_STATE",
  "CHANNEL_UNBRIDGE",
  "CHANNEL_UNPARK",
  "DETECTED_SPEECH",
  "DTMF",
  "NOTALK",
  "TALK",
];
