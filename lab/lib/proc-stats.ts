import { readFileSync } from "node:fs";

/** One process's CPU and memory at one moment, from /proc. */
export interface ProcessSample {
  /** Seconds since sampling began. */
  t: number;
  /** CPU used since the previous sample, as a share of one core (1 = one core busy). */
  cpu: number;
  rssMb: number;
}

export interface ProcessStats {
  name: string;
  pid: number;
  samples: ProcessSample[];
  cpuMean: number;
  cpuMax: number;
  rssMaxMb: number;
}

const pageKb = 4;

export function readCpuTicksAndRss(pid: number): { ticks: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15, rss is 24.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssMb = (Number(fields[21]) * pageKb) / 1024;
    return { ticks, rssMb };
  } catch {
    return undefined;
  }
}
