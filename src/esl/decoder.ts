import { EslProtocolError, excerpt } from "./errors.ts";
import { EslFrame } from "./frame.ts";

const LF = 0x0a;
const CR = 0x0d;
const BLANK_LINE = Buffer.from("\n\n");

export interface DecoderLimits {
  /** Largest outer header block accepted before its blank line arrives. */
  maxHeaderBytes: number;
  /** Largest Content-Length accepted (a `show channels as json` of 10,000 channels is ~15 MB). */
  maxBodyBytes: number;
}

const defaultDecoderLimits: DecoderLimits = {
  maxHeaderBytes: 64 * 1024,
  maxBodyBytes: 64 * 1024 * 1024,
};

/**
 * Streaming ESL frame decoder: one state machine that keeps its place across chunks.
 *
 * - Header mode scans only bytes it has not scanned before; a `\n\n` split across two chunks is found
 *   by remembering whether the previous chunk ended in `\n`.
 * - Body mode jumps over the declared Content-Length without scanning it and hands out a `subarray`
 *   view of the chunk; bytes are copied only when a frame really spans chunks.
 * - It never throws: bytes that are not ESL put it in a failed state with `error` set, and every later
 *   `push` returns nothing. The connection owning it must be reset, as FreeSWITCH's own framing
 *   cannot be resynchronised after garbage.
 */
export class FrameDecoder {
  error: EslProtocolError | undefined;

  private readonly limits: DecoderLimits;
  private mode: "headers" | "body" = "headers";
  /** Bytes of the current, incomplete section (header block or body) from earlier chunks. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private heldEndsWithLf = false;
  private pendingHeaders: Array<[string, string]> = [];
  private bodyLength = 0;
  /** Bytes pushed before the current chunk. */
  private streamOffset = 0;
  private currentFrameStart = 0;

  constructor(limits: Partial<DecoderLimits> = {}) {
    this.limits = { ...defaultDecoderLimits, ...limits };
  }

  /** True when no partial frame is held: the stream is at a frame boundary. */
  get idle(): boolean {
    return this.mode === "headers" && this.heldBytes === 0 && this.error === undefined;
  }

  /** Stream offset of the frame being decoded, or of the last one begun: what an error reports. */
  get frameStart(): number {
    return this.currentFrameStart;
  }

  /** Feed one chunk; returns the frames it completed, in order. */
  push(chunk: Uint8Array): EslFrame[] {
    const frames: EslFrame[] = [];
    if (this.error) return frames;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let offset = 0;
    while (offset < data.length && !this.error) {
      offset =
        this.mode === "headers"
          ? this.readHeaders(data, offset, frames)
          : this.readBody(data, offset, frames);
    }
    this.streamOffset += data.length;
    return frames;
  }

  private readHeaders(data: Buffer, start: number, frames: EslFrame[]): number {
    let offset = start;
    if (this.heldBytes === 0) {
      // Tolerate blank lines between frames (some proxies add them); FreeSWITCH itself never does.
      while (offset < data.length && (data[offset] === LF || data[offset] === CR)) offset++;
      if (offset === data.length) return offset;
      this.currentFrameStart = this.streamOffset + offset;
    }
    let blockEnd: number;
    let next: number;
    if (this.heldEndsWithLf && data[offset] === LF) {
      // The terminating blank line straddles the chunk boundary.
      blockEnd = offset - 1;
      next = offset + 1;
    } else {
      const found = data.indexOf(BLANK_LINE, offset);
      if (found === -1) {
        this.hold(data.subarray(offset));
        if (this.heldBytes > this.limits.maxHeaderBytes) {
          this.fail(
            `header block exceeds ${this.limits.maxHeaderBytes} bytes without a blank line`,
            this.joinHeld(),
          );
        }
        return data.length;
      }
      blockEnd = found;
      next = found + 2;
    }
    let block: Buffer;
    if (this.heldBytes === 0) block = data.subarray(offset, blockEnd);
    else if (blockEnd < offset) {
      const held = this.takeHeld();
      block = held.subarray(0, held.length - 1); // drop the first LF of the straddling pair
    } else {
      this.hold(data.subarray(offset, blockEnd));
      block = this.takeHeld();
    }
    if (block.length > this.limits.maxHeaderBytes) {
      this.fail(`header block exceeds ${this.limits.maxHeaderBytes} bytes`, block);
      return next;
    }
    this.parseHeaderBlock(block, frames);
    return next;
  }

  private parseHeaderBlock(block: Buffer, frames: EslFrame[]): void {
    const headers: Array<[string, string]> = [];
    let contentLength = -1;
    let lineStart = 0;
    while (lineStart <= block.length) {
      let lineEnd = block.indexOf(LF, lineStart);
      if (lineEnd === -1) lineEnd = block.length;
      let end = lineEnd;
      if (end > lineStart && block[end - 1] === CR) end--;
      if (end > lineStart) {
        const colon = block.indexOf(0x3a, lineStart);
        if (colon <= lineStart || colon >= end) {
          this.fail("header line without a name and ':'", block.subarray(lineStart, lineEnd));
          return;
        }
        const name = block.toString("latin1", lineStart, colon);
        const valueStart = block[colon + 1] === 0x20 ? colon + 2 : colon + 1;
        const value = block.toString("utf8", Math.min(valueStart, end), end);
        if (name.length === 14 && name.toLowerCase() === "content-length") {
          if (!/^\d{1,15}$/.test(value)) {
            this.fail(`Content-Length is not a byte count: ${JSON.stringify(value)}`, block);
            return;
          }
          contentLength = Number(value);
          if (contentLength > this.limits.maxBodyBytes) {
            this.fail(
              `Content-Length ${contentLength} exceeds the limit of ${this.limits.maxBodyBytes}`,
              block,
            );
            return;
          }
        }
        headers.push([name, value]);
      }
      lineStart = lineEnd + 1;
    }
    if (contentLength > 0) {
      this.mode = "body";
      this.bodyLength = contentLength;
      this.pendingHeaders = headers;
    } else {
      frames.push(new EslFrame(headers, contentLength === 0 ? Buffer.alloc(0) : undefined));
    }
  }

  private readBody(data: Buffer, offset: number, frames: EslFrame[]): number {
    const need = this.bodyLength - this.heldBytes;
    const available = data.length - offset;
    if (available < need) {
      this.hold(data.subarray(offset));
      return data.length;
    }
    let body: Buffer;
    if (this.heldBytes === 0) body = data.subarray(offset, offset + need);
    else {
      this.hold(data.subarray(offset, offset + need));
      body = this.takeHeld();
    }
    frames.push(new EslFrame(this.pendingHeaders, body));
    this.pendingHeaders = [];
    this.mode = "headers";
    return offset + need;
  }

  private hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    this.heldEndsWithLf = bytes[bytes.length - 1] === LF;
  }

  private joinHeld(): Buffer {
    const first = this.held[0];
    return this.held.length === 1 && first ? first : Buffer.concat(this.held, this.heldBytes);
  }

  private takeHeld(): Buffer {
    const joined = this.joinHeld();
    this.held = [];
    this.heldBytes = 0;
    this.heldEndsWithLf = false;
    return joined;
  }

  private fail(message: string, bytes: Uint8Array): void {
    this.error = new EslProtocolError(message, this.mode, excerpt(bytes), this.currentFrameStart);
    this.held = [];
    this.heldBytes = 0;
  }
}
