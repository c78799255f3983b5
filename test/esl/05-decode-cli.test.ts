/** Level 05: the esl-decode CLI as a user runs it, on a capture and on bad input. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeEslStream } from "../../src/esl/decode-stream.ts";
import { captureDir, loadCapture } from "./captures.ts";

const cli = fileURLToPath(new URL("../../src/esl/decode-cli.ts", import.meta.url));

function run(args: string[], stdin?: string): Promise<{ code: number; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", cli, ...args], (error, stdout, stderr) => {
      const code = error ? Number(error.code ?? 1) : 0;
      resolve({ code, lines: stdout.split("\n").filter((l) => l !== ""), stderr });
    });
    child.stdin?.end(stdin ?? "");
  });
}

describe("npm run esl-decode", () => {
  const capture = loadCapture("09a-sip-error-responses");

  test("prints one JSON line per frame of a raw capture, events decoded", async () => {
    const { code, lines } = await run([`${captureDir}${capture.name}.recv.raw`]);
    expect(code).toBe(0);
    const printed = lines.map((line) => JSON.parse(line));
    expect(printed).toHaveLength(capture.frames.length);
    printed.forEach((frame, i) => {
      const captured = capture.frames[i];
      expect(frame.contentType).toBe(captured?.headers["Content-Type"]);
      expect(frame.headers.map(([name]: [string]) => name)).toEqual(captured?.header_order);
      expect(frame.body).toBe(captured?.body);
      if (captured?.event_headers_decoded === undefined) expect(frame.event).toBeUndefined();
      else {
        expect(frame.event.name).toBe(captured.event_headers_decoded["Event-Name"]);
        expect(Object.fromEntries(frame.event.headers)).toEqual(captured.event_headers_decoded);
        expect(frame.event.body).toBe(captured.event_body ?? "");
      }
    });
  });

  test("decodes only the received (<<<) bytes of a .txt transcript", async () => {
    const [raw, transcript] = await Promise.all([
      run([`${captureDir}${capture.name}.recv.raw`]),
      run([`${captureDir}${capture.name}.txt`]),
    ]);
    expect(transcript.code).toBe(0);
    expect(transcript.lines).toEqual(raw.lines);
  });

  test("reports a protocol error with its offset on stdin, and exits 1", async () => {
    const good = "Content-Type: api/response\nContent-Length: 4\n\n+OK\n";
    const { code, lines } = await run([], `${good}this is not a header\n\n`);
    expect(code).toBe(1);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ contentType: "api/response", body: "+OK\n" });
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({ offset: Buffer.byteLength(good), state: "headers" });
  });

  test("reports an event of 100,000 nested arrays as malformed, goes on, and exits 1", async () => {
    const deep = `{"Event-Name":"CUSTOM","x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const { code, lines, stderr } = await run(
      [],
      `${jsonEvent(deep)}${jsonEvent('{"Event-Name":"HEARTBEAT"}')}`,
    );
    expect(stderr).toBe("");
    expect(code).toBe(1);
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { error: expect.stringMatching(/^malformed text\/event-json event: "x" holds nested JSON/) },
      { event: { name: "HEARTBEAT" } },
    ]);
  });

  test("says that random bytes are not ESL", async () => {
    const { code, lines } = await run([], "\u00c7\u0001\u00ff garbage with no header line");
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ error: expect.stringMatching(/^not ESL/), offset: 0 });
  });

  test("reports a json event body that does not parse as malformed, not as an event, and exits 1", async () => {
    const { code, lines } = await run([], jsonEvent('{"Event-Name": "X", broken'));
    expect(code).toBe(1);
    const [printed] = lines.map((line) => JSON.parse(line));
    expect(printed.event).toBeUndefined();
    expect(printed.error).toMatch(/^malformed text\/event-json event: the body is not JSON/);
  });

  test("--help prints the usage and exits 0", async () => {
    const { code, lines } = await run(["--help"]);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^usage: npm run esl-decode/);
  });
});

function jsonEvent(body: string): string {
  return `Content-Type: text/event-json\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`;
}

/** Runs the decoder in-process over `chunks`: its exit status and the parsed lines it printed. */
async function decode(...chunks: Array<string | Uint8Array>) {
  // biome-ignore lint/suspicious/noExplicitAny: output lines are JSON read field by field in assertions
  const lines: any[] = [];
  async function* input() {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }
  const status = await decodeEslStream(input(), (line) => lines.push(JSON.parse(line)));
  return { status, lines };
}

const heartbeat = jsonEvent('{"Event-Name":"HEARTBEAT"}');

describe("esl-decode properties", () => {
  test("any bytes: no throw, JSON lines only, and exit 1 exactly when a line reports an error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }), async (chunks) => {
        const { status, lines } = await decode(...chunks);
        expect(status).toBe(lines.some((line) => "error" in line) ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });

  test("bytes that cannot begin a header line are reported as not ESL, whatever follows", async () => {
    const notNameByte = fc.integer({ min: 0, max: 255 }).filter((b) => b < 0x21 || b > 0x7e || b === 0x3a);
    await fc.assert(
      fc.asyncProperty(
        notNameByte.filter((b) => b !== 0x0a && b !== 0x0d),
        fc.uint8Array({ maxLength: 200 }),
        async (first, rest) => {
          const { status, lines } = await decode(Uint8Array.of(first), rest, heartbeat);
          expect(status).toBe(1);
          expect(lines).toEqual([expect.objectContaining({ error: expect.stringMatching(/^not ESL/) })]);
        },
      ),
    );
  });

  test("a json event body that is not one flat object is reported, and the next event still decodes", async () => {
    const flat = fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })));
    const notFlat = fc.oneof(
      fc.string().filter((text) => !parses(text)),
      fc
        .jsonValue()
        .map((value) => JSON.stringify(value))
        .filter((text) => !isFlatEvent(JSON.parse(text))),
      fc.tuple(flat, fc.integer({ min: 2, max: 5_000 })).map(([fields, depth]) => {
        const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
        return `${JSON.stringify({ ...fields, "Event-Name": "CUSTOM" }).slice(0, -1)},"nested":${nested}}`;
      }),
    );
    await fc.assert(
      fc.asyncProperty(notFlat, async (body) => {
        const { status, lines } = await decode(jsonEvent(body), heartbeat);
        expect(status).toBe(1);
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatchObject({
          error: expect.stringMatching(/^malformed text\/event-json event: /),
        });
        expect(lines[0].event).toBeUndefined();
        expect(lines[1]).toMatchObject({ event: { name: "HEARTBEAT" } });
      }),
    );
  });

  test("a flat json event with an Event-Name decodes, exit 0", async () => {
    const value = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }));
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string(), value),
        fc.string({ minLength: 1 }),
        async (fields, name) => {
          const { status, lines } = await decode(
            jsonEvent(JSON.stringify({ ...fields, "Event-Name": name })),
          );
          expect(status).toBe(0);
          expect(lines).toMatchObject([{ event: { name } }]);
        },
      ),
    );
  });
});

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** One object of strings and lists of scalars, with a non-empty Event-Name: what FreeSWITCH sends. */
function isFlatEvent(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const scalar = (v: unknown) => typeof v !== "object" || v === null;
  const record = value as Record<string, unknown>;
  return (
    Object.values(record).every((v) => scalar(v) || (Array.isArray(v) && v.every(scalar))) &&
    typeof record["Event-Name"] === "string" &&
    record["Event-Name"] !== ""
  );
}
