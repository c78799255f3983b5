import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EslClient } from "../../src/esl/client.ts";
import { FrameDecoder } from "../../src/esl/decoder.ts";
import { EslEvent } from "../../src/esl/event.ts";
import type { EslFrame } from "../../src/esl/frame.ts";
import {
  parseTranscript,
  type ReplayMismatch,
  type ReplayServer,
  startReplay,
} from "../../src/fakeswitch/index.ts";
import { type CapturedFrame, capture, FIXTURES } from "./fixtures.ts";
import { CliProcess } from "./helpers.ts";

/** Replaying the captures: a client sees what the real FreeSWITCH sent it, frame for frame. */

const transcript = (stem: string) => join(FIXTURES, `${stem}.txt`);
let replay: ReplayServer | undefined;
afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

interface ScriptedRun {
  frames: EslFrame[];
  /** Every received byte, and when each chunk arrived (ms since connect). */
  bytes: Buffer;
  arrivals: Array<{ atMs: number; length: number }>;
}

/**
 * The recorded client: it writes each recorded `>>>` write once it has received as many bytes as the
 * recorded client had before making it, and closes when everything has come (or at the server's EOF).
 */
function scriptedClient(port: number, stem: string, writes?: string[]): Promise<ScriptedRun> {
  const steps = parseTranscript(readFileSync(transcript(stem)));
  const plan: Array<{ after: number; bytes: Buffer }> = [];
  let recorded = 0;
  for (const step of steps) {
    if (step.kind === "recv") recorded += step.bytes.length;
    if (step.kind === "sent") plan.push({ after: recorded, bytes: step.bytes });
  }
  for (const [i, write] of (writes ?? []).entries()) {
    const step = plan[i];
    if (step) step.bytes = Buffer.from(write);
  }
  const decoder = new FrameDecoder();
  const run: ScriptedRun = { frames: [], bytes: Buffer.alloc(0), arrivals: [] };
  const chunks: Buffer[] = [];
  let received = 0;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const writeDue = () => {
      while (plan.length > 0 && (plan[0]?.after ?? 0) <= received)
        socket.write(plan.shift()?.bytes as Buffer);
      if (plan.length === 0 && received >= recorded) socket.end();
    };
    socket.on("connect", writeDue);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      run.arrivals.push({ atMs: performance.now() - t0, length: chunk.length });
      received += chunk.length;
      run.frames.push(...decoder.push(chunk));
      writeDue();
    });
    socket.on("error", reject);
    socket.on("close", () => {
      run.bytes = Buffer.concat(chunks);
      resolve(run);
    });
  });
}

/** The capture's recv_frame items as (Content-Type, outer headers in order, body). */
function capturedFrames(stem: string) {
  return capture(stem)
    .filter((item) => item.dir === "recv_frame")
    .map((item) => {
      const f = item as CapturedFrame;
      return { headers: f.header_order.map((name) => [name, f.headers[name]]), body: f.body ?? "" };
    });
}
const decoded = (frames: EslFrame[]) =>
  frames.map((f) => ({ headers: f.headers.map(([k, v]) => [k, v]), body: f.bodyText() }));

const STEMS = [
  "01a-auth-success",
  "01b-auth-wrong-password",
  "01c-command-before-auth",
  "02-api-commands",
  "02b-api-originate-no-answer",
  "03-lifecycle-event-plain",
  "04a-lifecycle-event-json",
  "04b-event-xml",
  "07a-fsctl-shutdown-midstream",
  "07c-connect-during-startup",
  "07d-sigkill-midstream",
  "07e-sigterm-midstream",
  "09a-sip-error-responses",
  "09b-sip-183-early-media",
  "10-bridge-and-uuid-bridge",
  "11-inbound-call-uuid-commands",
  "14-log-data",
  "17-utf8-caller-id-name",
];

