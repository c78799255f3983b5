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
 * A cheap fingerprint of a header name (length, first and last char): a prefilter, never a verdict.
 * Fingerprints are cached per `wanted` set, which is therefore treated as immutable.
 */
const signature = (text: string, start: number, end: number): number =>
  (end - start) * 0x1_0000_0000 + text.charCodeAt(start) * 0x1_0000 + text.charCodeAt(end - 1);

/** The wanted name written at text[start, end), if any. Most lines are unwanted: ruled out by fingerprint. */
function wantedAt(
  text: string,
  start: number,
  end: number,
  candidates: Map<number, string[]>,
): string | undefined {
  const names = candidates.get(signature(text, start, end));
  if (names) for (const name of names) if (text.startsWith(name, start)) return name;
  return undefined;
}

/** The wanted names by fingerprint: a line's name is compared in place, never sliced out. */
const candidatesCache = new WeakMap<ReadonlySet<string>, Map<number, string[]>>();

function candidatesOf(names: ReadonlySet<string>): Map<number, string[]> {
  let candidates = candidatesCache.get(names);
  if (!candidates) {
    candidates = new Map();
    for (const name of names) {
      if (name.length === 0) continue;
      const key = signature(name, 0, name.length);
      candidates.set(key, [...(candidates.get(key) ?? []), name]);
    }
    candidatesCache.set(names, candidates);
  }
  return candidates;
}

/**
 * A FreeSWITCH event, decoded lazily. The frame body is kept as bytes; reading one header of a plain or
 * json event finds that header's bytes with a native byte search (see {@link EslEvent.scan}) and decodes
 * that value alone. The whole event is parsed only when a caller asks for all of it (headerNames(),
 * headers(), body) or for an xml event. Most consumers read a handful of headers per event (a router
 * reads two), so the decoding cost is paid for those alone: a json event is not JSON.parse'd to read its
 * Event-Name.
 */

export class EslEvent {
  private raw: Map<string, string> | undefined;
  private order: string[] | undefined;
  private eventBody: string | undefined;
  private decoded: Map<string, string> | undefined;
  /** Plain: the header block, without the event's own body. */
  private head: Buffer | undefined;
  /** The header block as latin1 (one char per byte, so offsets agree), lower-cased: for case-insensitive lookups. */
  private loweredHead: string | undefined;
  /** Set by the full parse: see `malformed`. */
  private malformation: string | undefined;

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

  /**
   * A header's value, URL-decoded for plain and xml events. Names match exactly, then case-insensitively
   * (as switch_event_get_header does); a repeated header reads as its last value.
   */
  get(name: string): string | undefined {
    const cached = this.decoded?.get(name);
    if (cached !== undefined) return cached;
    const value = this.raw === undefined && this.format !== "xml" ? this.scan(name) : this.lookup(name);
    if (value === undefined) return undefined;
    const decoded = this.format === "json" ? value : urlDecode(value);
    this.decoded ??= new Map();
    this.decoded.set(name, decoded);
    return decoded;
  }

  private lookup(name: string): string | undefined {
    const headers = this.rawHeaders();
    const value = headers.get(name);
    if (value !== undefined) return value;
    const lower = name.toLowerCase();
    for (const [key, v] of headers) if (key.toLowerCase() === lower) return v;
    return undefined;
  }

  /**
   * One header's raw value, found without parsing the others: a native byte search for the name, kept
   * only where a key can be (see isKeyAt; plain values are URL-encoded so never hold a line feed, and
   * FreeSWITCH's json object is flat). Every occurrence is visited so the last one wins, as in a full
   * parse. A json value that is not a string falls back to the full parse.
   */
  private scan(name: string): string | undefined {
    // Letter case of non-ASCII names differs between a byte search and toLowerCase(): parse it all.
    if (NON_ASCII.test(name)) return this.lookup(name);
    // A plain name ends at its line's first ':'; json's `_body` is the event's body, not a header.
    if (this.format === "plain" ? name === "" || /[:\n]/.test(name) : name.toLowerCase() === "_body") {
      return undefined;
    }
    const exact = this.format === "json" ? this.scanJson(name) : this.scanPlain(name);
    if (exact !== undefined) return exact === PARSE_ALL ? this.lookup(name) : exact;
    const key = this.keyIgnoringCase(name);
    if (key === undefined) return undefined;
    const value = this.format === "json" ? this.scanJson(key) : this.scanPlain(key);
    return value === PARSE_ALL ? this.lookup(name) : value;
  }

