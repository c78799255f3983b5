import type { ClientTransactionUser } from "./client-transactions.ts";
import type { SipRequest } from "./message.ts";
import type { TimerValues } from "./timers.ts";
import type { Peer } from "./transport.ts";

/** What a call needs from its user agent: addresses, transactions, and the dialog table. */
export interface CallHost {
  readonly host: string;
  readonly port: number;
  readonly timing: TimerValues;
  /** A Contact for a dialog of ours (§8.1.1.8). */
  contact(user: string): string;
  /** A top Via with a new branch (§8.1.1.7; `rport`: RFC 3581). */
  newVia(): string;
  /** The request in a new client transaction (INVITE or not, by its method). */
  sendRequest(request: SipRequest, peer: Peer, tu: ClientTransactionUser): { proceeding: boolean };
  /** Outside any transaction: the ACK of a 2xx (§13.2.2.4). */
  sendStateless(request: SipRequest, peer: Peer): void;
  addDialog(key: string, call: DialogUser): void;
  removeDialog(key: string): void;
}

/** A call as the UA core sees it: what arrives inside its dialog. */
export interface DialogUser {
  onBye(): void;
  onAck(): void;
}
