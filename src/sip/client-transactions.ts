import type { SipRequest, SipResponse } from "./message.ts";
import { ackForFailure } from "./requests.ts";
import { type TimerValues, TransactionTimers } from "./timers.ts";
import type { Peer } from "./transport.ts";

/** What a client transaction tells the UA core (its transaction user). */
export interface ClientTransactionUser {
  /** Every provisional, the final response, and (INVITE) each 2xx retransmission while Accepted. */
  onResponse(response: SipResponse): void;
  /** Timer B or F fired: no final response (§17.1.1.2, §17.1.2.2); the TU treats it as a 408. */
  onTimeout(): void;
}

type Send = (request: SipRequest, to: Peer) => void;

/** The shared part: the request, where it goes, the timers, and removal from the UA's table at the end. */
abstract class ClientTransaction {
  protected readonly timers = new TransactionTimers();
  protected finished = false;

  constructor(
    readonly request: SipRequest,
    readonly peer: Peer,
    protected readonly send: Send,
    protected readonly timing: TimerValues,
    protected readonly tu: ClientTransactionUser,
    private readonly onTerminated: () => void,
  ) {}

  abstract receive(response: SipResponse): void;

  /** The UA is closing: timers stop, nothing more is sent or reported. */
  stop(): void {
    this.timers.clear();
  }

  protected terminate(): void {
    this.timers.clear();
    this.onTerminated();
  }

  protected timeout(): void {
    this.terminate();
    if (!this.finished) this.tu.onTimeout();
  }
}

/**
 * INVITE client transaction (§17.1.1, RFC 6026 §7.2): Timer A retransmits the INVITE (T1, doubling,
 * uncapped) until a response; Timer B (64·T1) gives up; a 3xx–6xx is ACKed here and Timer D (64·T1,
 * at least the 32 s of §17.1.1.2 with the default T1) absorbs its retransmissions; a 2xx moves to Accepted
 * for Timer M (64·T1) so its retransmissions reach the TU, which ACKs them (§13.2.2.4).
 */
export class InviteClientTransaction extends ClientTransaction {
  private state: "calling" | "proceeding" | "accepted" | "completed" = "calling";
  private ack: SipRequest | undefined;

  start(): void {
    this.send(this.request, this.peer);
    const { t1 } = this.timing;
    this.timers.retransmit("A", t1, Number.POSITIVE_INFINITY, () => this.send(this.request, this.peer));
    this.timers.set("B", 64 * t1, () => this.timeout());
  }

  /** Whether a provisional response has arrived: a CANCEL may only be sent after one (§9.1). */
  get proceeding(): boolean {
    return this.state !== "calling";
  }

  receive(response: SipResponse): void {
    const { t1 } = this.timing;
    if (this.state === "completed") {
      if (response.status >= 300 && this.ack) this.send(this.ack, this.peer);
      return;
    }
    if (response.status < 200) {
      if (this.state === "accepted") return;
      this.state = "proceeding";
      this.timers.stop("A");
      this.tu.onResponse(response);
      return;
    }
    if (response.status < 300) {
      if (this.state !== "accepted") {
        this.state = "accepted";
        this.finished = true;
        this.timers.clear();
        this.timers.set("M", 64 * t1, () => this.terminate());
      }
      this.tu.onResponse(response);
      return;
    }
    if (this.state === "accepted") return;
    this.state = "completed";
    this.finished = true;
    this.timers.clear();
    this.ack = ackForFailure(this.request, response);
    this.send(this.ack, this.peer);
    this.timers.set("D", 64 * t1, () => this.terminate());
    this.tu.onResponse(response);
  }
}

/**
 * Non-INVITE client transaction (§17.1.2): Timer E retransmits (T1 doubling up to T2; T2 once a
 * provisional came), Timer F (64·T1) gives up, Timer K (T4) absorbs retransmitted final responses.
 */
export class NonInviteClientTransaction extends ClientTransaction {
  private state: "trying" | "proceeding" | "completed" = "trying";

  start(): void {
    this.send(this.request, this.peer);
    const { t1, t2 } = this.timing;
    this.timers.retransmit("E", t1, t2, () => this.send(this.request, this.peer));
    this.timers.set("F", 64 * t1, () => this.timeout());
  }

  receive(response: SipResponse): void {
    if (this.state === "completed") return;
    if (response.status < 200) {
      if (this.state === "trying") {
        this.state = "proceeding";
        this.timers.retransmit("E", this.timing.t2, this.timing.t2, () => this.send(this.request, this.peer));
      }
      this.tu.onResponse(response);
      return;
    }
    this.state = "completed";
    this.finished = true;
    this.timers.clear();
    this.timers.set("K", this.timing.t4, () => this.terminate());
    this.tu.onResponse(response);
  }
}
