/**
 * Dev-time tool: extracts the event templates of the FreeSWITCH double from the captures in
 * test/fixtures/freeswitch-esl and writes src/fakeswitch/templates*.ts. The double never reads the
 * captures at runtime.
 *
 *   npx tsx src/fakeswitch/tools/extract-templates.ts [fixtures dir]
 *
 * Each template is one captured event: its header names in wire order and its URL-decoded values,
 * with the call-specific values replaced by `{{TOKEN}}` markers that the double fills per channel or
 * per event. A header named `{{BLOCK}}` marks where a run of whole headers is spliced in: the originate's
 * own variables (`{{USER_VARS}}`), later uuid_setvar variables (`{{SET_VARS}}`), and the headers that
 * exist only when the call has a caller-ID name (capture 17 shows where they go).
 *
 * A scene is the events of one or two channels between two commands of a capture. In a two-channel scene
 * (a bridge) every template carries its role, `a` or `b`, and the other leg's values become `OTHER_*`
 * tokens. Identical templates are written once and shared by the lists that use them.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { urlDecode } from "../../esl/urlcodec.ts";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(process.argv[2] ?? join(here, "../../../test/fixtures/freeswitch-esl"));
const out = join(here, "../templates.ts");

type Headers = Array<[string, string]>;
interface CapturedEvent {
  name: string;
  headers: Headers;
  /** Commands sent before this event arrived. */
  afterSent: number;
}
interface CapturedLog {
  headers: Record<string, string>;
  body: string;
  afterSent: number;
  /** Events (of any kind) that arrived before this frame. */
  afterEvents: number;
}
interface Item {
  dir: string;
  data?: string;
  body?: string | null;
  headers?: Record<string, string>;
  event_headers_raw?: Headers;
}
interface Capture {
  sent: string[];
  events: CapturedEvent[];
  logs: CapturedLog[];
}

function load(stem: string): Capture {
  const json = JSON.parse(readFileSync(join(fixtures, `${stem}.json`), "utf8")) as { items: Item[] };
  const capture: Capture = { sent: [], events: [], logs: [] };
  for (const item of json.items) {
    if (item.dir === "sent") capture.sent.push(item.data ?? "");
    if (item.dir !== "recv_frame") continue;
    const afterSent = capture.sent.length;
    if (item.headers?.["Content-Type"] === "log/data") {
      const afterEvents = capture.events.length;
      capture.logs.push({ headers: item.headers, body: item.body ?? "", afterSent, afterEvents });
    }
    if (item.headers?.["Content-Type"] !== "text/event-plain") continue;
    // The raw list keeps duplicate headers (CODEC repeats Channel-Write-Codec-*), the decoded map does not.
    const headers: Headers = (item.event_headers_raw ?? []).map(
      ([k, v]) => [k, urlDecode(v)] as [string, string],
    );
    const name = headers.find(([k]) => k === "Event-Name")?.[1] ?? "";
    capture.events.push({ name, headers, afterSent });
  }
  return capture;
}

/** Values that identify one channel of a capture; they become tokens. */
interface CallIds {
  uuid: string;
  channelName: string;
  /** user@host:port of the dial string (outbound), or "" */
  destUri: string;
  destHostPort: string;
  dest: string;
  /** The caller-ID number as captured (0000000000 when the originate set none). */
  cidNum: string;
  /** The caller-ID name as captured, when it is a token of its own (inbound), or "". */
  cidName: string;
  /** Names of the variables the originate gave this leg ({…} of its dial string). */
  userVars: string[];
}

