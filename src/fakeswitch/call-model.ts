/** What happens to each call over time (originate legs, outcomes, answer, park or bridge, hangups): it drives channels through call-scripts' steps. */
import { randomUUID } from "node:crypto";
import { bridge, hangupBridged, link, uuidBridge } from "./bridges.ts";
import {
  APP_BRIDGE,
  BRIDGED_LEG,
  BRIDGING_CALL,
  EARLY_MEDIA_CALL,
  IGNORE_EARLY_MEDIA_CALL,
  INBOUND_CALL,
  type OutboundScript,
  PLAYBACK,
  PLAYBACK_STOP_ON_HANGUP,
  RINGING_CALL,
  TRANSFER,
} from "./call-scripts.ts";
import { Channel, parseDestination } from "./channel.ts";
import { nowUs } from "./clock.ts";
import type { CompiledTemplate } from "./event-serializer.ts";
import { createInboundCall, type InboundCall } from "./inbound-calls.ts";
import {
  lastVar,
  legVariables,
  ORIGINATE_USAGE,
  type OriginateLeg,
  type OriginateRequest,
  parseCallUrl,
  parseOriginate,
} from "./originate-parser.ts";
import type { SwitchCore } from "./switch-core.ts";
import { beginHangup, hangupOne, isCause } from "./teardown.ts";
import { type HeaderRun, T } from "./template-tokens.ts";

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
  /** Share (0..1) of calls the far end answers 183 with SDP (early media) before its 200, not 180. */
  earlyMediaShare: number;
}

export const defaultProfile: CallProfile = {
  answerDelayMs: 300,
  holdMs: Number.POSITIVE_INFINITY,
  busyShare: 0,
  noAnswerShare: 0,
  failShare: 0,
  earlyMediaShare: 0,
};

type Outcome =
  | { kind: "answer"; answerMs: number; holdMs: number }
  | { kind: "refuse"; afterMs: number; cause: string }
  | { kind: "noanswer" };

/** What a leg does once its originate succeeds: park, bridge to a new leg, or (a B leg) nothing of its own. */
type Application = { kind: "park" } | { kind: "bridge"; dial: string } | { kind: "bridged" };

const PARK: Application = { kind: "park" };
/** Endpoints whose legs the double answers (`error/` is handled on its own). */
const MODELLED_ENDPOINTS: ReadonlySet<string> = new Set(["sofia", "loopback", "user"]);
const SOFIA_PROFILES: ReadonlySet<string> = new Set(["internal", "external"]);
const draw = (v: number | [number, number]) => (Array.isArray(v) ? v[0] + Math.random() * (v[1] - v[0]) : v);

/** A far end over real SIP (sip-side.ts): the double dials the legs of its sofia profile through it. */
export interface SipFarEnd {
  /** The sofia profile it is (`external`): legs `sofia/<profile>/…` go out over SIP. */
  readonly profile: string;
  dial(channel: Channel, report: FarEndReport): FarEndLeg;
}

/** What the far end of a SIP leg reports: its 180/183, its 200, its error response or BYE. */
export interface FarEndReport {
  progress(earlyMedia: boolean): void;
  answer(): void;
  hangup(cause: string, disposition: string): void;
}

/** Our side of a SIP leg: answer it (an inbound call), or end it (CANCEL, BYE, or an error response). */
export interface FarEndLeg {
  answer?(): void;
  hangup(): void;
}

interface OriginateContext {
  /** Called once with the originate's output (`+OK <uuid>\n` or `-ERR <CAUSE>\n`). */
  done(body: string): void;
}

/**
 * The call model: outbound legs of `originate` and what happens to them (180 or 183, answer, park or
 * bridge, far-end hangup, uuid_kill, playback, transfer, uuid_bridge), and inbound calls, firing the event
 * sequences captured from FreeSWITCH 1.10.12.
 */
