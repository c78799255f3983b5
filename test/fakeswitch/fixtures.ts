import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EslFrame } from "../../src/esl/frame.ts";

/** The FreeSWITCH 1.10.12 captures in test/fixtures (tests only: the double itself never reads them). */
export const FIXTURES = fileURLToPath(new URL("../fixtures/freeswitch-esl/", import.meta.url));

export interface CapturedFrame {
  headers: Record<string, string>;
  header_order: string[];
  body: string | null;
  event_headers_raw?: Array<[string, string]>;
  event_json?: Record<string, string>;
  event_body?: string;
}
type Item = { dir: string; data?: string } & Partial<CapturedFrame>;

export function capture(stem: string): Item[] {
  return (JSON.parse(readFileSync(join(FIXTURES, `${stem}.json`), "utf8")) as { items: Item[] }).items;
}

/** Captured frames, each tagged with the index of the last command sent before it. */
export function framesOf(stem: string): Array<CapturedFrame & { after: number; sent: string }> {
  const out: Array<CapturedFrame & { after: number; sent: string }> = [];
  let sent = -1;
  let last = "";
  for (const item of capture(stem)) {
    if (item.dir === "sent") {
      sent++;
      last = item.data ?? "";
    }
    if (item.dir === "recv_frame") out.push({ ...(item as CapturedFrame), after: sent, sent: last });
  }
  return out;
}

/** The first command/reply or api/response frame that answered `command` in a capture. */
export function replyTo(stem: string, command: string): CapturedFrame {
  const frames = framesOf(stem);
  const found = frames.find(
    (f) =>
      f.sent === command &&
      (f.headers["Content-Type"] === "command/reply" || f.headers["Content-Type"] === "api/response"),
  );
  if (!found) throw new Error(`no reply to ${JSON.stringify(command)} in ${stem}`);
  return found;
}

/** Header names of a serialised event body, duplicates kept, in wire order. */
export function headerNames(contentType: string, body: string): string[] {
  if (contentType === "text/event-json")
    return [...body.matchAll(/"((?:[^"\\]|\\.)*)":"/g)].map((m) => m[1] ?? "");
  if (contentType === "text/event-xml") return [...body.matchAll(/^ {4}<([^>]+)>/gm)].map((m) => m[1] ?? "");
  const end = body.indexOf("\n\n");
  return body
    .slice(0, end === -1 ? body.length : end)
    .split("\n")
    .map((line) => line.slice(0, line.indexOf(":")));
}

export function eventName(contentType: string, body: string): string {
  if (contentType === "text/event-json") return /"Event-Name":"([^"]+)"/.exec(body)?.[1] ?? "";
  if (contentType === "text/event-xml") return /<Event-Name>([^<]+)</.exec(body)?.[1] ?? "";
  return /^Event-Name: (.*)$/m.exec(body)?.[1] ?? "";
}

/** Timer events that fall into captures at random. */
const NOISE = new Set(["HEARTBEAT", "RE_SCHEDULE", "MODULE_UNLOAD"]);

export interface Shape {
  name: string;
  names: string[];
}

/** Event frames of a capture after commands `fromSent`..`toSent - 1`, as (Event-Name, header names). */
export function capturedShapes(
  stem: string,
  contentType: string,
  fromSent = 0,
  toSent = Number.POSITIVE_INFINITY,
): Shape[] {
  return framesOf(stem)
    .filter((f) => f.headers["Content-Type"] === contentType && f.after >= fromSent && f.after < toSent)
    .map((f) => ({
      name: eventName(contentType, f.body ?? ""),
      names: headerNames(contentType, f.body ?? ""),
    }))
    .filter((s) => !NOISE.has(s.name));
}

/** The same for frames a test received. */
export function myShapes(frames: EslFrame[], contentType: string): Shape[] {
  return frames
    .filter((f) => f.contentType === contentType)
    .map((f) => ({
      name: eventName(contentType, f.bodyText()),
      names: headerNames(contentType, f.bodyText()),
    }))
    .filter((s) => !NOISE.has(s.name));
}