const byHeader: Record<string, string> = {
  "Core-UUID": "CORE_UUID",
  "FreeSWITCH-Hostname": "HOSTNAME",
  "FreeSWITCH-Switchname": "HOSTNAME",
  "FreeSWITCH-IPv4": "IPV4",
  "FreeSWITCH-IPv6": "IPV6",
  "Event-Date-Local": "DATE_LOCAL",
  "Event-Date-GMT": "DATE_GMT",
  "Event-Date-Timestamp": "EVENT_TS",
  "Event-Sequence": "SEQ",
  "Application-UUID": "APP_UUID",
  "Application-Data": "APP_DATA",
  variable_current_application_data: "APP_DATA",
  // The file a playback plays is its application's data (switch_ivr_play_file, the COMMAND of uuid_broadcast).
  "Playback-File-Path": "APP_DATA",
  "execute-app-arg": "APP_DATA",
  "Caller-Profile-Created-Time": "PROFILE_TS",
  "Caller-Channel-Created-Time": "CREATED_TS",
  "Caller-Destination-Number": "CALLER_DEST",
  "Caller-Context": "CONTEXT",
  variable_session_id: "SESSION_ID",
  "Hangup-Cause": "HANGUP_CAUSE",
  variable_hangup_cause: "HANGUP_CAUSE",
  variable_hangup_cause_q850: "Q850",
  variable_sip_term_cause: "Q850",
  variable_sip_hangup_disposition: "HANGUP_DISPOSITION",
  variable_sip_term_status: "SIP_STATUS",
  variable_sip_invite_failure_status: "SIP_STATUS",
  variable_sip_invite_failure_phrase: "SIP_PHRASE",
  variable_proto_specific_hangup_cause: "PROTO_CAUSE",
  variable_sip_call_id: "SIP_CALL_ID",
  variable_sip_from_tag: "FROM_TAG",
  variable_sip_to_tag: "TO_TAG",
  variable_endpoint_disposition: "ENDPOINT_DISPOSITION",
  // The directory lookup of an inbound call (REQUEST_PARAMS) is copied into its variables.
  variable_sip_invite_stamp: "CREATED_TS",
  "variable_Event-Date-Timestamp": "CREATED_TS",
  "variable_Event-Date-Local": "CREATED_DATE_LOCAL",
  "variable_Event-Date-GMT": "CREATED_DATE_GMT",
  "variable_Core-UUID": "CORE_UUID",
  "variable_FreeSWITCH-Hostname": "HOSTNAME",
  "variable_FreeSWITCH-Switchname": "HOSTNAME",
  "variable_FreeSWITCH-IPv4": "IPV4",
  "variable_FreeSWITCH-IPv6": "IPV6",
  // uuid_bridge: `<epoch>:<uuid>:uuid_br:<other leg>`.
  "Caller-Transfer-Source": "TRANSFER_SOURCE",
  variable_transfer_source: "TRANSFER_SOURCE",
  variable_transfer_history: "TRANSFER_SOURCE",
  "Job-UUID": "JOB_UUID",
};
/** Time headers that are 0 until the moment they describe; a non-zero value becomes a token. */
const nonZeroByHeader: Record<string, string> = {
  "Caller-Channel-Answered-Time": "ANSWERED_TS",
  "Caller-Channel-Progress-Time": "PROGRESS_TS",
  "Caller-Channel-Progress-Media-Time": "PROGRESS_MEDIA_TS",
  "Caller-Channel-Hangup-Time": "HANGUP_TS",
  "Caller-Channel-Transfer-Time": "TRANSFER_TS",
  "Caller-Channel-Bridged-Time": "BRIDGED_TS",
};
/** The other leg's caller profile (Other-Leg-*): its times become OTHER_* tokens. */
const otherNonZeroByHeader: Record<string, string> = {
  "Other-Leg-Profile-Created-Time": "OTHER_CREATED_TS",
  "Other-Leg-Channel-Created-Time": "OTHER_CREATED_TS",
  "Other-Leg-Channel-Answered-Time": "OTHER_ANSWERED_TS",
  "Other-Leg-Channel-Progress-Time": "OTHER_PROGRESS_TS",
  "Other-Leg-Channel-Progress-Media-Time": "OTHER_PROGRESS_MEDIA_TS",
  "Other-Leg-Channel-Hangup-Time": "OTHER_HANGUP_TS",
  "Other-Leg-Channel-Transfer-Time": "OTHER_TRANSFER_TS",
  "Other-Leg-Channel-Bridged-Time": "OTHER_BRIDGED_TS",
};
/** CDR variables of CHANNEL_HANGUP_COMPLETE / CHANNEL_DESTROY: always computed by the double. */
const CDR_VARS = [
  "start_epoch",
  "start_uepoch",
  "profile_start_epoch",
  "profile_start_uepoch",
  "answer_epoch",
  "answer_uepoch",
  "bridge_epoch",
  "bridge_uepoch",
  "progress_epoch",
  "progress_uepoch",
  "progress_media_epoch",
  "progress_media_uepoch",
  "end_epoch",
  "end_uepoch",
  "duration",
  "billsec",
  "progresssec",
  "answersec",
  "waitsec",
  "progress_mediasec",
  "flow_billsec",
  "mduration",
  "billmsec",
  "progressmsec",
  "answermsec",
  "waitmsec",
  "progress_mediamsec",
  "flow_billmsec",
  "uduration",
  "billusec",
  "progressusec",
  "answerusec",
  "waitusec",
  "progress_mediausec",
  "flow_billusec",
  "start_stamp",
  "profile_start_stamp",
  "answer_stamp",
  "bridge_stamp",
  "progress_stamp",
  "progress_media_stamp",
  "end_stamp",
];
for (const v of CDR_VARS) byHeader[`variable_${v}`] = v.toUpperCase();

