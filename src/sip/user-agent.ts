import type { CallHost, DialogUser } from "./call-host.ts";
import {
  type ClientTransactionUser,
  InviteClientTransaction,
  NonInviteClientTransaction,
} from "./client-transactions.ts";
import { dialogKey } from "./dialog.ts";
import { cseqOf, tagOf, topVia } from "./header-fields.ts";
import { IncomingCall } from "./incoming-call.ts";
import { header, type SipRequest, type SipResponse } from "./message.ts";
import { type InviteOptions, OutgoingCall, type OutgoingCallEvents } from "./outgoing-call.ts";
import { newBranch, newCallId, newTag, responseTo } from "./requests.ts";
import { InviteServerTransaction, NonInviteServerTransaction } from "./server-transactions.ts";
import { RFC3261_TIMERS, type TimerValues } from "./timers.ts";
import { type Peer, type TransportStats, UdpTransport } from "./transport.ts";

interface UserAgentOptions {
  /** 0 (default): a free port. Always 127.0.0.1. */
  port?: number;
  /** T1/T2/T4 (tests shorten them). */
  timers?: Partial<TimerValues>;
  /** A new call arrived (100 Trying already sent). Without a handler every INVITE gets 480. */
  onInvite?(call: IncomingCall): void;
  /** `User-Agent`/`Server` header value. */
  name?: string;
}

const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS";

/**
 * A SIP user agent over UDP: the transaction layer (RFC 3261 §17, matching per §17.1.3 and §17.2.3),
 * dialogs (§12), UAC and UAS calls, OPTIONS answered 200 (§11.2), stray in-dialog requests 481 (§12.2.2).
 */
export class UserAgent implements CallHost {
  readonly timing: TimerValues;
  readonly host: string;
  readonly port: number;
  onInvite: (call: IncomingCall) => void;
  private readonly clients = new Map<string, InviteClientTransaction | NonInviteClientTransaction>();
  private readonly servers = new Map<string, InviteServerTransaction | NonInviteServerTransaction>();
  private readonly calls = new Map<string, IncomingCall>();
  private readonly dialogs = new Map<string, DialogUser>();
  private readonly name: string;

  private constructor(
    private readonly transport: UdpTransport,
    opts: UserAgentOptions,
  ) {
    this.timing = { ...RFC3261_TIMERS, ...opts.timers };
    this.host = transport.host;
    this.port = transport.port;
    this.name = opts.name ?? "fs-esl-lab";
    this.onInvite = opts.onInvite ?? ((call) => call.reject(480));
    transport.onMessage = (message, from) =>
      message.kind === "request" ? this.onRequest(message, from) : this.onResponse(message);
  }

  static async start(opts: UserAgentOptions = {}): Promise<UserAgent> {
    return new UserAgent(await UdpTransport.bind(opts.port ?? 0), opts);
  }

  get stats(): TransportStats & { transactions: number; dialogs: number } {
    return {
      ...this.transport.stats,
      transactions: this.clients.size + this.servers.size,
      dialogs: this.dialogs.size,
    };
  }

  /** A new outgoing call; its INVITE is sent at once. */
  invite(opts: InviteOptions, events: OutgoingCallEvents = {}): OutgoingCall {
    const call = new OutgoingCall(this, opts, events);
    call.start();
    return call;
  }

  /** OPTIONS outside a dialog (§11): the status, or 408 when Timer F fired. */
  options(uri: string, peer: Peer): Promise<number> {
    const request: SipRequest = {
      kind: "request",
      method: "OPTIONS",
      uri,
      headers: [
        ["Via", this.newVia()],
        ["Max-Forwards", "70"],
        ["From", `<sip:probe@${this.host}>;tag=${newTag()}`],
        ["To", `<${uri}>`],
        ["Call-ID", newCallId(this.host)],
        ["CSeq", "1 OPTIONS"],
      ],
      body: Buffer.alloc(0),
    };
    return new Promise((resolve) =>
      this.sendRequest(request, peer, {
        onResponse: (r) => r.status >= 200 && resolve(r.status),
        onTimeout: () => resolve(408),
      }),
    );
  }

  async close(): Promise<void> {
    for (const t of [...this.clients.values(), ...this.servers.values()]) t.stop();
    this.clients.clear();
    this.servers.clear();
    await this.transport.close();
  }

  // ---- CallHost ----------------------------------------------------------------------------------

  contact(user: string): string {
    return `<sip:${user}@${this.host}:${this.port}>`;
  }

