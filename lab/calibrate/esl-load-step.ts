import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { EslClient } from "../../src/esl/client.ts";
import { defaultEventNames } from "../../src/gateway/config.ts";
import { runArrivals } from "../../src/harness/load/arrival.ts";
import { LatencyHistogram } from "../../src/harness/measure/histogram.ts";
import { readProcStat } from "../../src/procfs/proc-stats.ts";

/** Where a FreeSWITCH (real or double) takes ESL, and a dial string whose far end answers. */
export interface LoadTarget {
  host: string;
  port: number;
  password: string;
  dialString: string;
  /** Its process, for CPU from /proc; absent: no CPU figures. */
  pid?: number;
}

export interface LoadStepOptions {
  /** Originates a second, evenly spaced (open loop: latency counts from each one's intended time). */
  rate: number;
  durationMs: number;
  /** `api uptime` probes a second, on the same connection, for the command reply latency. */
  probeRate: number;
  /** A job without its BACKGROUND_JOB this long after its intended time is a timeout (an error). */
  jobTimeoutMs: number;
}

/** One load step's figures; latencies in ms. */
export interface LoadStepResult {
  rate: number;
  durationMs: number;
  originates: number;
  /** `api uptime` round trip, from each probe's intended time. */
  command: { p50: number; p95: number; max: number };
  /** bgapi originate → its BACKGROUND_JOB, from the intended time. */
  job: { p50: number; p95: number; max: number };
  /** Jobs that failed (-ERR <cause>), timed out, or were refused, and commands that failed or timed out. */
  errors: {
    jobsFailed: number;
    jobsTimedOut: number;
    commandsFailed: number;
    causes: Record<string, number>;
  };
  /** Originates, probes counted among them, that ended in an error. */
  errorRate: number;
  /** Events naming one of the step's calls (Unique-ID), per originate, on the gateway's subscription. */
  eventsPerCall: number;
  /**
   * The target's CPU while the originates were being sent, in cores (1 = one core busy); and over the step
   * and its drain (every call's whole work), per originate, in ms. Undefined without a pid.
   */
  cpuCores: number | undefined;
  cpuMsPerCall: number | undefined;
  /** The machine's 1-minute load average at the end of the step. */
  loadAverage: number;
}

const clockTicksPerSecond = 100;
/** After the last job: time for the calls to hang up and their last events to arrive. */
const drainMs = 1_500;

/**
 * One step at a constant originate rate against FreeSWITCH's ESL, from one connection subscribed as the
 * gateway is: `bgapi originate {origination_uuid=…}<dial string> &park` at `rate`, and `api uptime` at
 * `probeRate`, both open loop.
 */
export async function runLoadStep(target: LoadTarget, options: LoadStepOptions): Promise<LoadStepResult> {
  const client = new EslClient({
    host: target.host,
    port: target.port,
    password: target.password,
    events: { format: "plain", names: defaultEventNames },
    commandTimeoutMs: options.jobTimeoutMs,
    jobTimeoutMs: options.jobTimeoutMs,
    reconnect: false,
    liveness: { probeIntervalMs: 0 },
  });
  await client.connect();
  const calls = new Set<string>();
  let callEvents = 0;
  client.on("event", (event) => {
    const uuid = event.uniqueId;
    if (uuid !== undefined && calls.has(uuid)) callEvents++;
  });
  const command = LatencyHistogram.create();
  const job = LatencyHistogram.create();
  const errors = { jobsFailed: 0, jobsTimedOut: 0, commandsFailed: 0, causes: {} as Record<string, number> };
  const countCause = (cause: string) => {
    errors.causes[cause] = (errors.causes[cause] ?? 0) + 1;
  };
  const ticks = () => (target.pid === undefined ? undefined : readProcStat(target.pid)?.ticks);
  const startTicks = ticks();
  let loadedTicks: number | undefined;
  const loadEnd = setTimeout(() => {
    loadedTicks = ticks();
  }, options.durationMs);
  try {
    const originates = runArrivals({
      schedule: { executor: "constant-arrival-rate", rate: options.rate, durationMs: options.durationMs },
      maxInFlight: 100_000,
      gracefulStopMs: options.jobTimeoutMs,
      start: async ({ intendedAt }) => {
        const uuid = randomUUID();
        calls.add(uuid);
        try {
          const { completion } = await client.bgapi(
            `originate {origination_uuid=${uuid},ignore_early_media=true}${target.dialString} &park`,
          );
          const result = await completion;
          if (result.ok) job.record(performance.now() - intendedAt);
          else {
            errors.jobsFailed++;
            countCause(result.body.trim().replace(/^-ERR\s*/, "") || "-ERR");
          }
        } catch (error) {
          errors.jobsTimedOut++;
          countCause((error as Error).name);
        }
      },
    });
    const probes = runArrivals({
      schedule: {
        executor: "constant-arrival-rate",
        rate: options.probeRate,
        durationMs: options.durationMs,
      },
      maxInFlight: 100_000,
      gracefulStopMs: options.jobTimeoutMs,
      start: async ({ intendedAt }) => {
        try {
          const reply = await client.api("uptime");
          if (reply.ok) command.record(performance.now() - intendedAt);
          else errors.commandsFailed++;
        } catch {
          errors.commandsFailed++;
        }
      },
    });
    const [originated, probed] = await Promise.all([originates, probes]);
    await new Promise((resolve) => setTimeout(resolve, drainMs));
    const endTicks = ticks();
    const cpuSeconds = (to: number | undefined) =>
      startTicks === undefined || to === undefined ? undefined : (to - startTicks) / clockTicksPerSecond;
    const loadedCpuSeconds = cpuSeconds(loadedTicks);
    const allCpuSeconds = cpuSeconds(endTicks);
    const failures = errors.jobsFailed + errors.jobsTimedOut + errors.commandsFailed;
    const c = command.percentiles();
    const j = job.percentiles();
    return {
      rate: options.rate,
      durationMs: options.durationMs,
      originates: originated.started,
      command: { p50: c.p50, p95: c.p95, max: c.max },
      job: { p50: j.p50, p95: j.p95, max: j.max },
      errors,
      errorRate: round(failures / Math.max(1, originated.started + probed.started), 4),
      eventsPerCall: round(callEvents / Math.max(1, originated.started), 2),
      cpuCores:
        loadedCpuSeconds === undefined ? undefined : round(loadedCpuSeconds / (options.durationMs / 1000), 3),
      cpuMsPerCall:
        allCpuSeconds === undefined
          ? undefined
          : round((allCpuSeconds * 1000) / Math.max(1, originated.started), 3),
      loadAverage: round(loadavg()[0] ?? 0, 2),
    };
  } finally {
    clearTimeout(loadEnd);
    await client.close();
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