/** Replace whole words (not digits inside a longer number). */
function replaceWord(value: string, word: string, token: string): string {
  if (!word || !value.includes(word)) return value;
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return value.replace(new RegExp(`(?<![0-9A-Za-z])${escaped}(?![0-9A-Za-z])`, "g"), token);
}

function tokenizeValue(
  value: string,
  own: CallIds,
  other: CallIds | undefined,
  extra: Array<[string, string]>,
) {
  let v = value;
  for (const [from, token] of extra) if (from && v.includes(from)) v = v.split(from).join(token);
  const replace = (from: string, token: string) => {
    if (from) v = v.split(from).join(token);
  };
  replace(own.channelName, "{{CHANNEL_NAME}}");
  if (other) replace(other.channelName, "{{OTHER_CHANNEL_NAME}}");
  replace(own.destUri, "{{DEST}}@{{DEST_HOSTPORT}}");
  if (other) replace(other.destUri, "{{OTHER_DEST}}@{{DEST_HOSTPORT}}");
  replace(own.destHostPort, "{{DEST_HOSTPORT}}");
  replace(own.uuid, "{{UUID}}");
  if (other) replace(other.uuid, "{{OTHER_UUID}}");
  if (own.cidName) replace(own.cidName, "{{CID_NAME}}");
  v = replaceWord(v, own.cidNum, "{{CID_NUM}}");
  // An inbound call's destination is a bare number (7100, sip:7100@…), not part of a dial string.
  if (!own.destUri) v = replaceWord(v, own.dest, "{{DEST}}");
  return v;
}

function tokenize(
  event: CapturedEvent,
  own: CallIds,
  other: CallIds | undefined,
  extra: Array<[string, string]>,
): Headers {
  const headers: Headers = [];
  let userVars = false;
  for (const [name, raw] of event.headers) {
    // The originate's own {variables} become one block, where the first of them stood.
    if (name.startsWith("variable_") && own.userVars.includes(name.slice(9))) {
      if (!userVars) headers.push(["{{USER_VARS}}", ""]);
      userVars = true;
      continue;
    }
    // switch_ivr_play_file names the type only of tone_stream:// and local_stream:// files.
    if (name === "Playback-File-Type") {
      headers.push(["{{PLAYBACK_FILE_TYPE}}", ""]);
      continue;
    }
    const direct = byHeader[name];
    if (direct) {
      headers.push([name, `{{${direct}}}`]);
      continue;
    }
    const nonZero = nonZeroByHeader[name] ?? otherNonZeroByHeader[name];
    if (nonZero) {
      headers.push([name, raw === "0" ? "0" : `{{${nonZero}}}`]);
      continue;
    }
    let value = tokenizeValue(raw, own, other, extra);
    if (value === own.dest) value = "{{DEST}}";
    else if (other && value === other.dest) value = "{{OTHER_DEST}}";
    if (value === own.destHostPort.split(":")[1] && /port$/.test(name)) value = "{{DEST_PORT}}";
    if (name === "variable_caller_id") value = value.replace(`<${own.dest}>`, "<{{DEST}}>");
    headers.push([name, value]);
  }
  // uuid_setvar variables go after the last channel variable.
  let lastVar = -1;
  headers.forEach(([name], i) => {
    if (name.startsWith("variable_") || name === "{{USER_VARS}}") lastVar = i;
  });
  if (lastVar >= 0) headers.splice(lastVar + 1, 0, ["{{SET_VARS}}", ""]);
  return headers;
}

/**
 * Headers FreeSWITCH adds only when the caller-ID name is set (switch_caller_profile_event_set_data and
 * the channel variables skip empty values), each with the header it comes right before (capture 17).
 * Before the caller-ID flip the name is the caller's and "Outbound Call" the callee's; after it
 * (switch_channel_flip_cid, at CALL_UPDATE) the other way round, so a template that already carries one
 * of the two names gets the block only for the other.
 */
const CALLER_ID_NAME_BLOCKS: Array<[block: string, header: string, before: string]> = [
  ["CALLER_ID_NAME", "Caller-Caller-ID-Name", "Caller-Caller-ID-Number"],
  ["ORIG_CALLER_ID_NAME", "Caller-Orig-Caller-ID-Name", "Caller-Orig-Caller-ID-Number"],
  ["CALLEE_ID_NAME", "Caller-Callee-ID-Name", "Caller-Callee-ID-Number"],
  ["SIP_FROM_DISPLAY", "variable_sip_from_display", "variable_sip_full_from"],
  [
    "PRE_TRANSFER_CALLER_ID_NAME",
    "variable_pre_transfer_caller_id_name",
    "variable_pre_transfer_caller_id_number",
  ],
];

