import type { CallHost } from "./call-host.ts";
import { Dialog, sendBye } from "./dialog.ts";
import { tagOf, uriHostPort } from "./header-fields.ts";
import type { SipRequest, SipResponse } from "./message.ts";
import { cancelFor, newCallId, newTag } from "./requests.ts";
import { audioSdp, SDP_TYPE } from "./sdp.ts";
import type { Peer } from "./transport.ts";

export interface OutgoingCallEvents {
  /** A 1xx other than 100: 180, or 183 (`earlyMedia` when it carries SDP). */
  progress?(status: number, earlyMedia: boolean): void;
  answered?(): void;
  /** A 3xx–6xx, or 408 when Timer B fired. */
  failed?(status: number, reason: string): void;
  ended?(by: "local" | "remote"): void;
}

export interface InviteOptions {
  /** Request-URI and To, e.g. `sip:1000@127.0.0.1:5080`. */
  to: string;
  /** Our user for From and Contact. */
  from: string;
  fromName?: string;
  /** Where the INVITE goes: an outbound proxy, else the Request-URI's host and port. */
  via?: Peer;
  headers?: Array<[string, string]>;
}

type State = "calling" | "proceeding" | "confirmed" | "ending" | "terminated";

/** The UAC side of one call: INVITE with an SDP offer, CANCEL, the ACK of its 2xx, BYE either way. */
export class OutgoingCall {
  readonly callId: string;
  private readonly invite: SipRequest;
  private readonly localTag = newTag();
  private state: State = "calling";
  private transaction: { proceeding: boolean } | undefined;
  private cancelWanted = false;
  private dialog: Dialog | undefined;
  private ack: { request: SipRequest; peer: Peer } | undefined;
  private readonly peer: Peer;

  constructor(
    private readonly host: CallHost,
    opts: InviteOptions,
    private readonly events: OutgoingCallEvents,
  ) {
    this.callId = newCallId(host.host);
    const display = opts.fromName ? `"${opts.fromName.replace(/["\\]/g, "")}" ` : "";
    this.invite = {
      kind: "request",
      method: "INVITE",
      uri: opts.to,
      headers: [
        ["Via", host.newVia()],
        ["Max-Forwards", "70"],
        ["From", `${display}<sip:${opts.from}@${host.host}>;tag=${this.localTag}`],
        ["To", `<${opts.to}>`],
        ["Call-ID", this.callId],
        ["CSeq", "1 INVITE"],
        ["Contact", host.contact(opts.from)],
        SDP_TYPE,
        ...(opts.headers ?? []),
      ],
      body: audioSdp({ host: host.host, rtpPort: host.port + 2 }),
    };
    this.peer = opts.via ?? uriHostPort(opts.to) ?? { host: host.host, port: 5060 };
  }

  get answered(): boolean {
    return this.state === "confirmed";
  }

  start(): void {
    this.transaction = this.host.sendRequest(this.invite, this.peer, {
      onResponse: (r) => this.onResponse(r),
      onTimeout: () => this.fail(408, "Request Timeout"),
    });
  }

  /** Hang up: CANCEL before the answer (§9.1: once a provisional came), BYE after it (§15.1.1). */
  hangup(): void {
    if (this.state === "calling" || this.state === "proceeding") {
      this.cancelWanted = true;
      if (this.transaction?.proceeding) this.sendCancel();
    } else if (this.state === "confirmed") this.sendBye();
  }

  private sendCancel(): void {
    this.host.sendRequest(cancelFor(this.invite), this.peer, { onResponse: () => {}, onTimeout: () => {} });
  }

  private onResponse(response: SipResponse): void {
    if (response.status < 200) {
      if (this.state === "calling") {
        this.state = "proceeding";
        if (this.cancelWanted) this.sendCancel();
      }
      if (response.status > 100) this.events.progress?.(response.status, response.body.length > 0);
      return;
    }
    if (response.status >= 300) {
      this.fail(response.status, response.reason);
      return;
    }
    if (this.dialog) {
      // A retransmitted 2xx: our ACK was lost (§13.2.2.4).
      if (this.ack) this.host.sendStateless(this.ack.request, this.ack.peer);
      return;
    }
    this.dialog = Dialog.fromUac(this.invite, response, this.localTag, tagOf(response, "To") ?? "");
    const { request, peer } = this.dialog.request("ACK", this.host.newVia(), { inviteSeq: 1 });
    if (peer) {
      this.ack = { request, peer };
      this.host.sendStateless(request, peer);
    }
    this.host.addDialog(this.dialog.key, {
      onBye: () => this.end("remote"),
      onAck: () => {},
    });
    if (this.state === "terminated") return;
    this.state = "confirmed";
    // A 200 that crossed our CANCEL: the call is up at the far end, so end it with a BYE (§9.1).
    if (this.cancelWanted) {
      this.sendBye();
      return;
    }
    this.events.answered?.();
  }

  private sendBye(): void {
    const dialog = this.dialog;
    if (!dialog) return;
    this.state = "ending";
    sendBye(this.host, dialog, () => this.end("local"));
  }

  private fail(status: number, reason: string): void {
    if (this.state === "terminated" || this.dialog) return;
    this.state = "terminated";
    this.events.failed?.(status, reason);
  }

  private end(by: "local" | "remote"): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    if (this.dialog) this.host.removeDialog(this.dialog.key);
    this.events.ended?.(by);
  }
}
