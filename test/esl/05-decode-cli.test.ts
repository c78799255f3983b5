/** Level 05: the esl-decode CLI as a user runs it, on a capture and on bad input. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
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

  test("--help prints the usage and exits 0", async () => {
    const { code, lines } = await run(["--help"]);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^usage: npm run esl-decode/);
  });
});
