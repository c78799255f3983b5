/**
 * `npm run bench esl [-- --mb 32 --rounds 7]`
 *
 * Decode throughput of our codec against modesl's parser, on the same bytes: the captured plain (03) and
 * json (04a) event frames of a call lifecycle, replicated into a stream of about `mb` MB and fed in 64 KiB
 * chunks. Ours is FrameDecoder + EslEvent reading Event-Name and Unique-ID of each event (the lazy decode
 * really runs); "ours, every header" reads them all. modesl is its Parser driven the way its Connection
 * drives it (socket 'data' in, 'esl::event' out), counted at the Parser: Connection's own re-emit per event
 * would only add to modesl's cost. Rounds alternate between decoders; medians are printed. Then modesl's
 * failure modes from the style guide, run as facts.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { EslEvent, encodeFrame, FrameDecoder, serializeEvent } from "../src/esl/index.ts";

const { values } = parseArgs({
  options: { mb: { type: "string", default: "32" }, rounds: { type: "string", default: "7" } },
});
const targetBytes = Number(values.mb) * 1024 * 1024;
const rounds = Number(values.rounds);
const chunkSize = 64 * 1024;

// modesl allocates with the deprecated `new Buffer()`; its warning is noise here.
process.noDeprecation = true;
const require = createRequire(import.meta.url);
const ModeslParser = require("modesl/lib/esl/Parser.js") as new (
  socket: EventEmitter,
) => EventEmitter & { buffer: Buffer };
interface ModeslEvent {
  getHeader(name: string): string | null;
}

const fixtures = new URL("../test/fixtures/freeswitch-esl/", import.meta.url);

/** The event frames of one capture, byte for byte as FreeSWITCH sent them. */
function eventFrames(capture: string, contentType: string): Buffer[] {
  const raw = readFileSync(new URL(`${capture}.recv.raw`, fixtures));
  return new FrameDecoder()
    .push(raw)
    .filter((frame) => frame.contentType === contentType)
    .map((frame) => encodeFrame(frame.headers, frame.body));
}

interface Workload {
  name: string;
  chunks: Buffer[];
  events: number;
  bytes: number;
  meanEventBytes: number;
}

function workload(name: string, frames: Buffer[]): Workload {
  const once = Buffer.concat(frames);
  const copies = Math.max(1, Math.round(targetBytes / once.length));
  const stream = Buffer.concat(Array.from({ length: copies }, () => once));
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunkSize) chunks.push(stream.subarray(at, at + chunkSize));
  const events = frames.length * copies;
  return {
    name,
    chunks,
    events,
    bytes: stream.length,
    meanEventBytes: Math.round(once.length / frames.length),
  };
}

type Decoder = (chunks: Buffer[]) => number;

/** Ours: frames, then events read lazily; the two headers a router looks at. */
const ours: Decoder = (chunks) => {
  const decoder = new FrameDecoder();
  let events = 0;
  let check = 0;
  for (const chunk of chunks) {
    for (const frame of decoder.push(chunk)) {
      const event = EslEvent.fromFrame(frame);
      if (!event) continue;
      check += event.name.length + (event.uniqueId?.length ?? 0);
      events++;
    }
  }
  if (check === 0) throw new Error("no headers read");
  return events;
};

/** Ours when the consumer wants every header decoded, as modesl always does. */
const oursEveryHeader: Decoder = (chunks) => {
  const decoder = new FrameDecoder();
  let events = 0;
  for (const chunk of chunks) {
    for (const frame of decoder.push(chunk)) {
      const event = EslEvent.fromFrame(frame);
      if (!event) continue;
      if (Object.keys(event.headers()).length === 0) throw new Error("no headers read");
      events++;
    }
  }
  return events;
};

const modesl: Decoder = (chunks) => {
  const socket = new EventEmitter();
  const parser = new ModeslParser(socket);
  let events = 0;
  let check = 0;
  parser.on("esl::event", (event: ModeslEvent) => {
    check += (event.getHeader("Event-Name")?.length ?? 0) + (event.getHeader("Unique-ID")?.length ?? 0);
    events++;
  });
  for (const chunk of chunks) socket.emit("data", chunk);
  if (check === 0) throw new Error("no headers read");
  return events;
};

const decoders: Array<[string, Decoder]> = [
  ["ours", ours],
  ["ours, every header", oursEveryHeader],
  ["modesl", modesl],
];

interface Figures {
  eventsPerSecond: number;
  megabytesPerSecond: number;
}

