import { readFileSync } from "node:fs";
import type { LogLineTemplate } from "./log-lines.ts";

/**
 * The event templates of the double: the captured FreeSWITCH events, one JSON file per scene in
 * event-templates/, written by tools/extract-templates.ts from test/fixtures/freeswitch-esl (not edited by
 * hand: re-run the tool). This module reads and checks them once, when it loads. Read at run time, the
 * data costs the type checker and the formatter nothing; tools/build.ts copies the folder beside the
 * bundle.
 *
 * Each template is one captured event: header names in wire order, URL-decoded values, call-specific
 * values replaced by {{TOKEN}} markers (OTHER_* for the other leg of a bridge). A header named {{BLOCK}}
 * marks where a run of whole headers is spliced in (the originate's variables, uuid_setvar variables, the
 * caller-ID name headers). In a two-leg scene, `role` says which leg an event belongs to.
 */

export type TemplateHeader = readonly [name: string, value: string];
export interface EventTemplate {
  readonly event: string;
  /** In a list of two legs: `a` the bridge's A leg (the originating or first one), `b` the other. */
  readonly role?: "a" | "b";
  readonly headers: readonly TemplateHeader[];
}

/** Every token the templates use: the loader checks the data uses exactly these. */
export const TEMPLATE_TOKENS = [
  "ANSWERED_TS",
  "ANSWERMSEC",
  "ANSWERSEC",
  "ANSWERUSEC",
  "ANSWER_EPOCH",
  "ANSWER_STAMP",
  "ANSWER_UEPOCH",
  "APP_DATA",
  "APP_UUID",
  "BILLMSEC",
  "BILLSEC",
  "BILLUSEC",
  "BRIDGED_TS",
  "BRIDGE_EPOCH",
  "BRIDGE_STAMP",
  "BRIDGE_UEPOCH",
  "CALLER_DEST",
  "CHANNEL_NAME",
  "CID_NAME",
  "CID_NUM",
  "CONTEXT",
  "CORE_UUID",
  "CREATED_DATE_GMT",
  "CREATED_DATE_LOCAL",
  "CREATED_TS",
  "DATE_GMT",
  "DATE_LOCAL",
  "DEST",
  "DEST_HOSTPORT",
  "DEST_PORT",
  "DURATION",
  "ENDPOINT_DISPOSITION",
  "END_EPOCH",
  "END_STAMP",
  "END_UEPOCH",
  "EVENT_TS",
  "FLOW_BILLMSEC",
  "FLOW_BILLSEC",
  "FLOW_BILLUSEC",
  "FROM_DISPLAY",
  "FROM_TAG",
  "HANGUP_CAUSE",
  "HANGUP_DISPOSITION",
  "HANGUP_TS",
  "HOSTNAME",
  "IPV4",
  "IPV6",
  "LOG_STAMP",
  "MDURATION",
  "OTHER_ANSWERED_TS",
  "OTHER_CHANNEL_NAME",
  "OTHER_CREATED_TS",
  "OTHER_DEST",
  "OTHER_PROGRESS_TS",
  "OTHER_UUID",
  "PROFILE_START_EPOCH",
  "PROFILE_START_STAMP",
  "PROFILE_START_UEPOCH",
  "PROFILE_TS",
  "PROGRESSMSEC",
  "PROGRESSSEC",
  "PROGRESSUSEC",
  "PROGRESS_EPOCH",
  "PROGRESS_MEDIAMSEC",
  "PROGRESS_MEDIASEC",
  "PROGRESS_MEDIAUSEC",
  "PROGRESS_MEDIA_EPOCH",
  "PROGRESS_MEDIA_STAMP",
  "PROGRESS_MEDIA_TS",
  "PROGRESS_MEDIA_UEPOCH",
  "PROGRESS_STAMP",
  "PROGRESS_TS",
  "PROGRESS_UEPOCH",
  "PROTO_CAUSE",
  "Q850",
  "RFC2822_DATE",
  "SEQ",
  "SESSION_ID",
  "SIP_CALL_ID",
  "SIP_PHRASE",
  "SIP_STATUS",
  "START_EPOCH",
  "START_STAMP",
  "START_UEPOCH",
  "TO_TAG",
  "TRANSFER_SOURCE",
  "UDURATION",
  "UUID",
  "WAITMSEC",
  "WAITSEC",
  "WAITUSEC",
] as const;