  private scanPlain(name: string): string | undefined {
    const head = this.plainHead();
    const needle = needleOf(`${name}:`);
    let start = -1;
    for (let at = head.indexOf(needle); at !== -1; at = head.indexOf(needle, at + 1)) {
      if (isKeyAt(head, at, needle.length, false)) start = at + needle.length;
    }
    if (start === -1) return undefined;
    if (head[start] === SPACE) start++;
    const end = head.indexOf(LF, start);
    return head.toString("utf8", start, end === -1 ? head.length : end);
  }

  private scanJson(name: string): string | undefined | typeof PARSE_ALL {
    const payload = this.payload;
    const needle = needleOf(jsonKeyTail(name));
    let value: string | undefined | typeof PARSE_ALL;
    for (let at = payload.indexOf(needle); at !== -1; at = payload.indexOf(needle, at + 1)) {
      if (!isKeyAt(payload, at, needle.length, true)) continue;
      const p = skipJsonSpace(payload, skipJsonSpace(payload, at + needle.length) + 1);
      if (payload[p] !== QUOTE) return PARSE_ALL;
      // Values are short (a uuid, a state): a byte loop beats native calls here. It steps over escapes.
      let end = p + 1;
      let escaped = false;
      while (end < payload.length && payload[end] !== QUOTE) {
        if (payload[end] === BACKSLASH) {
          escaped = true;
          end++;
        }
        end++;
      }
      if (end >= payload.length) return PARSE_ALL;
      value = escaped ? jsonString(payload, p, end + 1) : payload.toString("utf8", p + 1, end);
      if (value === undefined) return PARSE_ALL;
      at = end;
    }
    return value;
  }

  /** The key as the event spells it, for a name that matches one only when letter case is ignored. */
  private keyIgnoringCase(name: string): string | undefined {
    const json = this.format === "json";
    const head = json ? this.payload : this.plainHead();
    this.loweredHead ??= head.toString("latin1").toLowerCase();
    const needle = needleOf(json ? jsonKeyTail(name) : `${name}:`)
      .toString("latin1")
      .toLowerCase();
    for (
      let at = this.loweredHead.indexOf(needle);
      at !== -1;
      at = this.loweredHead.indexOf(needle, at + 1)
    ) {
      if (!isKeyAt(head, at, needle.length, json)) continue;
      return json
        ? jsonString(head, at - 1, at + needle.length)
        : head.toString("utf8", at, at + needle.length - 1);
    }
    return undefined;
  }

  private plainHead(): Buffer {
    if (this.head === undefined) {
      const end = this.payload.indexOf(BLANK_LINE);
      this.head = end === -1 ? this.payload : this.payload.subarray(0, end);
    }
    return this.head;
  }

  /**
   * The decoded values of the wanted headers (every header when `wanted` is undefined), in wire order, in
   * one pass over the event. For a consumer that needs a few dozen headers (the gateway's normaliser) this
   * is cheaper than a lookup per header: only wanted values are sliced and URL-decoded, and no lookup
   * misses. A repeated header keeps its first place and reads as its last value, as with `headerNames` and `get`.
   */
  pick(wanted?: ReadonlySet<string>): Map<string, string> {
    const picked = new Map<string, string>();
    if (this.format !== "plain" || this.raw !== undefined) {
      for (const name of this.headerNames())
        if (!wanted || wanted.has(name)) picked.set(name, this.get(name) ?? "");
      return picked;
    }
    const head = this.plainHead();
    // latin1: one char per byte, so string offsets are byte offsets; values are URL-encoded ASCII.
    const text = head.toString("latin1");
    const candidates = wanted && candidatesOf(wanted);
    let start = 0;
    while (start < text.length) {
      let lineEnd = text.indexOf("\n", start);
      if (lineEnd === -1) lineEnd = text.length;
      const colon = text.indexOf(":", start);
      if (colon > start && colon < lineEnd) {
        const name = candidates
          ? wantedAt(text, start, colon, candidates)
          : head.toString("latin1", start, colon);
        if (name !== undefined) {
          const valueStart = text.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1;
          // Copied out of the buffer, not sliced from `text`: a slice would keep the whole head alive for as
          // long as the value lives (V8 sliced strings), e.g. in the gateway's channel table.
          // utf8: FreeSWITCH's values are URL-encoded ASCII, but a raw byte of another peer stays intact.
          const value = head.toString("utf8", valueStart, lineEnd);
          picked.set(name, urlDecode(value));
        }
      }
      start = lineEnd + 1;
    }
    return picked;
  }

