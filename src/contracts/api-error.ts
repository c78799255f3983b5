import type { PolicyCode } from "./caller-policy.ts";

/** An HTTP API error with a stable machine-readable code; rendered as `{ error: { code, message } }`. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

type ApiErrorCode =
  | "bad_request"
  /** Refused before routing: the method, URL or header fields (src/gateway/http.ts). */
  | "method_not_allowed"
  | "not_implemented"
  | "uri_too_long"
  | "headers_too_large"
  | "request_timeout"
  | "unauthenticated"
  | "invalid_token"
  | "token_lifetime_too_long"
  | "insufficient_scope"
  | "not_found"
  | "duplicate_call_uuid"
  | "throttled"
  | "freeswitch_unavailable"
  | "command_timeout"
  | "freeswitch_error"
  | "payload_too_large"
  | "unsupported_media_type"
  /** The calls API (src/calls/api.ts): the call could not be recorded, or not queued. */
  | "database_unavailable"
  | "queue_unavailable"
  | "internal"
  /** 400: the caller policy refused a value (caller-policy.ts, docs/security.md). */
  | PolicyCode;
