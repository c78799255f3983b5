import { Pool } from "undici";
import { mintToken } from "../contracts/bearer-token.ts";
import type { OriginateInput } from "../contracts/originate-input.ts";

/** How the gateway answered an originate, as the orchestrator acts on it. */
type OriginateOutcome =
  /** FreeSWITCH has the originate (202); its result arrives as events. */
  | { kind: "accepted" }
  /** 409: a call with this uuid is already up or being originated — an earlier attempt got through. */
  | { kind: "duplicate" }
  /** Worth trying again later: 429/503 (with the gateway's Retry-After), other 5xx, 401/403, no answer. */
  | { kind: "retry"; reason: string; retryAfterMs?: number }
  /** The request itself is wrong (400...): no retry will place it. */
  | { kind: "rejected"; reason: string };

interface GatewayClientOptions {
  baseUrl: string;
  jwtSecret: Uint8Array;
  jwtIssuer?: string;
  jwtAudience?: string;
  connections: number;
  requestTimeoutMs: number;
}

const tokenTtlSec = 3600;
/** A token is replaced this long before it expires, so no request carries one that lapses in flight. */
const tokenRenewBeforeMs = 300_000;

/** The gateway's REST API, as the orchestrator uses it: originate only, with an `fs:originate` token. */
export class GatewayClient {
  private readonly pool: Pool;
  private token: { value: Promise<string>; renewAt: number } | undefined;

  constructor(private readonly options: GatewayClientOptions) {
    this.pool = new Pool(options.baseUrl, {
      connections: options.connections,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
    });
  }

  async originate(input: OriginateInput): Promise<OriginateOutcome> {
    let response: Awaited<ReturnType<Pool["request"]>>;
    try {
      response = await this.pool.request({
        method: "POST",
        path: "/api/v1/fs/originate",
        headers: { authorization: `Bearer ${await this.bearer()}`, "content-type": "application/json" },
        body: JSON.stringify(input),
      });
    } catch (error) {
      return { kind: "retry", reason: `gateway unreachable: ${(error as Error).message}` };
    }
    const text = await response.body.text().catch(() => "");
    const status = response.statusCode;
    if (status === 200 || status === 202) return { kind: "accepted" };
    if (status === 409) return { kind: "duplicate" };
    const reason = `gateway answered ${status}: ${errorMessage(text)}`;
    if (status === 429 || status === 401 || status === 403 || status >= 500) {
      const retryAfterMs = retryAfter(response.headers["retry-after"]);
      return retryAfterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, retryAfterMs };
    }
    return { kind: "rejected", reason };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private bearer(): Promise<string> {
    const now = Date.now();
    if (!this.token || now >= this.token.renewAt) {
      const value = mintToken(this.options.jwtSecret, {
        scopes: ["fs:originate"],
        subject: "calls-orchestrator",
        issuer: this.options.jwtIssuer,
        audience: this.options.jwtAudience,
        ttlSec: tokenTtlSec,
      });
      this.token = { value, renewAt: now + tokenTtlSec * 1000 - tokenRenewBeforeMs };
    }
    return this.token.value;
  }
}

function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error) return `${body.error.code}: ${body.error.message}`;
  } catch {}
  return text.slice(0, 200);
}

/** Retry-After in seconds (the gateway's form) or as an HTTP date. */
function retryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
