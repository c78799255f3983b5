/**
 * The decoding behind `npm run esl-decode` (src/esl/decode-cli.ts): ESL bytes in, one JSON line per frame
 * out, then a verdict. In-process, so that property tests can feed it any bytes.
 */
import { FrameDecoder } from "./decoder.ts";
import { excerpt } from "./errors.ts";
import { EslEvent } from "./event.ts";
import type { EslFrame } from "./frame.ts";
import { parseTranscript } from "./transcript.ts";

/** Longest header name waited for before bytes without a ':' are called not ESL. */
const maxHeaderNameBytes = 256;

/** Printable ASCII except ':': a header name's bytes. */
const isNameByte = (byte: number) => byte >= 0x21 && byte <= 0x7e && byte !== 0x3a;

/**
 * Whether a stream starting with `head` can be ESL: after any blank lines, a header name and ':'. Undefined
 * until enough bytes have arrived to tell.
 */
function startsLikeEsl(head: Uint8Array): boolean | undefined {
  let at = 0;
  while (at < head.length && (head[at] === 0x0a || head[at] === 0x0d)) at++;
  const nameStart = at;
  while (at < head.length && at - nameStart <= maxHeaderNameBytes && isNameByte(head[at] ?? 0)) at++;
  if (at - nameStart > maxHeaderNameBytes) return false;
  if (at === head.length) return undefined;
  return at > nameStart && head[at] === 0x3a;
}

/** One output line's object: the frame, and for an event frame the event read through EslEvent, or why it is malformed. */
function describeFrame(frame: EslFrame): Record<string, unknown> {
  const described: Record<string, unknown> = {
    contentType: frame.contentType ?? null,
    headers: frame.headers,
    body: frame.body === undefined ? null : frame.bodyText(),
  };
  const event = EslEvent.fromFrame(frame);
  const malformed = event?.malformed;
  if (malformed) described.error = `malformed ${frame.contentType} event: ${malformed}`;
  else if (event) {
    described.event = {
      name: event.name,
      headers: event.headerNames().map((name) => [name, event.get(name)]),
      body: event.body,
    };
  }
  return described;
}

/**
 * Decodes a raw server-to-client stream, or a capture transcript (told from its first bytes; only its
 * `<<<` bytes are decoded), writing one JSON line per frame. Returns the exit status: 1 when the input is
 * not ESL, has bytes that are not ESL, ends inside a frame or holds a malformed event; else 0.
 */
export async function decodeEslStream(
  input: AsyncIterable<Buffer>,
  writeLine: (line: string) => void,
): Promise<number> {
  const decoder = new FrameDecoder();
  let malformedEvents = 0;
  // Until the first bytes show a header line, they are held: input that is not ESL is said to be so.
  let head: Buffer | undefined = Buffer.alloc(0);
  const decode = (bytes: Buffer) => {
    for (const frame of decoder.push(bytes)) {
      const described = describeFrame(frame);
      if (described.error) malformedEvents++;
      writeLine(JSON.stringify(described));
    }
  };
  /** Feeds bytes on; false once the input is known not to be ESL. */
  const feed = (bytes: Buffer): boolean => {
    if (head === undefined) {
      decode(bytes);
      return true;
    }
    head = Buffer.concat([head, bytes]);
    const verdict = startsLikeEsl(head);
    if (verdict === undefined) return true;
    if (!verdict) return false;
    decode(head);
    head = undefined;
    return true;
  };
  const notEsl = () => {
    writeLine(
      JSON.stringify({
        error: "not ESL: the input does not begin with a header line (Name: value)",
        offset: 0,
        excerpt: excerpt(head ?? Buffer.alloc(0)),
      }),
    );
    return 1;
  };

  // Raw streams are decoded as they arrive (a live `nc` pipe); a transcript is read whole first.
  let transcript: Buffer[] | undefined;
  let first = true;
  for await (const chunk of input) {
    if (first && isTranscriptStart(chunk)) transcript = [];
    first = false;
    if (transcript) transcript.push(chunk);
    else if (!feed(chunk)) return notEsl();
    if (decoder.error) break;
  }
  if (transcript)
    for (const step of parseTranscript(Buffer.concat(transcript)))
      if (step.kind === "recv" && !feed(step.bytes)) return notEsl();
  if (head !== undefined) decode(head); // too short to tell: the decoder says where it ends
  const { error } = decoder;
  if (error) {
    const { message, offset, state, excerpt } = error;
    writeLine(JSON.stringify({ error: message, offset, state, excerpt }));
    return 1;
  }
  if (!decoder.idle) {
    writeLine(JSON.stringify({ error: "the stream ends inside a frame", offset: decoder.frameStart }));
    return 1;
  }
  return malformedEvents > 0 ? 1 : 0;
}

function isTranscriptStart(chunk: Buffer): boolean {
  const head = chunk.toString("latin1", 0, 4);
  return head === "<<< " || head === ">>> " || head === "### ";
}
