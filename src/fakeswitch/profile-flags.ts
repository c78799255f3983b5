/**
 * The FreeSWITCH double's call-profile and limit flags (`npm run fakeswitch -- --help`), each with the
 * parser of its value. The CLI reads its flags through these; a lab topology's `profile:` is checked
 * against them when it is loaded (lab/plan/topology.ts). Flags for where the double listens and how it is
 * reached (host, ports, password, SIP proxy) are the CLI's own: the lab sets those itself.
 */
import { type LoadModel, readLoadProfile } from "./load-profile.ts";
import { type LoadLatency, loadLatencyKeys } from "./reply-latency.ts";

/** A duration in ms, a uniform range `a-b`, or `inf`. */
function duration(text: string): number | [number, number] {
  if (/^inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(text);
  if (m) return [Number(m[1]), Number(m[2])];
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0) throw new Error(`not a duration: ${text}`);
  return n;
}

function share(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !(n >= 0 && n <= 1)) throw new Error(`not a share between 0 and 1: ${text}`);
  return n;
}

export function wholeNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < 0) throw new Error(`not a whole number: ${text}`);
  return n;
}

function loadLatency(text: string): LoadLatency {
  const latency: LoadLatency = {};
  for (const pair of text.split(",")) {
    const [key, value] = pair.split("=");
    if (!loadLatencyKeys.includes(key as (typeof loadLatencyKeys)[number]))
      throw new Error(`--load-latency: unknown key ${key}; expected ${loadLatencyKeys.join(", ")}`);
    const n = Number(value);
    if (value === undefined || value.trim() === "" || !Number.isFinite(n) || n < 0)
      throw new Error(`--load-latency: ${key} is not a number ≥ 0`);
    latency[key as (typeof loadLatencyKeys)[number]] = n;
  }
  return latency;
}

/** A load profile file (`npm run lab -- calibrate`), checked whole; the double keeps its fitted model. */
function loadProfileModel(file: string): LoadModel {
  return readLoadProfile(file).model;
}

function profileName(text: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(text)) throw new Error(`not a sofia profile name: ${text}`);
  return text;
}

/** Flag name (without `--`) → the parser of its value, which throws with the reason a value is refused. */
export const profileFlags = {
  "answer-delay": duration,
  hold: duration,
  busy: share,
  "no-answer": share,
  fail: share,
  "early-media": share,
  "max-sessions": wholeNumber,
  sps: wholeNumber,
  heartbeat: wholeNumber,
  "load-latency": loadLatency,
  "load-profile": loadProfileModel,
  "event-rate": wholeNumber,
  "sip-profile": profileName,
} as const;

export type ProfileFlag = keyof typeof profileFlags;

/** The flags as `node:util` parseArgs options: each takes a string value. */
export const profileFlagOptions = Object.fromEntries(
  Object.keys(profileFlags).map((flag) => [flag, { type: "string" }]),
) as { [Flag in ProfileFlag]: { type: "string" } };

/** A flag's parsed value, or `fallback` when it was not given. */
export function flagValue<Flag extends ProfileFlag, Fallback>(
  flag: Flag,
  text: string | undefined,
  fallback: Fallback,
): ReturnType<(typeof profileFlags)[Flag]> | Fallback {
  return text === undefined
    ? fallback
    : (profileFlags[flag](text) as ReturnType<(typeof profileFlags)[Flag]>);
}

/** Why `--flag value` would be refused by the double, or undefined when it would be taken. */
export function profileFlagProblem(flag: string, value: string): string | undefined {
  if (!Object.hasOwn(profileFlags, flag))
    return `unknown FreeSWITCH double flag (known: ${Object.keys(profileFlags).join(", ")})`;
  try {
    profileFlags[flag as ProfileFlag](value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
