import type { CallHost } from "./call-host.ts";
import { type Address, parseAddress, uriHostPort } from "./header-fields.ts";
import { header, headerValues, type SipRequest, type SipResponse } from "./message.ts";
import type { Peer } from "./transport.ts";

/**
 * A dialog (RFC 3261 §12): Call-ID, tags, the remote target, the route set and the local CSeq, and how to
 * build a request inside it (§12.2.1.1). Loose routing only (every route carries `;lr`, as Kamailio's
 * record_route writes it); strict routers are not supported.
 */
export class Dialog {
  private constructor(
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    /** The From of our requests (our address, with our tag) and their To (the remote's, with its tag). */
    private readonly localAddress: string,
    private readonly remoteAddress: string,
    readonly remoteTarget: string,
    readonly routeSet: string[],
    private localSeq: number,
  ) {}

  /** §12.1.2: the UAC's dialog from the 2xx: route set is the Record-Route in reverse. */
  static fromUac(invite: SipRequest, response: SipResponse, localTag: string, remoteTag: string): Dialog {
    return new Dialog(
      header(invite, "Call-ID") ?? "",
      localTag,
      remoteTag,
      header(invite, "From") ?? "",
      header(response, "To") ?? "",
      contactUri(response) ?? invite.uri,
      headerValues(response, "Record-Route").reverse(),
      Number.parseInt(header(invite, "CSeq") ?? "1", 10),
    );
  }

  /** §12.1.1: the UAS's dialog from the INVITE: route set is its Record-Route in order. */
  static fromUas(invite: SipRequest, localTag: string, remoteTag: string): Dialog {
    return new Dialog(
      header(invite, "Call-ID") ?? "",
      localTag,
      remoteTag,
      `${header(invite, "To") ?? ""};tag=${localTag}`,
      header(invite, "From") ?? "",
      contactUri(invite) ?? "",
      headerValues(invite, "Record-Route"),
      0,
    );
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag);
  }

  /**
   * A request inside the dialog (§12.2.1.1): Request-URI the remote target, Route the route set, sent to
   * the first route (or the target). ACK reuses the INVITE's CSeq number (§13.2.2.4); others take the next.
   */
  request(
    method: string,
    via: string,
    opts: { inviteSeq?: number; contact?: string } = {},
  ): {
    request: SipRequest;
    peer: Peer | undefined;
  } {
    const seq = method === "ACK" && opts.inviteSeq !== undefined ? opts.inviteSeq : ++this.localSeq;
    const headers: Array<[string, string]> = [
      ["Via", via],
      ["Max-Forwards", "70"],
      ["From", this.localAddress],
      ["To", this.remoteAddress],
      ["Call-ID", this.callId],
      ["CSeq", `${seq} ${method}`],
      ...this.routeSet.map((r): [string, string] => ["Route", r]),
    ];
    if (opts.contact) headers.push(["Contact", opts.contact]);
    const next: Address | undefined = this.routeSet[0] ? parseAddress(this.routeSet[0]) : undefined;
    const peer = uriHostPort(next?.uri ?? this.remoteTarget);
    return {
      request: { kind: "request", method, uri: this.remoteTarget, headers, body: Buffer.alloc(0) },
      peer,
    };
  }
}

export const dialogKey = (callId: string, localTag: string): string => `${callId}\u0000${localTag}`;

function contactUri(message: SipRequest | SipResponse): string | undefined {
  const contact = headerValues(message, "Contact")[0];
  return contact ? parseAddress(contact).uri : undefined;
}

/** BYE inside the dialog (§15.1.1); `done` once it is answered or Timer F gave up on it. */
export function sendBye(host: CallHost, dialog: Dialog, done: () => void): void {
  const { request, peer } = dialog.request("BYE", host.newVia());
  if (!peer) {
    done();
    return;
  }
  host.sendRequest(request, peer, { onResponse: (r) => r.status >= 200 && done(), onTimeout: done });
}
