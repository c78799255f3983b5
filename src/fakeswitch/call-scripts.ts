/** Data, not behaviour: the captured event sequences cut into the steps of each kind of call, compiled and checked at load. */
import { type CompiledTemplate, compileTemplate } from "./event-serializer.ts";
import { attachLogLines } from "./log-lines.ts";
import {
  answeredCall,
  answeredCallLogs,
  bridgeCall,
  bridgeHangup,
  type EventTemplate,
  earlyMediaCall,
  earlyMediaHangup,
  failedCall,
  hangupParked,
  ignoreEarlyMediaCall,
  ignoreEarlyMediaHangup,
  inboundAnswer,
  inboundCall,
  inboundHangup,
  playbackOnPark,
  playbackStopOnHangup,
  transferToPark,
  uuidBridge,
  uuidBridgeHangup,
} from "./templates.ts";

/**
 * The captured event sequences, compiled once and cut into the steps of each kind of call. Each cut is
 * checked against the event names it must hold when the module loads, so a re-extraction that shifts a
 * sequence fails at once instead of producing wrong calls.
 */

const compiled = new Map<EventTemplate, CompiledTemplate>();
/** Identical captured events are one template object (the extractor pools them): compile each once. */
const compile = (list: readonly EventTemplate[]) =>
  list.map((t) => {
    let c = compiled.get(t);
    if (!c) {
      c = compileTemplate(t);
      compiled.set(t, c);
    }
    return c;
  });

function cut(list: CompiledTemplate[], from: number, to: number, names: string): CompiledTemplate[] {
  const part = list.slice(from, to);
  const got = part.map((t) => `${t.role ? `${t.role}:` : ""}${t.event}`).join(" ");
  if (got !== names) throw new Error(`fakeswitch templates out of shape: expected ${names}, got ${got}`);
  return part;
}

const SETUP = "CHANNEL_OUTGOING CHANNEL_STATE CHANNEL_CREATE CHANNEL_ORIGINATE CHANNEL_STATE CHANNEL_STATE";
const PARK = "CHANNEL_STATE CHANNEL_EXECUTE CHANNEL_PARK";
const HANGUP_PARKED =
  "CHANNEL_HANGUP CHANNEL_UNPARK CHANNEL_EXECUTE_COMPLETE CHANNEL_STATE CHANNEL_CALLSTATE CHANNEL_STATE CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY CHANNEL_STATE";
const prefixed = (role: string, names: string) =>
  names
    .split(" ")
    .map((n) => `${role}:${n}`)
    .join(" ");

/**
 * One outbound leg from the INVITE on: `setup`, then `progress` (a 180, or a 183 with SDP), then at the
 * far end's answer `answer`, then the `park` application. With early media the originate succeeds at the
 * 183 and the call is parked before the answer (capture 09b); otherwise it succeeds at the answer.
 */
export interface OutboundScript {
  setup: CompiledTemplate[];
  progress: CompiledTemplate[];
  answer: CompiledTemplate[];
  park: CompiledTemplate[];
  /** The far end answers the INVITE with 183 and SDP (CHANNEL_PROGRESS_MEDIA) rather than 180. */
  earlyMedia: boolean;
  successAtProgress: boolean;
  /** CHANNEL_HANGUP … CS_DESTROY of an answered (or parked) call, and of one that never was. */
  hangupAnswered: CompiledTemplate[];
  hangupUnanswered: CompiledTemplate[];
}

const answered = compile(answeredCall);
const failed = compile(failedCall);
const HANGUP_UNANSWERED = cut(
  failed,
  6,
  13,
  "CHANNEL_HANGUP CHANNEL_STATE CHANNEL_CALLSTATE CHANNEL_STATE CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY CHANNEL_STATE",
);
attachLogLines(answered, answeredCallLogs);

/** 14-log-data: 180 Ringing, 200 OK; the originate returns at the answer. */
export const RINGING_CALL: OutboundScript = {
  setup: cut(answered, 0, 6, SETUP),
  progress: cut(answered, 6, 8, "CHANNEL_PROGRESS CHANNEL_CALLSTATE"),
  answer: cut(answered, 8, 13, "CODEC CODEC CHANNEL_ANSWER CHANNEL_CALLSTATE CALL_UPDATE"),
  park: cut(answered, 13, 16, PARK),
  earlyMedia: false,
  successAtProgress: false,
  hangupAnswered: cut(compile(hangupParked), 0, 9, HANGUP_PARKED),
  hangupUnanswered: HANGUP_UNANSWERED,
};

