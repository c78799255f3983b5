import { canonicalName, type Headers, type SipMessage } from "./message.ts";

/** Why a datagram is not a SIP message, with the bytes that say so (for a log line, never an exception). */
export interface ParseError {
  error: string;
  /** Up to 80 bytes from where parsing stopped, as latin1 text. */
  near: string;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/;

/**
 * One UDP datagram → one SIP message (RFC 3261 §18.3: a datagram carries exactly one message). Header
 * lines may fold (§7.3.1) and end in CRLF or a bare LF (§7.5, be liberal). The body is Content-Length bytes
 * long; without the header, the rest of the datagram; bytes past it are dropped; fewer is an error.
 * Never throws.
 */
export function parseDatagram(data: Buffer): SipMessage | ParseError {
  // §7.5: empty lines before the start line are ignored (keep-alive CRLFs).
  let offset = 0;
  while (offset < data.length && (data[offset] === 0x0d || data[offset] === 0x0a)) offset++;
  let end = data.indexOf(CRLFCRLF, offset);
  let bodyStart = end + 4;
  const lf = data.indexOf("\n\n", offset, "latin1");
  if (lf !== -1 && (end === -1 || lf < end)) {
    end = lf;
    bodyStart = lf + 2;
  }
  if (end === -1) return fail("no blank line after the headers", data, offset);
  const lines = unfold(data.toString("utf8", offset, end).split(/\r?\n/));
  const startLine = lines.shift() ?? "";
  const headers: Headers = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim();
    if (colon <= 0 || !/^[A-Za-z0-9.!%*_+`'~-]+$/.test(name)) return fail("malformed header line", line);
    headers.push([canonicalName(name), line.slice(colon + 1).trim()]);
  }
  const lengthText = headers.find(([n]) => n === "Content-Length")?.[1];
  let body = data.subarray(bodyStart);
  if (lengthText !== undefined) {
    if (!/^\d{1,9}$/.test(lengthText)) return fail("bad Content-Length", lengthText);
    const length = Number(lengthText);
    if (length > body.length) return fail(`Content-Length ${length} but ${body.length} bytes`, lengthText);
    body = body.subarray(0, length);
  }
  const request = REQUEST_LINE.exec(startLine);
  if (request) return { kind: "request", method: request[1]!, uri: request[2]!, headers, body };
  const status = STATUS_LINE.exec(startLine);
  if (status) return { kind: "response", status: Number(status[1]), reason: status[2]!, headers, body };
  return fail("not a request line nor a status line", startLine);
}

export function isParseError(result: SipMessage | ParseError): result is ParseError {
  return "error" in result;
}

/** §7.3.1: a line starting with a space or tab continues the previous header. */
function unfold(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && out.length > 1) {
      out[out.length - 1] = `${out[out.length - 1]} ${line.trim()}`;
    } else out.push(line);
  }
  return out;
}

function fail(error: string, near: Buffer | string, offset = 0): ParseError {
  const text = typeof near === "string" ? near : near.toString("latin1", offset, offset + 80);
  return { error, near: text.slice(0, 80) };
}