function withCallerIdNameBlocks(headers: Headers): Headers {
  const out: Headers = [];
  for (const [name, value] of headers) {
    for (const [block, header, before] of CALLER_ID_NAME_BLOCKS) {
      if (name === before && !headers.some(([n]) => n === header)) out.push([`{{${block}}}`, ""]);
    }
    // sofia puts the display name in front of the From URI: `"Zoë" <sip:0000000000@127.0.0.1>;tag=…`.
    out.push([name, name === "variable_sip_full_from" ? `{{FROM_DISPLAY}}${value}` : value]);
  }
  return out;
}

/** The variable names of the `{…}` block that gives a leg its origination_uuid, in a capture's commands. */
function userVarNames(capture: Capture, uuid: string): string[] {
  for (const command of capture.sent) {
    for (const block of command.matchAll(/\{([^{}]*)\}/g)) {
      const names = (block[1] ?? "").split(",").map((pair) => pair.slice(0, pair.indexOf("=")));
      if ((block[1] ?? "").includes(`origination_uuid=${uuid}`)) return names;
    }
  }
  return [];
}

/** The identifying values of one channel, from its first event. */
function callIds(capture: Capture, uuid: string, inbound = false): CallIds {
  const first = capture.events.find((e) => e.headers.some(([k, v]) => k === "Unique-ID" && v === uuid));
  const get = (n: string) => first?.headers.find(([k]) => k === n)?.[1] ?? "";
  const channelName = get("Channel-Name");
  const destUri = inbound ? "" : channelName.split("/").slice(2).join("/");
  const anyGet = (n: string) =>
    capture.events
      .filter((e) => e.headers.some(([k, v]) => k === "Unique-ID" && v === uuid))
      .map((e) => e.headers.find(([k]) => k === n)?.[1])
      .find((v) => v !== undefined) ?? "";
  return {
    uuid,
    channelName,
    destUri,
    destHostPort: destUri.split("@")[1] ?? "",
    dest: anyGet("Caller-Destination-Number"),
    cidNum: inbound ? anyGet("Caller-Caller-ID-Number") : "0000000000",
    cidName: inbound ? anyGet("Caller-Caller-ID-Name") : "",
    userVars: userVarNames(capture, uuid),
  };
}

/** Values that differ per call but are not named by a header rule (tags inside sip_full_from, ...). */
function extraValues(events: CapturedEvent[]): Array<[string, string]> {
  const found = new Map<string, string>();
  for (const e of events) {
    for (const [k, v] of e.headers) {
      if (k === "variable_sip_call_id") found.set(v, "{{SIP_CALL_ID}}");
      if (k === "variable_sip_from_tag") found.set(v, "{{FROM_TAG}}");
      if (k === "variable_sip_to_tag") found.set(v, "{{TO_TAG}}");
      if (k === "variable_RFC2822_DATE") found.set(v, "{{RFC2822_DATE}}");
    }
  }
  return [...found.entries()].sort((a, b) => b[0].length - a[0].length);
}

type Role = "a" | "b";
interface Template {
  event: string;
  role?: Role;
  headers: Headers;
}

interface SceneSpec {
  /** The channels, by role; one channel: only `a`. */
  a: string;
  b?: string;
  /** Events that arrived after command `from` (0-based) was sent and before command `to` was. */
  from: number;
  to: number;
  inbound?: boolean;
  /** Outbound originates carry the caller-ID name blocks (capture 17). */
  nameBlocks?: boolean;
}

function scene(capture: Capture, spec: SceneSpec): Template[] {
  const a = callIds(capture, spec.a, spec.inbound);
  const b = spec.b ? callIds(capture, spec.b) : undefined;
  const extra = extraValues(capture.events);
  const out: Template[] = [];
  for (const e of capture.events) {
    if (e.afterSent <= spec.from || e.afterSent > spec.to) continue;
    const uuid = e.headers.find(([k]) => k === "Unique-ID")?.[1];
    const role: Role | undefined = uuid === a.uuid ? "a" : b && uuid === b.uuid ? "b" : undefined;
    if (!role) continue;
    const [own, other] = role === "a" ? [a, b] : [b as CallIds, a];
    let headers = tokenize(e, own, other, extra);
    if (spec.nameBlocks !== false && !spec.inbound) headers = withCallerIdNameBlocks(headers);
    out.push(b ? { event: e.name, role, headers } : { event: e.name, headers });
  }
  return out;
}

