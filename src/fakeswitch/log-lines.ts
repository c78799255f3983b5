import { localStamp } from "./clock.ts";
import { type CompiledTemplate, type Part, valueParts } from "./event-serializer.ts";
import type { TokenTable } from "./template-tokens.ts";

/**
 * log/data frames (mod_event_socket's log queue, capture 14): Content-Type first (unlike event frames),
 * then Content-Length, Log-Level, Text-Channel, Log-File, Log-Func, Log-Line, User-Data (the channel's
 * uuid, or empty), and the formatted line as the body.
 */
export interface LogLineTemplate {
  /** Index of the call event the line follows; -1: it comes before the first. */
  readonly after: number;
  readonly level: number;
  readonly textChannel: number;
  readonly file: string;
  readonly func: string;
  readonly line: number;
  /** User-Data carries the channel's uuid. */
  readonly session: boolean;
  /** The line, with {{TOKEN}}s; {{LOG_STAMP}} is the date and idle-CPU prefix of switch_log_printf. */
  readonly body: string;
}

export interface CompiledLogLine {
  readonly level: number;
  /** The headers after Content-Length, up to and including `User-Data: `. */
  readonly head: string;
  readonly session: boolean;
  readonly body: readonly Part[];
}

function compileLogLine(t: LogLineTemplate): CompiledLogLine {
  return {
    level: t.level,
    head: `Log-Level: ${t.level}\nText-Channel: ${t.textChannel}\nLog-File: ${t.file}\nLog-Func: ${t.func}\nLog-Line: ${t.line}\nUser-Data: `,
    session: t.session,
    body: valueParts(t.body),
  };
}

/** Hang each line on the call event it followed in the capture (before the first, for `after: -1`). */
export function attachLogLines(list: CompiledTemplate[], lines: readonly LogLineTemplate[]): void {
  for (const line of lines) {
    const compiled = compileLogLine(line);
    const template = list[Math.max(0, line.after)];
    if (!template) continue;
    const key = line.after < 0 ? "logsBefore" : "logsAfter";
    template[key] = [...(template[key] ?? []), compiled];
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** switch_log_printf's prefix: `2026-11-21 05:30:19.470823 99.00% ` (local time, µs, idle CPU). */
export function logStamp(us: number): string {
  return `${localStamp(us / 1000)}.${pad(us % 1_000_000, 6)} 99.00% `;
}

export function renderLogFrame(line: CompiledLogLine, tokens: TokenTable, uuid: string): Buffer {
  let body = "";
  for (const p of line.body) body += typeof p === "string" ? p : tokens.get(p);
  const head = `${line.head}${line.session ? uuid : ""}\n\n`;
  const length = Buffer.byteLength(body);
  return Buffer.from(`Content-Type: log/data\nContent-Length: ${length}\n${head}${body}`, "utf8");
}
