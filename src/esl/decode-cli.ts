/**
 * `npm run esl-decode -- [FILE]`: decode an ESL byte stream into one JSON line per frame.
 * Reads a raw server-to-client stream (NAME.recv.raw, or `nc 127.0.0.1 8021 | …`) or a capture transcript
 * (NAME.txt: `<<<`/`>>>`/`###` marker lines, of which only `<<<` bytes are decoded); stdin when FILE is
 * absent or `-`.
 */
import { createReadStream } from "node:fs";
import { FrameDecoder } from "./decoder.ts";
import { EslEvent } from "./event.ts";
import type { EslFrame } from "./frame.ts";
import { parseTranscript } from "./transcript.ts";

const usage = `usage: npm run esl-decode -- [FILE|-]

Decodes FreeSWITCH Event Socket bytes and prints one JSON object per frame:
  {"contentType", "headers": [[name, value], ...], "body",
   "event": {"name", "headers": [[name, decoded value], ...], "body"}}   (event frames only)

FILE is a raw server-to-client stream (a capture's .recv.raw) or a capture transcript (.txt with
">>>", "<<<" and "###" marker lines; only the "<<<" bytes, what the server sent, are decoded). The
kind is told from the first bytes. Without FILE, or with "-", stdin is read.

On bytes that are not ESL it prints {"error", "offset", "state", "excerpt"} and exits 1; a stream that
ends inside a frame prints {"error", "offset"} and exits 1 too.`;

/** One output line's object: the frame, and for an event frame the event read through EslEvent. */
function describeFrame(frame: EslFrame): Record<string, unknown> {
  const described: Record<string, unknown> = {
    contentType: frame.contentType ?? null,
    headers: frame.headers,
    body: frame.body === undefined ? null : frame.bodyText(),
  };
  const event = EslEvent.fromFrame(frame);
  if (event) {
    described.event = {
      name: event.name,
      headers: event.headerNames().map((name) => [name, event.get(name)]),
      body: event.body,
    };
  }
  return described;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return 0;
  }
  if (args.length > 1 || args.some((a) => a.startsWith("-") && a !== "-")) {
    console.error(usage);
    return 2;
  }
  const file = args[0];
  const input = file === undefined || file === "-" ? process.stdin : createReadStream(file);
  const decoder = new FrameDecoder();
  const print = (frames: EslFrame[]) => {
    for (const frame of frames) process.stdout.write(`${JSON.stringify(describeFrame(frame))}\n`);
  };
  // Raw streams are decoded as they arrive (a live `nc` pipe); a transcript is read whole first.
  let transcript: Buffer[] | undefined;
  let first = true;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (first && isTranscriptStart(chunk)) transcript = [];
    first = false;
    if (transcript) transcript.push(chunk);
    else print(decoder.push(chunk));
    if (decoder.error) break;
  }
  if (transcript)
    for (const step of parseTranscript(Buffer.concat(transcript)))
      if (step.kind === "recv") print(decoder.push(step.bytes));
  const { error } = decoder;
  if (error) {
    const { message, offset, state, excerpt } = error;
    console.log(JSON.stringify({ error: message, offset, state, excerpt }));
    return 1;
  }
  if (!decoder.idle) {
    console.log(JSON.stringify({ error: "the stream ends inside a frame", offset: decoder.frameStart }));
    return 1;
  }
  return 0;
}

function isTranscriptStart(chunk: Buffer): boolean {
  const head = chunk.toString("latin1", 0, 4);
  return head === "<<< " || head === ">>> " || head === "### ";
}

// A reader that closes the pipe early (`| head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2)).catch((error: Error) => {
  console.error(error.message);
  return 2;
});
