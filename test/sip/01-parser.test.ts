import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { header, type SipMessage, serialize } from "../../src/sip/message.ts";
import { isParseError, parseDatagram } from "../../src/sip/parser.ts";

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,40}[!-~])?$/);
const headers = fc.array(
  fc.tuple(
    token.filter((n) => n.length > 1 && n.toLowerCase() !== "content-length"),
    headerValue,
  ),
  { maxLength: 12 },
);
const body = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 60 }));
const toBuffer = (b: Uint8Array | string) =>
  typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b);

const message: fc.Arbitrary<SipMessage> = fc.oneof(
  fc.record({
    kind: fc.constant("request" as const),
    method: fc.constantFrom("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO"),
    uri: fc.stringMatching(/^sip:[a-z0-9]{1,8}@127\.0\.0\.1(:[0-9]{1,5})?$/),
    headers,
    body: body.map(toBuffer),
  }),
  fc.record({
    kind: fc.constant("response" as const),
    status: fc.integer({ min: 100, max: 699 }),
    reason: fc.stringMatching(/^[A-Za-z]([A-Za-z ]{0,20}[A-Za-z])?$/),
    headers,
    body: body.map(toBuffer),
  }),
);

/** What parsing gives back: names canonical (compact forms expanded), Content-Length added. */
const withLength = (m: SipMessage) => ({
  ...m,
  headers: [...m.headers, ["Content-Length", String(m.body.length)]],
});

describe("SIP parser", () => {
  it("never throws on garbage, and reports what it could not read", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const result = parseDatagram(Buffer.from(bytes));
        if (isParseError(result)) expect(typeof result.error).toBe("string");
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws on near-SIP text (real start lines, broken headers and lengths)", () => {
    const line = fc.oneof(
      fc.constant("INVITE sip:a@b SIP/2.0"),
      fc.constant("SIP/2.0 200 OK"),
      fc.constant("Content-Length: 99999999999"),
      fc.constant("l: -1"),
      fc.constant(" folded"),
      fc.constant(":"),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.string(), (lines, rest) => {
        parseDatagram(Buffer.from(`${lines.join("\r\n")}\r\n\r\n${rest}`));
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips any message it serialises", () => {
    fc.assert(
      fc.property(message, (m) => {
        const parsed = parseDatagram(serialize(m));
        const canonical = parseDatagram(serialize(parsed as SipMessage));
        expect(canonical).toEqual(parsed);
        expect(isParseError(parsed)).toBe(false);
        expect((parsed as SipMessage).body.equals(m.body)).toBe(true);
        expect((parsed as SipMessage).headers.length).toBe(withLength(m).headers.length);
      }),
      { numRuns: 500 },
    );
  });

  it("counts Content-Length in bytes, not characters", () => {
    const m: SipMessage = {
      kind: "request",
      method: "INFO",
      uri: "sip:a@127.0.0.1",
      headers: [],
      body: Buffer.from("Grüße ☎"),
    };
    const text = serialize(m).toString("utf8");
    expect(text).toContain(`Content-Length: ${Buffer.byteLength("Grüße ☎")}\r\n`);
    const parsed = parseDatagram(serialize(m)) as SipMessage;
    expect(parsed.body.toString("utf8")).toBe("Grüße ☎");
  });

  it("expands compact header names and unfolds continuation lines (RFC 3261 §7.3.1, §7.3.3)", () => {
    const raw =
      "SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\ni: abc@h\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\nSubject: one\r\n two\r\nl: 0\r\n\r\n";
    const parsed = parseDatagram(Buffer.from(raw)) as SipMessage;
    expect(header(parsed, "Call-ID")).toBe("abc@h");
    expect(header(parsed, "via")).toContain("branch=z9hG4bK1");
    expect(header(parsed, "Subject")).toBe("one two");
  });

  it("refuses a body shorter than its Content-Length and drops bytes past it", () => {
    const short = parseDatagram(Buffer.from("OPTIONS sip:a@h SIP/2.0\r\nContent-Length: 10\r\n\r\nabc"));
    expect(isParseError(short)).toBe(true);
    const long = parseDatagram(
      Buffer.from("OPTIONS sip:a@h SIP/2.0\r\nContent-Length: 2\r\n\r\nabc"),
    ) as SipMessage;
    expect(long.body.toString()).toBe("ab");
  });
});
