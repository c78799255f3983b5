/**
 * SIP messages (RFC 3261 §7) as plain data: a start line, headers in order under their full names, and a
 * body of bytes. Serialising writes Content-Length as the body's byte count (§20.14), whatever was there.
 */
export type Headers = Array<[name: string, value: string]>;

export interface SipRequest {
  kind: "request";
  method: string;
  uri: string;
  headers: Headers;
  body: Buffer;
}

export interface SipResponse {
  kind: "response";
  status: number;
  reason: string;
  headers: Headers;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/** RFC 3261 §7.3.3 and the registered compact forms (RFC 3515, 3841, 3892, 3903, 4028, 4474, 6665). */
const COMPACT: Record<string, string> = {
  a: "Accept-Contact",
  b: "Referred-By",
  c: "Content-Type",
  d: "Request-Disposition",
  e: "Content-Encoding",
  f: "From",
  i: "Call-ID",
  j: "Reject-Contact",
  k: "Supported",
  l: "Content-Length",
  m: "Contact",
  n: "Identity-Info",
  o: "Event",
  r: "Refer-To",
  s: "Subject",
  t: "To",
  u: "Allow-Events",
  v: "Via",
  x: "Session-Expires",
  y: "Identity",
};

/** Header names compare case-insensitively (§7.3.1); these are spelled as RFC 3261 spells them. */
const CANONICAL = new Map(
  [
    ...Object.values(COMPACT),
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Record-Route",
    "Route",
    "WWW-Authenticate",
    "User-Agent",
    "Allow",
    "Accept",
    "Expires",
    "Server",
    "Reason",
    "Require",
    "Unsupported",
  ].map((name) => [name.toLowerCase(), name]),
);

/** The full, canonically spelled name of a header written in any case or in its compact form. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? CANONICAL.get(lower) ?? name;
}

/** The first value of a header, by any spelling of its name. */
export function header(message: SipMessage, name: string): string | undefined {
  const wanted = canonicalName(name);
  return message.headers.find(([n]) => n === wanted)?.[1];
}

/** Every value of a header, comma-separated values split apart (§7.3.1), in order. */
export function headerValues(message: SipMessage, name: string): string[] {
  const wanted = canonicalName(name);
  return message.headers.filter(([n]) => n === wanted).flatMap(([, v]) => splitCommas(v));
}

/** Split a header value at commas outside quotes and angle brackets. */
function splitCommas(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== "\\") quoted = !quoted;
    else if (!quoted && c === "<") depth++;
    else if (!quoted && c === ">") depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && c === ",") {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(value.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

export function serialize(message: SipMessage): Buffer {
  const start =
    message.kind === "request"
      ? `${message.method} ${message.uri} SIP/2.0`
      : `SIP/2.0 ${message.status} ${message.reason}`;
  const lines = [start];
  for (const [name, value] of message.headers) if (name !== "Content-Length") lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${message.body.length}`, "", "");
  return Buffer.concat([Buffer.from(lines.join("\r\n"), "utf8"), message.body]);
}

/** The reason phrases of the responses this stack sends (RFC 3261 §21). */
export const REASONS: Record<number, string> = {
  100: "Trying",
  180: "Ringing",
  183: "Session Progress",
  200: "OK",
  404: "Not Found",
  408: "Request Timeout",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  486: "Busy Here",
  487: "Request Terminated",
  500: "Server Internal Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  603: "Decline",
};
