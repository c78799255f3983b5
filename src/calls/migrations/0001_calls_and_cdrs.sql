-- Calls as the API accepted them, and where each one is in its life.
CREATE TABLE calls (
  id                 uuid PRIMARY KEY,
  to_number          text NOT NULL,
  from_number        text NOT NULL,
  options            jsonb NOT NULL DEFAULT '{}'::jsonb,
  status             text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'ringing', 'in-progress', 'completed', 'failed')),
  accepted_at        timestamptz NOT NULL,
  ringing_at         timestamptz,
  answered_at        timestamptz,
  ended_at           timestamptz,
  originate_attempts integer NOT NULL DEFAULT 0,
  -- Why a call failed: FreeSWITCH's hangup cause, or the pipeline's own reason (QUEUE_UNAVAILABLE...).
  failure_reason     text,
  updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX calls_accepted_at ON calls (accepted_at);

-- One call detail record per call that had a channel: the unique call_id makes a redelivered
-- hangup event a no-op instead of a second record.
CREATE TABLE cdrs (
  call_id        uuid PRIMARY KEY REFERENCES calls (id),
  duration_sec   integer NOT NULL,
  billsec        integer NOT NULL,
  hangup_cause   text NOT NULL,
  hangup_q850    integer,
  read_codec     text,
  write_codec    text,
  started_at     timestamptz,
  answered_at    timestamptz,
  ended_at       timestamptz NOT NULL,
  source_host    text NOT NULL,
  core_uuid      text NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now()
);

-- Statuses only move forward; completed and failed are both final.
CREATE FUNCTION call_status_rank(status text) RETURNS integer
  LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE status WHEN 'queued' THEN 0 WHEN 'ringing' THEN 1 WHEN 'in-progress' THEN 2 ELSE 3 END
$$;