function measure(load: Workload): Map<string, Figures> {
  const samples = new Map<string, Figures[]>(decoders.map(([name]) => [name, []]));
  for (let round = -1; round < rounds; round++) {
    // Rotate the order each round so no decoder always runs on a cold or a warm heap.
    const shift = Math.max(0, round) % decoders.length;
    for (const [name, decode] of [...decoders.slice(shift), ...decoders.slice(0, shift)]) {
      const start = performance.now();
      const events = decode(load.chunks);
      const seconds = (performance.now() - start) / 1000;
      if (events !== load.events)
        throw new Error(`${name} decoded ${events} events, expected ${load.events}`);
      if (round >= 0) {
        samples.get(name)?.push({
          eventsPerSecond: events / seconds,
          megabytesPerSecond: load.bytes / 1e6 / seconds,
        });
      }
    }
  }
  return new Map(
    [...samples].map(([name, list]) => [
      name,
      {
        eventsPerSecond: median(list.map((s) => s.eventsPerSecond)),
        megabytesPerSecond: median(list.map((s) => s.megabytesPerSecond)),
      },
    ]),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

console.log(
  `ESL decode throughput: ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} cores; one used), node ${process.version}`,
);
// The machine may be shared: the 1-minute load average says how far to trust the absolute figures.
console.log(
  `${rounds} rounds after one warm-up, 64 KiB chunks; medians; load average ${fmt(os.loadavg()[0] ?? 0, 1)}\n`,
);

const loads = [
  workload("plain (03)", eventFrames("03-lifecycle-event-plain", "text/event-plain")),
  workload("json (04a)", eventFrames("04a-lifecycle-event-json", "text/event-json")),
];
for (const load of loads) {
  console.log(
    `${load.name}: ${fmt(load.events)} events, ${fmt(load.bytes / 1e6, 1)} MB, ${fmt(load.meanEventBytes)} B/event`,
  );
  const figures = measure(load);
  for (const [name, f] of figures) {
    console.log(
      `  ${name.padEnd(20)} ${fmt(f.eventsPerSecond).padStart(10)} events/s ${fmt(f.megabytesPerSecond, 1).padStart(8)} MB/s`,
    );
  }
  const ratio = (figures.get("ours")?.eventsPerSecond ?? 0) / (figures.get("modesl")?.eventsPerSecond ?? 1);
  const everyRatio =
    (figures.get("ours, every header")?.eventsPerSecond ?? 0) / (figures.get("modesl")?.eventsPerSecond ?? 1);
  console.log(`  ours / modesl: ${fmt(ratio, 1)}x (every header: ${fmt(everyRatio, 1)}x); target >= 5x\n`);
  if (load.name.startsWith("json")) {
    const rate = figures.get("ours")?.eventsPerSecond ?? 0;
    console.log(`  json target >= 100,000 events/s on one core: ${rate >= 100_000 ? "met" : "missed"}\n`);
  }
}

console.log("modesl failure modes (facts, same input to both decoders):");

// 20,000 small frames in one chunk: modesl's parser recurses once per frame.
const replies = Buffer.from("Content-Type: command/reply\nReply-Text: +OK\n\n".repeat(20_000), "latin1");
const oursCount = new FrameDecoder().push(replies).length;
console.log(
  `  20,000 command/reply frames in one chunk: ours decodes ${fmt(oursCount)}; modesl ${tryModesl(replies)}`,
);

// A plain event with a malformed percent-escape: modesl calls decodeURIComponent inside 'data'.
const malformed = encodeFrame(
  [
    ["Content-Length", ""],
    ["Content-Type", "text/event-plain"],
  ],
  serializeEvent("plain", [["Event-Name", "CUSTOM"]]).replace("\n\n", "\nvariable_x: 100%zz\n\n"),
);
const [malformedFrame] = new FrameDecoder().push(malformed);
const oursValue = malformedFrame && EslEvent.fromFrame(malformedFrame)?.variable("x");
console.log(
  `  plain event with "variable_x: 100%zz": ours reads ${JSON.stringify(oursValue)}; modesl ${tryModesl(malformed)}`,
);

function tryModesl(bytes: Buffer): string {
  const socket = new EventEmitter();
  const parser = new ModeslParser(socket);
  let events = 0;
  parser.on("esl::event", () => events++);
  try {
    socket.emit("data", bytes);
    return `emits ${fmt(events)} events`;
  } catch (error) {
    // In a real socket this throw escapes the 'data' handler: an uncaught exception.
    return `throws out of its 'data' handler after ${fmt(events)} events: ${(error as Error).name}: ${(error as Error).message}`;
  }
}
