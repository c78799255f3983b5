/**
 * Dev-time tool: extracts the event templates of the FreeSWITCH double from the captures in
 * test/fixtures/freeswitch-esl and writes them as JSON, one file per scene, to
 * src/fakeswitch/event-templates/ (loaded by src/fakeswitch/templates.ts). The double never reads the
 * captures at runtime; test/fakeswitch/03-templates.test.ts checks that the committed files are this
 * tool's output.
 *
 *   npx tsx tools/extract-templates.ts [fixtures dir]
 *
 * Each template is one captured event: its header names in wire order and its URL-decoded values,
 * with the call-specific values replaced by `{{TOKEN}}` markers that the double fills per channel or
 * per event. A header named `{{BLOCK}}` marks where a run of whole headers is spliced in: the originate's
 * own variables (`{{USER_VARS}}`), later uuid_setvar variables (`{{SET_VARS}}`), and the headers that
 * exist only when the call has a caller-ID name (capture 17 shows where they go).
 *
 * A scene is the events of one or two channels between two commands of a capture. In a two-channel scene
 * (a bridge) every template carries its role, `a` or `b`, and the other leg's values become `OTHER_*`
 * tokens. A scene file is whole on its own: templates two scenes share are written in both (the loader makes
 * them one object again).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { urlDecode } from "../src/esl/urlcodec.ts";

const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const defaultFixturesDir = join(repoRoot, "test/fixtures/freeswitch-esl");
export const templatesDir = join(repoRoot, "src/fakeswitch/event-templates");

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

function load(fixtures: string, stem: string): Capture {
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

/** One log/data frame of a scene, after the event it followed in the capture. */
interface LogLine {
  /** Index in the scene's events of the event it follows; -1: before the first. */
  after: number;
  level: number;
  textChannel: number;
  file: string;
  func: string;
  line: number;
  /** User-Data is the channel's uuid, or empty. */
  session: boolean;
  body: string;
}

/** One output file: a scene's events (and log lines), with the capture it comes from. */
interface Scene {
  capture: string;
  description: string;
  events: Template[];
  logs?: LogLine[];
}

const LOG_STAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \d+\.\d+% /;

