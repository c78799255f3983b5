/** Typed errors of the ESL layer. Messages never carry the ESL password. */

export class EslError extends Error {
  override name = "EslError";
}

/**
 * The peer sent bytes that are not ESL. Carries the decoder state, the stream offset of the frame that
 * failed, and a printable excerpt of the bytes.
 */
export class EslProtocolError extends EslError {
  override name = "EslProtocolError";
  constructor(
    message: string,
    readonly state: string,
    readonly excerpt: string,
    readonly offset = 0,
  ) {
    super(`${message} (decoder state: ${state}; frame at byte ${offset}; bytes: ${excerpt})`);
  }
}

/** FreeSWITCH refused the password (`-ERR invalid`). Retrying with the same password cannot succeed. */
export class EslAuthError extends EslError {
  override name = "EslAuthError";
}

/** The connection is down or went down while the command was outstanding. */
export class EslConnectionError extends EslError {
  override name = "EslConnectionError";
}

/** No reply (or no BACKGROUND_JOB) within the allowed time. The connection itself may still be fine. */
export class EslTimeoutError extends EslError {
  override name = "EslTimeoutError";
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/** The outgoing buffer is full: the peer is not reading. The command was not sent. */
export class EslBackpressureError extends EslError {
  override name = "EslBackpressureError";
}

/** A command argument would change the meaning of the command on the wire (injection). Nothing was sent. */
export class EslArgumentError extends EslError {
  override name = "EslArgumentError";
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** Printable excerpt of raw bytes for error messages: control characters escaped, length bounded. */
export function excerpt(bytes: Uint8Array, max = 64): string {
  const slice = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, max));
  const text = JSON.stringify(slice.toString("latin1"));
  return bytes.length > max ? `${text}…(+${bytes.length - max} bytes)` : text;
}
