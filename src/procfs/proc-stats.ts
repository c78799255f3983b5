import { readdirSync, readFileSync, readlinkSync } from "node:fs";

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

/**
 * The process listening on a TCP port of this machine, from /proc: the socket's inode in /proc/net/tcp(6),
 * then the process holding it among those whose descriptors this user may read. Undefined when none is
 * found (another user's process, or nothing listening).
 */
export function pidListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const localPort = Number.parseInt(fields[1]?.split(":")[1] ?? "", 16);
      if (localPort === port && fields[3] === "0A" && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode && inodes.has(inode)) return Number(entry);
    }
  }
  return undefined;
}
