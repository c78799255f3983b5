import { randomBytes } from "node:crypto";
import { header, headerValues, REASONS, type SipRequest, type SipResponse } from "./message.ts";

/** RFC 3261 §8.1.1.7: branches start with the magic cookie so that §17.2.3 matching applies. */
export const newBranch = (): string => `z9hG4bK${randomBytes(8).toString("hex")}`;
export const newTag = (): string => randomBytes(6).toString("hex");
export const newCallId = (host: string): string => `${randomBytes(10).toString("hex")}@${host}`;

/**
 * A response to `request` (§8.2.6.2): Via (all of them), From, To, Call-ID and CSeq copied; the To tag added
 * when given and the request's To has none. Record-Route is copied into responses that can set up a
 * dialog (§12.1.1).
 */
export function responseTo(
  request: SipRequest,
  status: number,
  opts: { toTag?: string; headers?: Array<[string, string]>; body?: Buffer; reason?: string } = {},
): SipResponse {
  const headers: Array<[string, string]> = request.headers.filter(([n]) =>
    ["Via", "From", "Call-ID", "CSeq"].includes(n),
  );
  const to = header(request, "To") ?? "";
  headers.splice(
    headers.findIndex(([n]) => n === "Call-ID"),
    0,
    ["To", opts.toTag && !/;\s*tag=/i.test(to) ? `${to};tag=${opts.toTag}` : to],
  );
  if (request.method === "INVITE" && status > 100 && status < 300) {
    for (const rr of headerValues(request, "Record-Route")) headers.push(["Record-Route", rr]);
  }
  headers.push(...(opts.headers ?? []));
  return {
    kind: "response",
    status,
    reason: opts.reason ?? REASONS[status] ?? "Unknown",
    headers,
    body: opts.body ?? Buffer.alloc(0),
  };
}

/**
 * The ACK for a 3xx–6xx (§17.1.1.3): same Request-URI, top Via, From, Call-ID and Route as the INVITE,
 * the response's To (with its tag), CSeq number with method ACK.
 */
export function ackForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  return sameTransactionRequest(invite, "ACK", header(response, "To"));
}

/** CANCEL (§9.1): the INVITE's Request-URI, top Via, From, To, Call-ID, Route; CSeq number with CANCEL. */
export function cancelFor(invite: SipRequest): SipRequest {
  return sameTransactionRequest(invite, "CANCEL", header(invite, "To"));
}

function sameTransactionRequest(invite: SipRequest, method: string, to: string | undefined): SipRequest {
  const headers: Array<[string, string]> = [];
  const via = headerValues(invite, "Via")[0];
  if (via) headers.push(["Via", via]);
  for (const [name, value] of invite.headers) {
    if (name === "From" || name === "Call-ID" || name === "Route" || name === "Max-Forwards")
      headers.push([name, value]);
    else if (name === "To") headers.push(["To", to ?? value]);
    else if (name === "CSeq") headers.push(["CSeq", `${value.split(/\s+/)[0]} ${method}`]);
  }
  return { kind: "request", method, uri: invite.uri, headers, body: Buffer.alloc(0) };
}
