import { randomUUID } from "node:crypto";
import { Channel, parseDestination } from "./channel.ts";
import { nowUs } from "./clock.ts";
import { type CompiledTemplate, compileTemplate } from "./event-serializer.ts";
import {
  lastVar,
  legVariables,
  ORIGINATE_USAGE,
  type OriginateLeg,
  type OriginateRequest,
  parseOriginate,
} from "./originate-parser.ts";
import type { SwitchCore } from "./switch-core.ts";
import { answeredCall, failedCall, hangupParked, playbackOnPark, transferToPark } from "./templates.ts";
import { T } from "./tokens.ts";

/** How the far end of a call behaves. Ranges `[min, max]` are drawn uniformly per call. */
export interface CallProfile {
  /** Time from the INVITE to the far end's answer (or to its error response). */
  answerDelayMs: number | [number, number];
  /** Time from answer until the far end hangs up NORMAL_CLEARING. Infinity: parked until killed. */
  holdMs: number | [number, number];
  /** Shares (0..1) of calls the far end refuses busy (486), leaves unanswered, or fails (503). */
  busyShare: number;
  noAnswerShare: number;
  failShare: number;
}

export const defaultProfile: CallProfile = {
  answerDelayMs: 300,
  holdMs: Number.POSITIVE_INFINITY,
  busyShare: 0,
  noAnswerShare: 0,
  failShare: 0,
};

const compile = (list: typeof answeredCall) => list.map(compileTemplate);
const ANSWERED = compile(answeredCall);
const HANGUP_PARKED = compile(hangupParked);
const FAILED = compile(failedCall);
const PLAYBACK = compile(playbackOnPark);
const TRANSFER = compile(transferToPark);

/** Captured sequences, by their place in them (checked at load so a re-extraction cannot shift them). */
const SEQ = {
  setup: ANSWERED.slice(0, 6), // OUTGOING, CS_INIT, CREATE, ORIGINATE, CS_ROUTING, CS_CONSUME_MEDIA
  ringing: ANSWERED.slice(6, 8), // PROGRESS, CALLSTATE RINGING
  answer: ANSWERED.slice(8, 13), // CODEC, CODEC, ANSWER, CALLSTATE ACTIVE, CALL_UPDATE
  park: ANSWERED.slice(13, 16), // CS_EXECUTE, EXECUTE park, PARK
  hangupParked: HANGUP_PARKED, // HANGUP, UNPARK, EXECUTE_COMPLETE, CS_HANGUP, CALLSTATE, CS_REPORTING, HANGUP_COMPLETE, DESTROY, CS_DESTROY
  hangupEarly: FAILED.slice(6), // HANGUP, CS_HANGUP, CALLSTATE, CS_REPORTING, HANGUP_COMPLETE, DESTROY, CS_DESTROY
  playback: PLAYBACK, // EXECUTE playback, PLAYBACK_START, PLAYBACK_STOP, EXECUTE_COMPLETE, PRIVATE_COMMAND
  transfer: TRANSFER, // UNPARK, EXECUTE_COMPLETE park, CS_ROUTING, CS_EXECUTE, EXECUTE park, PARK
};
const expectNames = (list: CompiledTemplate[], names: string) => {
  const got = list.map((t) => t.event).join(" ");
  if (got !== names) throw new Error(`fakeswitch templates out of shape: expected ${names}, got ${got}`);
};
expectNames(
  SEQ.setup,
  "CHANNEL_OUTGOING CHANNEL_STATE CHANNEL_CREATE CHANNEL_ORIGINATE CHANNEL_STATE CHANNEL_STATE",
);
expectNames(SEQ.answer, "CODEC CODEC CHANNEL_ANSWER CHANNEL_CALLSTATE CALL_UPDATE");
expectNames(SEQ.park, "CHANNEL_STATE CHANNEL_EXECUTE CHANNEL_PARK");
expectNames(
  SEQ.hangupEarly,
  "CHANNEL_HANGUP CHANNEL_STATE CHANNEL_CALLSTATE CHANNEL_STATE CHANNEL_HANGUP_COMPLETE CHANNEL_DESTROY CHANNEL_STATE",
);

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

