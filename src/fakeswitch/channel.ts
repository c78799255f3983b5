import { randomUUID } from "node:crypto";
import { localStamp } from "./clock.ts";
import { type CompiledTemplate, templateValue } from "./event-serializer.ts";
import { CALLER_ID_NAME_HEADERS } from "./templates.ts";
import { T, TokenTable, variableHeaders } from "./tokens.ts";

export type ChannelPhase = "ringing" | "answered" | "parked" | "hangup" | "destroyed";

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

let sessionCounter = 0;

/**
 * One channel of the double: its token table (the per-channel constant part of every event, encoded once),
 * its state, timestamps and variables.
 */
export class Channel {
  readonly tokens = new TokenTable();
  readonly sessionId = ++sessionCounter;
  phase: ChannelPhase = "ringing";
  /** CS_* state, for `show channels`. */
  state = "CS_INIT";
  callState = "DOWN";
  application = "";
  applicationData = "";
  readonly createdUs: number;
  progressUs = 0;
  answeredUs = 0;
  hangupUs = 0;
  hangupCause = "";
  /** origination_caller_id_name, or "" (then the name headers are left out). */
  readonly callerIdName: string;
  /** The last template fired that carries variables: the channel's current header set (uuid_dump, getvar). */
  lastTemplate: CompiledTemplate | undefined;
  readonly timers = new Set<NodeJS.Timeout>();
  readonly setVars = new Map<string, string>();
  /** Set when the originate is still waiting on this leg: completes it with +OK/-ERR. */
  pendingOriginate: ((cause: string | undefined) => void) | undefined;

  constructor(
    readonly uuid: string,
    readonly dialString: string,
    readonly destination: Destination,
    readonly userVars: ReadonlyArray<readonly [string, string]>,
    switchTokens: { coreUuid: string; hostname: string; ipv4: string; ipv6: string },
    createdUs: number,
    context: string,
  ) {
    this.createdUs = createdUs;
    const t = this.tokens;
    t.set(T.CORE_UUID, switchTokens.coreUuid);
    t.set(T.HOSTNAME, switchTokens.hostname);
    t.set(T.IPV4, switchTokens.ipv4);
    t.set(T.IPV6, switchTokens.ipv6);
    t.set(T.UUID, uuid);
    t.set(T.CHANNEL_NAME, destination.channelName);
    t.set(T.DEST, destination.dest);
    t.set(T.CALLER_DEST, destination.dest);
    t.set(T.DEST_HOSTPORT, destination.hostPort);
    t.set(T.DEST_PORT, destination.port);
    // switch_ivr_originate: no origination_caller_id_number means SWITCH_DEFAULT_CLID_NUMBER.
    t.set(T.CID_NUM, this.variable("origination_caller_id_number") ?? "0000000000");
    this.callerIdName = this.variable("origination_caller_id_name") ?? "";
    this.setCallerIdNameHeaders();
    t.set(T.CONTEXT, context);
    t.set(T.SESSION_ID, String(this.sessionId));
    t.set(T.CREATED_TS, String(createdUs));
    t.set(T.PROFILE_TS, String(createdUs));
    const callId = randomUUID();
    t.set(T.SIP_CALL_ID, callId);
    t.set(T.FROM_TAG, callId.slice(24, 36));
    t.set(T.TO_TAG, `${this.sessionId}SIPpTag0${(this.sessionId % 90) + 10}`);
    t.set(T.ENDPOINT_DISPOSITION, "ANSWER");
    t.setBlock(T.USER_VARS, variableHeaders(userVars));
    t.setBlock(T.SET_VARS, []);
  }

  /**
   * The headers that exist only when the call has a caller-ID name (switch_caller_profile_event_set_data
   * skips empty values); each event template says where they go, before or after the caller-ID flip.
   */
  private setCallerIdNameHeaders(): void {
    const name = this.callerIdName;
    const t = this.tokens;
    for (const [block, header] of Object.entries(CALLER_ID_NAME_HEADERS) as Array<
      [keyof typeof CALLER_ID_NAME_HEADERS, string]
    >) {
      t.setBlock(T[block], name ? [[header, name]] : []);
    }
    // sofia_glue: the From header carries the name as its display part.
    t.set(T.FROM_DISPLAY, name ? `"${name}" ` : "");
  }

  get alive(): boolean {
    return this.phase !== "hangup" && this.phase !== "destroyed";
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

  /** Fill the CDR tokens of CHANNEL_HANGUP_COMPLETE / CHANNEL_DESTROY (switch_channel_set_timestamps). */
  setCdrTokens(): void {
    const t = this.tokens;
    const start = this.createdUs;
    const answer = this.answeredUs;
    const progress = this.progressUs;
    const end = this.hangupUs || start;
    const sec = (us: number) => String(Math.floor(us / 1_000_000));
    const stamp = (us: number) => (us ? localStamp(us / 1000) : "");
    t.set(T.START_STAMP, stamp(start));
    t.set(T.PROFILE_START_STAMP, stamp(start));
    t.set(T.ANSWER_STAMP, stamp(answer));
    t.set(T.PROGRESS_STAMP, stamp(progress));
    t.set(T.END_STAMP, stamp(end));
    t.set(T.START_EPOCH, sec(start));
    t.set(T.START_UEPOCH, String(start));
    t.set(T.PROFILE_START_EPOCH, sec(start));
    t.set(T.PROFILE_START_UEPOCH, String(start));
    t.set(T.ANSWER_EPOCH, sec(answer));
    t.set(T.ANSWER_UEPOCH, String(answer));
    t.set(T.PROGRESS_EPOCH, sec(progress));
    t.set(T.PROGRESS_UEPOCH, String(progress));
    t.set(T.END_EPOCH, sec(end));
    t.set(T.END_UEPOCH, String(end));
    const durations: Array<[number, number, number, number]> = [
      // [sec, msec, usec] token ids for: duration, billsec, progresssec, answersec, waitsec, flow_billsec
      [T.DURATION, T.MDURATION, T.UDURATION, end - start],
      [T.BILLSEC, T.BILLMSEC, T.BILLUSEC, answer ? end - answer : 0],
      [T.PROGRESSSEC, T.PROGRESSMSEC, T.PROGRESSUSEC, progress ? progress - start : 0],
      [T.ANSWERSEC, T.ANSWERMSEC, T.ANSWERUSEC, answer ? answer - start : 0],
      [T.WAITSEC, T.WAITMSEC, T.WAITUSEC, 0], // time to bridge: the double never bridges
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
