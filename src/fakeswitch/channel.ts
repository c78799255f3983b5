/** One channel's own data: its token table (the per-channel constant part of its events), answer state, CDR times. */
import { randomUUID } from "node:crypto";
import type { OutboundScript } from "./call-scripts.ts";
import { localStamp } from "./clock.ts";
import { type CompiledTemplate, templateValue } from "./event-serializer.ts";
import { T, TokenTable, variableHeaders } from "./template-tokens.ts";
import { CALLER_ID_NAME_HEADERS } from "./templates.ts";

/** Answer state (Answer-State): ringing, early (183 with media), answered; then hangup and gone. */
type ChannelPhase = "ringing" | "early" | "answered" | "hangup" | "destroyed";

/** The parts of a dial string the events show (sofia/internal/1000@127.0.0.1:5090 → 1000, 127.0.0.1:5090). */
export interface Destination {
  channelName: string;
  dest: string;
  hostPort: string;
  port: string;
}

export function parseDestination(dialString: string): Destination {
  const parts = dialString.split("/");
  // sofia/<profile>/<user@host>, sofia/gateway/<gw>/<user>, loopback/<ext>/<context>, user/<user>
  let target = parts.length >= 3 ? (parts[0] === "sofia" ? parts.slice(2).join("/") : parts[1]) : parts[1];
  if (parts[0] === "sofia" && parts[1] === "gateway") target = parts.slice(3).join("/");
  target = (target ?? dialString).replace(/^sips?:/, "");
  const at = target.indexOf("@");
  const dest = (at === -1 ? target : target.slice(0, at)) || dialString;
  const hostPort = at === -1 ? "127.0.0.1" : target.slice(at + 1);
  const colon = hostPort.lastIndexOf(":");
  return { channelName: dialString, dest, hostPort, port: colon === -1 ? "5060" : hostPort.slice(colon + 1) };
}

interface ChannelInit {
  uuid: string;
  destination: Destination;
  /** The originate's variables for this leg (none for an inbound call). */
  userVars: ReadonlyArray<readonly [string, string]>;
  switchTokens: { coreUuid: string; hostname: string; ipv4: string; ipv6: string };
  createdUs: number;
  context: string;
  direction: "outbound" | "inbound";
  /** Caller ID: an inbound call's From; an outbound leg takes it from origination_caller_id_*. */
  callerIdNumber?: string;
  callerIdName?: string;
  /** The event sequences of an outbound leg. */
  script?: OutboundScript;
}

let sessionCounter = 0;
const NO_HEADERS: readonly [] = [];

/**
 * One channel of the double: its token table (the per-channel constant part of every event, encoded once),
 * its state, timestamps, variables, and the other leg when it is bridged.
 */
export class Channel {
  readonly tokens = new TokenTable();
  readonly sessionId = ++sessionCounter;
  readonly uuid: string;
  readonly destination: Destination;
  readonly userVars: ReadonlyArray<readonly [string, string]>;
  readonly direction: "outbound" | "inbound";
  /** Chosen at the originate; a SIP far end's 183 with SDP switches a 180 leg to early media. */
  script: OutboundScript | undefined;
  phase: ChannelPhase = "ringing";
  /** Running the park application (CHANNEL_PARK fired, no CHANNEL_UNPARK since). */
  parked = false;
  /** CS_* state, for `show channels`. */
  state = "CS_INIT";
  callState = "DOWN";
  application = "";
  applicationData = "";
  readonly createdUs: number;
  progressUs = 0;
  progressMediaUs = 0;
  answeredUs = 0;
  bridgedUs = 0;
  hangupUs = 0;
  hangupCause = "";
  /** origination_caller_id_name (outbound) or the From display name (inbound), or "". */
  readonly callerIdName: string;
  /** The bridged leg, and which side of the bridge this one is (`a` runs the bridge). */
  other: Channel | undefined;
  bridgeRole: "a" | "b" | undefined;
  /** Set once bridged: the captured two-leg hangup this pair goes down with. */
  bridgeHangup: readonly CompiledTemplate[] | undefined;
  /** The last template fired that carries variables: the channel's current header set (uuid_dump, getvar). */
  lastTemplate: CompiledTemplate | undefined;
  readonly timers = new Set<NodeJS.Timeout>();
  readonly setVars = new Map<string, string>();
  /** Set when the originate is still waiting on this leg: completes it with +OK/-ERR. */
  pendingOriginate: ((cause: string | undefined) => void) | undefined;

