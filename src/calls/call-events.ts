import type { FsEventV1 } from "../contracts/fs-events-v1.ts";
import type { CallProgress, Hangup } from "./call-store.ts";

/** What one `fs.events` message means for the call it names. */
export type CallEventEffect =
  | { kind: "progress"; callId: string; status: "ringing" | "in-progress"; at: Date }
  | { kind: "hangup"; callId: string; hangup: Hangup }
  | { kind: "originate-failed"; callId: string; cause: string; at: Date }
  | { kind: "none" };

const ringingEvents = new Set(["CHANNEL_CREATE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA"]);

/** Maps a gateway event (docs/fs-events.md) to its effect on a call; events of no call do nothing. */
export function callEventEffect(event: FsEventV1): CallEventEffect {
  const callId = event.call_uuid;
  if (!callId) return { kind: "none" };
  const at = new Date(event.fs_timestamp_us / 1000);
  if (ringingEvents.has(event.event_type)) return { kind: "progress", callId, status: "ringing", at };
  if (event.event_type === "CHANNEL_ANSWER") return { kind: "progress", callId, status: "in-progress", at };
  if (event.event_type === "CHANNEL_HANGUP_COMPLETE") {
    const f = event.fields;
    return {
      kind: "hangup",
      callId,
      hangup: {
        at,
        durationSec: wholeNumber(f.variable_duration) ?? 0,
        billsec: wholeNumber(f.variable_billsec) ?? 0,
        hangupCause: f.variable_hangup_cause || f["Hangup-Cause"] || "UNKNOWN",
        hangupQ850: wholeNumber(f.variable_hangup_cause_q850) ?? null,
        readCodec: f.variable_read_codec || null,
        writeCodec: f.variable_write_codec || null,
        sourceHost: event.source_host,
        coreUuid: event.core_uuid,
      },
    };
  }
  // An originate FreeSWITCH refused before any channel existed says so only here: `-ERR <CAUSE>`.
  if (event.event_type === "BACKGROUND_JOB" && event.job_result?.startsWith("-ERR")) {
    const cause = event.job_result.slice(4).trim() || "UNKNOWN";
    return { kind: "originate-failed", callId, cause, at };
  }
  return { kind: "none" };
}

function wholeNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** One batch of effects as the store writes them: progress folded per call, one hangup per call, failures. */
export interface EffectBatch {
  progress: CallProgress[];
  hangups: Array<{ callId: string; hangup: Hangup }>;
  originateFailures: Array<{ callId: string; cause: string; at: Date }>;
}

/**
 * Folds a batch's effects (in stream order) per call. Applying progress, then hangups, then originate
 * failures is equivalent to applying them one by one: every write keeps the highest status and the earliest
 * time, a second hangup of a call is a no-op anyway, and a failure only touches a call still queued.
 */
export function foldEffects(effects: readonly CallEventEffect[]): EffectBatch {
  const progress = new Map<string, CallProgress>();
  const hangups = new Map<string, Hangup>();
  const originateFailures: EffectBatch["originateFailures"] = [];
  for (const effect of effects) {
    if (effect.kind === "progress") {
      const p = progress.get(effect.callId) ?? {
        callId: effect.callId,
        status: effect.status,
        ringingAt: null,
        answeredAt: null,
      };
      if (effect.status === "in-progress") {
        p.status = "in-progress";
        p.answeredAt = earliest(p.answeredAt, effect.at);
      }
      p.ringingAt = earliest(p.ringingAt, effect.at);
      progress.set(effect.callId, p);
    } else if (effect.kind === "hangup") {
      if (!hangups.has(effect.callId)) hangups.set(effect.callId, effect.hangup);
    } else if (effect.kind === "originate-failed") {
      originateFailures.push({ callId: effect.callId, cause: effect.cause, at: effect.at });
    }
  }
  return {
    progress: [...progress.values()],
    hangups: [...hangups].map(([callId, hangup]) => ({ callId, hangup })),
    originateFailures,
  };
}

const earliest = (a: Date | null, b: Date) => (a === null || b < a ? b : a);
