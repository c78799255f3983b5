import { urlEncode } from "../esl/urlcodec.ts";
import { TEMPLATE_BLOCKS, TEMPLATE_TOKENS } from "./templates.ts";

/**
 * Token ids of the event templates. A template is compiled into literal text and token ids; a
 * {@link TokenTable} holds one channel's values and their encodings (URL-encoded for plain/xml,
 * JSON-escaped for json), each computed once and reused by every event of the channel.
 */
type TokenName = (typeof TEMPLATE_TOKENS)[number] | (typeof TEMPLATE_BLOCKS)[number];

// Blocks first: their per-channel caches are indexed by id and stay as short as the block list.
const TOKEN_NAMES: readonly TokenName[] = [...TEMPLATE_BLOCKS, ...TEMPLATE_TOKENS];
const ids = new Map<string, number>(TOKEN_NAMES.map((name, i) => [name, i]));

export function tokenId(name: string): number {
  const id = ids.get(name);
  if (id === undefined) throw new Error(`unknown template token ${name}`);
  return id;
}

export const T = Object.fromEntries(TOKEN_NAMES.map((n, i) => [n, i])) as Record<TokenName, number>;

/** Tokens that expand to a run of whole headers rather than one value. */
export const BLOCK_TOKENS: ReadonlySet<number> = new Set(TEMPLATE_BLOCKS.map((name) => T[name]));

export type Format = "plain" | "json" | "xml";

/**
 * Drop a cached encoding. Only a slot that holds one is written: writing `undefined` would grow the
 * cache to `id` for every channel, rendered or not (10,000 parked channels pay for it in memory).
 */
function forget<T>(cache: Array<T | undefined>, id: number): void {
  if (cache[id] !== undefined) cache[id] = undefined;
}

/** Whole headers, `[name, raw value]`, as a block holds them (`variable_` prefixes included). */
export type HeaderRun = ReadonlyArray<readonly [string, string]>;

/** One channel's token values. Encodings are cached until the value changes. */
export class TokenTable {
  readonly raw: string[] = new Array<string>(TOKEN_NAMES.length).fill("");
  // Encodings fill in as events are rendered; a channel nobody listens to never allocates them.
  private readonly url: Array<string | undefined> = [];
  private readonly json: Array<string | undefined> = [];
  private readonly blocks: Record<Format, Array<string | undefined>> = { plain: [], json: [], xml: [] };
  private readonly blockHeaders: HeaderRun[] = [];
  /** The encodings as bytes, per format, for rendering events straight into a Buffer. */
  private readonly bytes: Record<Format, Array<Buffer | undefined>> = { plain: [], json: [], xml: [] };

  set(id: number, value: string): void {
    if (this.raw[id] === value) return;
    this.raw[id] = value;
    forget(this.url, id);
    forget(this.json, id);
    this.forgetBytes(id);
  }

  /** Set a value whose encodings are already known (the event clock pre-encodes its dates once a second). */
  setEncoded(id: number, value: string, url: string, json: string): void {
    this.raw[id] = value;
    this.url[id] = url;
    this.json[id] = json;
    this.forgetBytes(id);
  }

  /** Like setEncoded, with the bytes too (one Buffer for plain/xml, one for json). */
  setBytes(id: number, value: string, url: Buffer, json: Buffer): void {
    this.raw[id] = value;
    forget(this.url, id);
    forget(this.json, id);
    this.bytes.plain[id] = url;
    this.bytes.xml[id] = url;
    this.bytes.json[id] = json;
  }

  private forgetBytes(id: number): void {
    forget(this.bytes.plain, id);
    forget(this.bytes.json, id);
    forget(this.bytes.xml, id);
  }

  get(id: number): string {
    return this.raw[id] ?? "";
  }

  setBlock(id: number, headers: HeaderRun): void {
    this.blockHeaders[id] = headers;
    forget(this.blocks.plain, id);
    forget(this.blocks.json, id);
    forget(this.blocks.xml, id);
    this.forgetBytes(id);
  }

  encodedBytes(id: number, format: Format): Buffer {
    const cache = this.bytes[format];
    let b = cache[id];
    if (b === undefined) {
      b = Buffer.from(this.encoded(id, format), "utf8");
      cache[id] = b;
    }
    return b;
  }

  blockList(id: number): HeaderRun {
    return this.blockHeaders[id] ?? [];
  }

  encoded(id: number, format: Format): string {
    if (BLOCK_TOKENS.has(id)) return this.block(id, format);
    if (this.url[id] === undefined && this.json[id] === undefined && this.bytes[format][id] !== undefined) {
      return (this.bytes[format][id] as Buffer).toString("utf8");
    }
    if (format === "json") {
      let v = this.json[id];
      if (v === undefined) {
        v = jsonEscape(this.raw[id] ?? "");
        this.json[id] = v;
      }
      return v;
    }
    let v = this.url[id];
    if (v === undefined) {
      v = urlEncode(this.raw[id] ?? "");
      this.url[id] = v;
    }
    return v;
  }

  private block(id: number, format: Format): string {
    const cache = this.blocks[format];
    let v = cache[id];
    if (v === undefined) {
      v = renderBlock(this.blockHeaders[id] ?? [], format);
      cache[id] = v;
    }
    return v;
  }
}

function renderBlock(headers: HeaderRun, format: Format): string {
  let out = "";
  for (const [name, value] of headers) {
    if (format === "plain") out += `${name}: ${urlEncode(value)}\n`;
    else if (format === "xml") out += `    <${name}>${urlEncode(value)}</${name}>\n`;
    else out += `,"${jsonEscape(name)}":"${jsonEscape(value)}"`;
  }
  return out;
}

/** Channel variables as the headers of a block: `variable_<name>`. */
export function variableHeaders(vars: ReadonlyArray<readonly [string, string]>): HeaderRun {
  return vars.map(([name, value]) => [`variable_${name}`, value] as const);
}

/** The inside of a JSON string literal (cJSON escapes the same set; non-ASCII stays raw UTF-8). */
export function jsonEscape(value: string): string {
  if (!NEEDS_JSON_ESCAPE.test(value)) return value;
  const quoted = JSON.stringify(value);
  return quoted.slice(1, -1);
}
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;
