import dgram from "node:dgram";
import type { SipMessage } from "./message.ts";
import { serialize } from "./message.ts";
import { isParseError, type ParseError, parseDatagram } from "./parser.ts";

/** Where a datagram came from or goes to. */
export interface Peer {
  host: string;
  port: number;
}

export interface TransportStats {
  received: number;
  sent: number;
  malformed: number;
}

/** SIP over UDP on 127.0.0.1 (RFC 3261 §18): one message per datagram, in and out. */
export class UdpTransport {
  readonly stats: TransportStats = { received: 0, sent: 0, malformed: 0 };
  onMessage: (message: SipMessage, from: Peer) => void = () => {};
  onMalformed: (error: ParseError, from: Peer) => void = () => {};

  private constructor(
    private readonly socket: dgram.Socket,
    readonly host: string,
    readonly port: number,
  ) {
    socket.on("message", (data, rinfo) => {
      const from = { host: rinfo.address, port: rinfo.port };
      const message = parseDatagram(data);
      if (isParseError(message)) {
        this.stats.malformed++;
        this.onMalformed(message, from);
        return;
      }
      this.stats.received++;
      this.onMessage(message, from);
    });
    // An ICMP port unreachable surfaces as an error on Linux; UDP has no connection to lose, so go on.
    socket.on("error", () => {});
  }

  static async bind(port = 0, host = "127.0.0.1"): Promise<UdpTransport> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return new UdpTransport(socket, host, socket.address().port);
  }

  send(message: SipMessage, to: Peer): void {
    this.stats.sent++;
    this.socket.send(serialize(message), to.port, to.host);
  }

  private closed: Promise<void> | undefined;

  /** Idempotent: a second close waits for the first. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => this.socket.close(() => resolve()));
    return this.closed;
  }
}
