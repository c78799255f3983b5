import type { CallHost } from "./call-host.ts";
import { Dialog, sendBye } from "./dialog.ts";
import { parseAddress, tagOf, uriUser } from "./header-fields.ts";
import { header, type SipRequest } from "./message.ts";
import { newTag, responseTo } from "./requests.ts";
import { audioSdp, SDP_TYPE } from "./sdp.ts";
import type { InviteServerTransaction } from "./server-transactions.ts";

interface IncomingCallEvents {
  /** The caller CANCELled before our final response; a 487 has been sent (§9.2). */
  cancelled?(): void;
  ended?(by: "local" | "remote"): void;
}

/** The UAS side of one call: 180, 183 with SDP, 200 with an SDP answer, or a 3xx–6xx; BYE either way. */
export class IncomingCall {
  events: IncomingCallEvents = {};
  readonly callId: string;
  /** The Request-URI's user: the dialled number. */
  readonly to: string;
  /** The From URI's user and display name. */
  readonly from: string;
  readonly fromName: string;
  private readonly localTag = newTag();
  private dialog: Dialog | undefined;
  private state: "ringing" | "confirmed" | "ending" | "terminated" = "ringing";

  constructor(
    private readonly host: CallHost,
    readonly invite: SipRequest,
    private readonly transaction: InviteServerTransaction,
  ) {
    this.callId = header(invite, "Call-ID") ?? "";
    this.to = uriUser(invite.uri);
    const fromHeader = header(invite, "From") ?? "";
    this.from = uriUser(parseAddress(fromHeader).uri);
    this.fromName = /^\s*"((?:[^"\\]|\\.)*)"/.exec(fromHeader)?.[1] ?? "";
    transaction.onAckTimeout = () => this.onAckTimeout();
  }

  get answered(): boolean {
    return this.dialog !== undefined;
  }

  ringing(): void {
    this.provisional(180);
  }

  /** 183 with SDP: early media (FreeSWITCH's pre_answer). */
  progress(): void {
    this.provisional(183, true);
  }

  answer(): void {
    if (this.state !== "ringing" || this.transaction.finalSent) return;
    this.dialog = Dialog.fromUas(this.invite, this.localTag, tagOf(this.invite, "From") ?? "");
    this.host.addDialog(this.dialog.key, {
      onBye: () => this.end("remote"),
      onAck: () => this.transaction.acknowledged(),
    });
    this.state = "confirmed";
    this.transaction.respond(this.response(200, true));
  }

  reject(status: number, reason?: string): void {
    if (this.state !== "ringing" || this.transaction.finalSent) return;
    this.state = "terminated";
    this.transaction.respond(
      responseTo(this.invite, status, { toTag: this.localTag, ...(reason && { reason }) }),
    );
  }

  /** BYE once answered; before that, a 480 (FreeSWITCH refuses an unanswered inbound leg it hangs up). */
  hangup(): void {
    if (this.state === "ringing") this.reject(480);
    if (this.state !== "confirmed" || !this.dialog) return;
    this.state = "ending";
    sendBye(this.host, this.dialog, () => this.end("local"));
  }

  /** The UA core matched a CANCEL to our INVITE (§9.2). */
  onCancel(): void {
    if (this.state !== "ringing" || this.transaction.finalSent) return;
    this.reject(487);
    this.events.cancelled?.();
  }

  private provisional(status: number, sdp = false): void {
    if (this.state !== "ringing" || this.transaction.finalSent) return;
    this.transaction.respond(this.response(status, sdp));
  }

  private response(status: number, sdp: boolean) {
    return responseTo(this.invite, status, {
      toTag: this.localTag,
      headers: [["Contact", this.host.contact(this.to || "fs")], ...(sdp ? [SDP_TYPE] : [])],
      ...(sdp && { body: audioSdp({ host: this.host.host, rtpPort: this.host.port + 2 }) }),
    });
  }

  /** §13.3.1.4: no ACK for our 2xx within 64·T1: the UAS ends the dialog with a BYE. */
  private onAckTimeout(): void {
    if (this.state === "confirmed") this.hangup();
  }

  private end(by: "local" | "remote"): void {
    if (this.state === "terminated") return;
    this.state = "terminated";
    if (this.dialog) this.host.removeDialog(this.dialog.key);
    this.events.ended?.(by);
  }
}
