import type { FaultRecord } from "../report/summary.ts";
import { roundTo } from "../round.ts";
import type { AppliedFault } from "../run/fault-schedule.ts";
import { type HealthChange, outageTimeline } from "./health-watcher.ts";
import type { WindowCounts } from "./outcome-log.ts";

/** One gateway's /health changes over the run. */
export interface GatewayHealthChanges {
  name: string;
  changes: readonly HealthChange[];
}

export interface OutageContext {
  /** When the measured load started; every time in the records is ms since then. */
  startMs: number;
  loadEndedAt: number;
  endedAt: number;
  /** Requests intended between two moments, by ending. */
  requestsBetween(fromMs: number, toMs: number): WindowCounts;
  /** Lifecycle events never received, of the calls made between two moments; absent when the run follows none. */
  eventsLostBetween?(fromMs: number, toMs: number): number;
}

/**
 * Each applied fault as the summary records it; for one a gateway should notice, the outage it caused:
 * detection and recovery from the /health changes of the gateway that noticed first (looking no further
 * than the next fault), the requests sent meanwhile by how they ended, and the events lost. An outage never
 * recovered is counted to the end of the load (or the next fault).
 */
export function outageRecords(
  applied: readonly AppliedFault[],
  health: readonly GatewayHealthChanges[],
  context: OutageContext,
): FaultRecord[] {
  const rel = (atMs: number) => roundTo(atMs - context.startMs, 1);
  return applied.map((entry, index) => {
    const record: FaultRecord = {
      label: entry.label,
      target: entry.step.target,
      fault: entry.step.fault,
      atMs: entry.step.at,
      ...(entry.requestedAt !== undefined ? { injectedAtMs: rel(entry.requestedAt) } : {}),
      ...(entry.clearedAt !== undefined ? { clearedAtMs: rel(entry.clearedAt) } : {}),
      ...(entry.error !== undefined ? { error: entry.error } : {}),
    };
    if (entry.requestedAt === undefined || entry.step.outage === false || entry.error !== undefined)
      return record;
    const next = applied.slice(index + 1).find((later) => later.requestedAt !== undefined);
    const window = {
      injectedAtMs: entry.requestedAt,
      clearedAtMs: entry.clearedAt,
      untilMs: next?.requestedAt ?? context.endedAt,
    };
    const timelines = health.map(({ name, changes }) => ({
      gateway: name,
      ...outageTimeline(changes, window),
    }));
    const firstToNotice = timelines
      .filter((t) => t.detectedAtMs !== undefined)
      .sort((a, b) => a.detectedAtMs! - b.detectedAtMs!)[0];
    const chosen = firstToNotice ?? timelines[0];
    if (!chosen) return record; // no gateway was watched
    const { injectedAtMs: _, clearedAtMs: __, ...timeline } = chosen;
    const countedUntil =
      timeline.recoveredAtMs ?? Math.min(next?.requestedAt ?? context.loadEndedAt, context.loadEndedAt);
    record.outage = {
      ...timeline,
      ...(timeline.detectedAtMs !== undefined ? { detectedAtMs: rel(timeline.detectedAtMs) } : {}),
      ...(timeline.recoveredAtMs !== undefined ? { recoveredAtMs: rel(timeline.recoveredAtMs) } : {}),
      commands: context.requestsBetween(entry.requestedAt, countedUntil),
      ...(context.eventsLostBetween
        ? { eventsLost: context.eventsLostBetween(entry.requestedAt, countedUntil) }
        : {}),
    };
    return record;
  });
}
