/**
 * A load profile: what `npm run lab -- calibrate` measured of a real FreeSWITCH on one machine, and the queue
 * model fitted to it, which a double loads (`--load-profile <file>`) to answer as slowly, and fail as soon,
 * as that FreeSWITCH under the same load. docs/calibration.md describes the model and the fit.
 */
import { readFileSync } from "node:fs";

export const loadProfileFormat = "fs-esl-lab/load-profile/1";

/** The fitted model: FreeSWITCH as one queue (service-queue.ts), with fixed latencies around it. */
export interface LoadModel {
  /** Mean CPU time an originate takes of the single server: 1000 / this is the capacity, originates/s. */
  originateServiceMs: number;
  /** A command's latency without load. */
  commandBaseMs: number;
  /**
   * The share (0–1) of the originates' backlog a command waits behind before it is handled: 1 would be one
   * FIFO for all work; FreeSWITCH runs commands on the listener's thread, beside the call threads, so less.
   */
  commandQueueShare: number;
  /** An originate's job latency without load, beyond the queue and the far end's answer delay. */
  jobBaseMs: number;
  /** An originate that would wait longer than this fails instead, after this long, with `timeoutCause`. */
  jobTimeoutMs: number;
  timeoutCause: string;
}

/** One measured rate: medians over the repeats; latencies in ms. */
export interface MeasuredRate {
  rate: number;
  repeats: number;
  commandP50Ms: number;
  commandP95Ms: number;
  jobP50Ms: number;
  jobP95Ms: number;
  /** Failed originates and commands over all of them. */
  errorRate: number;
  errorCauses: Record<string, number>;
  eventsPerCall: number;
  /** FreeSWITCH's CPU, in cores, over the step; and per originate, ms. */
  cpuCores?: number;
  cpuMsPerCall?: number;
  /** The machine's 1-minute load average at the step's end. */
  loadAverage: number;
}

export interface LoadProfile {
  format: typeof loadProfileFormat;
  name: string;
  description: string;
  measured: {
    /** ISO 8601. */
    at: string;
    /** `api version` of the measured FreeSWITCH. */
    freeswitch: string;
    machine: { cpus: number; cpuModel: string; memoryGb: number; os: string; node: string };
    /** How it was driven: where calls went, the step length, repeats, probe rate, job timeout. */
    setup: {
      lab: string;
      dialString: string;
      carrierAnswerMs: number;
      stepMs: number;
      repeats: number;
      probeRate: number;
      jobTimeoutMs: number;
    };
    /** FreeSWITCH's CPU with no calls, in cores. */
    idleCpuCores: number;
    rates: MeasuredRate[];
  };
  model: LoadModel;
}

export class LoadProfileError extends Error {
  override name = "LoadProfileError";
}

/** Reads and checks a profile file; every problem is reported at once. */
export function readLoadProfile(file: string): LoadProfile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new LoadProfileError(`${file}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new LoadProfileError(`${file}: not JSON: ${(error as Error).message}`);
  }
  return parseLoadProfile(doc, file);
}

export function parseLoadProfile(doc: unknown, source: string): LoadProfile {
  const problems: string[] = [];
  const at = (path: string) =>
    path.split(".").reduce<unknown>((v, key) => (isObject(v) ? v[key] : undefined), doc);
  const number = (path: string, min = 0) => {
    const v = at(path);
    if (typeof v !== "number" || !Number.isFinite(v) || v < min)
      problems.push(`${path}: expected a number ≥ ${min}`);
  };
  const string = (path: string) => {
    if (typeof at(path) !== "string" || at(path) === "")
      problems.push(`${path}: expected a non-empty string`);
  };
  if (at("format") !== loadProfileFormat) problems.push(`format: expected "${loadProfileFormat}"`);
  for (const path of ["name", "description", "measured.at", "measured.freeswitch", "model.timeoutCause"])
    string(path);
  for (const key of ["cpus", "memoryGb"]) number(`measured.machine.${key}`);
  for (const key of ["carrierAnswerMs", "stepMs", "repeats", "probeRate", "jobTimeoutMs"])
    number(`measured.setup.${key}`);
  number("measured.idleCpuCores");
  for (const key of ["commandBaseMs", "jobBaseMs"]) number(`model.${key}`);
  number("model.commandQueueShare");
  if (typeof at("model.commandQueueShare") === "number" && (at("model.commandQueueShare") as number) > 1)
    problems.push("model.commandQueueShare: expected a share from 0 to 1");
  number("model.originateServiceMs", Number.MIN_VALUE);
  number("model.jobTimeoutMs", 1);
  const rates = at("measured.rates");
  if (!Array.isArray(rates) || rates.length === 0) problems.push("measured.rates: expected a non-empty list");
  else
    rates.forEach((point: unknown, i) => {
      for (const key of [
        "rate",
        "repeats",
        "commandP50Ms",
        "commandP95Ms",
        "jobP50Ms",
        "jobP95Ms",
        "errorRate",
        "eventsPerCall",
        "loadAverage",
      ]) {
        const v = isObject(point) ? point[key] : undefined;
        if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
          problems.push(`measured.rates[${i}].${key}: expected a number ≥ 0`);
      }
    });
  if (problems.length > 0)
    throw new LoadProfileError(`invalid load profile ${source}:\n  - ${problems.join("\n  - ")}`);
  return doc as LoadProfile;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