  constructor(init: ChannelInit) {
    this.uuid = init.uuid;
    this.destination = init.destination;
    this.userVars = init.userVars;
    this.direction = init.direction;
    this.script = init.script;
    this.createdUs = init.createdUs;
    const t = this.tokens;
    const { switchTokens, destination } = init;
    t.set(T.CORE_UUID, switchTokens.coreUuid);
    t.set(T.HOSTNAME, switchTokens.hostname);
    t.set(T.IPV4, switchTokens.ipv4);
    t.set(T.IPV6, switchTokens.ipv6);
    t.set(T.UUID, this.uuid);
    t.set(T.CHANNEL_NAME, destination.channelName);
    t.set(T.DEST, destination.dest);
    t.set(T.CALLER_DEST, destination.dest);
    t.set(T.DEST_HOSTPORT, destination.hostPort);
    t.set(T.DEST_PORT, destination.port);
    // switch_ivr_originate: no origination_caller_id_number means SWITCH_DEFAULT_CLID_NUMBER.
    t.set(T.CID_NUM, init.callerIdNumber ?? this.variable("origination_caller_id_number") ?? "0000000000");
    this.callerIdName = init.callerIdName ?? this.variable("origination_caller_id_name") ?? "";
    t.set(T.CID_NAME, this.callerIdName);
    this.setCallerIdNameHeaders();
    t.set(T.CONTEXT, init.context);
    t.set(T.SESSION_ID, String(this.sessionId));
    t.set(T.CREATED_TS, String(init.createdUs));
    t.set(T.PROFILE_TS, String(init.createdUs));
    const callId = randomUUID();
    t.set(T.SIP_CALL_ID, callId);
    t.set(T.FROM_TAG, callId.slice(24, 36));
    t.set(T.TO_TAG, `${this.sessionId}SIPpTag0${(this.sessionId % 90) + 10}`);
    t.set(T.ENDPOINT_DISPOSITION, "ANSWER");
    t.setBlock(T.USER_VARS, variableHeaders(this.userVars));
    t.setBlock(T.SET_VARS, NO_HEADERS);
  }

  get alive(): boolean {
    return this.phase !== "hangup" && this.phase !== "destroyed";
  }

  get answered(): boolean {
    return this.answeredUs > 0;
  }

  /**
   * The headers that exist only when an outbound call has a caller-ID name
   * (switch_caller_profile_event_set_data skips empty values); each event template says where they go,
   * before or after the caller-ID flip.
   */
  private setCallerIdNameHeaders(): void {
    const name = this.direction === "outbound" ? this.callerIdName : "";
    const t = this.tokens;
    for (const [block, header] of Object.entries(CALLER_ID_NAME_HEADERS) as Array<
      [keyof typeof CALLER_ID_NAME_HEADERS, string]
    >) {
      t.setBlock(T[block], name ? [[header, name]] : NO_HEADERS);
    }
    // sofia_glue: the From header carries the name as its display part.
    t.set(T.FROM_DISPLAY, name ? `"${name}" ` : "");
  }

  /** A channel variable: uuid_setvar values, then the originate's variables, then the current event's. */
  variable(name: string): string | undefined {
    const set = this.setVars.get(name);
    if (set !== undefined) return set;
    for (const [k, v] of this.userVars) if (k === name) return v;
    if (this.lastTemplate) return templateValue(this.lastTemplate, this.tokens, `variable_${name}`);
    return undefined;
  }

  setVariable(name: string, value: string | undefined): void {
    if (value === undefined) this.setVars.delete(name);
    else this.setVars.set(name, value);
    this.tokens.setBlock(T.SET_VARS, variableHeaders([...this.setVars.entries()]));
  }

  /** Mark a moment of the call: its time token (Caller-Channel-*-Time) and the timestamp for the CDR. */
  mark(moment: "progress" | "progressMedia" | "answered" | "bridged", us: number): void {
    const tokens = {
      progress: T.PROGRESS_TS,
      progressMedia: T.PROGRESS_MEDIA_TS,
      answered: T.ANSWERED_TS,
      bridged: T.BRIDGED_TS,
    };
    this[`${moment}Us`] = us;
    this.tokens.set(tokens[moment], String(us));
  }

