import type { CallOptions } from "./call-store.ts";

/** A call waiting to be placed: the message on `calls.requests`, published once per call id. */
export interface CallRequest {
  call_id: string;
  to: string;
  from: string;
  options: CallOptions;
  /** When the API accepted it, ISO 8601. */
  accepted_at: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCallRequest(request: CallRequest): Uint8Array {
  return encoder.encode(JSON.stringify(request));
}

/** Throws a readable error for a message that is not a call request (it will be dead-lettered). */
export function decodeCallRequest(data: Uint8Array): CallRequest {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (error) {
    throw new Error(`call request is not JSON: ${(error as Error).message}`);
  }
  const r = value as Partial<CallRequest> | null;
  if (
    typeof r?.call_id !== "string" ||
    typeof r.to !== "string" ||
    typeof r.from !== "string" ||
    typeof r.accepted_at !== "string" ||
    typeof r.options !== "object" ||
    r.options === null
  ) {
    throw new Error("call request lacks call_id, to, from, options or accepted_at");
  }
  return r as CallRequest;
}
