/**
 * `npm run esl-decode -- [FILE]`: decode an ESL byte stream into one JSON line per frame.
 * Reads a raw server-to-client stream (NAME.recv.raw, or `nc 127.0.0.1 8021 | …`) or a capture transcript
 * (NAME.txt: `<<<`/`>>>`/`###` marker lines, of which only `<<<` bytes are decoded); stdin when FILE is
 * absent or `-`.
 */
import { createReadStream } from "node:fs";
import { decodeEslStream } from "./decode-stream.ts";

const usage = `usage: npm run esl-decode -- [FILE|-]

Decodes FreeSWITCH Event Socket bytes and prints one JSON object per frame:
  {"contentType", "headers": [[name, value], ...], "body",
   "event": {"name", "headers": [[name, decoded value], ...], "body"}}   (event frames only)

FILE is a raw server-to-client stream (a capture's .recv.raw) or a capture transcript (.txt with
">>>", "<<<" and "###" marker lines; only the "<<<" bytes, what the server sent, are decoded). The
kind is told from the first bytes. Without FILE, or with "-", stdin is read.

Input that does not begin like ESL (a "Name: value" header line) prints {"error": "not ESL…", "offset",
"excerpt"} and exits 1. On bytes that are not ESL later on it prints {"error", "offset", "state",
"excerpt"} and exits 1; a stream that ends inside a frame prints {"error", "offset"} and exits 1 too. An
event whose body is malformed (json that does not parse or nests values, no Event-Name) is printed with
{"error"} in place of "event", decoding goes on, and the exit status is 1.`;

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return 0;
  }
  if (args.length > 1 || args.some((a) => a.startsWith("-") && a !== "-")) {
    console.error(usage);
    return 2;
  }
  const file = args[0];
  const input = file === undefined || file === "-" ? process.stdin : createReadStream(file);
  return decodeEslStream(input as AsyncIterable<Buffer>, (line) => process.stdout.write(`${line}\n`));
}

// A reader that closes the pipe early (`| head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2)).catch((error: Error) => {
  console.error(error.message);
  return 2;
});