  /**
   * What makes the payload something FreeSWITCH would not send (json that does not parse, is not an
   * object or nests values; no Event-Name), or undefined. The event still reads as far as it can.
   */
  get malformed(): string | undefined {
    this.rawHeaders();
    return this.malformation ?? (this.get("Event-Name") ? undefined : "the event has no Event-Name");
  }

  /** Header names in the order FreeSWITCH serialised them. */
  headerNames(): readonly string[] {
    this.rawHeaders();
    return this.order ?? [];
  }

  /** Every header, decoded, in wire order. */
  headers(): Record<string, string> {
    const raw = this.rawHeaders();
    const out: Record<string, string> = {};
    for (const [name, value] of raw) out[name] = this.format === "json" ? value : urlDecode(value);
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

  /**
   * FreeSWITCH's json is one flat object of strings, a repeated header as an array of them. Anything
   * else is recorded as the event's defect; a nested value is skipped, not stringified (100,000 nested
   * arrays would overflow the stack).
   */
  private parseJson(raw: Map<string, string>, order: string[]): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.payload.toString("utf8"));
    } catch (error) {
      this.malformation = `the body is not JSON (${(error as Error).message})`;
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      this.malformation = "the body is not a JSON object";
      return;
    }
    for (const [name, value] of Object.entries(parsed)) {
      const text = flatJsonValue(value);
      if (text === undefined) {
        this.malformation ??= `${JSON.stringify(name)} holds nested JSON, not a string or a list of strings`;
        continue;
      }
      if (name === "_body") {
        this.eventBody = text;
        continue;
      }
      order.push(name);
      raw.set(name, text);
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

/** A json header value as the event's text: a scalar, or a list of scalars joined by `|`; undefined if nested. */
function flatJsonValue(value: unknown): string | undefined {
  const scalar = (v: unknown) => typeof v !== "object" || v === null;
  if (scalar(value)) return String(value);
  return Array.isArray(value) && value.every(scalar) ? value.join("|") : undefined;
}

/** Printable ASCII without ':': a name parsePlain reads back unchanged. */
const PLAIN_EVENT_HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

const LF = 0x0a;
const BLANK_LINE = Buffer.from("\n\n");
const SPACE = 0x20;
const QUOTE = 0x22;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const NON_ASCII = /[^\x00-\x7f]/;
/** A scan result: the event is shaped in a way the scan does not read; parse all of it. */
const PARSE_ALL = Symbol("parse all");

/** Search needles for header names, kept for the names a process reads over and over. */
const needles = new Map<string, Buffer>();
function needleOf(text: string): Buffer {
  let needle = needles.get(text);
  if (needle === undefined) {
    needle = Buffer.from(text, "utf8");
    if (needles.size < 1024) needles.set(text, needle);
  }
  return needle;
}

/** A JSON string literal in bytes [start, end), decoded; undefined if it is not valid JSON. */
function jsonString(bytes: Buffer, start: number, end: number): string | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString("utf8", start, end));
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a needle found at `at` is a key. Plain: at a line start. Json: right after an opening quote
 * (one not escaped by a backslash: an unescaped quote followed by a name cannot end a string) and
 * followed by a colon (else it is a value that happens to equal the name).
 */
function isKeyAt(bytes: Buffer, at: number, length: number, json: boolean): boolean {
  if (!json) return at === 0 || bytes[at - 1] === LF;
  return (
    bytes[at - 1] === QUOTE &&
    bytes[at - 2] !== BACKSLASH &&
    bytes[skipJsonSpace(bytes, at + length)] === COLON
  );
}

/**
 * A json key without its opening quote (`Event-Name"`): a needle starting with `"` would make the native
 * search stop at every string in the event.
 */
function jsonKeyTail(name: string): string {
  return JSON.stringify(name).slice(1);
}

function skipJsonSpace(bytes: Buffer, from: number): number {
  let at = from;
  while (bytes[at] === SPACE || bytes[at] === LF || bytes[at] === 0x0d || bytes[at] === 0x09) at++;
  return at;
}

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
