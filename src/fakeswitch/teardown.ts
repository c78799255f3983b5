import type { Channel } from "./channel.ts";
import { nowUs } from "./clock.ts";
import type { CompiledTemplate } from "./event-serializer.ts";
import type { SwitchCore } from "./switch-core.ts";
import { T } from "./template-tokens.ts";

/** Q.850 code, SIP status and reason phrase per hangup cause (switch_channel.c CAUSE_CHART, sofia_glue). */
const CAUSES: Record<string, [q850: number, sip: number, phrase: string]> = {
  NORMAL_CLEARING: [16, 200, "OK"],
  USER_BUSY: [17, 486, "Busy Here"],
  NO_USER_RESPONSE: [18, 480, "Temporarily Unavailable"],
  NO_ANSWER: [19, 480, "Temporarily Unavailable"],
  CALL_REJECTED: [21, 603, "Decline"],
  UNALLOCATED_NUMBER: [1, 404, "Not Found"],
  NO_ROUTE_DESTINATION: [3, 404, "Not Found"],
  DESTINATION_OUT_OF_ORDER: [27, 502, "Bad Gateway"],
  INVALID_NUMBER_FORMAT: [28, 484, "Address Incomplete"],
  NORMAL_UNSPECIFIED: [31, 480, "Temporarily Unavailable"],
  NORMAL_TEMPORARY_FAILURE: [41, 503, "Service Unavailable"],
  SWITCH_CONGESTION: [42, 503, "Service Unavailable"],
  RECOVERY_ON_TIMER_EXPIRE: [102, 408, "Request Timeout"],
  ORIGINATOR_CANCEL: [487, 487, "Request Terminated"],
  SYSTEM_SHUTDOWN: [501, 503, "Service Unavailable"],
  LOSE_RACE: [502, 487, "Request Terminated"],
  MANAGER_REQUEST: [503, 503, "Service Unavailable"],
};

export function isCause(name: string): boolean {
  return name in CAUSES;
}

/**
 * switch_channel_perform_hangup: the channel leaves the call (no more timers, phase hangup) and its
 * hangup cause, time and SIP details go into its tokens, ready for CHANNEL_HANGUP.
 */
export function beginHangup(channel: Channel, cause: string, disposition?: string): void {
  channel.clearTimers();
  const wasAnswered = channel.answered;
  channel.phase = "hangup";
  channel.hangupCause = cause;
  channel.hangupUs = nowUs();
  const [q850, sip, phrase] = CAUSES[cause] ?? [0, 500, "Server Internal Error"];
  const t = channel.tokens;
  t.set(T.HANGUP_CAUSE, cause);
  t.set(T.Q850, String(q850));
  t.set(T.HANGUP_TS, String(channel.hangupUs));
  t.set(T.SIP_STATUS, String(sip));
  t.set(T.SIP_PHRASE, phrase);
  t.set(T.PROTO_CAUSE, `sip:${sip}`);
  const how =
    disposition ?? (wasAnswered ? "send_bye" : cause === "NORMAL_CLEARING" ? "send_cancel" : "send_refuse");
  t.set(T.HANGUP_DISPOSITION, how);
  // An answered leg's hangup events (withSipTermBlocks, tools/extract-templates.ts): the far end's BYE sets
  // the SIP termination variables before the hangup; our own hangup sets only the disposition, late.
  if (how === "recv_bye") {
    t.setBlock(T.SIP_TERM, [
      ["variable_sip_term_status", "200"],
      ["variable_proto_specific_hangup_cause", "sip:200"],
      ["variable_sip_term_cause", String(q850)],
    ]);
    t.setBlock(T.LOCAL_DISPOSITION, []);
  } else {
    t.setBlock(T.SIP_TERM, []);
    t.setBlock(T.LOCAL_DISPOSITION, [["variable_sip_hangup_disposition", how]]);
  }
}

/** After CHANNEL_HANGUP, sofia records a received BYE's disposition with the termination variables. */
function afterHangupEvent(channel: Channel): void {
  const t = channel.tokens;
  if (t.get(T.HANGUP_DISPOSITION) !== "recv_bye") return;
  t.setBlock(T.SIP_TERM, [...t.blockList(T.SIP_TERM), ["variable_sip_hangup_disposition", "recv_bye"]]);
}

/**
 * The rest of a hangup, after CHANNEL_HANGUP: the CDR tokens, then the events in order; a channel leaves
 * the switch at its CHANNEL_DESTROY, and an originate still waiting on it gets its cause at its
 * CHANNEL_HANGUP_COMPLETE (09a: BACKGROUND_JOB comes after HANGUP_COMPLETE, before DESTROY).
 */
export function finishHangup(
  core: SwitchCore,
  steps: ReadonlyArray<readonly [Channel, CompiledTemplate]>,
): void {
  const legs = new Set(steps.map(([channel]) => channel));
  for (const channel of legs) channel.setCdrTokens();
  for (const [channel, template] of steps) {
    if (template.event === "CHANNEL_DESTROY") core.channels.delete(channel.uuid);
    core.fireChannel(channel, template);
    if (template.event === "CHANNEL_HANGUP_COMPLETE") {
      const done = channel.pendingOriginate;
      channel.pendingOriginate = undefined;
      done?.(channel.hangupCause);
    }
  }
  for (const channel of legs) {
    channel.phase = "destroyed";
    channel.state = "CS_DESTROY";
    channel.parked = false;
  }
}

/** One channel's hangup: CHANNEL_HANGUP at once (an api command's own API event follows it, capture 14), the rest on the next turn. */
export function hangupOne(core: SwitchCore, channel: Channel, list: readonly CompiledTemplate[]): void {
  const [first, ...rest] = list as [CompiledTemplate, ...CompiledTemplate[]];
  core.fireChannel(channel, first);
  afterHangupEvent(channel);
  channel.state = "CS_HANGUP";
  setImmediate(() =>
    finishHangup(
      core,
      rest.map((t) => [channel, t] as const),
    ),
  );
}
