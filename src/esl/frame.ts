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