type Outcome =
  | { kind: "answer"; answerMs: number; holdMs: number }
  | { kind: "refuse"; afterMs: number; cause: string }
  | { kind: "noanswer" };

const draw = (v: number | [number, number]) => (Array.isArray(v) ? v[0] + Math.random() * (v[1] - v[0]) : v);

export interface OriginateContext {
  /** Called once with the originate's output (`+OK <uuid>\n` or `-ERR <CAUSE>\n`). */
  done(body: string): void;
}

/**
 * The call model: outbound legs of `originate` and what happens to them (answer, park, far-end hangup,
 * uuid_kill, playback, transfer), firing the event sequences captured from FreeSWITCH 1.10.12.
 */
export class CallModel {
  profile: CallProfile;

  constructor(
    private readonly core: SwitchCore,
    profile: Partial<CallProfile> = {},
  ) {
    this.profile = { ...defaultProfile, ...profile };
  }

  /** originate_function (mod_commands.c) → switch_ivr_originate. */
  originate(arg: string, ctx: OriginateContext): void {
    this.core.stats.originates++;
    this.core.originateRate.mark();
    const request = parseOriginate(arg);
    if (!request) {
      ctx.done(ORIGINATE_USAGE);
      return;
    }
    this.runGroup(request, 0, ctx, "NORMAL_CLEARING");
  }

  private runGroup(request: OriginateRequest, index: number, ctx: OriginateContext, lastCause: string): void {
    const legs = request.groups[index];
    if (!legs) {
      ctx.done(`-ERR ${lastCause}\n`);
      return;
    }
    let settled = false;
    let waiting = 0;
    let cause = lastCause;
    const started: Channel[] = [];
    const onLeg = (channel: Channel, legCause: string | undefined) => {
      if (settled) return;
      if (legCause === undefined) {
        settled = true;
        for (const other of started) if (other !== channel && other.alive) this.hangup(other, "LOSE_RACE");
        ctx.done(`+OK ${channel.uuid}\n`);
        return;
      }
      cause = legCause;
      if (--waiting === 0) {
        settled = true;
        this.runGroup(request, index + 1, ctx, cause);
      }
    };
    for (const leg of legs) {
      const result = this.startLeg(leg, request, (ch, c) => onLeg(ch, c));
      if (typeof result === "string") cause = result;
      else {
        started.push(result);
        waiting++;
      }
    }
    if (waiting === 0) this.runGroup(request, index + 1, ctx, cause);
    else for (const ch of started) this.beginLeg(ch);
  }

  private readonly pendingStart = new WeakMap<Channel, Outcome>();

  /** Create the leg's channel (or refuse it with a cause) and fire its setup events. */
  private startLeg(
    leg: OriginateLeg,
    request: OriginateRequest,
    onResult: (channel: Channel, cause: string | undefined) => void,
  ): Channel | string {
    const dial = leg.dialString;
    if (dial.startsWith("error/")) {
      // mod_dptools error endpoint: no session, the cause named in the dial string.
      const name = dial.slice(6).toUpperCase();
      return isCause(name) ? name : "DESTINATION_OUT_OF_ORDER";
    }
    const vars = legVariables(leg, request);
    const uuid = lastVar(vars, "origination_uuid") ?? randomUUID();
    const refused = this.core.admitSession(uuid);
    if (refused) return refused;
    const context = request.target.kind === "extension" ? request.target.context : "default";
    const channel = new Channel(uuid, dial, parseDestination(dial), vars, this.core, nowUs(), context);
    this.core.registerChannel(channel);
    channel.pendingOriginate = (cause) => onResult(channel, cause);
    this.pendingStart.set(channel, this.outcome(vars, request));
    for (const t of SEQ.setup) this.core.fireChannel(channel, t);
    channel.state = "CS_CONSUME_MEDIA";
    return channel;
  }

