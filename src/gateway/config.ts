import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { defaultMaxTokenLifetimeSec } from "../contracts/bearer-token.ts";
import { type CallerPolicySettings, callerPolicyFromEnv } from "../contracts/caller-policy.ts";
import { type Env, EnvReader } from "../contracts/env-reader.ts";

/**
 * Gateway configuration, read from the environment (and optional *_FILE secrets) and validated at
 * start-up: every problem is reported at once, by variable name, and secrets are never echoed.
 */
export interface GatewayConfig {
  esl: {
    host: string;
    port: number;
    password: string;
    commandTimeoutMs: number;
    jobTimeoutMs: number;
    backoff: { initialMs: number; factor: number; maxMs: number; jitter: number };
    idleTimeoutMs: number;
  };
  http: { host: string; port: number };
  jwt: {
    secret: Uint8Array;
    issuer: string | undefined;
    audience: string | undefined;
    clockToleranceSec: number;
    maxLifetimeSec: number;
  };
  nats: { servers: string[]; subject: string; perTypeSubjects: boolean; queueCapacity: number };
  events: { names: string[]; allFields: boolean };
  admission: {
    maxInFlight: number;
    latencyP95LimitMs: number;
    sessionsHeadroom: number;
    retryAfterSec: number;
  };
  /** What callers may ask FreeSWITCH to run, set and play (docs/security.md). */
  policy: CallerPolicySettings;
  sourceHost: string;
  logLevel: string;
  shutdownTimeoutMs: number;
}

/** The events the ADR asks for: lifecycle, bridge, DTMF, progress (ringback) and prompt completion. */
export const defaultEventNames = [
  "CHANNEL_CREATE",
  "CHANNEL_PROGRESS",
  "CHANNEL_PROGRESS_MEDIA",
  "CHANNEL_ANSWER",
  "CHANNEL_BRIDGE",
  "CHANNEL_UNBRIDGE",
  "CHANNEL_HANGUP",
  "CHANNEL_HANGUP_COMPLETE",
  "CHANNEL_DESTROY",
  "DTMF",
  "PLAYBACK_START",
  "PLAYBACK_STOP",
  "BACKGROUND_JOB",
  "HEARTBEAT",
];

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid gateway configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

