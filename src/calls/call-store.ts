import type { SqlClient } from "./sql.ts";

export type CallStatus = "queued" | "ringing" | "in-progress" | "completed" | "failed";

export interface CallOptions {
  timeout_sec?: number;
  variables?: Record<string, string | number | boolean>;
}

export interface NewCall {
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

  /** Totals over calls accepted in [from, to): by status, with and without a CDR, and CDRs per call. */
  async tally(from: Date, to: Date): Promise<CallTally> {
    const [row] = await this.db.query<CallTally>(
      `SELECT count(*)::int AS calls,
              count(*) FILTER (WHERE c.status = 'queued')::int AS queued,
              count(*) FILTER (WHERE c.status = 'ringing')::int AS ringing,
              count(*) FILTER (WHERE c.status = 'in-progress')::int AS in_progress,
              count(*) FILTER (WHERE c.status = 'completed')::int AS completed,
              count(*) FILTER (WHERE c.status = 'failed')::int AS failed,
              count(*) FILTER (WHERE c.answered_at IS NOT NULL)::int AS answered,
              count(*) FILTER (WHERE c.answered_at IS NOT NULL AND d.call_id IS NOT NULL)::int
                AS answered_with_cdr,
              count(d.call_id)::int AS cdrs
         FROM calls c LEFT JOIN cdrs d ON d.call_id = c.id
        WHERE c.accepted_at >= $1 AND c.accepted_at < $2`,
      [from, to],
    );
    return row as CallTally;
  }

  /** CDRs of calls accepted in [from, to) written more than `ms` after their hangup. */
  async cdrsLaterThan(from: Date, to: Date, ms: number): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM cdrs d JOIN calls c ON c.id = d.call_id
        WHERE c.accepted_at >= $1 AND c.accepted_at < $2 AND d.recorded_at - d.ended_at > $3 * interval '1 millisecond'`,
      [from, to, ms],
    );
    return row?.n ?? 0;
  }

  /** Latency figures over calls accepted in [from, to). */
  async timings(from: Date, to: Date): Promise<CallTimings> {
    const percentiles = (expression: string) => `json_build_object(
        'count', count(${expression})::int,
        'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY ${expression}),
        'p95', percentile_cont(0.95) WITHIN GROUP (ORDER BY ${expression}),
        'p99', percentile_cont(0.99) WITHIN GROUP (ORDER BY ${expression}),
        'max', max(${expression}))`;
    const ms = (later: string, earlier: string) => `(extract(epoch FROM ${later} - ${earlier}) * 1000)`;
    const [row] = await this.db.query<{ a: TimingPercentiles; r: TimingPercentiles; c: TimingPercentiles }>(
      `SELECT ${percentiles(ms("c.answered_at", "c.accepted_at"))} AS a,
              ${percentiles(ms("c.ringing_at", "c.accepted_at"))} AS r,
              ${percentiles(ms("d.recorded_at", "d.ended_at"))} AS c
         FROM calls c LEFT JOIN cdrs d ON d.call_id = c.id
        WHERE c.accepted_at >= $1 AND c.accepted_at < $2`,
      [from, to],
    );
    if (!row) throw new Error("timings query returned no row");
    return { acceptToAnswer: row.a, acceptToRinging: row.r, hangupToCdr: row.c };
  }
}

/** Percentiles in ms; null when no call had the measured pair of times. */
export interface TimingPercentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface CallTimings {
  /** API accept to FreeSWITCH's answer: the end-to-end setup latency. */
  acceptToAnswer: TimingPercentiles;
  /** API accept to the channel's creation: the pipeline's own share of it (no far-end ring time). */
  acceptToRinging: TimingPercentiles;
  /** FreeSWITCH's hangup to the CDR row: how late CDRs are. */
  hangupToCdr: TimingPercentiles;
}

export interface CallTally {
  calls: number;
  queued: number;
  ringing: number;
  in_progress: number;
  completed: number;
  failed: number;
  answered: number;
  answered_with_cdr: number;
  cdrs: number;
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
