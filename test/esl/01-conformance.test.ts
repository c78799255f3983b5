/**
 * Level 01: the codec against real FreeSWITCH 1.10.12 bytes. Every capture in test/fixtures/freeswitch-esl
 * is decoded whole, one byte at a time and along its original recv() boundaries, and must give exactly the
 * frames and events the capture's JSON lists; every command the capture client wrote must come out of our
 * encoder byte for byte.
 */
import { describe, expect, test } from "vitest";
import {
  Commands,
  callUrl,
  EslEvent,
  type EslFrame,
  type EventFormat,
  FrameDecoder,
  type OriginateLeg,
  type OriginateRequest,
  originateArgs,
  serializeEvent,
  urlDecode,
  urlEncode,
} from "../../src/esl/index.ts";
import {
  type Capture,
  type CapturedFrame,
  capturedBytes,
  capturedHeaders,
  captureNames,
  loadCapture,
} from "./captures.ts";

const captures: Capture[] = captureNames().map(loadCapture);

/** What a frame is, in the fixture's own terms: ordered outer headers and the body as text (null: none). */
function described(frame: EslFrame) {
  return {
    headers: frame.headers.map(([name, value]) => [name, value]),
    body: frame.body?.toString("utf8") ?? null,
  };
}
function expected(frame: CapturedFrame) {
  return { headers: capturedHeaders(frame), body: frame.body };
}

function decodeAll(chunks: Iterable<Buffer>): { frames: EslFrame[]; decoder: FrameDecoder } {
  const decoder = new FrameDecoder();
  const frames: EslFrame[] = [];
  for (const chunk of chunks) frames.push(...decoder.push(chunk));
  return { frames, decoder };
}

function* bytesOf(raw: Buffer): Generator<Buffer> {
  for (let i = 0; i < raw.length; i++) yield raw.subarray(i, i + 1);
}

/** Frames decoded from the whole stream, paired with the capture's parsed frames. */
function pairedFrames(capture: Capture): Array<[EslFrame, CapturedFrame]> {
  const { frames } = decodeAll([capture.raw]);
  expect(frames).toHaveLength(capture.frames.length);
  return frames.map((frame, i) => [frame, capture.frames[i] as CapturedFrame]);
}

test("the fixture folder holds the captures this suite was written against", () => {
  expect(captures.length).toBeGreaterThanOrEqual(19);
  expect(captures.reduce((n, c) => n + c.frames.length, 0)).toBeGreaterThanOrEqual(850);
});