const sentIndex = (capture: Capture, prefix: string, nth = 0) => {
  const found = capture.sent.map((s, i) => [s, i] as const).filter(([s]) => s.startsWith(prefix));
  const at = found[nth]?.[1];
  if (at === undefined) throw new Error(`no command ${prefix} #${nth}`);
  return at;
};
const uuidIn = (command: string) => /origination_uuid=([0-9a-f-]{36})/.exec(command)?.[1] ?? "";

// ---- 14-log-data: answered call parked, then uuid_kill (no broadcast/transfer in between) ----
const c14 = load("14-log-data");
const u14 = uuidIn(c14.sent[sentIndex(c14, "bgapi originate")] ?? "");
const kill14 = sentIndex(c14, "api uuid_kill");
const answered = scene(c14, { a: u14, from: 0, to: kill14 });
const killed = scene(c14, { a: u14, from: kill14, to: c14.sent.length });

/**
 * The hangup events of an answered leg, for both ends hanging up. The captures' hangups are uuid_kill
 * (sofia sets sip_hangup_disposition=send_bye late, after the CDR variables); when the far end's BYE ends
 * the call, sofia sets sip_term_status, proto_specific_hangup_cause and sip_term_cause before the hangup
 * and sip_hangup_disposition=recv_bye right after it, all following current_application (measured on
 * FreeSWITCH 1.10.12, docs/fidelity.md). `{{SIP_TERM}}` holds the first run, `{{LOCAL_DISPOSITION}}` the
 * late disposition.
 */
function withSipTermBlocks(templates: Template[]): Template[] {
  return templates.map((t) => ({
    ...t,
    headers: t.headers.flatMap(([name, value]): Headers => {
      if (name === "variable_sip_hangup_disposition") return [["{{LOCAL_DISPOSITION}}", ""]];
      if (name === "variable_current_application")
        return [
          [name, value],
          ["{{SIP_TERM}}", ""],
        ];
      return [[name, value]];
    }),
  }));
}

/**
 * A playback's last events when the call hangs up during it (measured on FreeSWITCH 1.10.12): the same
 * as at its end, sent after CHANNEL_HANGUP with Answer-State hangup, the Hangup-Cause, and the running
 * state's number CS_HANGUP (10).
 */
function duringHangup(templates: Template[]): Template[] {
  return withSipTermBlocks(
    templates.map((t) => ({
      ...t,
      headers: t.headers.flatMap(([name, value]): Headers => {
        if (name === "Answer-State")
          return [
            [name, "hangup"],
            ["Hangup-Cause", "{{HANGUP_CAUSE}}"],
          ];
        if (name === "Channel-State-Number") return [[name, "10"]];
        return [[name, value]];
      }),
    })),
  );
}

// ---- 03-lifecycle-event-plain: uuid_broadcast (playback) and uuid_transfer segments ----
const c03 = load("03-lifecycle-event-plain");
const u03 = uuidIn(c03.sent[sentIndex(c03, "bgapi originate")] ?? "");
const bcast = sentIndex(c03, "api uuid_broadcast");
const xfer = sentIndex(c03, "api uuid_transfer");
const kill03 = sentIndex(c03, "api uuid_kill");
const playback = scene(c03, { a: u03, from: bcast, to: xfer });
const transferAll = scene(c03, { a: u03, from: xfer, to: kill03 });
// The captured transfer ran extension 7001 (answer, playback, park); the double's dialplan parks.
const transfer = [...transferAll.slice(0, 4), ...transferAll.slice(-2)];
// PLAYBACK_STOP, CHANNEL_EXECUTE_COMPLETE (playback), COMMAND.
const playbackStopOnHangup = duringHangup(playback.slice(2));

// ---- 09a-sip-error-responses: the first call (486 Busy Here) ----
const c09a = load("09a-sip-error-responses");
const first09a = sentIndex(c09a, "bgapi originate");
const failed = scene(c09a, { a: uuidIn(c09a.sent[first09a] ?? ""), from: 0, to: first09a + 1 });

// ---- 09b-sip-183-early-media: 183 with SDP, then 200; and the same with ignore_early_media=true ----
const c09b = load("09b-sip-183-early-media");
const early1 = sentIndex(c09b, "bgapi originate", 0);
const early2 = sentIndex(c09b, "bgapi originate", 1);
const uEarly1 = uuidIn(c09b.sent[early1] ?? "");
const uEarly2 = uuidIn(c09b.sent[early2] ?? "");
const earlyMediaCall = scene(c09b, { a: uEarly1, from: 0, to: early1 + 1 });
const earlyMediaHangup = scene(c09b, { a: uEarly1, from: early1 + 1, to: early2 });
const ignoreEarlyMediaCall = scene(c09b, { a: uEarly2, from: early1 + 1, to: early2 + 1 });
const ignoreEarlyMediaHangup = scene(c09b, { a: uEarly2, from: early2 + 1, to: c09b.sent.length });

