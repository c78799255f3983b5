import type { SipRequest, SipResponse } from "./message.ts";
import { responseTo } from "./requests.ts";
import { type TimerValues, TransactionTimers } from "./timers.ts";
import type { Peer } from "./transport.ts";

type Send = (response: SipResponse, to: Peer) => void;

/** The shared part: the request, who sent it, the last response (resent on a retransmitted request). */
abstract class ServerTransaction {
  protected readonly timers = new TransactionTimers();
  protected last: SipResponse | undefined;

  constructor(
    readonly request: SipRequest,
    /** Responses go back to where the request came from (RFC 3581 §4, symmetric response routing). */
    readonly peer: Peer,
    protected readonly send: Send,
    protected readonly timing: TimerValues,
    private readonly onTerminated: () => void,
  ) {}

  /** The same request again (a UDP retransmission): the last response again (§17.2.1, §17.2.2). */
  retransmitted(): void {
    if (this.last) this.send(this.last, this.peer);
  }

  protected transmit(response: SipResponse): void {
    this.last = response;
    this.send(response, this.peer);
  }

  /** The UA is closing: timers stop, nothing more is sent or reported. */
  stop(): void {
    this.timers.clear();
  }

  protected terminate(): void {
    this.timers.clear();
    this.onTerminated();
  }
}

/**
 * INVITE server transaction (§17.2.1, RFC 6026 §7.1): 100 Trying at once; a final response is
 * retransmitted on Timer G (T1 doubling up to T2) until the ACK, Timer H (64·T1) gives up waiting for it.
 * For a 2xx this is the UAS core's duty in §13.3.1.4, with the same timings; it is done here for both, the
 * 2xx's ACK (its own transaction) reaching the transaction through {@link acknowledged}. After the ACK of
 * an error response, Timer I (T4) absorbs ACK retransmissions.
 */
export class InviteServerTransaction extends ServerTransaction {
  private state: "proceeding" | "completed" | "confirmed" = "proceeding";
  /** Timer H fired: the far end never ACKed. */
  onAckTimeout: () => void = () => {};

  start(): void {
    this.transmit(responseTo(this.request, 100));
  }

  get finalSent(): boolean {
    return this.state !== "proceeding";
  }

  respond(response: SipResponse): void {
    if (this.state !== "proceeding") return;
    this.transmit(response);
    if (response.status < 200) return;
    this.state = "completed";
    const { t1, t2 } = this.timing;
    this.timers.retransmit("G", t1, t2, () => this.send(response, this.peer));
    this.timers.set("H", 64 * t1, () => {
      this.terminate();
      this.onAckTimeout();
    });
  }

  acknowledged(): void {
    if (this.state !== "completed") return;
    this.state = "confirmed";
    this.timers.clear();
    this.timers.set("I", this.timing.t4, () => this.terminate());
  }
}

/** Non-INVITE server transaction (§17.2.2): Timer J (64·T1) keeps the final response for retransmissions. */
export class NonInviteServerTransaction extends ServerTransaction {
  respond(response: SipResponse): void {
    if (this.last && this.last.status >= 200) return;
    this.transmit(response);
    if (response.status >= 200) this.timers.set("J", 64 * this.timing.t1, () => this.terminate());
  }
}
