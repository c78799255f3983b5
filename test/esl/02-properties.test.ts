/**
 * Level 02: properties of the codec over generated input. Frames survive any chunking; garbage never
 * throws; URL coding round-trips; command builders never let caller input change a command's shape.
 */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  Commands,
  callUrl,
  channelVariable,
  EslArgumentError,
  EslEvent,
  EslProtocolError,
  encodeCommand,
  encodeFrame,
  FrameDecoder,
  type HeaderList,
  originateArgs,
  serializeEvent,
  urlDecode,
  urlEncode,
} from "../../src/esl/index.ts";

const runs = { numRuns: 300 };

/** Header names as FreeSWITCH writes them; Content-Length is the encoder's to place. */
const headerName = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,24}$/)
  .filter((name) => name.toLowerCase() !== "content-length");
/** Any text on one line, multi-byte UTF-8 included. */
const headerValue = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, " "));
/** Bodies are opaque bytes to the framing: mix UTF-8 text with blank lines and raw bytes. */
const body = fc.oneof(
  fc
    .array(
      fc.oneof(fc.string({ unit: "grapheme", maxLength: 30 }), fc.constantFrom("\n\n", "\n", "\r\n\r\n")),
      {
        maxLength: 12,
      },
    )
    .map((parts) => Buffer.from(parts.join(""), "utf8")),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);

interface FrameSpec {
  headers: HeaderList;
  body: Buffer | undefined;
  /** Content-Length first, as in event frames, rather than last. */
  lengthFirst: boolean;
}

const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  headers: fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 8 }),
  body: fc.option(body, { nil: undefined }),
  lengthFirst: fc.boolean(),
});

function encodeSpec(spec: FrameSpec): Buffer {
  const headers: HeaderList =
    spec.body !== undefined && spec.lengthFirst ? [["Content-Length", ""], ...spec.headers] : spec.headers;
  return encodeFrame(headers, spec.body);
}

/** The frame the decoder must give back: the same headers, with the Content-Length where it was written. */
function expectedFrame(spec: FrameSpec) {
  const length = spec.body === undefined ? [] : [["Content-Length", String(spec.body.length)]];
  const headers = spec.lengthFirst ? [...length, ...spec.headers] : [...spec.headers, ...length];
  return { headers, body: spec.body?.toString("latin1") };
}

/** Cut points anywhere in a stream: every chunking from one piece to one byte per push is reachable. */
const cuts = fc.array(fc.nat({ max: 1 << 14 }), { maxLength: 40 });

function* chunked(stream: Buffer, at: number[]): Generator<Buffer> {
  const points = [...new Set(at.map((n) => n % (stream.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const point of [...points, stream.length]) {
    if (point > start) yield stream.subarray(start, point);
    start = Math.max(start, point);
  }
}

function decode(chunks: Iterable<Buffer>, decoder = new FrameDecoder()) {
  const frames = [];
  for (const chunk of chunks) frames.push(...decoder.push(chunk));
  // Bodies as latin1 text: byte-exact, and cheap to diff while fast-check shrinks a failure.
  const described = frames.map((f) => ({
    headers: f.headers.map((h) => [...h]),
    body: f.body?.toString("latin1"),
  }));
  return { frames: described, decoder };
}

describe("framing", () => {
  test("any sequence of frames decodes to itself under any chunking", () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 12 }), cuts, (specs, at) => {
        const stream = Buffer.concat(specs.map(encodeSpec));
        const { frames, decoder } = decode(chunked(stream, at));
        // A boolean, not expect(): fast-check shrinks through many failures, and a diff per step is slow.
        return decoder.idle && isDeepStrictEqual(frames, specs.map(expectedFrame));
      }),
      runs,
    );
  });

  test("one byte per push gives the same frames as one push", () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 4 }), (specs) => {
        const stream = Buffer.concat(specs.map(encodeSpec));
        const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
        return isDeepStrictEqual(decode(bytes).frames, decode([stream]).frames);
      }),
      { numRuns: 100 },
    );
  });

  test("plain and json events survive serialisation, framing and decoding", () => {
    const eventHeaders = fc.uniqueArray(
      fc.tuple(headerName, fc.string({ unit: "grapheme", maxLength: 30 })),
      {
        minLength: 1,
        maxLength: 10,
        selector: ([name]) => name,
      },
    );
    const eventBody = fc.option(fc.string({ unit: "grapheme", maxLength: 60 }), { nil: undefined });
    fc.assert(
      fc.property(
        fc.constantFrom("plain", "json"),
        eventHeaders,
        eventBody,
        cuts,
        (format, headers, text, at) => {
          const contentType = format === "plain" ? "text/event-plain" : "text/event-json";
          const frame = encodeFrame(
            [
              ["Content-Length", ""],
              ["Content-Type", contentType],
            ],
            serializeEvent(format, headers, text),
          );
          const { frames } = decode(chunked(frame, at));
          expect(frames).toHaveLength(1);
          const decoded = new FrameDecoder().push(frame)[0];
          const event = decoded ? EslEvent.fromFrame(decoded) : undefined;
          expect(event?.format).toBe(format);
          const withoutLength = (event?.headerNames() ?? []).filter((n) => n !== "Content-Length");
          expect(withoutLength.map((n) => [n, event?.get(n)])).toEqual(headers);
          expect(event?.body).toBe(text ?? "");
        },
      ),
      runs,
    );
  });
});

