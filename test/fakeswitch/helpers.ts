import net from "node:net";
import { FrameDecoder } from "../../src/esl/decoder.ts";
import { EslEvent } from "../../src/esl/event.ts";
import type { EslFrame } from "../../src/esl/frame.ts";

/** A raw ESL session: writes exact bytes, decodes every frame the double sends. */
export class RawSession {
  readonly frames: EslFrame[] = [];
  readonly chunks: Buffer[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      for (const f of this.decoder.push(chunk)) this.frames.push(f);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static async open(port: number): Promise<RawSession> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const session = new RawSession(socket);
    await session.until(() => session.frames.length >= 1);
    return session;
  }

  /** Connect and authenticate; the auth/request and +OK accepted frames are dropped from `frames`. */
  static async authed(port: number, password = "ClueCon"): Promise<RawSession> {
    const s = await RawSession.open(port);
    s.send(`auth ${password}\n\n`);
    await s.until(() => s.frames.length >= 2);
    s.frames.splice(0);
    return s;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(data: string): void {
    this.socket.write(data);
  }

  get raw(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }

  /** Resolve when `predicate` holds (checked on every chunk), reject after `ms`. */
  async until(predicate: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms; ${this.frames.length} frames`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  events(): EslEvent[] {
    return this.frames.map((f) => EslEvent.fromFrame(f)).filter((e): e is EslEvent => e !== undefined);
  }

  replies(): string[] {
    return this.frames
      .filter((f) => f.contentType === "command/reply")
      .map((f) => f.header("Reply-Text") ?? "");
  }

  apiBodies(): string[] {
    return this.frames.filter((f) => f.contentType === "api/response").map((f) => f.bodyText());
  }

  /** Send a command and wait for its command/reply or api/response frame. */
  async command(line: string): Promise<EslFrame> {
    const before = this.frames.filter(isReply).length;
    this.send(line.endsWith("\n\n") ? line : `${line}\n\n`);
    await this.until(() => this.frames.filter(isReply).length > before);
    return this.frames.filter(isReply)[before] as EslFrame;
  }

  close(): void {
    this.socket.destroy();
  }
}

const isReply = (f: EslFrame) => f.contentType === "command/reply" || f.contentType === "api/response";

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