export class CallModel {
  profile: CallProfile;
  private readonly outcomes = new WeakMap<Channel, Outcome>();
  private readonly applications = new WeakMap<Channel, Application>();
  /** The B legs an A leg's bridge application is still ringing. */
  private readonly ringing = new WeakMap<Channel, Channel[]>();
  /** Set by the SIP side: its profile's `sofia/` legs are dialled for real instead of drawn from the profile. */
  farEnd: SipFarEnd | undefined;
  private readonly farEndLegs = new WeakMap<Channel, FarEndLeg>();
  /** Channels playing a file, with whether it came from uuid_broadcast (which ends with a COMMAND). */
  private readonly playing = new WeakMap<Channel, boolean>();

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
    const { target } = request;
    const application: Application =
      target.kind === "app" && target.app === "bridge" ? { kind: "bridge", dial: target.args } : PARK;
    this.runGroup(request, 0, ctx, "NORMAL_CLEARING", application);
  }

  /** `,` legs ring at once (the first answer wins, the others LOSE_RACE); `|` groups are tried in turn. */
  private runGroup(
    request: OriginateRequest,
    index: number,
    ctx: OriginateContext,
    lastCause: string,
    application: Application,
    originator?: Channel,
  ): void {
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
        this.runGroup(request, index + 1, ctx, cause, application, originator);
      }
    };
    for (const leg of legs) {
      const result = this.startLeg(leg, request, onLeg, application, originator);
      if (typeof result === "string") cause = result;
      else {
        started.push(result);
        waiting++;
      }
    }
    if (waiting === 0) this.runGroup(request, index + 1, ctx, cause, application, originator);
    else for (const ch of started) this.beginLeg(ch);
  }

  /** Create the leg's channel (or refuse it with a cause) and fire its setup events. */
  private startLeg(
    leg: OriginateLeg,
    request: OriginateRequest,
    onResult: (channel: Channel, cause: string | undefined) => void,
    application: Application,
    originator: Channel | undefined,
  ): Channel | string {
    const dial = leg.dialString;
    if (dial.startsWith("error/")) {
      // mod_dptools error endpoint: no session, the cause named in the dial string.
      const name = dial.slice(6).toUpperCase();
      return isCause(name) ? name : "DESTINATION_OUT_OF_ORDER";
    }
    const unknown = this.unknownEndpoint(dial);
    if (unknown) return unknown;
    const vars = legVariables(leg, request);
    const uuid = lastVar(vars, "origination_uuid") ?? randomUUID();
    const refused = this.core.admitSession(uuid);
    if (refused) return refused;
    const channel = new Channel({
      uuid,
      destination: parseDestination(dial),
      userVars: vars,
      switchTokens: this.core,
      createdUs: nowUs(),
      context: request.target.kind === "extension" ? request.target.context : "default",
      direction: "outbound",
      script: originator ? BRIDGED_LEG : this.scriptFor(vars, application),
      // A bridge's B leg calls with the A leg's caller ID (switch_ivr_originate's caller profile clone).
      ...(originator && { callerIdNumber: originator.tokens.get(T.CID_NUM), callerIdName: "" }),
    });
    this.core.registerChannel(channel);
    if (originator) {
      link(originator, channel);
      this.ringing.set(originator, [...(this.ringing.get(originator) ?? []), channel]);
    }
    channel.pendingOriginate = (cause) => onResult(channel, cause);
    this.outcomes.set(channel, this.outcome(vars));
    this.applications.set(channel, application);
    this.fire(channel, (channel.script as OutboundScript).setup);
    channel.state = "CS_CONSUME_MEDIA";
    return channel;
  }

  /**
   * switch_core_session_outgoing_channel refuses an endpoint no module provides (`CHAN_NOT_IMPLEMENTED`),
   * and sofia_outgoing_channel a profile it does not have (`INVALID_PROFILE`): the double's profiles are
   * `internal` and `external` (the vanilla ones, which the lab dials) and its SIP side's.
   */
  private unknownEndpoint(dial: string): string | undefined {
    const [endpoint, profile] = dial.split("/");
    if (endpoint === undefined || !MODELLED_ENDPOINTS.has(endpoint)) return "CHAN_NOT_IMPLEMENTED";
    if (endpoint !== "sofia" || profile === "gateway" || profile === this.farEnd?.profile) return undefined;
    return profile !== undefined && SOFIA_PROFILES.has(profile) ? undefined : "INVALID_PROFILE";
  }

  /** Which captured sequence the leg follows: a bridging A leg, early media (ignored or not), or a 180. */
  private scriptFor(
    vars: ReadonlyArray<readonly [string, string]>,
    application: Application,
  ): OutboundScript {
    if (application.kind === "bridge") return BRIDGING_CALL;
    const early = lastVar(vars, "fakeswitch_early_media");
    if (early === undefined ? Math.random() >= this.profile.earlyMediaShare : early !== "true")
      return RINGING_CALL;
    return lastVar(vars, "ignore_early_media") === "true" ? IGNORE_EARLY_MEDIA_CALL : EARLY_MEDIA_CALL;
  }

  private beginLeg(channel: Channel): void {
    if (this.farEnd && channel.destination.channelName.startsWith(`sofia/${this.farEnd.profile}/`)) {
      this.dialFarEnd(channel, this.farEnd);
      return;
    }
    const outcome = this.outcomes.get(channel);
    if (!outcome || !channel.alive) return;
    const timeoutMs = this.timeoutMs(channel);
    if (outcome.kind === "refuse") {
      channel.later(Math.min(outcome.afterMs, timeoutMs), () =>
        this.hangup(channel, outcome.afterMs > timeoutMs ? "NO_ANSWER" : outcome.cause, "recv_refuse"),
      );
      return;
    }
    this.progress(channel);
    // Once early media made the originate succeed, nothing times the answer out any more.
    const pending = channel.pendingOriginate !== undefined;
    if (outcome.kind === "noanswer" || outcome.answerMs > timeoutMs) {
      if (pending) channel.later(timeoutMs, () => this.hangup(channel, "NO_ANSWER", "send_cancel"));
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

  /** A `sofia/` leg over real SIP: the far end's responses drive the same steps the profile would. */
  private dialFarEnd(channel: Channel, farEnd: SipFarEnd): void {
    if (!channel.alive) return;
    // switch_ivr_originate's originate_timeout: the leg is cancelled NO_ANSWER.
    channel.later(this.timeoutMs(channel), () => this.hangup(channel, "NO_ANSWER", "send_cancel"));
    const leg = farEnd.dial(channel, {
      progress: (earlyMedia) => {
        if (!channel.alive || channel.progressUs || channel.progressMediaUs) return;
        if (earlyMedia && channel.script === RINGING_CALL) {
          channel.script =
            channel.variable("ignore_early_media") === "true" ? IGNORE_EARLY_MEDIA_CALL : EARLY_MEDIA_CALL;
        }
        this.progress(channel);
        // Once early media made the originate succeed, nothing times the answer out any more (09b).
        if (channel.pendingOriginate === undefined) channel.clearTimers();
      },
      answer: () => this.answer(channel),
      hangup: (cause, disposition) => this.hangup(channel, cause, disposition),
    });
    this.attachFarEnd(channel, leg);
  }

  /** The SIP side's handle on a channel's far end, told of our answer and hangup. */
  attachFarEnd(channel: Channel, leg: FarEndLeg): void {
    this.farEndLegs.set(channel, leg);
  }

  private timeoutMs(channel: Channel): number {
    const v = channel.variable("originate_timeout") ?? channel.variable("leg_timeout");
    const n = v === undefined ? Number.NaN : Number(v);
    return Number.isFinite(n) && n > 0 ? n * 1000 : 60_000;
  }

  private outcome(vars: ReadonlyArray<readonly [string, string]>): Outcome {
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

  private fire(channel: Channel, list: readonly CompiledTemplate[]): void {
    for (const t of list) this.core.fireChannel(channel, t);
  }

  /** The far end's 180, or its 183 with SDP (sofia_handle_sip_i_state: early media). */
  private progress(channel: Channel): void {
    const script = channel.script as OutboundScript;
    if (script.earlyMedia) {
      channel.mark("progressMedia", nowUs());
      channel.phase = "early";
      channel.callState = "EARLY";
    } else {
      channel.mark("progress", nowUs());
      channel.callState = "RINGING";
    }
    this.fire(channel, script.progress);
    // switch_ivr_originate counts early media as success unless ignore_early_media is set (09b).
    if (script.successAtProgress) this.succeed(channel);
  }

  /** The far end answers (outbound), or uuid_answer / sendmsg answer does (an inbound call, any leg). */
  answer(channel: Channel): void {
    if (!channel.alive || channel.answered) return;
    channel.clearTimers();
    const us = nowUs();
    channel.phase = "answered";
    channel.callState = "ACTIVE";
    this.farEndLegs.get(channel)?.answer?.();
    if (channel.direction === "inbound") {
      // sofia answers with 183 + SDP first: CHANNEL_PROGRESS_MEDIA, then CHANNEL_ANSWER (11).
      channel.mark("progressMedia", us);
      channel.mark("answered", us);
      this.fire(channel, INBOUND_CALL.answer);
      return;
    }
    const script = channel.script as OutboundScript;
    if (!channel.progressUs && !channel.progressMediaUs) channel.mark("progress", us);
    channel.mark("answered", us);
    this.fire(channel, script.answer);
    if (!script.successAtProgress) this.succeed(channel);
  }

  /** The originate waiting on this leg returns +OK; then the leg runs its application. */
  private succeed(channel: Channel): void {
    const done = channel.pendingOriginate;
    channel.pendingOriginate = undefined;
    done?.(undefined);
    if (!channel.alive) return;
    const application = this.applications.get(channel) ?? PARK;
    if (application.kind === "bridged") return; // the A leg bridges it
    channel.tokens.set(T.APP_UUID, randomUUID());
    channel.state = "CS_EXECUTE";
    if (application.kind === "bridge") {
      this.startBridge(channel, application.dial);
      return;
    }
    channel.application = "park";
    this.fire(channel, (channel.script as OutboundScript).park);
    channel.parked = true;
  }

  /**
   * mod_dptools audio_bridge_function: A originates B and bridges when B answers. If B fails, A hangs
   * up with B's cause (no continue_on_fail).
   */
  private startBridge(a: Channel, dial: string): void {
    a.application = "bridge";
    a.applicationData = dial;
    a.tokens.set(T.APP_DATA, dial);
    this.fire(a, APP_BRIDGE.execute);
    a.callState = "RING_WAIT";
    const request: OriginateRequest = {
      groups: parseCallUrl(dial),
      target: { kind: "app", app: "bridge", args: "" },
    };
    const done = (body: string) => {
      this.ringing.delete(a);
      if (!a.alive) return;
      const b = body.startsWith("+OK ") ? this.core.channels.get(body.slice(4).trim()) : undefined;
      if (!b) {
        this.hangup(a, body.replace(/^-ERR /, "").trim() || "NORMAL_CLEARING");
        return;
      }
      link(a, b);
      a.callState = "ACTIVE";
      bridge(this.core, a, b, APP_BRIDGE.bridge, APP_BRIDGE.hangup);
    };
    this.runGroup(request, 0, { done }, "NORMAL_CLEARING", { kind: "bridged" }, a);
  }

  /** uuid_bridge X Y: both legs must be up and not bridged already. */
  uuidBridge(x: Channel, y: Channel): boolean {
    if (x === y || !x.alive || !y.alive || x.bridgeHangup || y.bridgeHangup) return false;
    setImmediate(() => {
      if (x.alive && y.alive) uuidBridge(this.core, x, y);
    });
    return true;
  }

  /** An inbound call (control API): the channel, or the cause it was refused with. */
  inbound(call: InboundCall): Channel | string {
    return createInboundCall(this.core, call);
  }

  /**
   * Hang a channel up. The CHANNEL_HANGUP is fired at once (so an api command's own API event follows
   * it, as in capture 14); the rest of the teardown runs on the next turn of the event loop. A bridged
   * leg takes its other leg with it; an A leg still ringing B legs cancels them.
   */
  hangup(channel: Channel, cause: string, disposition?: string): void {
    if (!channel.alive) return;
    this.farEndLegs.get(channel)?.hangup();
    if (channel.bridgeHangup && channel.other?.alive) {
      hangupBridged(this.core, channel, cause, disposition);
      return;
    }
    const script = channel.script;
    const list =
      channel.direction === "inbound"
        ? INBOUND_CALL.hangup
        : channel.parked || channel.answered
          ? (script as OutboundScript).hangupAnswered
          : (script as OutboundScript).hangupUnanswered;
    beginHangup(channel, cause, disposition);
    hangupOne(this.core, channel, this.withPlaybackStop(channel, list));
    for (const leg of this.ringing.get(channel) ?? []) this.hangup(leg, "ORIGINATOR_CANCEL");
  }

  /**
   * A hangup during a playback ends it: after CHANNEL_HANGUP come its PLAYBACK_STOP and
   * CHANNEL_EXECUTE_COMPLETE (and uuid_broadcast's COMMAND), then the rest of the teardown.
   */
  private withPlaybackStop(channel: Channel, list: readonly CompiledTemplate[]): readonly CompiledTemplate[] {
    const withPrivateCommand = this.playing.get(channel);
    if (withPrivateCommand === undefined) return list;
    this.playing.delete(channel);
    const [hangup, ...rest] = list as [CompiledTemplate, ...CompiledTemplate[]];
    const stop = withPrivateCommand ? PLAYBACK_STOP_ON_HANGUP : PLAYBACK_STOP_ON_HANGUP.slice(0, 2);
    return [hangup, ...stop, ...rest];
  }

  /** uuid_broadcast / sendmsg execute playback on a parked channel. */
  playback(channel: Channel, file: string, withPrivateCommand: boolean, onDone?: () => void): void {
    if (!channel.parked || !channel.alive) return;
    const [execute, start, stop, complete, privateCommand] = PLAYBACK as [
      CompiledTemplate,
      CompiledTemplate,
      CompiledTemplate,
      CompiledTemplate,
      CompiledTemplate,
    ];
    const t = channel.tokens;
    t.set(T.APP_UUID, randomUUID());
    t.set(T.APP_DATA, file);
    t.setBlock(T.PLAYBACK_FILE_TYPE, playbackFileType(file));
    channel.application = "playback";
    channel.applicationData = file;
    this.core.fireChannel(channel, execute);
    this.core.fireChannel(channel, start);
    this.playing.set(channel, withPrivateCommand);
    channel.later(playbackMs(file, channel), () => {
      if (!channel.alive) return;
      this.playing.delete(channel);
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
    t.set(
      T.TRANSFER_SOURCE,
      `${Math.floor(Date.now() / 1000)}:${randomUUID()}:bl_xfer:${extension}/${context}/XML`,
    );
    for (const template of TRANSFER) {
      if (template.event === "CHANNEL_EXECUTE") t.set(T.APP_UUID, randomUUID());
      this.core.fireChannel(channel, template);
    }
    channel.parked = true;
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

/** switch_ivr_play_file's Playback-File-Type: only tone_stream and local_stream files have one. */
function playbackFileType(file: string): HeaderRun {
  const type = /^(tone_stream|local_stream):/i.exec(file)?.[1];
  return type ? [["Playback-File-Type", type.toLowerCase()]] : [];
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