/** Every block (a header that stands for a run of whole headers) the templates use, likewise checked. */
export const TEMPLATE_BLOCKS = [
  "CALLEE_ID_NAME",
  "CALLER_ID_NAME",
  "LOCAL_DISPOSITION",
  "ORIG_CALLER_ID_NAME",
  "PLAYBACK_FILE_TYPE",
  "PRE_TRANSFER_CALLER_ID_NAME",
  "SET_VARS",
  "SIP_FROM_DISPLAY",
  "SIP_TERM",
  "USER_VARS",
] as const;

type TemplateBlock = (typeof TEMPLATE_BLOCKS)[number];
/** The non-channel events the double fires. */
type CoreEvent = "API" | "BACKGROUND_JOB" | "HEARTBEAT" | "RE_SCHEDULE";

const templatesDir = new URL("./event-templates/", import.meta.url);
const knownTokens: ReadonlySet<string> = new Set(TEMPLATE_TOKENS);
const knownBlocks: ReadonlySet<string> = new Set(TEMPLATE_BLOCKS);
const usedTokens = new Set<string>();
const usedBlocks = new Set<string>();

function fail(where: string, what: string): never {
  throw new Error(`fakeswitch event templates: ${where} ${what} (re-run tools/extract-templates.ts)`);
}
function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(where, "is not an object");
  return value as Record<string, unknown>;
}
function array(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(where, "is not an array");
  return value;
}
function string(value: unknown, where: string): string {
  if (typeof value !== "string") fail(where, "is not a string");
  return value;
}
function integer(value: unknown, where: string): number {
  if (!Number.isInteger(value)) fail(where, "is not an integer");
  return value as number;
}

/** A value's {{TOKEN}}s must be ones the double fills. */
function withTokens(value: string, where: string): string {
  for (const [, token = ""] of value.matchAll(/\{\{([A-Z0-9_]+)\}\}/g)) {
    if (!knownTokens.has(token)) fail(where, `has unknown token {{${token}}}`);
    usedTokens.add(token);
  }
  return value;
}

function header(value: unknown, where: string): TemplateHeader {
  const pair = array(value, where);
  if (pair.length !== 2) fail(where, "is not a [name, value] pair");
  const name = string(pair[0], `${where}[0]`);
  const block = /^\{\{([A-Z0-9_]+)\}\}$/.exec(name)?.[1];
  if (block !== undefined) {
    if (!knownBlocks.has(block)) fail(where, `has unknown block ${name}`);
    usedBlocks.add(block);
  }
  return [name, withTokens(string(pair[1], `${where}[1]`), where)];
}

/** Identical events are one object, so the double compiles each once (src/fakeswitch/call-scripts.ts). */
const interned = new Map<string, EventTemplate>();

function eventTemplate(value: unknown, where: string): EventTemplate {
  const json = object(value, where);
  const event = string(json.event, `${where}.event`);
  const headers = array(json.headers, `${where}.headers`).map((h, i) => header(h, `${where}.headers[${i}]`));
  if (json.role !== undefined && json.role !== "a" && json.role !== "b")
    fail(`${where}.role`, "is not a or b");
  const template: EventTemplate = json.role ? { event, role: json.role, headers } : { event, headers };
  const key = JSON.stringify(template);
  const same = interned.get(key);
  if (same) return same;
  interned.set(key, template);
  return template;
}

function logLine(value: unknown, where: string): LogLineTemplate {
  const json = object(value, where);
  if (typeof json.session !== "boolean") fail(`${where}.session`, "is not a boolean");
  return {
    after: integer(json.after, `${where}.after`),
    level: integer(json.level, `${where}.level`),
    textChannel: integer(json.textChannel, `${where}.textChannel`),
    file: string(json.file, `${where}.file`),
    func: string(json.func, `${where}.func`),
    line: integer(json.line, `${where}.line`),
    session: json.session,
    body: withTokens(string(json.body, `${where}.body`), `${where}.body`),
  };
}

