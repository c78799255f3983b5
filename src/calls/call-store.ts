import type { SqlClient } from "./sql.ts";

type CallStatus = "queued" | "ringing" | "in-progress" | "completed" | "failed";

export interface CallOptions {
  timeout_sec?: number;
  variables?: Record<string, string | number | boolean>;
}

interface NewCall {
  id: string;
  to: string;
  from: string;
  options: CallOptions;
  acceptedAt: Date;
}

export interface CallRecord extends NewCall {
  status: CallStatus;
  ringingAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  originateAttempts: number;
  failureReason: string | null;
}

export interface Hangup {
  at: Date;
  durationSec: number;
  billsec: number;
  hangupCause: string;
  hangupQ850: number | null;
  readCodec: string | null;
  writeCodec: string | null;
  sourceHost: string;
  coreUuid: string;
}

/** What a call's channel events said, folded: the highest status and the earliest times. */
export interface CallProgress {
  callId: string;
  status: "ringing" | "in-progress";
  ringingAt: Date | null;
  answeredAt: Date | null;
}

export interface CdrRecord extends Omit<Hangup, "at"> {
  callId: string;
  startedAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date;
}

interface CallRow {
  id: string;
  to_number: string;
  from_number: string;
  options: CallOptions;
  status: CallStatus;
  accepted_at: Date;
  ringing_at: Date | null;
  answered_at: Date | null;
  ended_at: Date | null;
  originate_attempts: number;
  failure_reason: string | null;
}

interface CdrRow {
  call_id: string;
  duration_sec: number;
  billsec: number;
  hangup_cause: string;
  hangup_q850: number | null;
  read_codec: string | null;
  write_codec: string | null;
  started_at: Date | null;
  answered_at: Date | null;
  ended_at: Date;
  source_host: string;
  core_uuid: string;
}

/**
 * Calls and their CDRs. Every write is one statement that is safe to repeat: statuses only move forward
 * (call_status_rank), the earliest timestamp of each kind wins, and the CDR's primary key on call_id turns
 * a second hangup into a no-op. So redelivered or reordered messages never need a transaction or a lock,
 * and events are written in batches, one statement per kind.
 */
export class CallStore {
  constructor(private readonly db: SqlClient) {}

  async insertCall(call: NewCall): Promise<void> {
    await this.db.query(
      `INSERT INTO calls (id, to_number, from_number, options, accepted_at) VALUES ($1, $2, $3, $4, $5)`,
      [call.id, call.to, call.from, JSON.stringify(call.options), call.acceptedAt],
    );
  }

  async getCall(id: string): Promise<CallRecord | undefined> {
    const [row] = await this.db.query<CallRow>("SELECT * FROM calls WHERE id = $1", [id]);
    return row && toCall(row);
  }

  async getCdr(callId: string): Promise<CdrRecord | undefined> {
    const [row] = await this.db.query<CdrRow>("SELECT * FROM cdrs WHERE call_id = $1", [callId]);
    return row && toCdr(row);
  }

  /**
   * Counts one originate attempt of a call that is still queued; undefined when FreeSWITCH has already
   * reported on it (or it failed), so a redelivered request is not originated again.
   */
  async claimForOriginate(id: string): Promise<number | undefined> {
    const [row] = await this.db.query<{ originate_attempts: number }>(
      `UPDATE calls SET originate_attempts = originate_attempts + 1, updated_at = now()
        WHERE id = $1 AND status = 'queued' RETURNING originate_attempts`,
      [id],
    );
    return row?.originate_attempts;
  }

