import { EslArgumentError } from "./errors.ts";
import { ContentType, type EslFrame, type HeaderList } from "./frame.ts";
import { urlDecode, urlEncode } from "./urlcodec.ts";

export type EventFormat = "plain" | "json" | "xml";

/** Event names FreeSWITCH 1.10 emits that the gateway and the double care about (switch_event.c). */
export type KnownEventName =
  | "CHANNEL_CREATE"
  | "CHANNEL_DESTROY"
  | "CHANNEL_STATE"
  | "CHANNEL_CALLSTATE"
  | "CHANNEL_ANSWER"
  | "CHANNEL_HANGUP"
  | "CHANNEL_HANGUP_COMPLETE"
  | "CHANNEL_EXECUTE"
  | "CHANNEL_EXECUTE_COMPLETE"
  | "CHANNEL_HOLD"
  | "CHANNEL_UNHOLD"
  | "CHANNEL_BRIDGE"
  | "CHANNEL_UNBRIDGE"
  | "CHANNEL_PROGRESS"
  | "CHANNEL_PROGRESS_MEDIA"
  | "CHANNEL_OUTGOING"
  | "CHANNEL_PARK"
  | "CHANNEL_UNPARK"
  | "CHANNEL_ORIGINATE"
  | "CHANNEL_DATA"
  | "CALL_UPDATE"
  | "CODEC"
  | "BACKGROUND_JOB"
  | "API"
  | "DTMF"
  | "PLAYBACK_START"
  | "PLAYBACK_STOP"
  | "PRIVATE_COMMAND"
  | "PRESENCE_IN"
  | "HEARTBEAT"
  | "RE_SCHEDULE"
  | "SHUTDOWN"
  | "MODULE_UNLOAD"
  | "CUSTOM";

export type EventName = KnownEventName | (string & {});

export const eventFormatOf = (contentType: string | undefined): EventFormat | undefined =>
  contentType === ContentType.eventPlain
    ? "plain"
    : contentType === ContentType.eventJson
      ? "json"
      : contentType === ContentType.eventXml
        ? "xml"
        : undefined;

/**
 * A FreeSWITCH event, decoded lazily: the frame body is kept as bytes and parsed into headers only on
 * the first header access; a plain/xml value is URL-decoded only when it is read. Most consumers read a
 * handful of headers per event, so the decoding cost is paid for those alone.
 */
export class EslEvent {
  private raw: Map<string, string> | undefined;
  private order: string[] | undefined;
  private eventBody: string | undefined;
  private readonly decoded = new Map<string, string>();

  constructor(
    readonly format: EventFormat,
    /** The frame's Content-Length body: the serialised event. */
    readonly payload: Buffer,
  ) {}

  static fromFrame(frame: EslFrame): EslEvent | undefined {
    const format = eventFormatOf(frame.contentType);
    if (!format || !frame.body) return undefined;
    return new EslEvent(format, frame.body);
  }

  /** A header's value, URL-decoded for plain and xml events. Names match exactly, then case-insensitively. */
  get(name: string): string | undefined {
    const cached = this.decoded.get(name);
    if (cached !== undefined) return cached;
    const headers = this.rawHeaders();
    let value = headers.get(name);
    if (value === undefined) {
      const lower = name.toLowerCase();
      for (const [key, v] of headers)
        if (key.toLowerCase() === lower) {
          value = v;
          break;
        }
      if (value === undefined) return undefined;
    }
    const decoded = this.format === "json" ? value : urlDecode(value);
    this.decoded.set(name, decoded);
    return decoded;
  }

  /** Header names in the order FreeSWITCH serialised them. */
  headerNames(): readonly string[] {
    this.rawHeaders();
    return this.order ?? [];
  }