// ---- 10-bridge-and-uuid-bridge: originate A &bridge(B), uuid_kill A; uuid_bridge X Y, uuid_kill X ----
const c10 = load("10-bridge-and-uuid-bridge");
const bridgeCmd = sentIndex(c10, "api originate", 0);
const [uA = "", uB = ""] = [...(c10.sent[bridgeCmd] ?? "").matchAll(/origination_uuid=([0-9a-f-]{36})/g)].map(
  (m) => m[1],
);
const killA = sentIndex(c10, "api uuid_kill", 0);
const bridgeCall = scene(c10, { a: uA, b: uB, from: 0, to: bridgeCmd + 1 });
const bridgeHangup = scene(c10, { a: uA, b: uB, from: killA, to: killA + 1 });
const uuidBridgeCmd = sentIndex(c10, "api uuid_bridge");
const [uX = "", uY = ""] = (c10.sent[uuidBridgeCmd] ?? "").trim().split(/\s+/).slice(2);
const killX = sentIndex(c10, "api uuid_kill", 1);
const uuidBridge = scene(c10, { a: uX, b: uY, from: uuidBridgeCmd, to: uuidBridgeCmd + 1 });
const uuidBridgeHangup = scene(c10, { a: uX, b: uY, from: killX, to: killX + 1 });

// ---- 11-inbound-call-uuid-commands: an inbound call parked ringing, uuid_answer, hupall ----
const c11 = load("11-inbound-call-uuid-commands");
const answer11 = sentIndex(c11, "api uuid_answer");
const u11 = (c11.sent[answer11] ?? "").trim().split(/\s+/)[2] ?? "";
const hupall11 = sentIndex(c11, "api hupall");
const inboundCall = scene(c11, { a: u11, from: 0, to: answer11, inbound: true });
const inboundAnswer = scene(c11, { a: u11, from: answer11, to: answer11 + 1, inbound: true });
const inboundHangup = scene(c11, { a: u11, from: hupall11, to: hupall11 + 1, inbound: true });

// ---- 14-log-data: the log/data lines of the answered call, each after the call event it followed ----
const LOG_STAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \d+\.\d+% /;
const ids14 = callIds(c14, u14);
const call14 = c14.events.filter((e) => e.headers.some(([k, v]) => k === "Unique-ID" && v === u14));
const answeredCallLogs = c14.logs.map((log) => {
  const before = c14.events.slice(0, log.afterEvents).filter((e) => call14.includes(e)).length;
  const body = tokenizeValue(log.body.replace(LOG_STAMP, "{{LOG_STAMP}}"), ids14, undefined, [])
    .replace('Flipping CID from "" <{{CID_NUM}}>', 'Flipping CID from "{{CID_NAME}}" <{{CID_NUM}}>')
    .replace(`"Outbound Call" <${ids14.dest}>`, '"Outbound Call" <{{DEST}}>');
  return {
    /** Index in answeredCall of the event it follows; -1: before the first. */
    after: before - 1,
    level: Number(log.headers["Log-Level"]),
    textChannel: Number(log.headers["Text-Channel"]),
    file: log.headers["Log-File"] ?? "",
    func: log.headers["Log-Func"] ?? "",
    line: Number(log.headers["Log-Line"]),
    /** User-Data is the channel's uuid, or empty. */
    session: (log.headers["User-Data"] ?? "") !== "",
    body,
  };
});

// ---- generic (non-channel) events: header names in order ----
function genericNames(events: CapturedEvent[], name: string): string[] {
  const e = events.find((x) => x.name === name);
  if (!e) throw new Error(`no ${name} in captures`);
  return e.headers.map(([k]) => k);
}
const all03 = c03.events;
const generic = {
  API: genericNames(all03, "API"),
  BACKGROUND_JOB: genericNames(all03, "BACKGROUND_JOB"),
  HEARTBEAT: genericNames(all03, "HEARTBEAT"),
  RE_SCHEDULE: genericNames(all03, "RE_SCHEDULE"),
};
const heartbeatSample = Object.fromEntries(all03.find((e) => e.name === "HEARTBEAT")?.headers ?? []);
const rescheduleSample = Object.fromEntries(all03.find((e) => e.name === "RE_SCHEDULE")?.headers ?? []);
const callingOf = (name: string) => {
  const e = all03.find((x) => x.name === name);
  const get = (n: string) => e?.headers.find(([k]) => k === n)?.[1] ?? "";
  return [get("Event-Calling-File"), get("Event-Calling-Function"), get("Event-Calling-Line-Number")];
};