describe("lazy event lookups", () => {
  const knownName = fc.constantFrom(
    "Event-Name",
    "Unique-ID",
    "Hangup-Cause",
    "event-name",
    "_body",
    "A",
    "a",
    'x"Event-Name',
  );
  const name = fc.oneof(knownName, headerName);
  /** json keys may be any string; letter case of non-ASCII ones must still agree with a full parse. */
  const jsonName = fc.oneof(name, fc.constantFrom("Zoë", "ZOË", "zoë", "Ünïcødé"));
  /** Values seeded with what could fool a byte search: quotes, backslashes, names, fake keys. */
  const value = fc
    .array(
      fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 8 }),
        fc.constantFrom('"', "\\", '\\"', '":"', ',"Event-Name":"x', "Event-Name", "\nEvent-Name: x", "%0A"),
      ),
      { maxLength: 5 },
    )
    .map((parts) => parts.join(""));
  const headers = fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 12 });
  /** FreeSWITCH's json is compact; a lookup must not depend on that. */
  const space = fc.constantFrom("", " ", "\n  ");
  /** Most members are strings, as FreeSWITCH writes them; some are arrays or numbers. */
  const jsonValue = fc.oneof(
    { weight: 5, arbitrary: value.map((v) => JSON.stringify(v)) },
    fc.constantFrom('["a","b"]', "42", "null"),
  );

  function jsonPayload(members: Array<[string, string]>, ws: string): string {
    return `{${ws}${members.map(([k, v]) => `${JSON.stringify(k)}${ws}:${ws}${v}`).join(`,${ws}`)}${ws}}`;
  }

  test("reading one header finds what a full parse finds, for any name in any letter case", () => {
    const lookups = fc.array(
      fc.oneof(
        jsonName,
        jsonName.map((n) => n.toUpperCase()),
      ),
      {
        minLength: 1,
        maxLength: 6,
      },
    );
    const event = fc.oneof(
      headers.map((h) => ({ format: "plain" as const, payload: serializeEvent("plain", h) })),
      fc
        .tuple(fc.array(fc.tuple(jsonName, jsonValue), { minLength: 1, maxLength: 12 }), space)
        .map(([members, ws]) => ({ format: "json" as const, payload: jsonPayload(members, ws) })),
    );
    fc.assert(
      fc.property(event, lookups, ({ format, payload }, names) => {
        const parsed = new EslEvent(format, Buffer.from(payload));
        parsed.headerNames(); // from here on, lookups read the parsed map
        return names.every((n) => new EslEvent(format, Buffer.from(payload)).get(n) === parsed.get(n));
      }),
      { numRuns: 500 },
    );
  });
});

