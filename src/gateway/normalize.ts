import type { FsEventV1 } from "../contracts/fs-events-v1.ts";
import type { EslEvent } from "../esl/index.ts";

/** The headers worth keeping by default; EVENT_ALL_FIELDS=true keeps every header. */
const troubleshootingFields = [
  "Channel-Name",
  "Channel-State",
  "Channel-Call-State",
  "Answer-State",
  "Call-Direction",
  "Caller-Caller-ID-Name",
  "Caller-Caller-ID-Number",
  "Caller-Destination-Number",
  "Caller-Context",
  "Hangup-Cause",
  "Application",
  "Application-Data",
  "Application-Response",
  "DTMF-Digit",
  "DTMF-Duration",
  "Playback-File-Path",
  "Bridge-A-Unique-ID",
  "Bridge-B-Unique-ID",
  "Job-Command",
  "Job-Command-Arg",
  "variable_duration",
  "variable_billsec",
  "variable_hangup_cause",
  "variable_hangup_cause_q850",
  "variable_sip_term_status",
  "variable_sip_hangup_disposition",
  "variable_read_codec",
  "variable_write_codec",
  "Max-Sessions",
  "Session-Count",
  "Session-Per-Sec",
  "Session-Per-Sec-Last",
  "Idle-CPU",
  "Uptime-msec",
] as const;

const keptFields: ReadonlySet<string> = new Set(troubleshootingFields);
/** Headers that become top-level fields of the schema. */
const schemaHeaders = new Set([
  "Event-Name",
  "Event-Subclass",
  "Unique-ID",
  "Other-Leg-Unique-ID",
  "Job-UUID",
  "Core-UUID",
  "Event-Date-Timestamp",
  "Event-Sequence",
]);

const pickedHeaders: ReadonlySet<string> = new Set([...keptFields, ...schemaHeaders]);

/**
 * Decodes an event once, in one pass over its headers (only the wanted values are URL-decoded), into the
 * published schema; the gateway's other consumers (channel table, admission) read this result, so no
 * header is looked up twice and no lookup misses.
 */
export function normalizeEvent(
  event: EslEvent,
  receivedAt: number,
  sourceHost: string,
  allFields: boolean,
): FsEventV1 {
  const fields: Record<string, string> = {};
  const top: Record<string, string> = {};
  for (const [name, value] of event.pick(allFields ? undefined : pickedHeaders)) {
    if (schemaHeaders.has(name)) top[name] = value;
    if (allFields || keptFields.has(name)) fields[name] = value;
  }
  const fsTimestampUs = Number(top["Event-Date-Timestamp"]) || Math.round(receivedAt * 1000);
  const eventType = top["Event-Name"] ?? "";
  const normalized: FsEventV1 = {
    schema_version: 1,
    event_type: eventType,
    call_uuid: top["Unique-ID"] || null,
    timestamp: new Date(Math.floor(fsTimestampUs / 1000)).toISOString(),
    fs_timestamp_us: fsTimestampUs,
    gateway_received_at: receivedAt,
    source_host: sourceHost,
    core_uuid: top["Core-UUID"] ?? "",
    sequence: Number(top["Event-Sequence"]) || 0,
    fields,
  };
  if (top["Event-Subclass"]) normalized.event_subclass = top["Event-Subclass"];
  if (top["Other-Leg-Unique-ID"]) normalized.other_leg_uuid = top["Other-Leg-Unique-ID"];
  if (eventType === "BACKGROUND_JOB") {
    if (top["Job-UUID"]) normalized.job_uuid = top["Job-UUID"];
    normalized.job_result = event.body.trimEnd();
    // An originate's job names its call: consumers correlate the result without knowing the job uuid.
    if (fields["Job-Command"] === "originate") {
      const uuid = /(?:^|[{,[])origination_uuid=([^,}\]\s]+)/.exec(fields["Job-Command-Arg"] ?? "")?.[1];
      if (uuid) normalized.call_uuid = uuid;
    }
  }
  return normalized;
}
