/**
 * Dev-time tool: extracts the event templates of the FreeSWITCH double from the shared captures and
 * writes src/fakeswitch/templates.ts. The double never reads ../shared at runtime.
 *
 *   npx tsx src/fakeswitch/tools/extract-templates.ts [fixtures dir]
 *
 * Each template is one captured event: its header names in wire order and its URL-decoded values,
 * with the call-specific values replaced by `{{TOKEN}}` markers that the double fills per channel or
 * per event. A header named `{{BLOCK}}` marks where a run of whole headers is spliced in: the originate's
 * own variables (`{{USER_VARS}}`), later uuid_setvar variables (`{{SET_VARS}}`), and the headers that
 * exist only when the call has a caller-ID name (capture 17 shows where they go).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { urlDecode } from "../../esl/urlcodec.ts";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(process.argv[2] ?? join(here, "../../../../shared/fixtures/freeswitch-esl"));
const out = join(here, "../templates.ts");

type Headers = Array<[string, string]>;
interface CapturedEvent {
  name: string;
  headers: Headers;
  body?: string;
}
interface Item {
  dir: string;
  data?: string;
  headers?: Record<string, string>;
  event_headers_raw?: Headers;
  event_body?: string;
}

function load(stem: string): { sent: string[]; events: Array<CapturedEvent & { afterSent: number }> } {
  const json = JSON.parse(readFileSync(join(fixtures, `${stem}.json`), "utf8")) as { items: Item[] };
  const sent: string[] = [];
  const events: Array<CapturedEvent & { afterSent: number }> = [];
  for (const item of json.items) {
    if (item.dir === "sent") sent.push(item.data ?? "");
    if (item.dir !== "recv_frame" || item.headers?.["Content-Type"] !== "text/event-plain") continue;
    // The raw list keeps duplicate headers (CODEC repeats Channel-Write-Codec-*), the decoded map does not.
    const headers: Headers = (item.event_headers_raw ?? []).map(
      ([k, v]) => [k, urlDecode(v)] as [string, string],
    );
    const name = headers.find(([k]) => k === "Event-Name")?.[1] ?? "";
    const event: CapturedEvent & { afterSent: number } = { name, headers, afterSent: sent.length };
    if (item.event_body !== undefined) event.body = item.event_body;
    events.push(event);
  }
  return { sent, events };
}

/** Values that identify one capture's call; they become tokens. */
interface CallIds {
  uuid: string;
  channelName: string;
  destUri: string;
  destHostPort: string;
  dest: string;
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
  variable_start_stamp: "START_STAMP",
  variable_profile_start_stamp: "PROFILE_START_STAMP",
  variable_answer_stamp: "ANSWER_STAMP",
  variable_progress_stamp: "PROGRESS_STAMP",
  variable_end_stamp: "END_STAMP",
  "Job-UUID": "JOB_UUID",
};
/** Time headers that are 0 until the moment they describe; a non-zero value becomes a token. */
const nonZeroByHeader: Record<string, string> = {
  "Caller-Channel-Answered-Time": "ANSWERED_TS",
  "Caller-Channel-Progress-Time": "PROGRESS_TS",
  "Caller-Channel-Progress-Media-Time": "PROGRESS_MEDIA_TS",
  "Caller-Channel-Hangup-Time": "HANGUP_TS",
  "Caller-Channel-Transfer-Time": "TRANSFER_TS",
};
/** CDR variables of CHANNEL_HANGUP_COMPLETE / CHANNEL_DESTROY: always computed by the double. */
const CDR_VARS = [
  "start_epoch",
  "start_uepoch",
  "profile_start_epoch",
  "profile_start_uepoch",
  "answer_epoch",
  "answer_uepoch",
  "progress_epoch",
  "progress_uepoch",
  "end_epoch",
  "end_uepoch",
  "duration",
  "billsec",
  "progresssec",
  "answersec",
  "waitsec",
  "flow_billsec",
  "mduration",
  "billmsec",
  "progressmsec",
  "answermsec",
  "waitmsec",
  "flow_billmsec",
  "uduration",
  "billusec",
  "progressusec",
  "answerusec",
  "waitusec",
  "flow_billusec",
];
for (const v of CDR_VARS) byHeader[`variable_${v}`] = v.toUpperCase();