  private beginLeg(channel: Channel): void {
    const outcome = this.pendingStart.get(channel);
    if (!outcome || !channel.alive) return;
    const timeoutMs = this.timeoutMs(channel);
    if (outcome.kind === "refuse") {
      channel.later(Math.min(outcome.afterMs, timeoutMs), () =>
        this.hangup(channel, outcome.afterMs > timeoutMs ? "NO_ANSWER" : outcome.cause, "recv_refuse"),
      );
      return;
    }
    this.ring(channel);
    if (outcome.kind === "noanswer" || outcome.answerMs > timeoutMs) {
      channel.later(timeoutMs, () => this.hangup(channel, "NO_ANSWER", "send_cancel"));
      return;
    }
    const answer = () => {
      this.answer(channel);
      if (Number.isFinite(outcome.holdMs) && outcome.holdMs >= 0 && channel.alive) {
        channel.later(outcome.holdMs, () => this.hangup(channel, "NORMAL_CLEARING", "recv_bye"));
      }
    };
    if (outcome.answerMs <= 0) answer();
    else channel.later(outcome.answerMs, answer);
  }

  private timeoutMs(channel: Channel): number {
    const v = channel.variable("originate_timeout") ?? channel.variable("leg_timeout");
    const n = v === undefined ? Number.NaN : Number(v);
    return Number.isFinite(n) && n > 0 ? n * 1000 : 60_000;
  }

  private outcome(vars: ReadonlyArray<readonly [string, string]>, request: OriginateRequest): Outcome {
    const p = this.profile;
    const answerVar = lastVar(vars, "fakeswitch_answer_delay_ms");
    const holdVar = lastVar(vars, "fakeswitch_hold_ms");
    const answerMs = answerVar !== undefined ? Number(answerVar) : draw(p.answerDelayMs);
    const holdMs = holdVar !== undefined ? Number(holdVar) : draw(p.holdMs);
    const causeVar = lastVar(vars, "fakeswitch_hangup_cause");
    let kind = lastVar(vars, "fakeswitch_outcome");
    if (kind === undefined) {
      const r = Math.random();
      kind =
        r < p.busyShare
          ? "busy"
          : r < p.busyShare + p.noAnswerShare
            ? "noanswer"
            : r < p.busyShare + p.noAnswerShare + p.failShare
              ? "fail"
              : "answer";
    }
    void request;
    switch (kind) {
      case "busy":
        return { kind: "refuse", afterMs: answerMs, cause: "USER_BUSY" };
      case "fail":
        return { kind: "refuse", afterMs: answerMs, cause: causeVar ?? "NORMAL_TEMPORARY_FAILURE" };
      case "reject":
        return { kind: "refuse", afterMs: answerMs, cause: "CALL_REJECTED" };
      case "noanswer":
        return { kind: "noanswer" };
      default:
        return { kind: "answer", answerMs, holdMs };
    }
  }

  private ring(channel: Channel): void {
    channel.progressUs = nowUs();
    channel.tokens.set(T.PROGRESS_TS, String(channel.progressUs));
    channel.callState = "RINGING";
    for (const t of SEQ.ringing) this.core.fireChannel(channel, t);
  }

  /** The far end answers (or uuid_answer): CODEC … CALL_UPDATE, the originate returns, then park. */
  answer(channel: Channel): void {
    if (channel.phase !== "ringing") return;
    channel.clearTimers();
    channel.answeredUs = nowUs();
    channel.tokens.set(T.ANSWERED_TS, String(channel.answeredUs));
    if (!channel.progressUs) {
      channel.progressUs = channel.answeredUs;
      channel.tokens.set(T.PROGRESS_TS, String(channel.progressUs));
    }
    channel.phase = "answered";
    channel.callState = "ACTIVE";
    for (const t of SEQ.answer) this.core.fireChannel(channel, t);
    const done = channel.pendingOriginate;
    channel.pendingOriginate = undefined;
    done?.(undefined);
    if (!channel.alive) return;
    channel.tokens.set(T.APP_UUID, randomUUID());
    channel.state = "CS_EXECUTE";
    channel.application = "park";
    for (const t of SEQ.park) this.core.fireChannel(channel, t);
    channel.phase = "parked";
  }

