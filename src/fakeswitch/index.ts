/**
 * The FreeSWITCH double: an inbound ESL server (mod_event_socket of FreeSWITCH 1.10.12) with a call model
 * behind it, for the gateway's tests and the lab's load tests.
 */

export { parseTranscript, type TranscriptStep } from "../esl/transcript.ts";
export { type CallProfile, defaultProfile } from "./call-model.ts";
export { type ControlApi, type ControlApiOptions, startControlApi } from "./control-api.ts";
export { FakeSwitchControl, type ProfileJson } from "./control-client.ts";
export type { InboundCall } from "./inbound-calls.ts";
export {
  type ReplayMismatch,
  type ReplayOptions,
  type ReplayReport,
  type ReplayServer,
  startReplay,
} from "./replay.ts";
export type { LoadLatency } from "./reply-latency.ts";
export {
  type FakeSwitch,
  type FakeSwitchOptions,
  type FakeSwitchStats,
  startFakeSwitch,
} from "./server.ts";
