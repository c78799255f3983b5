import { readdirSync, readFileSync } from "node:fs";

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

/** What /proc/<pid>/stat says of a process: state (3), process group (5), CPU ticks (14 + 15), start time (22), RSS (24). */
export interface ProcStat {
  state: string;
  pgrp: number;
  startTime: number;
  ticks: number;
  rssMb: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The fields after the parenthesised command name, from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    state: fields[0] ?? "",
    pgrp: Number(fields[2]),
    startTime: Number(fields[19]),
    ticks: Number(fields[11]) + Number(fields[12]),
    rssMb: (Number(fields[21]) * pageKb) / 1024,
  };
}

/** Live (non-zombie) processes whose process group is `pgid`, from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== "Z") members.push(Number(entry));
  }
  return members;
}

/**
 * A process's proportional set size, MB (/proc/<pid>/smaps_rollup): its private pages plus its share of
 * pages it shares. Summed over processes that share memory (Kamailio's workers and their shared memory), it
 * counts each page once, where summed RSS would count it once per process.
 */
export function readPssMb(pid: number): number | undefined {
  try {
    const kb = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
