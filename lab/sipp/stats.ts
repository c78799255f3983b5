/** SIPp's `-trace_stat` CSV (`sipp -h stat`): per-period (P) and cumulative (C) counters, one row a period. */
export interface SippStats {
  rows: number;
  /** Cumulative, from the last row. */
  callsCreated: number;
  successfulCalls: number;
  failedCalls: number;
  retransmissions: number;
  /** Calls open at the last row. */
  currentCalls: number;
  /** The call rate of the last row, calls a second (SIPp's own CallRate(C)). */
  callRate: number;
  /** Response time 1 (INVITE to the answer, or its first `rtd`) average in ms, cumulative. */
  responseTimeMs: number | undefined;
}

export function readSippStats(csv: string): SippStats | undefined {
  const lines = csv.split("\n").filter((l) => l.trim());
  const head = lines[0]?.split(";");
  const last = lines.at(-1)?.split(";");
  if (!head || !last || lines.length < 2) return undefined;
  const col = (name: string) => {
    const i = head.indexOf(name);
    return i === -1 ? Number.NaN : Number(last[i]);
  };
  const rt = head.indexOf("ResponseTime1(C)");
  return {
    rows: lines.length - 1,
    callsCreated: col("TotalCallCreated"),
    successfulCalls: col("SuccessfulCall(C)"),
    failedCalls: col("FailedCall(C)"),
    retransmissions: col("Retransmissions(C)"),
    currentCalls: col("CurrentCall"),
    callRate: col("CallRate(C)"),
    responseTimeMs: rt === -1 ? undefined : hmsToMs(last[rt] ?? ""),
  };
}

/** SIPp writes response times as `HH:MM:SS:mmmmmm` (microseconds last). */
function hmsToMs(text: string): number | undefined {
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 + Number(m[4]) / 1000;
}