  /**
   * Hang a channel up. The CHANNEL_HANGUP is fired at once (so an api command's own API event follows
   * it, as in capture 14); the rest of the teardown runs on the next turn of the event loop.
   */
  hangup(channel: Channel, cause: string, disposition?: string): void {
    if (!channel.alive) return;
    channel.clearTimers();
    const wasAnswered = channel.phase === "answered" || channel.phase === "parked";
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
    t.set(
      T.HANGUP_DISPOSITION,
      disposition ?? (wasAnswered ? "send_bye" : cause === "NORMAL_CLEARING" ? "send_cancel" : "send_refuse"),
    );
    const seq = wasAnswered ? SEQ.hangupParked : SEQ.hangupEarly;
    const completeAt = seq.findIndex((x) => x.event === "CHANNEL_HANGUP_COMPLETE");
    this.core.fireChannel(channel, seq[0] as CompiledTemplate);
    channel.state = "CS_HANGUP";
    setImmediate(() => {
      channel.setCdrTokens();
      for (let i = 1; i < seq.length; i++) {
        const template = seq[i] as CompiledTemplate;
        if (template.event === "CHANNEL_DESTROY") this.core.channels.delete(channel.uuid);
        this.core.fireChannel(channel, template);
        if (i === completeAt) {
          const done = channel.pendingOriginate;
          channel.pendingOriginate = undefined;
          done?.(cause);
        }
      }
      channel.phase = "destroyed";
      channel.state = "CS_DESTROY";
    });
  }

  /** uuid_broadcast / sendmsg execute playback on a parked channel. */
  playback(channel: Channel, file: string, withPrivateCommand: boolean, onDone?: () => void): void {
    if (channel.phase !== "parked") return;
    const [execute, start, stop, complete, privateCommand] = SEQ.playback as [
      CompiledTemplate,
      CompiledTemplate,
      CompiledTemplate,
      CompiledTemplate,
      CompiledTemplate,
    ];
    const t = channel.tokens;
    t.set(T.APP_UUID, randomUUID());
    t.set(T.APP_DATA, file);
    channel.application = "playback";
    channel.applicationData = file;
    this.core.fireChannel(channel, execute);
    this.core.fireChannel(channel, start);
    channel.later(playbackMs(file, channel), () => {
      if (!channel.alive) return;
      this.core.fireChannel(channel, stop);
      this.core.fireChannel(channel, complete);
      if (withPrivateCommand) this.core.fireChannel(channel, privateCommand);
      channel.application = "park";
      channel.applicationData = "";
      onDone?.();
    });
  }

  /** uuid_transfer: leave park, route to the extension (the double's dialplan parks it again). */
  transfer(channel: Channel, extension: string, context: string): void {
    if (!channel.alive) return;
    const t = channel.tokens;
    t.set(T.CALLER_DEST, extension);
    t.set(T.CONTEXT, context);
    for (const template of SEQ.transfer) {
      if (template.event === "CHANNEL_EXECUTE") t.set(T.APP_UUID, randomUUID());
      this.core.fireChannel(channel, template);
    }
    channel.phase = channel.answeredUs ? "parked" : channel.phase;
  }

  hupall(cause: string, match?: [string, string]): number {
    let n = 0;
    for (const channel of [...this.core.channels.values()]) {
      if (match && channel.variable(match[0]) !== match[1]) continue;
      this.hangup(channel, cause);
      n++;
    }
    return n;
  }
}

/** tone_stream://%(on,off,freq);loops=N plays (on+off)*N ms; anything else: fakeswitch_playback_ms or 1 s. */
function playbackMs(file: string, channel: Channel): number {
  const v = Number(channel.variable("fakeswitch_playback_ms"));
  if (Number.isFinite(v) && v >= 0) return v;
  const tone = /%\((\d+),(\d+)/.exec(file);
  if (tone) {
    const loops = Number(/loops=(\d+)/.exec(file)?.[1] ?? 1);
    return (Number(tone[1]) + Number(tone[2])) * Math.max(1, loops);
  }
  return 1000;
}