describe.each(captures.map((capture) => [capture.name, capture] as const))("%s", (_name, capture) => {
  const expectedFrames = capture.frames.map(expected);

  test("the recv chunks add up to the raw stream", () => {
    expect(Buffer.concat(capture.chunks).equals(capture.raw)).toBe(true);
  });

  test.each([
    ["whole", () => [capture.raw]],
    ["one byte at a time", () => bytesOf(capture.raw)],
    ["along the original recv() boundaries", () => capture.chunks],
  ] as const)("decodes %s into the captured frames", (_how, chunks) => {
    const { frames, decoder } = decodeAll(chunks());
    expect(decoder.error).toBeUndefined();
    expect(decoder.idle).toBe(true);
    expect(frames.map(described)).toEqual(expectedFrames);
    for (const frame of frames) {
      const declared = frame.header("Content-Length");
      expect(frame.body?.length).toBe(declared === undefined ? undefined : Number(declared));
    }
  });

  test("re-encodes every frame to its original bytes", () => {
    const encoded = capture.frames.map(capturedBytes);
    expect(Buffer.concat(encoded).equals(capture.raw)).toBe(true);
  });

  const plain = capture.frames.filter((f) => f.event_headers_raw !== undefined);
  if (plain.length > 0)
    test("text/event-plain: headers in order, URL-decoded, and the event body", () => {
      for (const [frame, captured] of pairedFrames(capture)) {
        if (captured.event_headers_decoded === undefined) continue;
        expect(frame.contentType).toBe("text/event-plain");
        const event = EslEvent.fromFrame(frame) as EslEvent;
        const decoded = captured.event_headers_decoded;
        // FreeSWITCH repeats some headers (Hangup-Cause, PRIVATE_COMMAND's whole preamble); the fixture keeps
        // each name at its first position with its last value, as EslEvent does.
        expect(event.headerNames()).toEqual(Object.keys(decoded));
        expect(Object.fromEntries(event.headerNames().map((n) => [n, event.get(n)]))).toEqual(decoded);
        expect(event.body).toBe(captured.event_body ?? "");
        expect(Object.entries(event.headers())).toEqual(Object.entries(decoded));
        expectLookups(frame, decoded);
      }
    });

  if (plain.length > 0)
    test("urlEncode(decoded value) reproduces every raw event header value", () => {
      for (const captured of plain) {
        const raw = captured.event_headers_raw ?? [];
        const lastRaw = new Map(raw);
        for (const [name, value] of lastRaw)
          expect(urlEncode(captured.event_headers_decoded?.[name] ?? "")).toBe(value);
        for (const [, value] of raw) expect(urlEncode(urlDecode(value))).toBe(value);
      }
    });

  if (plain.length > 0)
    test("serializeEvent('plain') rebuilds every plain event body byte for byte", () => {
      for (const captured of plain) {
        const headers = (captured.event_headers_raw ?? []).map(([n, v]) => [n, urlDecode(v)] as const);
        expect(serializeEvent("plain", headers, captured.event_body)).toBe(captured.body);
      }
    });

  const json = capture.frames.filter((f) => f.event_json !== undefined);
  if (json.length > 0)
    test("text/event-json: headers in order, raw values, and _body as the event body", () => {
      for (const [frame, captured] of pairedFrames(capture)) {
        if (captured.event_json === undefined) continue;
        expect(frame.contentType).toBe("text/event-json");
        const event = EslEvent.fromFrame(frame) as EslEvent;
        const { _body, ...headers } = captured.event_json;
        expect(event.headerNames()).toEqual(Object.keys(headers));
        expect(Object.fromEntries(event.headerNames().map((n) => [n, event.get(n)]))).toEqual(headers);
        expect(event.body).toBe(_body ?? "");
        expect(Object.entries(event.headers())).toEqual(Object.entries(headers));
        expectLookups(frame, headers);
      }
    });

  if (json.length > 0)
    test("serializeEvent('json') rebuilds every json event body that has no repeated key", () => {
      let rebuilt = 0;
      for (const captured of json) {
        const { _body, ...headers } = captured.event_json ?? {};
        // The fixture's event_json is a JSON object and cannot carry FreeSWITCH's repeated keys.
        if ((captured.body?.match(/":"/g) ?? []).length !== Object.keys(captured.event_json ?? {}).length)
          continue;
        expect(serializeEvent("json", Object.entries(headers), _body)).toBe(captured.body);
        rebuilt++;
      }
      expect(rebuilt).toBeGreaterThan(json.length * 0.8);
    });

  const xml = capture.frames.filter((f) => f.headers["Content-Type"] === "text/event-xml");
  if (xml.length > 0)
    test("text/event-xml: headers in order, URL-decoded, and BACKGROUND_JOB's body", () => {
      const bgapiUuid = /origination_uuid=([0-9a-f-]{36})/.exec(
        capture.sent.find((s) => s.startsWith("bgapi")) ?? "",
      );
      let jobs = 0;
      for (const [frame, captured] of pairedFrames(capture)) {
        if (frame.contentType !== "text/event-xml") continue;
        // An independent reading of switch_event_xmlize(): one `    <Name>value</Name>` line per header.
        const lines = (captured.body ?? "").split("\n");
        const block = lines.slice(lines.indexOf("  <headers>") + 1, lines.indexOf("  </headers>"));
        const headers = block.map((line) => {
          const match = /^ {4}<([^>]+)>(.*)<\/\1>$/.exec(line);
          expect(match, line).not.toBeNull();
          return [match?.[1] ?? "", decodeURIComponent(match?.[2] ?? "")] as const;
        });
        const event = EslEvent.fromFrame(frame) as EslEvent;
        expect(event.format).toBe("xml");
        // Repeated names (Hangup-Cause) keep their first position and last value, as in plain events.
        const unique = new Map(headers);
        expect(event.headerNames()).toEqual([...unique.keys()]);
        expect(event.headerNames().map((n) => [n, event.get(n)])).toEqual([...unique]);
        if (event.name === "BACKGROUND_JOB") {
          jobs++;
          expect(event.body).toBe(`+OK ${bgapiUuid?.[1]}\n`);
        } else expect(event.body).toBe("");
      }
      expect(jobs).toBe(1);
    });

  if (capture.sent.length > 0)
    test("every command sent is byte-identical to what our encoder builds", () => {
      for (const sent of capture.sent) expect(rebuildThroughEncoder(sent)).toBe(sent);
    });
});

