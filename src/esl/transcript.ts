/**
 * A capture transcript (the `.txt` format of test/fixtures/freeswitch-esl, its README): a marker line,
 * then exactly N raw bytes and one `\n` separator, for each chunk:
 *
 *   >>> +<ms since start> ms <epoch ms> <N> bytes   N bytes the client wrote (one write)
 *   <<< +<ms since start> ms <epoch ms> <N> bytes   N bytes one recv() returned (server → client)
 *   ### +<ms since start> ms <epoch ms> <text>      a note of the capture client; no payload
 */
export type TranscriptStep =
  | { kind: "sent"; atMs: number; bytes: Buffer }
  | { kind: "recv"; atMs: number; bytes: Buffer }
  | { kind: "note"; atMs: number; text: string };

const MARKER = /^(>>>|<<<) \+(\d+(?:\.\d+)?) ms \d+ (\d+) bytes$|^### \+(\d+(?:\.\d+)?) ms \d+ (.*)$/;

export function parseTranscript(transcript: Buffer): TranscriptStep[] {
  const steps: TranscriptStep[] = [];
  let at = 0;
  while (at < transcript.length) {
    let lineEnd = transcript.indexOf(0x0a, at);
    if (lineEnd === -1) lineEnd = transcript.length;
    const line = transcript.toString("utf8", at, lineEnd);
    const m = MARKER.exec(line);
    if (!m)
      throw new Error(`not a transcript marker line at byte ${at}: ${JSON.stringify(line.slice(0, 80))}`);
    at = lineEnd + 1;
    if (m[1] === undefined) {
      steps.push({ kind: "note", atMs: Number(m[4]), text: m[5] ?? "" });
      continue;
    }
    const length = Number(m[3]);
    if (
      at + length > transcript.length ||
      (at + length < transcript.length && transcript[at + length] !== 0x0a)
    )
      throw new Error(`chunk at byte ${at} is not ${length} bytes followed by its separator`);
    const bytes = transcript.subarray(at, at + length);
    steps.push({ kind: m[1] === ">>>" ? "sent" : "recv", atMs: Number(m[2]), bytes });
    at += length + 1;
  }
  return steps;
}