const early = compile(earlyMediaCall);
/** 09b: 183 with SDP; the originate succeeds then, the call parks in early media, the 200 comes later. */
export const EARLY_MEDIA_CALL: OutboundScript = {
  setup: cut(early, 0, 6, SETUP),
  progress: cut(early, 6, 11, "CHANNEL_PROGRESS_MEDIA CHANNEL_CALLSTATE CODEC CODEC CALL_UPDATE"),
  park: cut(early, 11, 14, PARK),
  answer: cut(early, 14, 16, "CHANNEL_ANSWER CHANNEL_CALLSTATE"),
  earlyMedia: true,
  successAtProgress: true,
  hangupAnswered: cut(compile(earlyMediaHangup), 0, 9, HANGUP_PARKED),
  hangupUnanswered: HANGUP_UNANSWERED,
};

const ignoring = compile(ignoreEarlyMediaCall);
/** 09b with ignore_early_media=true: the 183 plays, but the originate waits for the 200. */
export const IGNORE_EARLY_MEDIA_CALL: OutboundScript = {
  setup: cut(ignoring, 0, 6, SETUP),
  progress: cut(ignoring, 6, 10, "CHANNEL_PROGRESS_MEDIA CHANNEL_CALLSTATE CODEC CODEC"),
  answer: cut(ignoring, 10, 13, "CHANNEL_ANSWER CHANNEL_CALLSTATE CALL_UPDATE"),
  park: cut(ignoring, 13, 16, PARK),
  earlyMedia: true,
  successAtProgress: false,
  hangupAnswered: cut(compile(ignoreEarlyMediaHangup), 0, 9, HANGUP_PARKED),
  hangupUnanswered: HANGUP_UNANSWERED,
};

const bridged = compile(bridgeCall);
/** 10: `originate A &bridge(B)`, the A leg up to its answer; then `bridge` runs instead of park. */
export const BRIDGING_CALL: OutboundScript = {
  setup: cut(bridged, 0, 6, prefixed("a", SETUP)),
  progress: cut(bridged, 6, 8, "a:CHANNEL_PROGRESS a:CHANNEL_CALLSTATE"),
  answer: cut(bridged, 8, 13, "a:CODEC a:CODEC a:CHANNEL_ANSWER a:CHANNEL_CALLSTATE a:CALL_UPDATE"),
  park: RINGING_CALL.park,
  earlyMedia: false,
  successAtProgress: false,
  hangupAnswered: RINGING_CALL.hangupAnswered,
  hangupUnanswered: HANGUP_UNANSWERED,
};

/** 10: the B leg the bridge originates; its events carry A as the other leg. It never parks. */
export const BRIDGED_LEG: OutboundScript = {
  setup: cut(bridged, 16, 22, prefixed("b", SETUP)),
  progress: cut(bridged, 22, 24, "b:CHANNEL_PROGRESS b:CHANNEL_CALLSTATE"),
  answer: cut(bridged, 24, 28, "b:CODEC b:CODEC b:CHANNEL_ANSWER b:CHANNEL_CALLSTATE"),
  park: [],
  earlyMedia: false,
  successAtProgress: false,
  hangupAnswered: RINGING_CALL.hangupAnswered,
  hangupUnanswered: HANGUP_UNANSWERED,
};