function tokenize(event: CapturedEvent, ids: CallIds, extra: Array<[string, string]>): Headers {
  const headers: Headers = [];
  const dest = ids.dest;
  for (const [name, raw] of event.headers) {
    if (name === "variable_origination_uuid") {
      headers.push(["{{USER_VARS}}", ""]);
      continue;
    }
    const direct = byHeader[name];
    if (direct) {
      headers.push([name, `{{${direct}}}`]);
      continue;
    }
    const nonZero = nonZeroByHeader[name];
    if (nonZero) {
      headers.push([name, raw === "0" ? "0" : `{{${nonZero}}}`]);
      continue;
    }
    let value = raw;
    for (const [from, token] of extra)
      if (from && value.includes(from)) value = value.split(from).join(token);
    value = value
      .split(ids.channelName)
      .join("{{CHANNEL_NAME}}")
      .split(ids.destUri)
      .join("{{DEST}}@{{DEST_HOSTPORT}}")
      .split(ids.destHostPort)
      .join("{{DEST_HOSTPORT}}")
      .split(ids.uuid)
      .join("{{UUID}}")
      .split("0000000000")
      .join("{{CID_NUM}}");
    if (value === dest) value = "{{DEST}}";
    if (value === ids.destHostPort.split(":")[1] && /port$/.test(name)) value = "{{DEST_PORT}}";
    if (name === "variable_caller_id") value = value.replace(`<${dest}>`, "<{{DEST}}>");
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

function callIds(events: CapturedEvent[]): CallIds {
  const first = events.find((e) => e.name === "CHANNEL_OUTGOING");
  const get = (n: string) => first?.headers.find(([k]) => k === n)?.[1] ?? "";
  const channelName = get("Channel-Name");
  const destUri = channelName.split("/").slice(2).join("/");
  return {
    uuid: get("Unique-ID"),
    channelName,
    destUri,
    destHostPort: destUri.split("@")[1] ?? "",
    dest: get("Caller-Destination-Number"),
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
    }
  }
  return [...found.entries()].sort((a, b) => b[0].length - a[0].length);
}

interface Template {
  event: string;
  headers: Headers;
}

function segment(
  events: CapturedEvent[],
  ids: CallIds,
  extra: Array<[string, string]>,
  from: number,
  to: number,
): Template[] {
  return events
    .slice(from, to)
    .filter((e) => e.headers.some(([k, v]) => k === "Unique-ID" && v === ids.uuid))
    .map((e) => ({ event: e.name, headers: withCallerIdNameBlocks(tokenize(e, ids, extra)) }));
}

// ---- 14-log-data: answered call parked, then uuid_kill (no broadcast/transfer in between) ----
const c14 = load("14-log-data");
const ids14 = callIds(c14.events);
const extra14 = extraValues(c14.events);
const killSent14 = c14.sent.findIndex((s) => s.startsWith("api uuid_kill"));
const answered = segment(
  c14.events,
  ids14,
  extra14,
  0,
  c14.events.findIndex((e) => e.afterSent > killSent14),
);
const killed = segment(
  c14.events,
  ids14,
  extra14,
  c14.events.findIndex((e) => e.afterSent > killSent14),
  c14.events.length,
);

// ---- 03-lifecycle-event-plain: uuid_broadcast (playback) and uuid_transfer segments ----
const c03 = load("03-lifecycle-event-plain");
const ids03 = callIds(c03.events);
const extra03 = extraValues(c03.events);
const idx = (prefix: string) => c03.sent.findIndex((s) => s.startsWith(prefix));
const bcast = idx("api uuid_broadcast");
const xfer = idx("api uuid_transfer");
const kill03 = idx("api uuid_kill");
const firstAfter = (n: number) => c03.events.findIndex((e) => e.afterSent > n);
const playback = segment(c03.events, ids03, extra03, firstAfter(bcast), firstAfter(xfer));
const transferAll = segment(c03.events, ids03, extra03, firstAfter(xfer), firstAfter(kill03));
// The captured transfer ran extension 7001 (answer, playback, park); the double's dialplan parks.
const transfer = [...transferAll.slice(0, 4), ...transferAll.slice(-2)];

// ---- 09a-sip-error-responses: the first call (486 Busy Here) ----
const c09 = load("09a-sip-error-responses");
const ids09 = callIds(c09.events);
const extra09 = extraValues(c09.events);
const failed = segment(
  c09.events,
  ids09,
  extra09,
  0,
  c09.events.findIndex((e) => e.afterSent > 3),
);

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

const tokens = new Set<string>();
const blocks = new Set<string>();
for (const t of [...answered, ...killed, ...playback, ...transfer, ...failed]) {
  for (const [k, v] of t.headers) {
    const block = /^\{\{([A-Z0-9_]+)\}\}$/.exec(k);
    if (block) blocks.add(block[1] ?? "");
    for (const m of v.matchAll(/\{\{([A-Z0-9_]+)\}\}/g)) tokens.add(m[1] ?? "");
  }
}

const render = (list: Template[]) =>
  `[\n${list
    .map(
      (t) =>
        `  {\n    event: ${JSON.stringify(t.event)},\n    headers: [\n${t.headers
          .map(([k, v]) => `      [${JSON.stringify(k)}, ${JSON.stringify(v)}],`)
          .join("\n")}\n    ],\n  },`,
    )
    .join("\n")}\n]`;

const source = `// GENERATED by src/fakeswitch/tools/extract-templates.ts from the FreeSWITCH 1.10.12 captures in
// ../shared/fixtures/freeswitch-esl. Do not edit by hand: re-run the tool.
//
// Each template is one captured event: header names in wire order, URL-decoded values, call-specific
// values replaced by {{TOKEN}} markers. A header named {{BLOCK}} marks where a run of whole headers is
// spliced in (the originate's variables, uuid_setvar variables, the caller-ID name headers).

export type TemplateHeader = readonly [name: string, value: string];
export interface EventTemplate {
  readonly event: string;
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

/** 14-log-data: bgapi originate → answered → parked (CHANNEL_OUTGOING … CHANNEL_PARK). */
export const answeredCall: readonly EventTemplate[] = ${render(answered)};

/** 14-log-data: uuid_kill of the parked call (CHANNEL_HANGUP … CHANNEL_STATE CS_DESTROY). */
export const hangupParked: readonly EventTemplate[] = ${render(killed)};

/** 03-lifecycle-event-plain: uuid_broadcast playback on the parked call. */
export const playbackOnPark: readonly EventTemplate[] = ${render(playback)};

/** 03-lifecycle-event-plain: uuid_transfer (unpark, routing, execute), ending parked again. */
export const transferToPark: readonly EventTemplate[] = ${render(transfer)};

/** 09a-sip-error-responses: an originate refused by the far end (486 → USER_BUSY). */
export const failedCall: readonly EventTemplate[] = ${render(failed)};

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
  `wrote ${out}: answered ${answered.length}, killed ${killed.length}, playback ${playback.length}, transfer ${transfer.length}, failed ${failed.length}; tokens ${[...tokens].join(" ")}; blocks ${[...blocks].join(" ")}`,
);