/** The scenes the double plays, by file name (kebab-case of the names src/fakeswitch/templates.ts exports). */
function extractScenes(fixtures: string): Record<string, Scene> {
  // ---- 14-log-data: answered call parked, then uuid_kill (no broadcast/transfer in between) ----
  const c14 = load(fixtures, "14-log-data");
  const u14 = uuidIn(c14.sent[sentIndex(c14, "bgapi originate")] ?? "");
  const kill14 = sentIndex(c14, "api uuid_kill");
  const answered = scene(c14, { a: u14, from: 0, to: kill14 });
  const killed = scene(c14, { a: u14, from: kill14, to: c14.sent.length });

  // The log/data lines of the answered call, each after the call event it followed.
  const ids14 = callIds(c14, u14);
  const call14 = c14.events.filter((e) => e.headers.some(([k, v]) => k === "Unique-ID" && v === u14));
  const answeredLogs = c14.logs.map((log): LogLine => {
    const before = c14.events.slice(0, log.afterEvents).filter((e) => call14.includes(e)).length;
    const body = tokenizeValue(log.body.replace(LOG_STAMP, "{{LOG_STAMP}}"), ids14, undefined, [])
      .replace('Flipping CID from "" <{{CID_NUM}}>', 'Flipping CID from "{{CID_NAME}}" <{{CID_NUM}}>')
      .replace(`"Outbound Call" <${ids14.dest}>`, '"Outbound Call" <{{DEST}}>');
    return {
      after: before - 1,
      level: Number(log.headers["Log-Level"]),
      textChannel: Number(log.headers["Text-Channel"]),
      file: log.headers["Log-File"] ?? "",
      func: log.headers["Log-Func"] ?? "",
      line: Number(log.headers["Log-Line"]),
      session: (log.headers["User-Data"] ?? "") !== "",
      body,
    };
  });

  // ---- 03-lifecycle-event-plain: uuid_broadcast (playback) and uuid_transfer segments ----
  const c03 = load(fixtures, "03-lifecycle-event-plain");
  const u03 = uuidIn(c03.sent[sentIndex(c03, "bgapi originate")] ?? "");
  const bcast = sentIndex(c03, "api uuid_broadcast");
  const xfer = sentIndex(c03, "api uuid_transfer");
  const kill03 = sentIndex(c03, "api uuid_kill");
  const playback = scene(c03, { a: u03, from: bcast, to: xfer });
  const transferAll = scene(c03, { a: u03, from: xfer, to: kill03 });
  // The captured transfer ran extension 7001 (answer, playback, park); the double's dialplan parks.
  const transfer = [...transferAll.slice(0, 4), ...transferAll.slice(-2)];

  // ---- 09a-sip-error-responses: the first call (486 Busy Here) ----
  const c09a = load(fixtures, "09a-sip-error-responses");
  const first09a = sentIndex(c09a, "bgapi originate");
  const failed = scene(c09a, { a: uuidIn(c09a.sent[first09a] ?? ""), from: 0, to: first09a + 1 });

  // ---- 09b-sip-183-early-media: 183 with SDP, then 200; and the same with ignore_early_media=true ----
  const c09b = load(fixtures, "09b-sip-183-early-media");
  const early1 = sentIndex(c09b, "bgapi originate", 0);
  const early2 = sentIndex(c09b, "bgapi originate", 1);
  const uEarly1 = uuidIn(c09b.sent[early1] ?? "");
  const uEarly2 = uuidIn(c09b.sent[early2] ?? "");

  // ---- 10-bridge-and-uuid-bridge: originate A &bridge(B), uuid_kill A; uuid_bridge X Y, uuid_kill X ----
  const c10 = load(fixtures, "10-bridge-and-uuid-bridge");
  const bridgeCmd = sentIndex(c10, "api originate", 0);
  const [uA = "", uB = ""] = [
    ...(c10.sent[bridgeCmd] ?? "").matchAll(/origination_uuid=([0-9a-f-]{36})/g),
  ].map((m) => m[1]);
  const killA = sentIndex(c10, "api uuid_kill", 0);
  const uuidBridgeCmd = sentIndex(c10, "api uuid_bridge");
  const [uX = "", uY = ""] = (c10.sent[uuidBridgeCmd] ?? "").trim().split(/\s+/).slice(2);
  const killX = sentIndex(c10, "api uuid_kill", 1);

  // ---- 11-inbound-call-uuid-commands: an inbound call parked ringing, uuid_answer, hupall ----
  const c11 = load(fixtures, "11-inbound-call-uuid-commands");
  const answer11 = sentIndex(c11, "api uuid_answer");
  const u11 = (c11.sent[answer11] ?? "").trim().split(/\s+/)[2] ?? "";
  const hupall11 = sentIndex(c11, "api hupall");

  const from = (capture: string, description: string, events: Template[]): Scene => ({
    capture,
    description,
    events,
  });
  return {
    "answered-call": {
      ...from(
        "14-log-data",
        "bgapi originate → answered → parked (CHANNEL_OUTGOING … CHANNEL_PARK).",
        answered,
      ),
      logs: answeredLogs,
    },
    "hangup-parked": from(
      "14-log-data",
      "uuid_kill of the parked call (CHANNEL_HANGUP … CHANNEL_STATE CS_DESTROY).",
      withSipTermBlocks(killed),
    ),
    "playback-on-park": from(
      "03-lifecycle-event-plain",
      "uuid_broadcast playback on the parked call.",
      playback,
    ),
    "playback-stop-on-hangup": from(
      "03-lifecycle-event-plain",
      "The end of that playback, as sent when the call hangs up during it (PLAYBACK_STOP, CHANNEL_EXECUTE_COMPLETE, COMMAND).",
      duringHangup(playback.slice(2)),
    ),
    "transfer-to-park": from(
      "03-lifecycle-event-plain",
      "uuid_transfer (unpark, routing, execute), ending parked again.",
      transfer,
    ),
    "failed-call": from(
      "09a-sip-error-responses",
      "An originate refused by the far end (486 → USER_BUSY).",
      failed,
    ),
    "early-media-call": from(
      "09b-sip-183-early-media",
      "183 with SDP (the originate succeeds), parked in early media, then the 200.",
      scene(c09b, { a: uEarly1, from: 0, to: early1 + 1 }),
    ),
    "early-media-hangup": from(
      "09b-sip-183-early-media",
      "uuid_kill of that call.",
      withSipTermBlocks(scene(c09b, { a: uEarly1, from: early1 + 1, to: early2 })),
    ),
    "ignore-early-media-call": from(
      "09b-sip-183-early-media",
      "The same with ignore_early_media=true: the originate waits for the 200.",
      scene(c09b, { a: uEarly2, from: early1 + 1, to: early2 + 1 }),
    ),
    "ignore-early-media-hangup": from(
      "09b-sip-183-early-media",
      "uuid_kill of that call.",
      withSipTermBlocks(scene(c09b, { a: uEarly2, from: early2 + 1, to: c09b.sent.length })),
    ),
    "bridge-call": from(
      "10-bridge-and-uuid-bridge",
      "api originate A &bridge(B): A answers, B rings and answers, A bridges to B.",
      scene(c10, { a: uA, b: uB, from: 0, to: bridgeCmd + 1 }),
    ),
    "bridge-hangup": from(
      "10-bridge-and-uuid-bridge",
      "uuid_kill A of that bridge; B is hung up too.",
      scene(c10, { a: uA, b: uB, from: killA, to: killA + 1 }),
    ),
    "uuid-bridge": from(
      "10-bridge-and-uuid-bridge",
      "uuid_bridge X Y of two parked calls.",
      scene(c10, { a: uX, b: uY, from: uuidBridgeCmd, to: uuidBridgeCmd + 1 }),
    ),
    "uuid-bridge-hangup": from(
      "10-bridge-and-uuid-bridge",
      "uuid_kill X of that bridge; Y is hung up too.",
      scene(c10, { a: uX, b: uY, from: killX, to: killX + 1 }),
    ),
    "inbound-call": from(
      "11-inbound-call-uuid-commands",
      "An inbound call routed in context default, parked unanswered (ringing).",
      scene(c11, { a: u11, from: 0, to: answer11, inbound: true }),
    ),
    "inbound-answer": from(
      "11-inbound-call-uuid-commands",
      "uuid_answer of that call.",
      scene(c11, { a: u11, from: answer11, to: answer11 + 1, inbound: true }),
    ),
    "inbound-hangup": from(
      "11-inbound-call-uuid-commands",
      "hupall of that call, answered and parked.",
      scene(c11, { a: u11, from: hupall11, to: hupall11 + 1, inbound: true }),
    ),
  };
}

