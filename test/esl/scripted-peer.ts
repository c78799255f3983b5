/**
 * A scripted mod_event_socket on 127.0.0.1 for client tests: each test says what every connection does,
 * and the peer records the commands it received. Reply texts mirror mod_event_socket.c.
 */
import net from "node:net";
import { encodeFrame, type HeaderList, serializeEvent } from "../../src/esl/index.ts";

export interface ReceivedCommand {
  /** The command line, e.g. `api status`. */
  line: string;
  /** Header lines after it, e.g. bgapi's Job-UUID. */
  headers: Record<string, string>;
}

export type Script = (connection: PeerConnection, index: number) => void;

export class ScriptedPeer {
  readonly connections: PeerConnection[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(script: Script): Promise<ScriptedPeer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const peer = new ScriptedPeer(server, (server.address() as net.AddressInfo).port);
    server.on("connection", (socket) => {
      peer.sockets.add(socket);
      socket.on("close", () => peer.sockets.delete(socket));
      socket.on("error", () => {});
      const connection = new PeerConnection(socket);
      peer.connections.push(connection);
      script(connection, peer.connections.length - 1);
    });
    return peer;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class PeerConnection {
  readonly commands: ReceivedCommand[] = [];
  readonly connectedAt = Date.now();
  closedAt: number | undefined;
  /** Answers each command as it arrives; a script replaces it to delay, drop or reorder replies. */
  onCommand: (command: ReceivedCommand) => void = () => {};
  private pending = "";

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => this.receive(text));
    socket.on("close", () => {
      this.closedAt = Date.now();
    });
  }

  send(bytes: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Write bytes in pieces of `size`, one write per macrotask, so the client sees them as separate chunks. */
  async sendInPieces(bytes: Buffer, size: number): Promise<void> {
    for (let at = 0; at < bytes.length; at += size) {
      this.send(bytes.subarray(at, at + size));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  authRequest(): void {
    this.send(encodeFrame([["Content-Type", "auth/request"]]));
  }

  commandReply(text: string): void {
    this.send(
      encodeFrame([
        ["Content-Type", "command/reply"],
        ["Reply-Text", text],
      ]),
    );
  }

  /** Behave like FreeSWITCH (password ClueCon) for auth, event, filter, noevents and exit; api gets `+OK`. */
  actLikeFreeSwitch(): void {
    this.authRequest();
    this.onCommand = ({ line }) => {
      const [verb = "", ...rest] = line.split(" ");
      const args = rest.join(" ");
      if (verb === "auth") {
        if (args === "ClueCon") return this.commandReply("+OK accepted");
        // mod_event_socket.c: -ERR invalid, then the goodbye notice, then the socket closes.
        this.commandReply("-ERR invalid");
        this.disconnectNotice();
        this.socket.end();
      } else if (verb === "event") this.commandReply(`+OK event listener enabled ${rest[0]}`);
      else if (verb === "filter")
        this.commandReply(`+OK filter added. [${rest[0]}]=[${rest.slice(1).join(" ")}]`);
      else if (verb === "noevents") this.commandReply("+OK no longer listening for events");
      else if (verb === "api") this.apiResponse("+OK\n");
      else if (verb === "exit") {
        this.commandReply("+OK bye");
        this.disconnectNotice();
        this.socket.end();
      } else this.commandReply("-ERR command not found");
    };
  }

  apiResponse(body: string): void {
    this.send(apiResponseFrame(body));
  }

  disconnectNotice(): void {
    const goodbye = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";
    this.send(encodeFrame([["Content-Type", "text/disconnect-notice"]], goodbye));
  }

  /** A plain event frame as FreeSWITCH writes it (Content-Length first). */
  event(headers: HeaderList, body?: string): void {
    this.send(
      encodeFrame(
        [
          ["Content-Length", ""],
          ["Content-Type", "text/event-plain"],
        ],
        serializeEvent("plain", headers, body),
      ),
    );
  }

  private receive(text: string): void {
    this.pending += text;
    for (let end = this.pending.indexOf("\n\n"); end !== -1; end = this.pending.indexOf("\n\n")) {
      const [line = "", ...headerLines] = this.pending.slice(0, end).split("\n");
      this.pending = this.pending.slice(end + 2);
      const headers = Object.fromEntries(
        headerLines.map((h) => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 2)]),
      );
      const command = { line, headers };
      this.commands.push(command);
      this.onCommand(command);
    }
  }
}

export function apiResponseFrame(body: string): Buffer {
  return encodeFrame([["Content-Type", "api/response"]], body);
}
