/**
 * The `fs.events` payload, schema version 1. Additive-only (ADR-0011): new fields may appear, none is
 * renamed or removed; a breaking change gets a new subject such as `fs.events.v2`.
 */
export interface FsEventV1 {
  schema_version: 1;
  event_type: string;
  event_subclass?: string;
  /** Unique-ID of the channel (for an originate's BACKGROUND_JOB, its origination_uuid), or null for switch-wide events. */
  call_uuid: string | null;
  other_leg_uuid?: string;
  /** BACKGROUND_JOB only. */
  job_uuid?: string;
  /** BACKGROUND_JOB only: the command's output, e.g. `+OK <uuid>` or `-ERR USER_BUSY`. */
  job_result?: string;
  /** FreeSWITCH's event time, ISO 8601 with microseconds dropped to ms. */
  timestamp: string;
  /** FreeSWITCH's Event-Date-Timestamp, µs since the epoch. */
  fs_timestamp_us: number;
  /** When the gateway decoded the event from ESL, ms since the epoch (fractional). */
  gateway_received_at: number;
  source_host: string;
  core_uuid: string;
  sequence: number;
  /** Raw FreeSWITCH headers kept for troubleshooting (URL-decoded). */
  fields: Record<string, string>;
}
