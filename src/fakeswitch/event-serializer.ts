import { urlEncode } from "../esl/urlcodec.ts";
import type { CompiledLogLine } from "./log-lines.ts";
import { BLOCK_TOKENS, type Format, jsonEscape, type TokenTable, tokenId } from "./template-tokens.ts";
import type { EventTemplate } from "./templates.ts";

/**
 * Event serialisation in the three formats of mod_event_socket (switch_event_serialize,
 * switch_event_serialize_json, switch_event_xmlize as captured in 03/04a/04b):
 *
 * - plain: `Name: url-encoded value\n` per header, then a blank line; an event body follows the blank
 *   line after its own `Content-Length` header.
 * - json: one object of raw (not URL-encoded) string values, no trailing newline; a body is
 *   `"Content-Length":"N","_body":"…"` at the end.
 * - xml: `<event>\n  <headers>\n    <Name>url-encoded</Name>\n…  </headers>\n</event>\n`; a body is
 *   `  <Content-Length>N</Content-Length>\n  <body>…</body>\n` after `</headers>`, with `  ` before
 *   `</body>` only when the body ends in a newline (switch_xml_toxml_r).
 *
 * A channel template is compiled once (at module load) into literal text and token ids per format, so
 * serialising an event is a concatenation of pre-encoded strings.
 */

/** Literal text, or a token id to take from the channel's {@link TokenTable}. */
export type Part = string | number;

export interface CompiledTemplate {
  readonly event: string;
  /** In a two-leg sequence, the leg the event belongs to. */
  readonly role: "a" | "b" | undefined;
  readonly parts: Readonly<Record<Format, readonly Part[]>>;
  /** The same parts with the literals pre-encoded as bytes. */
  readonly byteParts: Readonly<Record<Format, ReadonlyArray<Buffer | number>>>;
  /** Header names (block markers excluded) → the raw value parts, for filters and uuid_getvar. */
  readonly values: ReadonlyMap<string, readonly Part[]>;
  /** Header names in order (block markers kept as `{{USER_VARS}}`, `{{CALLER_ID_NAME}}`, …). */
  readonly names: readonly string[];
  /** The block token ids, in order. */
  readonly blocks: readonly number[];
  /** The event carries the channel variables (CHANNEL_CREATE, _ANSWER, … but not CHANNEL_STATE). */
  readonly hasVariables: boolean;
  /** log/data lines the call writes around this event (capture 14), when it has any. */
  logsBefore?: readonly CompiledLogLine[];
  logsAfter?: readonly CompiledLogLine[];
}

const TOKEN = /\{\{([A-Z0-9_]+)\}\}/g;

/** A value with {{TOKEN}} markers as literal text and token ids. */
export function valueParts(value: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of value.matchAll(TOKEN)) {
    if (m.index > last) parts.push(value.slice(last, m.index));
    parts.push(tokenId(m[1] ?? ""));
    last = m.index + m[0].length;
  }
  if (last < value.length) parts.push(value.slice(last));
  return parts;
}

class PartBuilder {
  readonly parts: Part[] = [];
  text(s: string): void {
    if (s === "") return;
    const last = this.parts.length - 1;
    if (last >= 0 && typeof this.parts[last] === "string") this.parts[last] += s;
    else this.parts.push(s);
  }
  token(id: number): void {
    this.parts.push(id);
  }
}

export function compileTemplate(template: EventTemplate): CompiledTemplate {
  const plain = new PartBuilder();
  const json = new PartBuilder();
  const xml = new PartBuilder();
  const values = new Map<string, Part[]>();
  const names: string[] = [];
  const blocks: number[] = [];
  json.text("{");
  xml.text("<event>\n  <headers>\n");
  let first = true;
  for (const [name, value] of template.headers) {
    names.push(name);
    const block = /^\{\{([A-Z_]+)\}\}$/.exec(name);
    if (block) {
      const id = tokenId(block[1] ?? "");
      blocks.push(id);
      plain.token(id);
      json.token(id);
      xml.token(id);
      continue;
    }
    const parts = valueParts(value);
    values.set(name, parts);
    plain.text(`${name}: `);
    json.text(`${first ? "" : ","}"${jsonEscape(name)}":"`);
    xml.text(`    <${name}>`);
    for (const p of parts) {
      if (typeof p === "number") {
        plain.token(p);
        json.token(p);
        xml.token(p);
      } else {
        plain.text(urlEncode(p));
        json.text(jsonEscape(p));
        xml.text(urlEncode(p));
      }
    }
    plain.text("\n");
    json.text('"');
    xml.text(`</${name}>\n`);
    first = false;
  }
  plain.text("\n");
  json.text("}");
  xml.text("  </headers>\n</event>\n");
  return {
    event: template.event,
    role: template.role,
    parts: { plain: plain.parts, json: json.parts, xml: xml.parts },
    byteParts: { plain: toBytes(plain.parts), json: toBytes(json.parts), xml: toBytes(xml.parts) },
    values,
    names,
    blocks,
    hasVariables: names.some((n) => n.startsWith("variable_")),
  };
}

const toBytes = (parts: Part[]) => parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p));

const CONTENT_TYPE_LINE: Record<Format, string> = {
  plain: "\nContent-Type: text/event-plain\n\n",
  json: "\nContent-Type: text/event-json\n\n",
  xml: "\nContent-Type: text/event-xml\n\n",
};
const scratch: Buffer[] = [];