export function loadConfig(environment: Env = process.env): GatewayConfig {
  const problems: string[] = [];
  const env = withConfigFile(environment, problems);
  const read = new EnvReader(env, problems);

  const password = readSecret(env, "FS_ESL_PASSWORD", problems);
  const jwtSecret = readSecret(env, "JWT_SECRET", problems);
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    problems.push("JWT_SECRET must be at least 32 bytes for HS256");
  }
  const http = resolveBind(env, problems);

  const config: GatewayConfig = {
    esl: {
      host: read.string("FS_ESL_HOST", "127.0.0.1"),
      port: read.int("FS_ESL_PORT", 8021, 1, 65535),
      password: password ?? "",
      commandTimeoutMs: read.int("ESL_COMMAND_TIMEOUT_MS", 5_000, 10, 600_000),
      jobTimeoutMs: read.int("ESL_JOB_TIMEOUT_MS", 60_000, 100, 3_600_000),
      backoff: {
        initialMs: read.int("ESL_BACKOFF_INITIAL_MS", 100, 1, 60_000),
        factor: read.number("ESL_BACKOFF_FACTOR", 2, 1, 10),
        maxMs: read.int("ESL_BACKOFF_MAX_MS", 5_000, 1, 600_000),
        jitter: read.number("ESL_BACKOFF_JITTER", 0.2, 0, 1),
      },
      idleTimeoutMs: read.int("ESL_IDLE_TIMEOUT_MS", 10_000, 100, 600_000),
    },
    http,
    jwt: {
      secret: new TextEncoder().encode(jwtSecret ?? ""),
      issuer: read.optional("JWT_ISSUER"),
      audience: read.optional("JWT_AUDIENCE"),
      clockToleranceSec: read.int("JWT_CLOCK_TOLERANCE_SEC", 5, 0, 300),
      maxLifetimeSec: read.int("JWT_MAX_LIFETIME_SEC", defaultMaxTokenLifetimeSec, 60, 366 * 24 * 3600),
    },
    nats: {
      servers: read
        .string("NATS_URL", "nats://127.0.0.1:4222")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      subject: read.string("NATS_SUBJECT", "fs.events"),
      perTypeSubjects: read.bool("NATS_PER_TYPE_SUBJECTS", false),
      queueCapacity: read.int("EVENT_QUEUE_CAPACITY", 50_000, 1, 10_000_000),
    },
    events: {
      names: read
        .string("FS_EVENTS", defaultEventNames.join(" "))
        .split(/[\s,]+/)
        .filter(Boolean),
      allFields: read.bool("EVENT_ALL_FIELDS", false),
    },
    admission: {
      maxInFlight: read.int("MAX_IN_FLIGHT", 500, 1, 1_000_000),
      latencyP95LimitMs: read.int("LATENCY_P95_LIMIT_MS", 250, 1, 600_000),
      sessionsHeadroom: read.number("SESSIONS_HEADROOM", 0.95, 0.1, 1),
      retryAfterSec: read.int("RETRY_AFTER_SEC", 1, 1, 3600),
    },
    policy: callerPolicyFromEnv(env),
    sourceHost: read.string("SOURCE_HOST", process.env.HOSTNAME ?? "localhost"),
    logLevel: read.string("LOG_LEVEL", "info"),
    shutdownTimeoutMs: read.int("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
  };
  if (config.esl.backoff.maxMs < config.esl.backoff.initialMs) {
    problems.push("ESL_BACKOFF_MAX_MS must be >= ESL_BACKOFF_INITIAL_MS");
  }
  if (!/^[A-Za-z0-9_.>*-]+$/.test(config.nats.subject))
    problems.push("NATS_SUBJECT is not a valid NATS subject");
  // The channel table (GET /channels, 409 for a live uuid, the session count between heartbeats) is built
  // from these two: without CHANNEL_DESTROY it only grows, until admission refuses every originate.
  const missing = ["CHANNEL_CREATE", "CHANNEL_DESTROY"].filter((name) => !config.events.names.includes(name));
  if (missing.length > 0)
    problems.push(
      `FS_EVENTS must include ${missing.join(" and ")}: the gateway's channel table is built from them`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * GATEWAY_CONFIG_FILE names an optional file of `NAME=value` lines (blank lines and `#` comments allowed)
 * with the same names as the environment; a variable set in the environment wins over the file.
 */
function withConfigFile(env: Env, problems: string[]): Env {
  const file = env.GATEWAY_CONFIG_FILE;
  if (!file) return env;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    problems.push(
      `GATEWAY_CONFIG_FILE (${file}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    );
    return env;
  }
  const fromFile: Env = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const match = /^([A-Z][A-Z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!match?.[1]) {
      problems.push(`GATEWAY_CONFIG_FILE line ${index + 1} is not NAME=value`);
      return;
    }
    fromFile[match[1]] = (match[2] ?? "").replace(/^(["'])(.*)\1$/, "$2");
  });
  return {
    ...fromFile,
    ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")),
  };
}

/**
 * HTTP bind policy (ADR-0011: the REST API listens on one interface, never a wildcard on a public NIC):
 * HTTP_HOST names an address, or HTTP_INTERFACE an interface (e.g. tailscale0) whose IPv4 is used. A
 * wildcard address needs ALLOW_WILDCARD_BIND=true.
 */
function resolveBind(env: Env, problems: string[]): { host: string; port: number } {
  const read = new EnvReader(env, problems);
  const port = read.int("HTTP_PORT", 8080, 0, 65535);
  const iface = read.optional("HTTP_INTERFACE");
  let host = read.optional("HTTP_HOST");
  if (iface && host) problems.push("set HTTP_HOST or HTTP_INTERFACE, not both");
  if (iface) {
    const addresses = networkInterfaces()[iface];
    const v4 = addresses?.find((a) => a.family === "IPv4");
    if (!v4) problems.push(`HTTP_INTERFACE ${iface} has no IPv4 address on this host`);
    host = v4?.address;
  }
  host ??= "127.0.0.1";
  const wildcard = host === "0.0.0.0" || host === "::" || host === "[::]";
  if (wildcard && !read.bool("ALLOW_WILDCARD_BIND", false)) {
    problems.push(
      `HTTP_HOST ${host} binds every interface; set ALLOW_WILDCARD_BIND=true if that is really meant`,
    );
  }
  return { host, port };
}

/** NAME, or NAME_FILE pointing at a file holding it (trailing newline trimmed). The value is never echoed. */
function readSecret(env: Env, name: string, problems: string[]): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) {
    problems.push(`set ${name} or ${name}_FILE, not both`);
    return undefined;
  }
  if (file) {
    try {
      const value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
      if (value) return value;
      problems.push(`${name}_FILE (${file}) is empty`);
    } catch (error) {
      problems.push(
        `${name}_FILE (${file}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      );
    }
    return undefined;
  }
  if (!direct) problems.push(`${name} (or ${name}_FILE) is required`);
  return direct || undefined;
}
