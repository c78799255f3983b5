export { Backoff, type BackoffOptions, defaultBackoff } from "../net/backoff.ts";
export * from "./client.ts";
export * from "./commands.ts";
export { type DecoderLimits, FrameDecoder } from "./decoder.ts";
export * from "./errors.ts";
export * from "./event.ts";
export * from "./frame.ts";
export { parseTranscript, type TranscriptStep } from "./transcript.ts";
export { urlDecode, urlEncode } from "./urlcodec.ts";