/** Bytes that look like ESL often enough to reach every decoder state. */
const eslish = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          "Content-Length: ",
          "Content-Type: ",
          ": ",
          ":",
          "\n",
          "\n\n",
          "\r\n",
          "%",
          "%zz",
          "%E2%98",
        ),
        fc.stringMatching(/^-?[0-9]{0,20}$/),
        fc.string({ unit: "binary", maxLength: 12 }),
      ),
      { maxLength: 40 },
    )
    .map((parts) => new Uint8Array(Buffer.from(parts.join(""), "utf8"))),
);

describe("garbage", () => {
  test("arbitrary bytes never throw out of push; a failure is an EslProtocolError and is final", () => {
    const limits = fc.constantFrom({}, { maxHeaderBytes: 64, maxBodyBytes: 128 });
    fc.assert(
      fc.property(fc.array(eslish, { maxLength: 8 }), limits, cuts, (parts, limit, at) => {
        const stream = Buffer.concat(parts);
        const decoder = new FrameDecoder(limit);
        for (const chunk of chunked(stream, at)) {
          const failedBefore = decoder.error !== undefined;
          const frames = decoder.push(chunk);
          if (failedBefore) expect(frames).toEqual([]);
          if (decoder.error !== undefined) {
            expect(decoder.error).toBeInstanceOf(EslProtocolError);
            expect(decoder.idle).toBe(false);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test("a protocol error reports the stream offset of the frame that failed, under any chunking", () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { maxLength: 6 }), cuts, (specs, at) => {
        const valid = Buffer.concat(specs.map(encodeSpec));
        const decoder = new FrameDecoder();
        for (const chunk of chunked(Buffer.concat([valid, Buffer.from("not a header line\n\n")]), at)) {
          decoder.push(chunk);
        }
        return decoder.error?.offset === valid.length;
      }),
      runs,
    );
  });

  test("a frame whose body is garbage never throws out of EslEvent, in any format", () => {
    fc.assert(
      fc.property(fc.constantFrom("plain", "json", "xml"), eslish, (format, bytes) => {
        const event = new EslEvent(format, Buffer.from(bytes));
        for (const name of event.headerNames()) expect(typeof event.get(name)).toBe("string");
        expect(typeof event.body).toBe("string");
        expect(typeof event.name).toBe("string");
      }),
      { numRuns: 500 },
    );
  });
});

describe("URL coding", () => {
  /** Well-formed strings: a lone surrogate has no UTF-8 form, so it cannot round-trip through bytes. */
  const text = fc.string({ unit: "binary", maxLength: 60 }).filter((s) => Buffer.from(s).toString() === s);

  test("urlDecode never throws, whatever it is given", () => {
    const percentHeavy = fc
      .array(fc.oneof(fc.constantFrom("%", "%2", "%zz", "%C3", "%E2%98", "%FF", "%25"), fc.string()), {
        maxLength: 20,
      })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), percentHeavy), (value) => {
        expect(typeof urlDecode(value)).toBe("string");
      }),
      { numRuns: 500 },
    );
  });

  test("urlDecode(urlEncode(s)) is s, and an encoded value is printable ASCII with no space", () => {
    fc.assert(
      fc.property(text, (value) => {
        const encoded = urlEncode(value);
        expect(encoded).toMatch(/^[\x21-\x7e]*$/);
        expect(urlDecode(encoded)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });
});

describe("command builders", () => {
  /** Caller input seeded with everything that could change a command's shape. */
  const hostile = fc
    .array(
      fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 6 }),
        fc.constantFrom(
          "\n",
          "\r",
          "\0",
          "\n\n",
          "{",
          "}",
          "[",
          "]",
          ",",
          "|",
          "'",
          " ",
          "=",
          "^^:",
          "\\",
          "\t",
        ),
        fc.stringMatching(/^[a-z0-9-]{1,12}$/),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join(""));

  /** Each builder with the number of line feeds its output has by construction. */
  const builders: Array<[string, (input: string) => string, number]> = [
    ["api command", (s) => Commands.api(s), 2],
    ["bgapi command", (s) => Commands.bgapi(s), 2],
    ["bgapi Job-UUID", (s) => Commands.bgapi("status", s || "x"), 3],
    ["auth password", (s) => Commands.auth(s), 2],
    ["event name", (s) => Commands.event("plain", [s]), 2],
    ["nixevent name", (s) => Commands.nixevent([s]), 2],
    ["filter header", (s) => Commands.filter(s, "x"), 2],
    ["filter value", (s) => Commands.filter("Unique-ID", s), 2],
    ["filter delete value", (s) => Commands.filterDelete("Unique-ID", s), 2],
    ["myevents uuid", (s) => Commands.myevents(s), 2],
    ["log level", (s) => Commands.log(s), 2],
    ["sendmsg uuid", (s) => Commands.sendmsg(s, { callCommand: "hangup" }), 4],
    ["sendmsg hangup cause", (s) => Commands.sendmsg("u1", { callCommand: "hangup", cause: s }), 4],
    ["sendmsg application", (s) => Commands.sendmsg("u1", { callCommand: "execute", application: s }), 4],
    [
      "sendmsg args",
      (s) => Commands.sendmsg("u1", { callCommand: "execute", application: "playback", args: s }),
      5,
    ],
    ["command header value", (s) => encodeCommand("sendmsg u1", [["x-header", s]]), 3],
  ];

  test.each(builders)(
    "%s: a line break or NUL is refused; accepted input never adds a line",
    (_field, build, lineFeeds) => {
      fc.assert(
        fc.property(hostile, (input) => {
          let encoded: string;
          try {
            encoded = build(input);
          } catch (error) {
            expect(error).toBeInstanceOf(EslArgumentError);
            return;
          }
          expect(input).not.toMatch(/[\r\n\0]/);
          expect(encoded).not.toMatch(/[\r\0]/);
          expect(encoded.split("\n").length - 1).toBe(lineFeeds);
          expect(encoded.endsWith("\n\n")).toBe(true);
        }),
        runs,
      );
    },
  );

  const delimiters = /[{}[\],|'\r\n\0]/;
  /** The app's argument is inside its parentheses: a call URL is fine there (bridge), a space is not. */
  const spaceOrQuote = /[\s'"\0]/;
  const originateParts: Array<[string, (input: string) => string, RegExp]> = [
    ["channel variable value", (s) => channelVariable("origination_caller_id_name", s), delimiters],
    [
      "global variable value",
      (s) => originateArgs({ legs: [{ dialString: "user/1000" }], variables: { v: s } }),
      delimiters,
    ],
    [
      "leg variable value",
      (s) => callUrl({ legs: [{ dialString: "user/1000", variables: { v: s } }] }),
      delimiters,
    ],
    ["variable name", (s) => channelVariable(s, "x"), delimiters],
    ["dial string", (s) => originateArgs({ legs: [{ dialString: s }] }), delimiters],
    [
      "second leg's dial string",
      (s) => callUrl({ legs: [{ dialString: "user/1" }, { dialString: s }] }),
      delimiters,
    ],
    [
      "extension",
      (s) => originateArgs({ legs: [{ dialString: "user/1" }], target: { extension: s } }),
      delimiters,
    ],
    [
      "context",
      (s) => originateArgs({ legs: [{ dialString: "user/1" }], target: { extension: "7001", context: s } }),
      delimiters,
    ],
    [
      "application args",
      (s) => originateArgs({ legs: [{ dialString: "user/1" }], target: { application: "bridge", args: s } }),
      spaceOrQuote,
    ],
  ];

  test.each(originateParts)(
    "%s: refuses what would split it; output stays one line",
    (_part, build, refused) => {
      fc.assert(
        fc.property(hostile, (input) => {
          let built: string;
          try {
            built = build(input);
          } catch (error) {
            expect(error).toBeInstanceOf(EslArgumentError);
            return;
          }
          expect(input).not.toMatch(refused);
          expect(built).not.toMatch(/[\r\n\0]/);
        }),
        runs,
      );
    },
  );

  test("numbers spliced into commands must be integers", () => {
    fc.assert(
      fc.property(fc.double(), (n) => {
        let encoded: string;
        try {
          encoded = Commands.linger(n);
        } catch (error) {
          expect(error).toBeInstanceOf(EslArgumentError);
          expect(Number.isSafeInteger(Math.trunc(n))).toBe(false);
          return;
        }
        expect(encoded).toMatch(/^linger -?\d+\n\n$/);
      }),
      runs,
    );
  });
});