/**
 * A whole ESL event frame (outer headers and body) rendered into one Buffer: the literal bytes and the
 * channel's cached token bytes are copied once, with no intermediate strings.
 */
export function renderTemplateFrame(template: CompiledTemplate, tokens: TokenTable, format: Format): Buffer {
  const parts = template.byteParts[format];
  let length = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as Buffer | number;
    const b = typeof p === "number" ? tokens.encodedBytes(p, format) : p;
    scratch[i] = b;
    length += b.length;
  }
  const head = `Content-Length: ${length}${CONTENT_TYPE_LINE[format]}`;
  const out = Buffer.allocUnsafe(head.length + length);
  let offset = out.write(head, 0, "latin1");
  for (let i = 0; i < parts.length; i++) {
    const b = scratch[i] as Buffer;
    out.set(b, offset);
    offset += b.length;
  }
  scratch.length = 0;
  return out;
}

export function renderTemplate(template: CompiledTemplate, tokens: TokenTable, format: Format): string {
  const parts = template.parts[format];
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as Part;
    out += typeof p === "string" ? p : tokens.encoded(p, format);
  }
  return out;
}

/** The raw (decoded) value of one header of a compiled template, or undefined if it has none. */
export function templateValue(
  template: CompiledTemplate,
  tokens: TokenTable,
  name: string,
): string | undefined {
  const parts = template.values.get(name);
  if (!parts) {
    // Headers spliced in by blocks (variables, caller-ID names).
    for (const id of template.blocks) for (const [k, v] of tokens.blockList(id)) if (k === name) return v;
    return undefined;
  }
  let out = "";
  for (const p of parts) out += typeof p === "string" ? p : BLOCK_TOKENS.has(p) ? "" : tokens.get(p);
  return out;
}

// ---- non-channel events ---------------------------------------------------------------------

export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Serialise an event given as a header list (API, BACKGROUND_JOB, HEARTBEAT, ...). */
export function renderHeaders(headers: HeaderList, format: Format, body?: string): string {
  const hasBody = body !== undefined && body.length > 0;
  const bodyLength = hasBody ? Buffer.byteLength(body) : 0;
  if (format === "plain") {
    let out = "";
    for (const [name, value] of headers) out += `${name}: ${urlEncode(value)}\n`;
    if (hasBody) return `${out}Content-Length: ${bodyLength}\n\n${body}`;
    return `${out}\n`;
  }
  if (format === "json") {
    let out = "{";
    let first = true;
    for (const [name, value] of headers) {
      out += `${first ? "" : ","}"${jsonEscape(name)}":"${jsonEscape(value)}"`;
      first = false;
    }
    if (hasBody) out += `,"Content-Length":"${bodyLength}","_body":"${jsonEscape(body)}"`;
    return `${out}}`;
  }
  let out = "<event>\n  <headers>\n";
  for (const [name, value] of headers) out += `    <${name}>${urlEncode(value)}</${name}>\n`;
  out += "  </headers>\n";
  if (hasBody) {
    // switch_event_xmlize sets the body as it is; switch_xml_toxml_r indents the closing tag only when
    // the text so far ends in a newline, and adds none itself: "x" → <body>x</body>, "x\n" → …x\n  </body>.
    const text = xmlCharacterData(body);
    out += `  <Content-Length>${bodyLength}</Content-Length>\n  <body>${text}${text.endsWith("\n") ? "  " : ""}</body>\n`;
  }
  return `${out}</event>\n`;
}

/**
 * switch_xml_ampencode for character data (a = 0): & < > escaped, \r as &#xD;, every non-ASCII character as
 * &#xHEX; (USE_UTF_8_ENCODING), \n \t " kept; from a `<!` on, the rest is copied as it is (CDATA, comments).
 */
function xmlCharacterData(text: string): string {
  if (!/[&<>\r\u0080-\u{10FFFF}]/u.test(text)) return text;
  let out = "";
  let i = 0;
  for (const ch of text) {
    if (ch === "<" && text[i + 1] === "!") return out + text.slice(i);
    const cp = ch.codePointAt(0) ?? 0;
    out +=
      ch === "&"
        ? "&amp;"
        : ch === "<"
          ? "&lt;"
          : ch === ">"
            ? "&gt;"
            : ch === "\r"
              ? "&#xD;"
              : cp > 0x7f
                ? `&#x${cp.toString(16).toUpperCase()};`
                : ch;
    i += ch.length;
  }
  return out;
}

// ---- frames ---------------------------------------------------------------------------------

const CONTENT_TYPE: Record<Format, string> = {
  plain: "text/event-plain",
  json: "text/event-json",
  xml: "text/event-xml",
};

/** The outer ESL frame of an event (mod_event_socket: Content-Length first, then Content-Type). */
export function eventFrame(body: string, format: Format): string {
  return `Content-Length: ${Buffer.byteLength(body)}\nContent-Type: ${CONTENT_TYPE[format]}\n\n${body}`;
}

export function commandReply(text: string, extraHeaders = ""): string {
  return `Content-Type: command/reply\nReply-Text: ${text}\n${extraHeaders}\n`;
}

export function apiResponse(body: string): string {
  return `Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`;
}

export function disconnectNotice(text: string): string {
  return `Content-Type: text/disconnect-notice\nContent-Length: ${Buffer.byteLength(text)}\n\n${text}`;
}

export const GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";
export const SHUTDOWN_NOTICE = "The system is being shut down.\n";
