import { isEventName } from "./event-names.ts";
import type { SwitchEvent } from "./events.ts";
import type { EventListener, LogListener, SwitchCore } from "./switch-core.ts";
import type { Format } from "./template-tokens.ts";

/** switch_log_str2level's names. */
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
 * What one listener of mod_event_socket receives: its event subscription (`event`, `nixevent`,
 * `noevents`), its filters, the session it follows (`myevents`, `linger`) and its log level (`log`). Each
 * command answers with its Reply-Text; the connection registers with the switch while events or logs are on.
 */
export class Subscriptions {
  private format_: Format = "plain";
  private eventsEnabled = false;
  private allEvents = false;
  private readonly names = new Set<string>();
  private readonly nixed = new Set<string>();
  private allCustom = false;
  private readonly subclasses = new Set<string>();
  private filters: Array<[string, string]> = [];
  private myeventsUuid: string | undefined;
  private myevents = false;
  private linger_: number | undefined;
  /** `log <level>`: log/data lines at this level or more severe are sent. */
  logLevel: number | undefined;

  constructor(
    private readonly core: SwitchCore,
    private readonly listener: EventListener & LogListener,
  ) {}

  /** The format events are written in. */
  get format(): Format {
    return this.format_;
  }
  /** The channel `myevents` follows, if it named one that exists. */
  get controlledSession(): string | undefined {
    return this.myeventsUuid;
  }
  /** `linger [seconds]`: how long the socket stays after its channel hangs up (-1: until closed). */
  get lingerSeconds(): number | undefined {
    return this.linger_;
  }

  /** `event [plain|json|xml] <names…>`: unknown names are ignored, `CUSTOM` is followed by subclasses. */
  event(cmd: string): string {
    const words = cmd.split(" ").slice(1);
    let keys = 0;
    let custom = false;
    words.forEach((word, i) => {
      if (!word) return;
      if (i === 0) {
        const f = word.toLowerCase();
        if (f === "plain" || f === "json" || f === "xml") {
          this.format_ = f;
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
    return `+OK event listener enabled ${this.format_}`;
  }

  nixevent(cmd: string): string {
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

  noevents(): string {
    if (!this.eventsEnabled) return "-ERR not listening for events";
    this.eventsEnabled = false;
    this.allEvents = false;
    this.allCustom = false;
    this.names.clear();
    this.nixed.clear();
    this.subclasses.clear();
    this.core.removeListener(this.listener);
    return "+OK no longer listening for events";
  }

  private enableEvents(): void {
    if (this.eventsEnabled) return;
    this.eventsEnabled = true;
    this.core.addListener(this.listener);
  }

  /** `filter <header> <value>`, `filter delete <header> [value]`, `filter delete all`. */
  filter(rest: string): string {
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
  myeventsCommand(cmd: string): string {
    if (this.myevents) return "-ERR aready enabled.";
    const [, uuid = "", fmt] = cmd.split(" ");
    const channel = this.core.channels.get(uuid);
    if (!channel && fmt) return "-ERR invalid uuid";
    if (channel) this.myeventsUuid = uuid;
    for (const name of MYEVENTS) this.names.add(name);
    this.myevents = true;
    if (/xml/i.test(cmd)) this.format_ = "xml";
    if (/json/i.test(cmd)) this.format_ = "json";
    if (/ plain/i.test(cmd)) this.format_ = "plain";
    this.enableEvents();
    return "+OK Events Enabled";
  }

  divertEvents(cmd: string): string {
    if (!this.myeventsUuid) return "-ERR not controlling a session.";
    // Only the reply: diverting a controlled session's events to this socket is not modelled.
    return cmd.slice(13).trim().toLowerCase() === "on" ? "+OK events diverted" : "+OK events not diverted";
  }

  lingerCommand(cmd: string): string {
    if (!this.myeventsUuid) return "-ERR not controlling a session";
    const n = Number.parseInt(cmd.slice(7), 10);
    this.linger_ = cmd.charAt(6) === " " && Number.isFinite(n) ? n : -1;
    return this.linger_ >= 0 ? `+OK will linger ${this.linger_} seconds` : "+OK will linger";
  }

  nolinger(): string {
    if (!this.myeventsUuid) return "-ERR not controlling a session";
    this.linger_ = undefined;
    return "+OK will not linger";
  }

  log(cmd: string): string {
    const levelText = cmd.slice(3).replace(/^ +/, "").split(" ")[0] ?? "";
    let level = 7;
    if (levelText) {
      // switch_log_str2level: a number is clamped to 0..63 (SWITCH_LOG_INVALID - 1), a name looked up.
      const named = LOG_LEVELS[levelText.toLowerCase()];
      if (/^-?\d+$/.test(levelText)) level = Math.min(63, Math.max(0, Number(levelText)));
      else if (named === undefined) return "-ERR invalid log level";
      else level = named;
    }
    this.logLevel = level;
    this.core.addLogListener(this.listener);
    return `+OK log level ${levelText} [${level}]`;
  }

  nolog(): string {
    if (this.logLevel === undefined) return "-ERR not loging";
    this.logLevel = undefined;
    this.core.removeLogListener(this.listener);
    return "+OK no longer logging";
  }

  /** By name alone (subscription only; filters are applied in `accepts`). */
  wants(name: string): boolean {
    if (!this.eventsEnabled) return false;
    return (this.allEvents && !this.nixed.has(name)) || this.names.has(name);
  }

  /** event_handler (mod_event_socket.c): subscription, filters, then myevents. */
  accepts(event: SwitchEvent): boolean {
    if (!this.eventsEnabled) return false;
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
    return send;
  }

  /** The channel `myevents` follows hung up: the socket is to close, or linger. */
  endsSession(event: SwitchEvent): boolean {
    return !!this.myeventsUuid && event.name === "CHANNEL_HANGUP" && event.uniqueId === this.myeventsUuid;
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
