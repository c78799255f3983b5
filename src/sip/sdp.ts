/**
 * A minimal audio SDP (RFC 4566) for offers and answers: PCMU, PCMA and telephone-event, as FreeSWITCH's
 * default codec list offers them. No RTP is sent: the lab measures signalling only, so the media port is
 * a placeholder on loopback.
 */
export function audioSdp(opts: { host: string; rtpPort: number; sessionId?: number }): Buffer {
  const id = opts.sessionId ?? Math.floor(Math.random() * 1e9);
  return Buffer.from(
    [
      "v=0",
      `o=fs-esl-lab ${id} ${id} IN IP4 ${opts.host}`,
      "s=fs-esl-lab",
      `c=IN IP4 ${opts.host}`,
      "t=0 0",
      `m=audio ${opts.rtpPort} RTP/AVP 0 8 101`,
      "a=rtpmap:0 PCMU/8000",
      "a=rtpmap:8 PCMA/8000",
      "a=rtpmap:101 telephone-event/8000",
      "a=fmtp:101 0-16",
      "a=sendrecv",
      "",
    ].join("\r\n"),
  );
}

export const SDP_TYPE: [string, string] = ["Content-Type", "application/sdp"];
