import { EslArgumentError } from "./errors.ts";

/** One ESL frame as it crossed the wire: an ordered outer header block and an optional Content-Length body. */

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

export class EslFrame {
  constructor(
    /** Outer headers in wire order. Values are as sent (outer headers are never URL-encoded by FreeSWITCH). */
    readonly headers: HeaderList,
    /** The Content-Length body, or undefined when the frame had no Content-Length. */
    readonly body: Buffer | undefined,
  ) {}

  get contentType(): string | undefined {
    return this.header("Content-Type");
  }

  /** Exact-case lookup first (the common case), then case-insensitive, as FreeSWITCH compares header names. */
  header(name: string): string | undefined {
    for (const [key, value] of this.headers) if (key === name) return value;
    const lower = name.toLowerCase();
    for (const [key, value] of this.headers) if (key.toLowerCase() === lower) return value;
    return undefined;
  }

  bodyText(): string {
    return this.body === undefined ? "" : this.body.toString("utf8");
  }
}

/** The Content-Types FreeSWITCH 1.10 sends on an inbound ESL connection (mod_event_socket.c). */
export const ContentType = {
  authRequest: "auth/request",
  commandReply: "command/reply",
  apiResponse: "api/response",
  eventPlain: "text/event-plain",
  eventJson: "text/event-json",
  eventXml: "text/event-xml",
  disconnectNotice: "text/disconnect-notice",
  rudeRejection: "text/rude-rejection",
  logData: "log/data",
} as const;

/**
 * A frame as mod_event_socket writes it: `Name: value` lines in the given order, a blank line, the body.
 * The Content-Length is always the body's byte length, written where `headers` holds one (FreeSWITCH puts
 * it first in events and after Content-Type in replies) or else last. Anything that would break the
 * framing (a line break in a value, a name the decoder would split differently) is refused.
 */
export function encodeFrame(headers: HeaderList, body?: Uint8Array | string): Buffer {
  if (headers.length === 0) throw new EslArgumentError("a frame needs at least one header", "headers");
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  let head = "";
  let lengthWritten = false;
  for (const [name, value] of headers) {
    if (!HEADER_NAME.test(name)) {
      throw new EslArgumentError(
        `header name ${JSON.stringify(name)} is not printable ASCII without ':'`,
        name,
      );
    }
    if (name.toLowerCase() === "content-length") {
      if (payload === undefined || lengthWritten) {
        throw new EslArgumentError("Content-Length needs exactly one body", name);
      }
      head += `${name}: ${payload.length}\n`;
      lengthWritten = true;
      continue;
    }
    if (value.includes("\n") || value.includes("\r")) {
      throw new EslArgumentError(`header ${name} must not contain a line break`, name);
    }
    head += `${name}: ${value}\n`;
  }
  if (payload === undefined) return Buffer.from(`${head}\n`, "utf8");
  if (!lengthWritten) head += `Content-Length: ${payload.length}\n`;
  return Buffer.concat([Buffer.from(`${head}\n`, "utf8"), payload]);
}

const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
