import { describe, expect, it } from "vitest";
import { callEventEffect, foldEffects } from "../../src/calls/call-events.ts";
import type { FsEventV1 } from "../../src/contracts/fs-events-v1.ts";

const callId = "8f24660c-4559-4ec7-8493-7f4d12518737";
const event = (event_type: string, extra: Partial<FsEventV1> = {}): FsEventV1 => ({
  schema_version: 1,
  event_type,
  call_uuid: callId,
  timestamp: "2026-11-21T05:07:15.851Z",
  fs_timestamp_us: 1795237635851935,
  gateway_received_at: 1795237635852.41,
  source_host: "fs-01",
  core_uuid: "core-1",
  sequence: 645,
  fields: {},
  ...extra,
});
const at = new Date(1795237635851.935);

describe("what an fs.events message means for its call", () => {
  it("maps channel creation and progress to ringing, the answer to in-progress, at FreeSWITCH's time", () => {
    for (const name of ["CHANNEL_CREATE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA"]) {
      expect(callEventEffect(event(name))).toEqual({ kind: "progress", callId, status: "ringing", at });
    }
    expect(callEventEffect(event("CHANNEL_ANSWER"))).toEqual({
      kind: "progress",
      callId,
      status: "in-progress",
      at,
    });
  });

  it("reads the CDR fields of CHANNEL_HANGUP_COMPLETE", () => {
    const fields = {
      variable_duration: "12",
      variable_billsec: "10",
      variable_hangup_cause: "NORMAL_CLEARING",
      variable_hangup_cause_q850: "16",
      variable_read_codec: "PCMA",
      variable_write_codec: "PCMA",
    };
    expect(callEventEffect(event("CHANNEL_HANGUP_COMPLETE", { fields }))).toEqual({
      kind: "hangup",
      callId,
      hangup: {
        at,
        durationSec: 12,
        billsec: 10,
        hangupCause: "NORMAL_CLEARING",
        hangupQ850: 16,
        readCodec: "PCMA",
        writeCodec: "PCMA",
        sourceHost: "fs-01",
        coreUuid: "core-1",
      },
    });
  });

  it("takes a refused originate from its BACKGROUND_JOB, and ignores a successful one", () => {
    expect(callEventEffect(event("BACKGROUND_JOB", { job_result: "-ERR USER_BUSY" }))).toEqual({
      kind: "originate-failed",
      callId,
      cause: "USER_BUSY",
      at,
    });
    expect(callEventEffect(event("BACKGROUND_JOB", { job_result: `+OK ${callId}` }))).toEqual({
      kind: "none",
    });
  });

  it("ignores switch-wide and unrelated events", () => {
    expect(callEventEffect(event("HEARTBEAT", { call_uuid: null }))).toEqual({ kind: "none" });
    expect(callEventEffect(event("DTMF"))).toEqual({ kind: "none" });
  });

  it("folds a batch per call: highest status, earliest times, the first hangup", () => {
    const t = (ms: number) => new Date(ms);
    const other = "00000000-0000-4000-8000-000000000001";
    const batch = foldEffects([
      { kind: "progress", callId, status: "in-progress", at: t(30) },
      { kind: "progress", callId, status: "ringing", at: t(10) },
      { kind: "progress", callId: other, status: "ringing", at: t(20) },
      { kind: "originate-failed", callId: other, cause: "USER_BUSY", at: t(25) },
      { kind: "none" },
    ]);
    expect(batch.progress).toEqual([
      { callId, status: "in-progress", ringingAt: t(10), answeredAt: t(30) },
      { callId: other, status: "ringing", ringingAt: t(20), answeredAt: null },
    ]);
    expect(batch.originateFailures).toEqual([{ callId: other, cause: "USER_BUSY", at: t(25) }]);
    expect(batch.hangups).toEqual([]);
  });
});
