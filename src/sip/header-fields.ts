import { header, headerValues, type SipMessage } from "./message.ts";

/** `;name=value` parameters after a header's main part (RFC 3261 §25.1 generic-param), names lower-cased. */
export function params(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(";").slice(1)) {
    const eq = part.indexOf("=");
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name) out.set(name, eq === -1 ? "" : part.slice(eq + 1).trim());
  }
  return out;
}

/** A From/To/Contact/Route value (§20.10 name-addr or addr-spec): its URI and its header parameters. */
export interface Address {
  uri: string;
  params: Map<string, string>;
}

export function parseAddress(value: string): Address {
  const open = value.indexOf("<");
  const close = value.indexOf(">", open);
  if (open !== -1 && close !== -1) {
    return { uri: value.slice(open + 1, close).trim(), params: params(value.slice(close + 1)) };
  }
  // addr-spec: the URI's own parameters cannot be told from the header's, so all are the header's (§20.10).
  const semi = value.indexOf(";");
  return { uri: (semi === -1 ? value : value.slice(0, semi)).trim(), params: params(value.slice(semi)) };
}

export function tagOf(message: SipMessage, name: "From" | "To"): string | undefined {
  const value = header(message, name);
  return value === undefined ? undefined : parseAddress(value).params.get("tag");
}

/** The host and port a sip: URI points at (§19.1.2: 5060 when absent). */
export function uriHostPort(uri: string): { host: string; port: number } | undefined {
  const m = /^sips?:(?:[^@;?]*@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?/i.exec(uri);
  if (!m) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : 5060 };
}

export function uriUser(uri: string): string {
  return /^sips?:([^@;?]*)@/i.exec(uri)?.[1] ?? "";
}

export interface CSeq {
  seq: number;
  method: string;
}

export function cseqOf(message: SipMessage): CSeq | undefined {
  const m = /^(\d+)\s+(\S+)$/.exec(header(message, "CSeq") ?? "");
  return m ? { seq: Number(m[1]), method: m[2]!.toUpperCase() } : undefined;
}

/** The topmost Via (§8.1.1.7): its sent-by and branch, which with the method name a transaction (§17.2.3). */
export interface Via {
  sentBy: string;
  branch: string;
}

export function topVia(message: SipMessage): Via | undefined {
  const first = headerValues(message, "Via")[0];
  if (!first) return undefined;
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*\S+\s+([^;\s]+)/i.exec(first);
  if (!m) return undefined;
  return { sentBy: m[1]!.toLowerCase(), branch: params(first).get("branch") ?? "" };
}
