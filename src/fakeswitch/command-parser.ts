/**
 * Client → server framing of mod_event_socket (read_packet): a command line, optional `Name: value`
 * header lines, then a blank line. A `Content-Length` header is followed by that many body bytes
 * (sendmsg, sendevent). Line ends may be `\n` or `\r\n`; stray line ends before a command are skipped.
 */
export interface ClientCommand {
  /** The command line, without its line end. */
  line: string;
  /** Extra header lines, names as sent (look them up case-insensitively with {@link header}). */
  headers: Array<[string, string]>;
  body?: string;
}

export function header(command: ClientCommand, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of command.headers) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const LF = 0x0a;
const CR = 0x0d;
/** read_packet's own bound: past this many bytes a header block is taken as complete. */
const MAX_BLOCK = 10 * 1024 * 1024;

export class CommandParser {
  private buffer: Buffer = Buffer.alloc(0);
  private pendingBody: { command: ClientCommand; length: number } | undefined;

  push(chunk: Buffer): ClientCommand[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: ClientCommand[] = [];
    for (;;) {
      if (this.pendingBody) {
        const { command, length } = this.pendingBody;
        if (this.buffer.length < length) break;
        command.body = this.buffer.subarray(0, length).toString("utf8");
        this.buffer = this.buffer.subarray(length);
        this.pendingBody = undefined;
        out.push(command);
        continue;
      }
      let start = 0;
      while (start < this.buffer.length && (this.buffer[start] === LF || this.buffer[start] === CR)) start++;
      if (start > 0) this.buffer = this.buffer.subarray(start);
      const end = this.findBlankLine();
      if (end === -1) break;
      const block = this.buffer.subarray(0, end).toString("utf8");
      this.buffer = this.buffer.subarray(this.blockEnd);
      const command = parseBlock(block);
      const length = Number(header(command, "content-length") ?? 0);
      if (length > 0) {
        this.pendingBody = { command, length };
        continue;
      }
      out.push(command);
    }
    return out;
  }

  private blockEnd = 0;

  /** Index where the header block ends (before the terminating line ends), or -1. */
  private findBlankLine(): number {
    const buf = this.buffer;
    let newlines = 0;
    // Commands are small: rescanning the held block from its start on every chunk is cheap and simple.
    let lastTextEnd = -1;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c === LF) {
        newlines++;
        if (newlines === 2) {
          this.blockEnd = i + 1;
          return lastTextEnd === -1 ? 0 : lastTextEnd;
        }
      } else if (c !== CR) {
        newlines = 0;
        lastTextEnd = i + 1;
      }
    }
    if (buf.length >= MAX_BLOCK) {
      this.blockEnd = buf.length;
      return buf.length;
    }
    return -1;
  }
}

function parseBlock(block: string): ClientCommand {
  const lines = block.split(/\r?\n/);
  const command: ClientCommand = { line: (lines[0] ?? "").replace(/\r$/, ""), headers: [] };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    command.headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^ +/, "")]);
  }
  return command;
}
