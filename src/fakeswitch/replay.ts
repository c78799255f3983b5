import { readFile } from "node:fs/promises";
import net from "node:net";
import { parseTranscript, type TranscriptStep } from "../esl/transcript.ts";

/**
 * Replay of a recorded ESL session: every client that connects is served the transcript's `<<<` chunks,
 * one write per recorded recv() chunk, at the recorded relative times (scaled by `speed`), and the
 * connection is closed where the capture saw the EOF. So a production failure captured once can be
 * reproduced against a client as often as needed.
 *
 * By default each recorded client write (`>>>`) is a point to wait at: the replay goes on when the client
 * has written its next command, compares it with the recorded one and reports a difference, and times
 * the following chunks from that moment, as the recorded server answered the recorded write.
 */
export interface ReplayOptions {
  /** A capture transcript (`.txt`). */
  file: string;
  /** Time scale: 1 plays the recorded timing, 10 ten times faster, Infinity with no waits (default 1). */
  speed?: number;
  /** Wait for each recorded client write and compare it (default true); false replays on time alone. */
  waitForClient?: boolean;
  /** 0 (default) picks a free port. The replay listens on 127.0.0.1 only. */
  port?: number;
  /** Called at once for every client write that differs from the recorded one. */
  onMismatch?(mismatch: ReplayMismatch): void;
}

export interface ReplayMismatch {
  /** 1 for the first client of the replay server, 2 for the next… */
  connection: number;
  /** Which recorded client write (0-based) the client's write was compared with; -1: none was due. */
  write: number;
  expected: string;
  received: string;
}

export interface ReplayReport {
  connection: number;
  /** `<<<` chunks written, of `chunks` in the transcript. */
  chunksSent: number;
  chunks: number;
  mismatches: ReplayMismatch[];
  /** The recorded EOF (the replay closed with a FIN, or an RST), or the client closed first. */
  end: "eof" | "reset" | "client-closed";
}

export interface ReplayServer {
  readonly host: string;
  readonly port: number;
  /** Finished replays, in the order they finished. */
  readonly reports: readonly ReplayReport[];
  /** The report of the next replay to finish that no earlier call has returned. */
  nextReport(): Promise<ReplayReport>;
  close(): Promise<void>;
}

type Action =
  | { kind: "send"; atMs: number; bytes: Buffer }
  | { kind: "expect"; atMs: number; bytes: Buffer; write: number }
  | { kind: "close"; atMs: number; how: "fin" | "rst" };

const HOST = "127.0.0.1";

