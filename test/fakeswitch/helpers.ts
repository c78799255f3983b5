import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { FrameDecoder } from "../../src/esl/decoder.ts";
import { EslEvent } from "../../src/esl/event.ts";
import type { EslFrame } from "../../src/esl/frame.ts";
import { type FakeSwitch, type FakeSwitchOptions, startFakeSwitch } from "../../src/fakeswitch/index.ts";

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

/** `npm run fakeswitch -- …` as a child process, its stdout read line by line. */
export class CliProcess {
  private buffered = "";
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (chunk: Buffer) => {
      this.buffered += chunk.toString();
      for (let nl = this.buffered.indexOf("\n"); nl !== -1; nl = this.buffered.indexOf("\n")) {
        this.lines.push(this.buffered.slice(0, nl));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.wake?.();
    });
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static start(args: string[], env: Record<string, string> = {}): CliProcess {
    const cli = fileURLToPath(new URL("../../src/fakeswitch/cli.ts", import.meta.url));
    return new CliProcess(
      spawn(process.execPath, ["--import", "tsx", cli, ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
  }

  /** The next stdout line, parsed as JSON. */
  async nextJson<T>(ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms;
    while (this.lines.length === 0) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error("no line from the CLI");
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return JSON.parse(this.lines.shift() as string) as T;
  }
}

/**
 * A double per test (password `ClueCon`, calls answered after 5 ms unless `opts` say otherwise), closed
 * after each test. Call at the top of a test file: `const start = doublePerTest();`.
 */
export function doublePerTest(): (opts?: Partial<FakeSwitchOptions>) => Promise<FakeSwitch> {
  let fs: FakeSwitch | undefined;
  afterEach(async () => {
    await fs?.close();
    fs = undefined;
  });
  return async (opts = {}) => {
    fs = await startFakeSwitch({ password: "ClueCon", profile: { answerDelayMs: 5 }, ...opts });
    return fs;
  };
}

/** An `api` command's reply body. */
export const api = async (s: RawSession, cmd: string) => (await s.command(`api ${cmd}`)).bodyText();

/** The lab's dial string the double answers itself. */
export const DIAL = "sofia/internal/1000@127.0.0.1:5090";