/** The values seen in capture 03 outside any call: the switch's identity, the non-channel events' source. */
function extractCaptured(fixtures: string) {
  const events = load(fixtures, "03-lifecycle-event-plain").events;
  const sample = (name: string) => {
    const event = events.find((e) => e.name === name);
    if (!event) throw new Error(`no ${name} in capture 03`);
    return (header: string) => event.headers.find(([k]) => k === header)?.[1] ?? "";
  };
  const heartbeat = sample("HEARTBEAT");
  const reschedule = sample("RE_SCHEDULE");
  const calling = (name: string) => {
    const get = sample(name);
    return [get("Event-Calling-File"), get("Event-Calling-Function"), get("Event-Calling-Line-Number")];
  };
  return {
    switch: {
      ipv4: heartbeat("FreeSWITCH-IPv4"),
      ipv6: heartbeat("FreeSWITCH-IPv6"),
      version: heartbeat("FreeSWITCH-Version"),
      eventInfo: heartbeat("Event-Info"),
      taskDesc: reschedule("Task-Desc"),
      taskGroup: reschedule("Task-Group"),
    },
    eventCalling: {
      API: calling("API"),
      BACKGROUND_JOB: calling("BACKGROUND_JOB"),
      HEARTBEAT: calling("HEARTBEAT"),
      RE_SCHEDULE: calling("RE_SCHEDULE"),
    },
    callerIdNameHeaders: Object.fromEntries(CALLER_ID_NAME_BLOCKS.map(([block, header]) => [block, header])),
  };
}

/**
 * JSON as JSON.stringify(…, null, 2) writes it, except that a header (a `[name, value]` pair) takes one
 * line: one line per header reads and diffs like the capture.
 */
function sceneJson(scene: Scene): string {
  const event = (t: Template) =>
    [
      "    {",
      `      "event": ${JSON.stringify(t.event)},`,
      ...(t.role ? [`      "role": ${JSON.stringify(t.role)},`] : []),
      '      "headers": [',
      t.headers
        .map(([name, value]) => `        [${JSON.stringify(name)}, ${JSON.stringify(value)}]`)
        .join(",\n"),
      "      ]",
      "    }",
    ].join("\n");
  const fields = [
    `  "capture": ${JSON.stringify(scene.capture)}`,
    `  "description": ${JSON.stringify(scene.description)}`,
    `  "events": [\n${scene.events.map(event).join(",\n")}\n  ]`,
    ...(scene.logs
      ? [`  "logs": [\n${scene.logs.map((line) => `    ${JSON.stringify(line)}`).join(",\n")}\n  ]`]
      : []),
  ];
  return `{\n${fields.join(",\n")}\n}\n`;
}

/** Every output file, by name, as the tool writes it. */
function extractTemplates(fixtures: string = defaultFixturesDir): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, scene] of Object.entries(extractScenes(fixtures)))
    files.set(`${name}.json`, sceneJson(scene));
  files.set("captured.json", `${JSON.stringify(extractCaptured(fixtures), null, 2)}\n`);
  return files;
}

/** Replaces the JSON files of `outDir` with the extracted ones (a scene no longer extracted goes away). */
export function writeTemplates(outDir: string, fixtures: string = defaultFixturesDir): Map<string, string> {
  const files = extractTemplates(fixtures);
  mkdirSync(outDir, { recursive: true });
  for (const old of readdirSync(outDir)) if (old.endsWith(".json")) rmSync(join(outDir, old));
  for (const [name, text] of files) writeFileSync(join(outDir, name), text);
  return files;
}

// A token or block the double does not know yet fails at load, naming it (src/fakeswitch/templates.ts).
if (import.meta.url === `file://${process.argv[1]}`) {
  const files = writeTemplates(templatesDir, resolve(process.argv[2] ?? defaultFixturesDir));
  console.log(`wrote ${[...files.keys()].join(", ")} to ${templatesDir}`);
}