/**
 * Lookups on a fresh event take the scanning path (no full parse): every header by its own name, by its
 * name in upper case (FreeSWITCH's events hold case variants: Channel-Read-Codec-Name and
 * channel-read-codec-name), and names the event does not have.
 */
function expectLookups(frame: EslFrame, headers: Record<string, string>): void {
  const names = Object.keys(headers);
  const exact = EslEvent.fromFrame(frame) as EslEvent;
  expect(Object.fromEntries(names.map((n) => [n, exact.get(n)]))).toEqual(headers);
  const ignoringCase = (name: string) =>
    headers[name] ?? headers[names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? ""];
  const shouting = EslEvent.fromFrame(frame) as EslEvent;
  const upper = names.map((n) => n.toUpperCase());
  expect(upper.map((n) => shouting.get(n))).toEqual(upper.map(ignoringCase));
  const fresh = EslEvent.fromFrame(frame) as EslEvent;
  expect([fresh.name, fresh.uniqueId, fresh.get("No-Such-Header")]).toEqual([
    headers["Event-Name"],
    headers["Unique-ID"],
    undefined,
  ]);
}

/** Parse a captured command and build it again through Commands / originateArgs / callUrl. */
function rebuildThroughEncoder(sent: string): string {
  expect(sent.endsWith("\n\n")).toBe(true);
  const line = sent.slice(0, -2);
  const [verb = "", rest = ""] = splitOnce(line, " ");
  switch (verb) {
    case "auth":
      return Commands.auth(rest);
    case "api":
      return Commands.api(rebuildApiCommand(rest));
    case "bgapi":
      return Commands.bgapi(rebuildApiCommand(rest));
    case "event": {
      const [format, ...names] = rest.split(" ");
      return Commands.event(format as EventFormat, names);
    }
    case "log":
      return Commands.log(rest);
    case "nolog":
      return Commands.nolog();
    case "noevents":
      return Commands.noevents();
    case "exit":
      return Commands.exit();
    default:
      throw new Error(`no encoder for the captured command ${JSON.stringify(line)}`);
  }
}

function rebuildApiCommand(command: string): string {
  const [name = "", args = ""] = splitOnce(command, " ");
  return name === "originate" ? `originate ${originateArgs(parseOriginate(args))}` : command;
}

/** The inverse of originateArgs: `<call url> &app(args)` or `<call url> exten [dialplan [context]]`. */
function parseOriginate(args: string): OriginateRequest {
  const split = indexOutsideQuotes(args, " ");
  const url = args.slice(0, split);
  const target = args.slice(split + 1);
  const app = /^&([a-z_]+)\((.*)\)$/.exec(target);
  if (app) {
    const [, application = "", appArgs = ""] = app;
    // bridge's argument is itself a call URL: rebuild it through callUrl too.
    const rebuiltArgs = application === "bridge" ? callUrl(parseCallUrl(appArgs)) : appArgs;
    return { ...parseCallUrl(url), target: { application, args: rebuiltArgs } };
  }
  const [extension = "", dialplan, context] = target.split(" ");
  return { ...parseCallUrl(url), target: { extension, dialplan, context } };
}

function parseCallUrl(url: string): Required<Pick<OriginateRequest, "legs" | "mode" | "variables">> {
  const match = /^(?:\{([^}]*)\})?(.*)$/s.exec(url);
  const legsText = match?.[2] ?? "";
  const sequential = /\|(?![^[]*\])/.test(legsText);
  const legs: OriginateLeg[] = legsText.split(sequential ? /\|(?![^[]*\])/ : /,(?![^[]*\])/).map((leg) => {
    const local = /^(?:\[([^\]]*)\])?(.+)$/s.exec(leg);
    return { dialString: local?.[2] ?? "", variables: parseVariables(local?.[1]) };
  });
  return { legs, mode: sequential ? "sequential" : "simultaneous", variables: parseVariables(match?.[1]) };
}

function parseVariables(text: string | undefined): Record<string, string> {
  const variables: Record<string, string> = {};
  let rest = text ?? "";
  while (rest.length > 0) {
    const end = indexOutsideQuotes(rest, ",");
    const [name = "", value = ""] = splitOnce(rest.slice(0, end), "=");
    variables[name] = value.startsWith("'") && value.endsWith("'") ? value.slice(1, -1) : value;
    rest = rest.slice(end + 1);
  }
  return variables;
}

function indexOutsideQuotes(text: string, separator: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "'") quoted = !quoted;
    else if (!quoted && text[i] === separator) return i;
  }
  return text.length;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ""] : [text.slice(0, at), text.slice(at + separator.length)];
}
