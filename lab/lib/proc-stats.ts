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

const clockTicks = 100; // USER_HZ on Linux
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

/** Samples CPU and RSS of the given processes every `intervalMs` until `stop()`. Linux only. */
export function sampleProcesses(processes: ReadonlyArray<{ name: string; pid: number }>, intervalMs = 1_000) {
  const started = performance.now();
  const state = processes.map((p) => ({
    ...p,
    last: readCpuTicksAndRss(p.pid),
    lastAt: started,
    samples: [] as ProcessSample[],
  }));
  const timer = setInterval(() => {
    const now = performance.now();
    for (const proc of state) {
      const current = readCpuTicksAndRss(proc.pid);
      if (!current || !proc.last) continue;
      const cpu = (current.ticks - proc.last.ticks) / clockTicks / ((now - proc.lastAt) / 1000);
      proc.samples.push({
        t: Math.round((now - started) / 100) / 10,
        cpu: Math.round(cpu * 1000) / 1000,
        rssMb: Math.round(current.rssMb * 10) / 10,
      });
      proc.last = current;
      proc.lastAt = now;
    }
  }, intervalMs);
  timer.unref();
  return {
    stop(): ProcessStats[] {
      clearInterval(timer);
      return state.map(({ name, pid, samples }) => ({
        name,
        pid,
        samples,
        cpuMean: samples.length ? round(samples.reduce((sum, s) => sum + s.cpu, 0) / samples.length) : 0,
        cpuMax: round(Math.max(0, ...samples.map((s) => s.cpu))),
        rssMaxMb: round(Math.max(0, ...samples.map((s) => s.rssMb))),
      }));
    },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