const lists: Record<string, [doc: string, templates: Template[]]> = {
  answeredCall: [
    "14-log-data: bgapi originate → answered → parked (CHANNEL_OUTGOING … CHANNEL_PARK).",
    answered,
  ],
  hangupParked: [
    "14-log-data: uuid_kill of the parked call (CHANNEL_HANGUP … CHANNEL_STATE CS_DESTROY).",
    withSipTermBlocks(killed),
  ],
  playbackOnPark: ["03-lifecycle-event-plain: uuid_broadcast playback on the parked call.", playback],
  playbackStopOnHangup: [
    "03-lifecycle-event-plain: the end of that playback, as sent when the call hangs up during it.",
    playbackStopOnHangup,
  ],
  transferToPark: [
    "03-lifecycle-event-plain: uuid_transfer (unpark, routing, execute), ending parked again.",
    transfer,
  ],
  failedCall: ["09a-sip-error-responses: an originate refused by the far end (486 → USER_BUSY).", failed],
  earlyMediaCall: [
    "09b-sip-183-early-media: 183 with SDP (the originate succeeds), parked in early media, then the 200.",
    earlyMediaCall,
  ],
  earlyMediaHangup: ["09b-sip-183-early-media: uuid_kill of that call.", withSipTermBlocks(earlyMediaHangup)],
  ignoreEarlyMediaCall: [
    "09b-sip-183-early-media: the same with ignore_early_media=true: the originate waits for the 200.",
    ignoreEarlyMediaCall,
  ],
  ignoreEarlyMediaHangup: [
    "09b-sip-183-early-media: uuid_kill of that call.",
    withSipTermBlocks(ignoreEarlyMediaHangup),
  ],
  bridgeCall: [
    "10-bridge-and-uuid-bridge: api originate A &bridge(B): A answers, B rings and answers, A bridges to B.",
    bridgeCall,
  ],
  bridgeHangup: ["10-bridge-and-uuid-bridge: uuid_kill A of that bridge; B is hung up too.", bridgeHangup],
  uuidBridge: ["10-bridge-and-uuid-bridge: uuid_bridge X Y of two parked calls.", uuidBridge],
  uuidBridgeHangup: [
    "10-bridge-and-uuid-bridge: uuid_kill X of that bridge; Y is hung up too.",
    uuidBridgeHangup,
  ],
  inboundCall: [
    "11-inbound-call-uuid-commands: an inbound call routed in context default, parked unanswered (ringing).",
    inboundCall,
  ],
  inboundAnswer: ["11-inbound-call-uuid-commands: uuid_answer of that call.", inboundAnswer],
  inboundHangup: ["11-inbound-call-uuid-commands: hupall of that call, answered and parked.", inboundHangup],
};

// ---- output: per file, every distinct template once and the lists by reference ----
const render = (t: Template) =>
  `{\n  event: ${JSON.stringify(t.event)},${t.role ? `\n  role: ${JSON.stringify(t.role)},` : ""}\n  headers: [\n${t.headers
    .map(([k, v]) => `    [${JSON.stringify(k)}, ${JSON.stringify(v)}],`)
    .join("\n")}\n  ],\n}`;

/** The lists of one output file: its distinct templates, then the lists that refer to them. */
function listsSource(names: string[]): { source: string; distinct: number } {
  const pool = new Map<string, string>();
  const poolSource: string[] = [];
  const ref = (t: Template) => {
    const text = render(t);
    let name = pool.get(text);
    if (!name) {
      name = `t${pool.size}`;
      pool.set(text, name);
      poolSource.push(`const ${name}: EventTemplate = ${text};`);
    }
    return name;
  };
  const exported = names.map((name) => {
    const [doc, templates] = lists[name] as [string, Template[]];
    return `/** ${doc} */\nexport const ${name}: readonly EventTemplate[] = [${templates.map(ref).join(", ")}];`;
  });
  return { source: `${poolSource.join("\n\n")}\n\n${exported.join("\n\n")}`, distinct: pool.size };
}