  /** Fails a call that FreeSWITCH never reported a channel for; false when it had moved on. */
  async failQueued(id: string, reason: string, at: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE calls SET status = 'failed', failure_reason = $2, ended_at = $3, updated_at = now()
        WHERE id = $1 AND status = 'queued' RETURNING id`,
      [id, reason, at],
    );
    return rows.length > 0;
  }

  /**
   * Channel events, folded per call (see foldProgress): the status moves up to the highest seen, and the
   * earliest ringing and answer times are kept. One statement for the whole batch.
   */
  async recordProgress(updates: readonly CallProgress[]): Promise<void> {
    if (updates.length === 0) return;
    await this.db.query(
      `UPDATE calls c SET
         status = CASE WHEN call_status_rank(c.status) < call_status_rank(v.status) THEN v.status ELSE c.status END,
         ringing_at = LEAST(c.ringing_at, v.ringing_at),
         answered_at = LEAST(c.answered_at, v.answered_at),
         updated_at = now()
       FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS v(id, status, ringing_at, answered_at)
       WHERE c.id = v.id`,
      [
        updates.map((u) => u.callId),
        updates.map((u) => u.status),
        updates.map((u) => u.ringingAt),
        updates.map((u) => u.answeredAt),
      ],
    );
  }

  /**
   * Channels gone (at most one hangup per call in a batch): each call ends completed (it was answered) or
   * failed, and gets its CDR unless it has one. Returns the calls whose CDR this wrote.
   */
  async recordHangups(hangups: ReadonlyArray<{ callId: string; hangup: Hangup }>): Promise<string[]> {
    if (hangups.length === 0) return [];
    const column = <T>(pick: (h: Hangup) => T) => hangups.map((h) => pick(h.hangup));
    const rows = await this.db.query<{ call_id: string }>(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::text[], $5::int[], $6::int[],
                              $7::text[], $8::text[], $9::text[], $10::text[])
           AS v(id, at, duration_sec, cause, q850, billsec, read_codec, write_codec, source_host, core_uuid)),
       ended AS (
         UPDATE calls c SET
           status = CASE WHEN call_status_rank(c.status) = 3 THEN c.status
                         WHEN c.answered_at IS NOT NULL OR v.billsec > 0 THEN 'completed' ELSE 'failed' END,
           failure_reason = CASE WHEN c.answered_at IS NULL AND v.billsec = 0
                                 THEN COALESCE(c.failure_reason, v.cause) ELSE c.failure_reason END,
           ended_at = COALESCE(c.ended_at, v.at),
           updated_at = now()
         FROM v WHERE c.id = v.id
         RETURNING c.id, c.ringing_at, c.answered_at)
       INSERT INTO cdrs (call_id, ended_at, duration_sec, hangup_cause, hangup_q850, billsec, read_codec,
                         write_codec, source_host, core_uuid, started_at, answered_at)
       SELECT e.id, v.at, v.duration_sec, v.cause, v.q850, v.billsec, v.read_codec, v.write_codec,
              v.source_host, v.core_uuid, e.ringing_at, e.answered_at
         FROM ended e JOIN v ON v.id = e.id
       ON CONFLICT (call_id) DO NOTHING
       RETURNING call_id`,
      [
        hangups.map((h) => h.callId),
        column((h) => h.at),
        column((h) => h.durationSec),
        column((h) => h.hangupCause),
        column((h) => h.hangupQ850),
        column((h) => h.billsec),
        column((h) => h.readCodec),
        column((h) => h.writeCodec),
        column((h) => h.sourceHost),
        column((h) => h.coreUuid),
      ],
    );
    return rows.map((row) => row.call_id);
  }

  /**
   * How each of these calls ended up (an audit of a load run): its status and times, and its CDR's hangup and
   * write times. Calls the table does not have are left out.
   */
  async outcomesOf(ids: readonly string[]): Promise<CallOutcome[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<CallOutcomeRow>(
      `SELECT c.id, c.status, c.failure_reason, c.originate_attempts, c.accepted_at, c.ringing_at,
              c.answered_at, c.ended_at, d.ended_at AS cdr_ended_at, d.recorded_at AS cdr_recorded_at
         FROM calls c LEFT JOIN cdrs d ON d.call_id = c.id
        WHERE c.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((row) => ({
      id: row.id,
      status: row.status,
      failureReason: row.failure_reason,
      originateAttempts: row.originate_attempts,
      acceptedAt: row.accepted_at,
      ringingAt: row.ringing_at,
      answeredAt: row.answered_at,
      endedAt: row.ended_at,
      cdr:
        row.cdr_ended_at && row.cdr_recorded_at
          ? { endedAt: row.cdr_ended_at, recordedAt: row.cdr_recorded_at }
          : null,
    }));
  }

  /** How many of these calls are still on their way: queued, ringing or in progress. */
  async unfinishedAmong(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [row] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM calls
        WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'ringing', 'in-progress')`,
      [ids],
    );
    return row?.n ?? 0;
  }
}

/** A call as an audit sees it: where it got to, when, and its CDR's times. */
export interface CallOutcome {
  id: string;
  status: CallStatus;
  failureReason: string | null;
  originateAttempts: number;
  acceptedAt: Date;
  ringingAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  /** FreeSWITCH's hangup time in the CDR, and when the CDR writer wrote it. */
  cdr: { endedAt: Date; recordedAt: Date } | null;
}

interface CallOutcomeRow {
  id: string;
  status: CallStatus;
  failure_reason: string | null;
  originate_attempts: number;
  accepted_at: Date;
  ringing_at: Date | null;
  answered_at: Date | null;
  ended_at: Date | null;
  cdr_ended_at: Date | null;
  cdr_recorded_at: Date | null;
}

function toCall(row: CallRow): CallRecord {
  return {
    id: row.id,
    to: row.to_number,
    from: row.from_number,
    options: row.options,
    status: row.status,
    acceptedAt: row.accepted_at,
    ringingAt: row.ringing_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    originateAttempts: row.originate_attempts,
    failureReason: row.failure_reason,
  };
}

function toCdr(row: CdrRow): CdrRecord {
  return {
    callId: row.call_id,
    durationSec: row.duration_sec,
    billsec: row.billsec,
    hangupCause: row.hangup_cause,
    hangupQ850: row.hangup_q850,
    readCodec: row.read_codec,
    writeCodec: row.write_codec,
    startedAt: row.started_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    sourceHost: row.source_host,
    coreUuid: row.core_uuid,
  };
}
