import { groupMembers, readProcStat, readPssMb } from "../../procfs/proc-stats.ts";
import { roundTo } from "../round.ts";

/** One process at the end of one second of the run. */
export interface ProcessSecondRow {
  second: number;
  pid: number;
  /** CPU used over the second, as a share of one core (1 = one core busy). */
  cpu: number;
  rssMb: number;
}

export interface ProcessSeries {
  name: string;
  /** Every pid the name had (more than one after a restart, or a process group's members). */
  pids: number[];
  /** Its whole process group (Kamailio and its workers): CPU summed, memory as summed PSS (shared pages once). */
  group?: boolean;
  cpuMean: number;
  cpuMax: number;
  rssMaxMb: number;
  series: ProcessSecondRow[];
}

/** A process over part of the run (a phase). */
export interface ProcessWindow {
  name: string;
  cpuMean: number;
  rssMaxMb: number;
}

/** A lab process to sample; `group`: with every process of its process group (a forking server's workers). */
export interface SampledProcess {
  name: string;
  pid: number;
  group?: boolean;
}

interface Tracked {
  name: string;
  group: boolean;
  pids: number[];
  last?: { pid: number; ticks: Map<number, number>; at: number };
  series: ProcessSecondRow[];
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU and RSS of every lab process once a second, from /proc (Linux only). The processes are asked for by
 * name each time, so a restarted process (a new pid) goes on in the same series; the first second of a new
 * pid has no CPU figure yet and is skipped. A group's CPU is the sum over its members of the ticks each used
 * since the last sample (a member that appeared meanwhile counts from the next one).
 */
export class ProcessSampler {
  private readonly tracked = new Map<string, Tracked>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly processes: () => ReadonlyArray<SampledProcess>,
    private readonly startMs: number,
    intervalMs = 1000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Each process's mean CPU and largest RSS over the seconds that overlap [fromMs, toMs) of the run. */
  window(fromMs: number, toMs: number): ProcessWindow[] {
    const first = Math.floor(fromMs / 1000);
    const end = Math.ceil(toMs / 1000);
    return [...this.tracked.values()].flatMap(({ name, series }) => {
      const rows = series.filter((s) => s.second >= first && s.second < end);
      if (rows.length === 0) return [];
      return [
        {
          name,
          cpuMean: roundTo(rows.reduce((sum, s) => sum + s.cpu, 0) / rows.length, 3),
          rssMaxMb: roundTo(Math.max(...rows.map((s) => s.rssMb)), 3),
        },
      ];
    });
  }

  stop(): ProcessSeries[] {
    clearInterval(this.timer);
    return [...this.tracked.values()].map(({ name, group, pids, series }) => ({
      name,
      pids,
      ...(group ? { group } : {}),
      cpuMean:
        series.length === 0 ? 0 : roundTo(series.reduce((sum, s) => sum + s.cpu, 0) / series.length, 3),
      cpuMax: roundTo(Math.max(0, ...series.map((s) => s.cpu)), 3),
      rssMaxMb: roundTo(Math.max(0, ...series.map((s) => s.rssMb)), 3),
      series,
    }));
  }

  private sample(): void {
    const now = performance.now();
    const second = Math.max(0, Math.round((now - this.startMs) / 1000) - 1);
    for (const { name, pid, group = false } of this.processes()) {
      let entry = this.tracked.get(name);
      if (!entry) {
        entry = { name, group, pids: [], series: [] };
        this.tracked.set(name, entry);
      }
      const members = group ? groupMembers(pid) : [pid];
      const ticks = new Map<number, number>();
      let memoryMb = 0;
      for (const member of members) {
        const stat = readProcStat(member);
        if (!stat) continue;
        ticks.set(member, stat.ticks);
        memoryMb += group ? (readPssMb(member) ?? 0) : stat.rssMb;
        if (!entry.pids.includes(member)) entry.pids.push(member);
      }
      if (!ticks.has(pid)) continue;
      const last = entry.last;
      if (last && last.pid === pid && now > last.at) {
        let used = 0;
        for (const [member, t] of ticks) used += t - (last.ticks.get(member) ?? t);
        const cpu = used / CLOCK_TICKS_PER_SECOND / ((now - last.at) / 1000);
        entry.series.push({ second, pid, cpu: roundTo(cpu, 3), rssMb: roundTo(memoryMb, 1) });
      }
      entry.last = { pid, ticks, at: now };
    }
  }
}
