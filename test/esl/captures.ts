/** Loader for the FreeSWITCH 1.10 ESL captures in test/fixtures/freeswitch-esl (format: its README). */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encodeFrame, type HeaderList } from "../../src/esl/index.ts";

export const captureDir = fileURLToPath(new URL("../fixtures/freeswitch-esl/", import.meta.url));

export interface CapturedFrame {
  dir: "recv_frame";
  headers: Record<string, string>;
  header_order: string[];
  body: string | null;
  event_headers_raw?: Array<[string, string]>;
  event_headers_decoded?: Record<string, string>;
  event_body?: string;
  event_json?: Record<string, string>;
}

export type CaptureItem =
  | { dir: "sent" | "recv_chunk"; data: string; len: number }
  | CapturedFrame
  | { dir: "note"; text: string };

export interface Capture {
  name: string;
  items: CaptureItem[];
  /** NAME.recv.raw: every byte FreeSWITCH sent, in order. */
  raw: Buffer;
  /** The bytes of each recv() call, in order. */
  chunks: Buffer[];
  frames: CapturedFrame[];
  sent: string[];
}

export function captureNames(): string[] {
  return readdirSync(captureDir)
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length))
    .sort();
}

export function loadCapture(name: string): Capture {
  const { items } = JSON.parse(readFileSync(`${captureDir}${name}.json`, "utf8")) as { items: CaptureItem[] };
  const chunks: Buffer[] = [];
  const frames: CapturedFrame[] = [];
  const sent: string[] = [];
  for (const item of items) {
    if (item.dir === "recv_chunk") chunks.push(Buffer.from(item.data, "utf8"));
    else if (item.dir === "recv_frame") frames.push(item);
    else if (item.dir === "sent") sent.push(item.data);
  }
  return { name, items, raw: readFileSync(`${captureDir}${name}.recv.raw`), chunks, frames, sent };
}

/** A captured frame's outer headers in wire order. */
export function capturedHeaders(frame: CapturedFrame): HeaderList {
  return frame.header_order.map((name) => [name, frame.headers[name] ?? "(missing)"]);
}

/** A captured frame's exact bytes, for a scripted peer to replay. */
export function capturedBytes(frame: CapturedFrame): Buffer {
  return encodeFrame(capturedHeaders(frame), frame.body ?? undefined);
}
