import type { SippRow } from "../../src/harness/measure/sip-numbers.ts";

/**
 * SIPp's `-trace_stat` CSV (`sipp -h stat`): a header, then one row a period with periodic (P) and
 * cumulative (C) counters. Times are `date<TAB>time<TAB>epoch seconds`.
 */
export function readSippRows(csv: string): SippRow[] {
  const lines = csv.split("\n").filter((l) => l.trim());
  const head = lines[0]?.split(";") ?? [];
  const index = (name: string) => head.indexOf(name);
  const failedColumns = head.flatMap((name, i) => {
    const reason = /^Failed(\w+)\(P\)$/.exec(name)?.[1];
    return reason && reason !== "Call" ? [[reason, i] as const] : [];
  });
  const at = {
    time: index("CurrentTime"),
    created: index("OutgoingCall(P)"),
    incoming: index("IncomingCall(P)"),
    successful: index("SuccessfulCall(P)"),
    failed: index("FailedCall(P)"),
    retransmissions: index("Retransmissions(P)"),
    current: index("CurrentCall"),
    targetRate: index("TargetRate"),
  };
  if (Object.values(at).includes(-1)) return [];
  return lines.slice(1).map((line) => {
    const cells = line.split(";");
    const n = (i: number) => Number(cells[i] ?? Number.NaN);
    const failedBy: Record<string, number> = {};
    for (const [reason, i] of failedColumns) if (n(i) > 0) failedBy[reason] = n(i);
    return {
      atMs: epochMs(cells[at.time] ?? ""),
      created: n(at.created) + n(at.incoming),
      successful: n(at.successful),
      failed: n(at.failed),
      retransmissions: n(at.retransmissions),
      current: n(at.current),
      targetRate: n(at.targetRate),
      failedBy,
    };
  });
}

/** When SIPp started (epoch ms), from the first row's StartTime; undefined before it wrote one. */
export function sippStartMs(csv: string): number | undefined {
  const first = csv.split("\n")[1]?.split(";")[0];
  return first ? epochMs(first) : undefined;
}

/**
 * SIPp's `-trace_rtt` CSV (`Date_ms;response_time_ms;rtd_no`, ms since SIPp started; whole ms): response
 * time 1 as `[epoch ms, ms]` samples.
 */
export function readResponseTimes(csv: string, startMs: number): Array<readonly [number, number]> {
  return csv
    .split("\n")
    .slice(1)
    .flatMap((line) => {
      const [date, ms, rtd] = line.split(";");
      return rtd?.trim() === "1" ? [[startMs + Number(date), Number(ms)] as const] : [];
    });
}

/** `2026-11-21<TAB>08:20:12.050638<TAB>1795249212.050638` → epoch ms. */
function epochMs(field: string): number {
  return Math.round(Number(field.split("\t")[2]) * 1000);
}

/** SIPp's calls over all its rows, and the calls open at the last. */
export function sippTotals(rows: readonly SippRow[]): {
  successful: number;
  failed: number;
  current: number;
} {
  return {
    successful: rows.reduce((sum, r) => sum + r.successful, 0),
    failed: rows.reduce((sum, r) => sum + r.failed, 0),
    current: rows.at(-1)?.current ?? 0,
  };
}