function readJson(file: string): Record<string, unknown> {
  return object(JSON.parse(readFileSync(new URL(file, templatesDir), "utf8")), file);
}

/** A scene file: the capture it comes from, what it shows, its events and the log lines among them. */
function scene(name: string): { events: readonly EventTemplate[]; logs: readonly LogLineTemplate[] } {
  const file = `${name}.json`;
  const json = readJson(file);
  string(json.capture, `${file} capture`);
  string(json.description, `${file} description`);
  return {
    events: array(json.events, `${file} events`).map((e, i) => eventTemplate(e, `${file} events[${i}]`)),
    logs: array(json.logs ?? [], `${file} logs`).map((l, i) => logLine(l, `${file} logs[${i}]`)),
  };
}

const answered = scene("answered-call");
export const answeredCall = answered.events;
export const answeredCallLogs = answered.logs;
export const hangupParked = scene("hangup-parked").events;
export const playbackOnPark = scene("playback-on-park").events;
export const playbackStopOnHangup = scene("playback-stop-on-hangup").events;
export const transferToPark = scene("transfer-to-park").events;
export const failedCall = scene("failed-call").events;
export const earlyMediaCall = scene("early-media-call").events;
export const earlyMediaHangup = scene("early-media-hangup").events;
export const ignoreEarlyMediaCall = scene("ignore-early-media-call").events;
export const ignoreEarlyMediaHangup = scene("ignore-early-media-hangup").events;
export const bridgeCall = scene("bridge-call").events;
export const bridgeHangup = scene("bridge-hangup").events;
export const uuidBridge = scene("uuid-bridge").events;
export const uuidBridgeHangup = scene("uuid-bridge-hangup").events;
export const inboundCall = scene("inbound-call").events;
export const inboundAnswer = scene("inbound-answer").events;
export const inboundHangup = scene("inbound-hangup").events;

// Tokens and blocks the double fills but no template uses are stale: the lists above follow the data.
for (const [kind, known, used] of [
  ["token", TEMPLATE_TOKENS, usedTokens],
  ["block", TEMPLATE_BLOCKS, usedBlocks],
] as const) {
  const unused = known.filter((name) => !used.has(name));
  if (unused.length > 0) fail("event-templates/", `use no ${kind} ${unused.join(", ")}`);
}

const captured = readJson("captured.json");
const switchJson = object(captured.switch, "captured.json switch");
const switchValue = (key: string) => string(switchJson[key], `captured.json switch.${key}`);
/** Constant values seen in the captures (switch identity, heartbeat/scheduler fields). */
export const CAPTURED = {
  ipv4: switchValue("ipv4"),
  ipv6: switchValue("ipv6"),
  version: switchValue("version"),
  eventInfo: switchValue("eventInfo"),
  taskDesc: switchValue("taskDesc"),
  taskGroup: switchValue("taskGroup"),
};

const callingJson = object(captured.eventCalling, "captured.json eventCalling");
const calling = (event: CoreEvent): readonly [file: string, func: string, line: string] => {
  const where = `captured.json eventCalling.${event}`;
  const [file, func, line, ...rest] = array(callingJson[event], where);
  if (rest.length > 0) fail(where, "is not [file, function, line]");
  return [string(file, where), string(func, where), string(line, where)];
};
/** Event-Calling-File / -Function / -Line-Number of the non-channel events. */
export const GENERIC_CALLING: Readonly<Record<CoreEvent, readonly [string, string, string]>> = {
  API: calling("API"),
  BACKGROUND_JOB: calling("BACKGROUND_JOB"),
  HEARTBEAT: calling("HEARTBEAT"),
  RE_SCHEDULE: calling("RE_SCHEDULE"),
};

/** The header each caller-ID name block holds when the call has a caller-ID name (capture 17). */
export const CALLER_ID_NAME_HEADERS: Readonly<Partial<Record<TemplateBlock, string>>> = Object.fromEntries(
  Object.entries(object(captured.callerIdNameHeaders, "captured.json callerIdNameHeaders")).map(
    ([block, name]) => {
      const where = `captured.json callerIdNameHeaders.${block}`;
      if (!knownBlocks.has(block)) fail(where, "is not a block");
      return [block, string(name, where)];
    },
  ),
);