/** 10: `originate A &bridge(B)` once A has answered (each template names its leg). */
export const APP_BRIDGE = {
  /** A runs the bridge application and waits for B (RING_WAIT). */
  execute: cut(bridged, 13, 16, "a:CHANNEL_STATE a:CHANNEL_EXECUTE a:CHANNEL_CALLSTATE"),
  /** B answered: CHANNEL_BRIDGE on A, CALL_UPDATE on both. */
  bridge: cut(
    bridged,
    28,
    33,
    "a:CHANNEL_CALLSTATE a:CHANNEL_BRIDGE b:CHANNEL_STATE b:CALL_UPDATE a:CALL_UPDATE",
  ),
  /** uuid_kill of A: both legs hung up, CHANNEL_UNBRIDGE on A. */
  hangup: cut(
    compile(bridgeHangup),
    0,
    16,
    "a:CHANNEL_HANGUP b:CHANNEL_HANGUP b:CHANNEL_STATE b:CHANNEL_CALLSTATE a:CHANNEL_UNBRIDGE a:CHANNEL_EXECUTE_COMPLETE a:CHANNEL_STATE a:CHANNEL_CALLSTATE b:CHANNEL_STATE b:CHANNEL_HANGUP_COMPLETE a:CHANNEL_STATE b:CHANNEL_DESTROY b:CHANNEL_STATE a:CHANNEL_HANGUP_COMPLETE a:CHANNEL_DESTROY a:CHANNEL_STATE",
  ),
};

/** 10: `uuid_bridge X Y` of two parked calls (X is `a`), and uuid_kill X. */
export const UUID_BRIDGE = {
  bridge: cut(
    compile(uuidBridge),
    0,
    16,
    "b:CHANNEL_UNPARK b:CHANNEL_EXECUTE_COMPLETE b:CHANNEL_STATE b:CHANNEL_STATE a:CHANNEL_UNPARK a:CHANNEL_EXECUTE_COMPLETE a:CHANNEL_STATE a:CHANNEL_STATE a:CHANNEL_STATE b:CHANNEL_STATE a:CHANNEL_EXECUTE b:CHANNEL_EXECUTE a:CHANNEL_BRIDGE b:CHANNEL_STATE a:CALL_UPDATE b:CALL_UPDATE",
  ),
  hangup: cut(
    compile(uuidBridgeHangup),
    0,
    15,
    "a:CHANNEL_HANGUP b:CHANNEL_HANGUP a:CHANNEL_UNBRIDGE a:CHANNEL_STATE a:CHANNEL_CALLSTATE b:CHANNEL_STATE b:CHANNEL_CALLSTATE a:CHANNEL_STATE a:CHANNEL_HANGUP_COMPLETE a:CHANNEL_DESTROY a:CHANNEL_STATE b:CHANNEL_STATE b:CHANNEL_HANGUP_COMPLETE b:CHANNEL_DESTROY b:CHANNEL_STATE",
  ),
};

/** 11: an inbound call routed and parked unanswered; uuid_answer; hangup. */
export const INBOUND_CALL = {
  setup: cut(
    compile(inboundCall),
    0,
    17,
    "CHANNEL_STATE CHANNEL_STATE CHANNEL_CREATE CHANNEL_CALLSTATE CHANNEL_STATE PRESENCE_IN CHANNEL_STATE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_EXECUTE CHANNEL_PARK",
  ),
  answer: cut(
    compile(inboundAnswer),
    0,
    7,
    "CODEC CODEC CHANNEL_PROGRESS_MEDIA CHANNEL_CALLSTATE CHANNEL_ANSWER PRESENCE_IN CHANNEL_CALLSTATE",
  ),
  hangup: cut(
    compile(inboundHangup),
    0,
    10,
    "CHANNEL_HANGUP CHANNEL_UNPARK CHANNEL_EXECUTE_COMPLETE CHANNEL_STATE CHANNEL_CALLSTATE PRESENCE_IN CHANNEL_STATE CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY CHANNEL_STATE",
  ),
};

/** 03: uuid_broadcast playback and uuid_transfer on a parked call. */
export const PLAYBACK = cut(
  compile(playbackOnPark),
  0,
  5,
  "CHANNEL_EXECUTE PLAYBACK_START PLAYBACK_STOP CHANNEL_EXECUTE_COMPLETE COMMAND",
);
/** A hangup during that playback: its end, after CHANNEL_HANGUP (measured on FreeSWITCH 1.10.12). */
export const PLAYBACK_STOP_ON_HANGUP = cut(
  compile(playbackStopOnHangup),
  0,
  3,
  "PLAYBACK_STOP CHANNEL_EXECUTE_COMPLETE COMMAND",
);
export const TRANSFER = cut(
  compile(transferToPark),
  0,
  6,
  "CHANNEL_UNPARK CHANNEL_EXECUTE_COMPLETE CHANNEL_STATE CHANNEL_STATE CHANNEL_EXECUTE CHANNEL_PARK",
);