const HEADER = `// GENERATED by src/fakeswitch/tools/extract-templates.ts from the FreeSWITCH 1.10.12 captures in
// test/fixtures/freeswitch-esl. Do not edit by hand: re-run the tool.
//
// Each template is one captured event: header names in wire order, URL-decoded values, call-specific
// values replaced by {{TOKEN}} markers (OTHER_* for the other leg of a bridge). A header named {{BLOCK}}
// marks where a run of whole headers is spliced in (the originate's variables, uuid_setvar variables, the
// caller-ID name headers). In a two-leg list, \`role\` says which leg an event belongs to.
`;
/** Files by call kind (each stays under the formatter's 1 MiB limit). */
const files: Record<string, string[]> = {
  "templates-bridge.ts": ["bridgeCall", "bridgeHangup", "uuidBridge", "uuidBridgeHangup"],
  "templates-inbound.ts": ["inboundCall", "inboundAnswer", "inboundHangup"],
};
const mainLists = Object.keys(lists).filter((n) => !Object.values(files).flat().includes(n));
let distinct = 0;
for (const [file, names] of Object.entries(files)) {
  const { source, distinct: n } = listsSource(names);
  distinct += n;
  writeFileSync(
    join(here, "..", file),
    `${HEADER}\nimport type { EventTemplate } from "./templates.ts";\n\n${source}\n`,
  );
}
const main = listsSource(mainLists);
distinct += main.distinct;

const tokens = new Set<string>();
const blocks = new Set<string>();
for (const [, templates] of Object.values(lists)) {
  for (const t of templates) {
    for (const [k, v] of t.headers) {
      const block = /^\{\{([A-Z0-9_]+)\}\}$/.exec(k);
      if (block) blocks.add(block[1] ?? "");
      for (const m of v.matchAll(/\{\{([A-Z0-9_]+)\}\}/g)) tokens.add(m[1] ?? "");
    }
  }
}
for (const log of answeredCallLogs)
  for (const m of log.body.matchAll(/\{\{([A-Z0-9_]+)\}\}/g)) tokens.add(m[1] ?? "");

const source = `${HEADER}
export type TemplateHeader = readonly [name: string, value: string];
export interface EventTemplate {
  readonly event: string;
  /** In a list of two legs: \`a\` the bridge's A leg (the originating or first one), \`b\` the other. */
  readonly role?: "a" | "b";
  readonly headers: readonly TemplateHeader[];
}

/** Every token the templates use. */
export const TEMPLATE_TOKENS = ${JSON.stringify([...tokens].sort())} as const;

/** Every block (a run of whole headers) the templates use. */
export const TEMPLATE_BLOCKS = ${JSON.stringify([...blocks].sort())} as const;

/** The header each caller-ID name block holds when the call has a caller-ID name (capture 17). */
export const CALLER_ID_NAME_HEADERS = ${JSON.stringify(
  Object.fromEntries(CALLER_ID_NAME_BLOCKS.map(([block, header]) => [block, header])),
  null,
  2,
)} as const;

${main.source}

/** 14-log-data: the log/data frames of answeredCall (\`after\`: the index of the event each followed). */
export const answeredCallLogs = ${JSON.stringify(answeredCallLogs, null, 2)} as const;

/** Header names of the non-channel events, in wire order. */
export const GENERIC_HEADERS = ${JSON.stringify(generic, null, 2)} as const;

/** Event-Calling-File / -Function / -Line-Number of the non-channel events. */
export const GENERIC_CALLING = ${JSON.stringify(
  {
    API: callingOf("API"),
    BACKGROUND_JOB: callingOf("BACKGROUND_JOB"),
    HEARTBEAT: callingOf("HEARTBEAT"),
    RE_SCHEDULE: callingOf("RE_SCHEDULE"),
  },
  null,
  2,
)} as const;

/** Constant values seen in the captures (switch identity, heartbeat/scheduler fields). */
export const CAPTURED = ${JSON.stringify(
  {
    ipv4: heartbeatSample["FreeSWITCH-IPv4"],
    ipv6: heartbeatSample["FreeSWITCH-IPv6"],
    version: heartbeatSample["FreeSWITCH-Version"],
    eventInfo: heartbeatSample["Event-Info"],
    taskDesc: rescheduleSample["Task-Desc"],
    taskGroup: rescheduleSample["Task-Group"],
  },
  null,
  2,
)} as const;
`;

writeFileSync(out, source);
console.log(
  `wrote ${out}: ${Object.entries(lists)
    .map(([n, [, t]]) => `${n} ${t.length}`)
    .join(
      ", ",
    )}; ${distinct} distinct templates; ${answeredCallLogs.length} log lines\ntokens ${[...tokens].join(" ")}\nblocks ${[...blocks].join(" ")}`,
);