  newVia(): string {
    return `SIP/2.0/UDP ${this.host}:${this.port};branch=${newBranch()};rport`;
  }

  sendRequest(request: SipRequest, peer: Peer, tu: ClientTransactionUser): { proceeding: boolean } {
    const branch = topVia(request)?.branch ?? "";
    const key = `${branch}\u0000${request.method}`;
    const remove = () => this.clients.delete(key);
    const send = (r: SipRequest, to: Peer) => this.transport.send(r, to);
    const Kind = request.method === "INVITE" ? InviteClientTransaction : NonInviteClientTransaction;
    const transaction = new Kind(request, peer, send, this.timing, tu, remove);
    this.clients.set(key, transaction);
    transaction.start();
    return transaction instanceof InviteClientTransaction ? transaction : { proceeding: false };
  }

  sendStateless(request: SipRequest, peer: Peer): void {
    this.transport.send(request, peer);
  }

  addDialog(key: string, user: DialogUser): void {
    this.dialogs.set(key, user);
  }

  removeDialog(key: string): void {
    this.dialogs.delete(key);
  }

  // ---- dispatch ----------------------------------------------------------------------------------

  /** §17.1.3: a response belongs to the client transaction of its top Via branch and CSeq method. */
  private onResponse(response: SipResponse): void {
    const branch = topVia(response)?.branch;
    const method = cseqOf(response)?.method;
    if (branch === undefined || method === undefined) return;
    this.clients.get(`${branch}\u0000${method}`)?.receive(response);
  }

  private onRequest(request: SipRequest, from: Peer): void {
    const via = topVia(request);
    const cseq = cseqOf(request);
    if (!via || !cseq || cseq.method !== request.method.toUpperCase() || !header(request, "Call-ID")) return;
    const method = request.method.toUpperCase();
    // §17.2.3: branch, sent-by and method (an ACK belongs to its INVITE's transaction).
    const serverKey = (m: string) => `${via.branch}\u0000${via.sentBy}\u0000${m}`;
    if (method === "ACK") {
      const transaction = this.servers.get(serverKey("INVITE"));
      if (transaction instanceof InviteServerTransaction) transaction.acknowledged();
      else this.inDialog(request)?.onAck();
      return;
    }
    const existing = this.servers.get(serverKey(method));
    if (existing) {
      existing.retransmitted();
      return;
    }
    const send = (r: SipResponse, to: Peer) => this.transport.send(r, to);
    if (method === "INVITE") {
      if (tagOf(request, "To")) {
        // Re-INVITEs (session refresh, hold) are not part of the lab's calls.
        this.respond(request, from, serverKey(method), 501);
        return;
      }
      const key = serverKey(method);
      const transaction = new InviteServerTransaction(request, from, send, this.timing, () => {
        this.servers.delete(key);
        this.calls.delete(key);
      });
      this.servers.set(key, transaction);
      transaction.start();
      const call = new IncomingCall(this, request, transaction);
      this.calls.set(key, call);
      this.onInvite(call);
      return;
    }
    if (method === "CANCEL") {
      // §9.2: a CANCEL matches the INVITE transaction with the same branch.
      const call = this.calls.get(serverKey("INVITE"));
      this.respond(request, from, serverKey(method), call ? 200 : 481);
      call?.onCancel();
      return;
    }
    if (method === "OPTIONS") {
      this.respond(request, from, serverKey(method), 200, [
        ["Allow", ALLOW],
        ["Accept", "application/sdp"],
        ["Server", this.name],
      ]);
      return;
    }
    if (method === "BYE") {
      const user = this.inDialog(request);
      this.respond(request, from, serverKey(method), user ? 200 : 481);
      user?.onBye();
      return;
    }
    this.respond(request, from, serverKey(method), 405, [["Allow", ALLOW]]);
  }

  private inDialog(request: SipRequest): DialogUser | undefined {
    const localTag = tagOf(request, "To");
    return localTag ? this.dialogs.get(dialogKey(header(request, "Call-ID") ?? "", localTag)) : undefined;
  }

  /** A final response in a non-INVITE server transaction, kept for retransmissions (Timer J). */
  private respond(
    request: SipRequest,
    from: Peer,
    key: string,
    status: number,
    headers: Array<[string, string]> = [],
  ): void {
    const transaction = new NonInviteServerTransaction(
      request,
      from,
      (r, to) => this.transport.send(r, to),
      this.timing,
      () => this.servers.delete(key),
    );
    this.servers.set(key, transaction);
    transaction.respond(responseTo(request, status, { toTag: newTag(), headers }));
  }
}