export async function startReplay(opts: ReplayOptions): Promise<ReplayServer> {
  const script = replayScript(parseTranscript(await readFile(opts.file)));
  const reports: ReplayReport[] = [];
  const waiting: Array<(report: ReplayReport) => void> = [];
  let taken = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const finished = (report: ReplayReport) => {
    reports.push(report);
    const waiter = waiting.shift();
    if (waiter) {
      taken++;
      waiter(report);
    }
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    new ReplaySession(socket, script, { ...opts, connection: ++connections }, finished).start();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: HOST, port: opts.port ?? 0, exclusive: true }, () => resolve());
  });
  const address = server.address();
  return {
    host: HOST,
    port: address && typeof address === "object" ? address.port : 0,
    reports,
    nextReport: () => {
      const ready = reports[taken];
      if (ready) {
        taken++;
        return Promise.resolve(ready);
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * The server's side of the transcript: from the client's `connected` note (its time is the origin) to the
 * recorded EOF. Notes other than the connect and the EOF are the capture client's own and are skipped.
 */
function replayScript(steps: TranscriptStep[]): { originMs: number; actions: Action[]; chunks: number } {
  const start = steps.findIndex((s) => s.kind === "note" && /^connected\b/.test(s.text));
  const first = start === -1 ? steps.findIndex((s) => s.kind !== "note") : start;
  if (first === -1) throw new Error("the transcript holds no connection to replay");
  const actions: Action[] = [];
  let writes = 0;
  for (const step of steps.slice(start === -1 ? first : first + 1)) {
    if (step.kind === "recv") actions.push({ kind: "send", atMs: step.atMs, bytes: step.bytes });
    else if (step.kind === "sent")
      actions.push({ kind: "expect", atMs: step.atMs, bytes: step.bytes, write: writes++ });
    else if (/recv returned 0 bytes|EOF|closed by peer/.test(step.text)) {
      actions.push({ kind: "close", atMs: step.atMs, how: "fin" });
      break;
    } else if (/ECONNRESET|reset by peer/i.test(step.text)) {
      actions.push({ kind: "close", atMs: step.atMs, how: "rst" });
      break;
    }
  }
  const originMs = (steps[first] as TranscriptStep).atMs;
  return { originMs, actions, chunks: actions.filter((a) => a.kind === "send").length };
}

class ReplaySession {
  private next = 0;
  /** Wall-clock and recorded times that correspond: the connect, then each awaited client write. */
  private anchor: { wallMs: number; recordedMs: number };
  private received: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly report: ReplayReport;
  private done = false;
  private readonly speed: number;
  private readonly waitForClient: boolean;

  constructor(
    private readonly socket: net.Socket,
    private readonly script: { originMs: number; actions: Action[]; chunks: number },
    private readonly opts: ReplayOptions & { connection: number },
    private readonly finished: (report: ReplayReport) => void,
  ) {
    this.speed = opts.speed ?? 1;
    this.waitForClient = opts.waitForClient ?? true;
    this.anchor = { wallMs: performance.now(), recordedMs: script.originMs };
    this.report = {
      connection: opts.connection,
      chunksSent: 0,
      chunks: script.chunks,
      mismatches: [],
      end: "eof",
    };
  }

  start(): void {
    const socket = this.socket;
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      if (!this.waitForClient) return;
      this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
      if (this.timer === undefined) this.advance();
    });
    socket.once("close", () => this.finish("client-closed"));
    this.advance();
  }

  /** Run the script up to the next wait: a chunk that is not due yet, or a client write not yet made. */
  private advance(): void {
    this.timer = undefined;
    const actions = this.script.actions;
    while (!this.done && this.next < actions.length) {
      const action = actions[this.next] as Action;
      if (action.kind === "expect") {
        if (!this.waitForClient) {
          this.next++;
          continue;
        }
        const length = commandLength(this.received);
        if (length === -1) return; // the data handler calls back
        this.compare(action, this.received.subarray(0, length));
        this.received = this.received.subarray(length);
        this.anchor = { wallMs: performance.now(), recordedMs: action.atMs };
        this.next++;
        continue;
      }
      const dueIn =
        this.anchor.wallMs + (action.atMs - this.anchor.recordedMs) / this.speed - performance.now();
      if (dueIn >= 1) {
        this.timer = setTimeout(() => this.advance(), dueIn);
        return;
      }
      this.next++;
      if (action.kind === "close") {
        this.closeAsRecorded(action.how);
        return;
      }
      this.socket.write(action.bytes);
      this.report.chunksSent++;
      // One turn of the event loop per chunk, so that chunks leave as separate segments where they can.
      this.timer = setImmediate(() => this.advance());
      return;
    }
  }

  private compare(action: Extract<Action, { kind: "expect" }>, got: Buffer): void {
    if (got.equals(action.bytes)) return;
    this.mismatch(action.write, action.bytes, got);
  }

  private mismatch(write: number, expected: Buffer, received: Buffer): void {
    const mismatch: ReplayMismatch = {
      connection: this.opts.connection,
      write,
      expected: expected.toString("utf8"),
      received: received.toString("utf8"),
    };
    this.report.mismatches.push(mismatch);
    this.opts.onMismatch?.(mismatch);
  }

  private closeAsRecorded(how: "fin" | "rst"): void {
    if (how === "rst") this.socket.resetAndDestroy();
    else this.socket.end();
    this.finish(how === "rst" ? "reset" : "eof");
  }

  private finish(end: ReplayReport["end"]): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    // What the client wrote beyond the recorded writes.
    for (let length = commandLength(this.received); length !== -1; length = commandLength(this.received)) {
      this.mismatch(-1, Buffer.alloc(0), this.received.subarray(0, length));
      this.received = this.received.subarray(length);
    }
    this.report.end = end;
    this.finished(this.report);
  }
}

/**
 * Bytes of the first whole client command in `data` (read_packet framing: a header block up to a blank
 * line, then a Content-Length body), or -1 while it is incomplete.
 */
function commandLength(data: Buffer): number {
  let blockEnd = -1;
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) {
    if (data[i + 1] === 0x0a) blockEnd = i + 2;
    else if (data[i + 1] === 0x0d && data[i + 2] === 0x0a) blockEnd = i + 3;
    if (blockEnd !== -1) break;
  }
  if (blockEnd === -1) return -1;
  const length = /^content-length:\s*(\d+)/im.exec(data.toString("latin1", 0, blockEnd));
  const total = blockEnd + (length ? Number(length[1]) : 0);
  return total <= data.length ? total : -1;
}