describe("replay of a capture transcript", () => {
  it.each(STEMS)("%s: the decoded frames equal the capture's, the bytes its .recv.raw", async (stem) => {
    replay = await startReplay({ file: transcript(stem), speed: Number.POSITIVE_INFINITY });
    const run = await scriptedClient(replay.port, stem);
    expect(decoded(run.frames)).toEqual(capturedFrames(stem));
    expect(run.bytes.equals(readFileSync(join(FIXTURES, `${stem}.recv.raw`)))).toBe(true);
    const report = await replay.nextReport();
    expect(report.mismatches).toEqual([]);
    expect(report.chunksSent).toBe(report.chunks);
    expect(report.end).toBe(stem.startsWith("01c") ? "client-closed" : "eof");
  });

  it("keeps the recorded timing, scaled: 02b's 32 s originate answers 320 ms after the write at speed 100", async () => {
    replay = await startReplay({ file: transcript("02b-api-originate-no-answer"), speed: 100 });
    const run = await scriptedClient(replay.port, "02b-api-originate-no-answer");
    // The chunk that answers the second originate (`-ERR RECOVERY_ON_TIMER_EXPIRE`) and the one before it.
    const at = (text: string) => {
      let offset = 0;
      for (const a of run.arrivals) {
        if (run.bytes.subarray(offset, offset + a.length).includes(text)) return a.atMs;
        offset += a.length;
      }
      throw new Error(`${text} never arrived`);
    };
    const gap = at("RECOVERY_ON_TIMER_EXPIRE") - at("NO_ANSWER");
    expect(gap).toBeGreaterThanOrEqual(315);
    expect(gap).toBeLessThan(700);
    // Each recv() chunk was written on its own: as many arrivals as recorded chunks, or nearly.
    expect(run.arrivals.length).toBeGreaterThanOrEqual((await replay.nextReport()).chunks - 2);
  });

  it("reports a client write that differs from the recorded one, and goes on", async () => {
    const mismatches: ReplayMismatch[] = [];
    replay = await startReplay({
      file: transcript("01a-auth-success"),
      speed: Number.POSITIVE_INFINITY,
      onMismatch: (m) => mismatches.push(m),
    });
    const run = await scriptedClient(replay.port, "01a-auth-success", ["auth Wrong\n\n"]);
    expect(run.frames.map((f) => f.header("Reply-Text") ?? f.contentType)).toEqual([
      "auth/request",
      "+OK accepted",
      "+OK bye",
      "text/disconnect-notice",
    ]);
    const want = { connection: 1, write: 0, expected: "auth ClueCon\n\n", received: "auth Wrong\n\n" };
    expect(mismatches).toEqual([want]);
    expect((await replay.nextReport()).mismatches).toEqual([want]);
  });

  it("without waiting for the client, plays on time alone and closes at the recorded EOF", async () => {
    replay = await startReplay({ file: transcript("01a-auth-success"), speed: 10, waitForClient: false });
    const decoder = new FrameDecoder();
    const frames: EslFrame[] = [];
    const t0 = performance.now();
    const socket = net.connect(replay.port, "127.0.0.1");
    socket.on("data", (chunk: Buffer) => frames.push(...decoder.push(chunk)));
    await new Promise((resolve) => socket.once("close", resolve));
    // exit's reply came 302 ms after the connect: 30 ms at speed 10.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(28);
    expect(decoded(frames)).toEqual(capturedFrames("01a-auth-success"));
  });

  it("the CLI: --replay FILE --speed max serves the capture and prints a report line per replay", async () => {
    const cli = CliProcess.start(["--replay", transcript("04b-event-xml"), "--speed", "max", "--port", "0"]);
    try {
      const ready = await cli.nextJson<{ listening: { port: number }; replay: string }>();
      const run = await scriptedClient(ready.listening.port, "04b-event-xml");
      expect(decoded(run.frames)).toEqual(capturedFrames("04b-event-xml"));
      const { replayed } = await cli.nextJson<{ replayed: { mismatches: unknown[]; end: string } }>();
      expect(replayed).toMatchObject({ connection: 1, mismatches: [], end: "eof" });
    } finally {
      cli.child.kill("SIGTERM");
      await cli.exited;
    }
  });

  it("refuses a transcript without a connection (07b)", async () => {
    await expect(startReplay({ file: transcript("07b-connect-refused-nothing-listening") })).rejects.toThrow(
      /no connection/,
    );
  });
});

describe("our EslClient against replayed captures", () => {
  it("02: every api command gets the captured response body, and the session ends as recorded", async () => {
    replay = await startReplay({ file: transcript("02-api-commands"), speed: 20 });
    const client = new EslClient({
      host: "127.0.0.1",
      port: replay.port,
      password: "ClueCon",
      reconnect: false,
    });
    client.on("error", () => {});
    await client.connect();
    const sent = capture("02-api-commands")
      .filter((i) => i.dir === "sent")
      .map((i) => i.data ?? "");
    const apis = sent.filter((s) => s.startsWith("api ")).map((s) => s.slice(4, -2));
    const want = capturedFrames("02-api-commands")
      .filter((f) => f.headers[0]?.[1] === "api/response")
      .map((f) => f.body);
    const bodies: string[] = [];
    for (const command of apis) bodies.push((await client.api(command, 5000)).body);
    expect(bodies).toEqual(want);
    await client.close();
    const report = await replay.nextReport();
    expect(report).toMatchObject({ mismatches: [], end: "eof" });
    expect(report.chunksSent).toBe(report.chunks);
  });

  it("07a: the client sees the recorded fsctl shutdown mid-stream, event for event, then the notice", async () => {
    replay = await startReplay({ file: transcript("07a-fsctl-shutdown-midstream"), speed: 10 });
    const client = new EslClient({
      host: "127.0.0.1",
      port: replay.port,
      password: "ClueCon",
      reconnect: false,
      events: { format: "plain", names: ["ALL"] },
    });
    client.on("error", () => {});
    const events: EslEvent[] = [];
    client.on("event", (e) => events.push(e));
    const notice = new Promise<string>((resolve) => client.once("disconnectNotice", resolve));
    const disconnected = new Promise((resolve) => client.once("disconnected", resolve));
    await client.connect();
    const originate = capture("07a-fsctl-shutdown-midstream").find((i) =>
      i.data?.startsWith("api originate"),
    );
    expect((await client.api((originate?.data ?? "").slice(4, -2), 5000)).ok).toBe(true);
    expect((await client.api("fsctl shutdown", 5000)).body).toBe("+OK\n");
    expect(await notice).toBe("The system is being shut down.\n");
    await disconnected;
    const wanted = capturedFrames("07a-fsctl-shutdown-midstream")
      .filter((f) => f.headers[1]?.[1] === "text/event-plain")
      .map((f) => EslEvent.fromFrame(new FrameDecoder().push(frameBytes(f))[0] as EslFrame));
    expect(events.map((e) => [e.name, e.sequence])).toEqual(wanted.map((e) => [e?.name, e?.sequence]));
    expect(events.filter((e) => e.name === "MODULE_UNLOAD")).toHaveLength(38);
    const report = await replay.nextReport();
    // Our client writes exactly what the recorded client wrote (ALL already covers BACKGROUND_JOB).
    expect(report.mismatches).toEqual([]);
    expect(report.end).toBe("eof");
    await client.close();
  });
});

function frameBytes(f: { headers: Array<Array<string | undefined>>; body: string }): Buffer {
  const head = f.headers.map(([k, v]) => `${k}: ${v}\n`).join("");
  return Buffer.concat([Buffer.from(`${head}\n`), Buffer.from(f.body)]);
}