  /** The other leg's values as this leg's events show them (Other-Leg-*, Bridge-B-Unique-ID, …). */
  copyOtherLeg(): void {
    const other = this.other;
    if (!other) return;
    const t = this.tokens;
    const o = other.tokens;
    t.set(T.OTHER_UUID, other.uuid);
    t.set(T.OTHER_CHANNEL_NAME, o.get(T.CHANNEL_NAME));
    t.set(T.OTHER_DEST, o.get(T.DEST));
    t.set(T.OTHER_CREATED_TS, o.get(T.CREATED_TS));
    t.set(T.OTHER_ANSWERED_TS, o.get(T.ANSWERED_TS));
    t.set(T.OTHER_PROGRESS_TS, o.get(T.PROGRESS_TS));
  }

  /** Fill the CDR tokens of CHANNEL_HANGUP_COMPLETE / CHANNEL_DESTROY (switch_channel_set_timestamps). */
  setCdrTokens(): void {
    const t = this.tokens;
    const start = this.createdUs;
    const end = this.hangupUs || start;
    const sec = (us: number) => String(Math.floor(us / 1_000_000));
    const stamp = (us: number) => (us ? localStamp(us / 1000) : "");
    const moments: Array<[stamp: number, epoch: number, uepoch: number, us: number]> = [
      [T.START_STAMP, T.START_EPOCH, T.START_UEPOCH, start],
      [T.PROFILE_START_STAMP, T.PROFILE_START_EPOCH, T.PROFILE_START_UEPOCH, start],
      [T.ANSWER_STAMP, T.ANSWER_EPOCH, T.ANSWER_UEPOCH, this.answeredUs],
      [T.BRIDGE_STAMP, T.BRIDGE_EPOCH, T.BRIDGE_UEPOCH, this.bridgedUs],
      [T.PROGRESS_STAMP, T.PROGRESS_EPOCH, T.PROGRESS_UEPOCH, this.progressUs],
      [T.PROGRESS_MEDIA_STAMP, T.PROGRESS_MEDIA_EPOCH, T.PROGRESS_MEDIA_UEPOCH, this.progressMediaUs],
      [T.END_STAMP, T.END_EPOCH, T.END_UEPOCH, end],
    ];
    for (const [s, e, u, us] of moments) {
      t.set(s, stamp(us));
      t.set(e, sec(us));
      t.set(u, String(us));
    }
    const since = (us: number) => (us ? us - start : 0);
    const durations: Array<[sec: number, msec: number, usec: number, us: number]> = [
      [T.DURATION, T.MDURATION, T.UDURATION, end - start],
      [T.BILLSEC, T.BILLMSEC, T.BILLUSEC, this.answeredUs ? end - this.answeredUs : 0],
      [T.PROGRESSSEC, T.PROGRESSMSEC, T.PROGRESSUSEC, since(this.progressUs)],
      [T.PROGRESS_MEDIASEC, T.PROGRESS_MEDIAMSEC, T.PROGRESS_MEDIAUSEC, since(this.progressMediaUs)],
      [T.ANSWERSEC, T.ANSWERMSEC, T.ANSWERUSEC, since(this.answeredUs)],
      [T.WAITSEC, T.WAITMSEC, T.WAITUSEC, since(this.bridgedUs)],
      [T.FLOW_BILLSEC, T.FLOW_BILLMSEC, T.FLOW_BILLUSEC, end - start],
    ];
    for (const [s, ms, us, value] of durations) {
      t.set(s, String(Math.floor(value / 1_000_000)));
      t.set(ms, String(Math.floor(value / 1000)));
      t.set(us, String(value));
    }
  }

  clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Run `fn` after at least `ms` (Node may fire a timer up to 1 ms early; a hold must not bill short). */
  later(ms: number, fn: () => void): void {
    const due = performance.now() + ms;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const early = due - performance.now();
      if (early > 0) this.later(early, fn);
      else fn();
    }, ms);
    this.timers.add(timer);
  }
}