  /** Every header, decoded, in wire order. */
  headers(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of this.headerNames()) out[name] = this.get(name) ?? "";
    return out;
  }

  /** The event's own body (BACKGROUND_JOB's command output, for example), or "" when it has none. */
  get body(): string {
    this.rawHeaders();
    return this.eventBody ?? "";
  }

  get name(): EventName {
    return this.get("Event-Name") ?? "";
  }
  get subclass(): string | undefined {
    return this.get("Event-Subclass");
  }
  get uniqueId(): string | undefined {
    return this.get("Unique-ID");
  }
  get jobUuid(): string | undefined {
    return this.get("Job-UUID");
  }
  get coreUuid(): string | undefined {
    return this.get("Core-UUID");
  }
  get sequence(): number | undefined {
    return toNumber(this.get("Event-Sequence"));
  }
  /** Event-Date-Timestamp: microseconds since the epoch, FreeSWITCH's clock. */
  get timestampUs(): number | undefined {
    return toNumber(this.get("Event-Date-Timestamp"));
  }
  get channelState(): string | undefined {
    return this.get("Channel-State");
  }
  get callState(): string | undefined {
    return this.get("Channel-Call-State");
  }
  get answerState(): string | undefined {
    return this.get("Answer-State");
  }
  get callDirection(): string | undefined {
    return this.get("Call-Direction");
  }
  get hangupCause(): string | undefined {
    return this.get("Hangup-Cause");
  }
  get application(): string | undefined {
    return this.get("Application");
  }
  get dtmfDigit(): string | undefined {
    return this.get("DTMF-Digit");
  }
  get otherLegUniqueId(): string | undefined {
    return this.get("Other-Leg-Unique-ID");
  }
  /** A channel variable (`variable_<name>`). */
  variable(name: string): string | undefined {
    return this.get(`variable_${name}`);
  }

  private rawHeaders(): Map<string, string> {
    if (this.raw) return this.raw;
    const raw = new Map<string, string>();
    const order: string[] = [];
    if (this.format === "json") this.parseJson(raw, order);
    else if (this.format === "xml") this.parseXml(raw, order);
    else this.parsePlain(raw, order);
    this.raw = raw;
    this.order = order;
    return raw;
  }

  /** `Name: urlencoded-value` lines, a blank line, then the event's own body if it declared a Content-Length. */
  private parsePlain(raw: Map<string, string>, order: string[]): void {
    const text = this.payload.toString("utf8");
    let end = text.indexOf("\n\n");
    if (end === -1) end = text.length;
    let start = 0;
    while (start < end) {
      let lineEnd = text.indexOf("\n", start);
      if (lineEnd === -1 || lineEnd > end) lineEnd = end;
      const colon = text.indexOf(":", start);
      if (colon > start && colon < lineEnd) {
        const name = text.slice(start, colon);
        const value = text.slice(text.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1, lineEnd);
        if (!raw.has(name)) order.push(name);
        raw.set(name, value);
      }
      start = lineEnd + 1;
    }
    if (raw.has("Content-Length") && end < text.length) {
      // The inner Content-Length counts bytes; the payload is one event, so the rest is the body.
      this.eventBody = text.slice(end + 2);
    }
  }

  private parseJson(raw: Map<string, string>, order: string[]): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.payload.toString("utf8"));
    } catch {
      return;
    }
    if (typeof parsed !== "object" || parsed === null) return;
    for (const [name, value] of Object.entries(parsed)) {
      if (name === "_body") {
        this.eventBody = String(value);
        continue;
      }
      order.push(name);
      raw.set(name, Array.isArray(value) ? value.join("|") : String(value));
    }
  }

  private parseXml(raw: Map<string, string>, order: string[]): void {
    const text = this.payload.toString("utf8");
    const headersStart = text.indexOf("<headers>");
    const headersEnd = text.indexOf("</headers>");
    if (headersStart !== -1 && headersEnd > headersStart) {
      const block = text.slice(headersStart + 9, headersEnd);
      for (const match of block.matchAll(/<([^\s<>/]+)>([^<]*)<\/\1>/g)) {
        const name = match[1] ?? "";
        if (!raw.has(name)) order.push(name);
        raw.set(name, xmlUnescape(match[2] ?? ""));
      }
    }
    const bodyMatch = /<body>([\s\S]*)<\/body>/.exec(text);
    if (bodyMatch) {
      // switch_event_xmlize() indents the closing tag: the declared <Content-Length> bounds the body.
      const full = xmlUnescape(bodyMatch[1] ?? "");
      const declared = /<Content-Length>(\d+)<\/Content-Length>/.exec(text);
      this.eventBody = declared ? Buffer.from(full).subarray(0, Number(declared[1])).toString("utf8") : full;
    }
  }
}

/**
 * An event serialised as FreeSWITCH does it: the body of a text/event-plain frame (switch_event_serialize:
 * URL-encoded values, the event's own body after a Content-Length) or of a text/event-json frame
 * (switch_event_serialize_json: raw values, the body as `Content-Length` and `_body` last). A
 * Content-Length among `headers` is skipped: it is derived from `body`. The conformance test checks this
 * byte for byte against every captured event.
 */
export function serializeEvent(
  format: Exclude<EventFormat, "xml">,
  headers: HeaderList,
  body?: string,
): string {
  const fields = headers.filter(([name]) => name.toLowerCase() !== "content-length");
  const hasBody = body !== undefined && body.length > 0;
  if (format === "json") {
    const members = fields.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
    if (hasBody) {
      members.push(`"Content-Length":"${Buffer.byteLength(body)}"`, `"_body":${JSON.stringify(body)}`);
    }
    return `{${members.join(",")}}`;
  }
  let out = "";
  for (const [name, value] of fields) {
    if (!PLAIN_EVENT_HEADER_NAME.test(name)) {
      throw new EslArgumentError(`event header name ${JSON.stringify(name)} cannot be serialised`, name);
    }
    out += `${name}: ${urlEncode(value)}\n`;
  }
  return hasBody ? `${out}Content-Length: ${Buffer.byteLength(body)}\n\n${body}` : `${out}\n`;
}

/** Printable ASCII without ':': a name parsePlain reads back unchanged. */
const PLAIN_EVENT_HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

function toNumber(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function xmlUnescape(text: string): string {
  if (text.indexOf("&") === -1) return text;
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, entity: string) =>
    entity === "amp" ? "&" : entity === "lt" ? "<" : entity === "gt" ? ">" : entity === "quot" ? '"' : "'",
  );
}
