import { readFileSync } from "node:fs";
import type { AuthOptions } from "../contracts/bearer-token.ts";
import { type CallerPolicySettings, callerPolicyFromEnv } from "../contracts/caller-policy.ts";
import { type Env, EnvReader } from "../contracts/env-reader.ts";

type CallsRole = "api" | "orchestrator" | "cdr-writer";
const allRoles: readonly CallsRole[] = ["api", "orchestrator", "cdr-writer"];

/** Where calls are stored: a PostgreSQL server, or PGlite in this process (a directory, or memory). */
export type DatabaseChoice =
  | { kind: "postgres"; url: string; poolSize: number; migrate: boolean }
  | { kind: "pglite"; dir?: string };

export interface CallsConfig {
  roles: CallsRole[];
  database: DatabaseChoice;
  natsServers: string[];
  http: { host: string; port: number };
  /** How the calls API verifies its callers' tokens: the gateway's HS256 secret, issuer and audience. */
  auth: AuthOptions;
  gateway: {
    url: string;
    jwtSecret: Uint8Array;
    jwtIssuer?: string;
    jwtAudience?: string;
    connections: number;
    requestTimeoutMs: number;
  };
  orchestrator: {
    concurrency: number;
    ackWaitMs: number;
    maxDeliver: number;
    placeDeadlineMs: number;
    dialString: string;
  };
  cdrWriter: {
    eventsSubject: string;
    batchSize: number;
    batchDelayMs: number;
    ackWaitMs: number;
    maxDeliver: number;
  };
  /** The gateway's caller policy, so the API refuses at once what the gateway would refuse later. */
  policy: CallerPolicySettings;
  logLevel: string;
}

export class CallsConfigError extends Error {
  override name = "CallsConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid calls pipeline configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

/**
 * The pipeline's configuration from the environment, every problem reported at once by variable name.
 * Secrets (JWT_SECRET, or JWT_SECRET_FILE) are never echoed. The API verifies its callers' tokens with it,
 * the orchestrator signs its own for the gateway: both need it; the CDR writer does not.
 */
export function loadCallsConfig(env: Env = process.env): CallsConfig {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);

  const roles = read
    .string("CALLS_ROLES", allRoles.join(","))
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
  for (const role of roles) {
    if (!allRoles.includes(role as CallsRole))
      problems.push(`CALLS_ROLES: unknown role "${role}" (${allRoles.join(", ")})`);
  }

  const databaseUrl = read.optional("DATABASE_URL");
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push("DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  const database: DatabaseChoice = databaseUrl
    ? {
        kind: "postgres",
        url: databaseUrl,
        poolSize: read.int("DATABASE_POOL_SIZE", 8, 1, 100),
        // Off for calls-db (PGlite behind pglite-socket): it migrates itself, and a client's migration
        // transaction through its connection multiplexer is not isolated from the other clients.
        migrate: read.string("CALLS_MIGRATE", "true") !== "false",
      }
    : { kind: "pglite", dir: read.optional("PGLITE_DIR") };

  const secret = readSecret(env, "JWT_SECRET", problems);
  const needSecret = roles.filter((role) => role === "api" || role === "orchestrator");
  if (needSecret.length > 0) {
    if (secret === undefined)
      problems.push(`JWT_SECRET (or JWT_SECRET_FILE) is required by the ${needSecret.join(" and the ")}`);
    else if (Buffer.byteLength(secret) < 32) problems.push("JWT_SECRET must be at least 32 bytes");
  }
  const jwtSecret = new TextEncoder().encode(secret ?? "");
  const jwtIssuer = read.optional("JWT_ISSUER");
  const jwtAudience = read.optional("JWT_AUDIENCE");

  const dialString = read.string("CALLS_DIAL_STRING", "sofia/internal/{to}@127.0.0.1");
  if (!dialString.includes("{to}")) problems.push("CALLS_DIAL_STRING must contain {to}");

  const config: CallsConfig = {
    roles: roles as CallsRole[],
    database,
    natsServers: read
      .string("NATS_URL", "nats://127.0.0.1:4222")
      .split(",")
      .map((s) => s.trim()),
    http: {
      host: read.string("CALLS_HTTP_HOST", "127.0.0.1"),
      port: read.int("CALLS_HTTP_PORT", 8090, 0, 65_535),
    },
    auth: {
      secret: jwtSecret,
      issuer: jwtIssuer,
      audience: jwtAudience,
      clockToleranceSec: read.int("JWT_CLOCK_TOLERANCE_SEC", 5, 0, 300),
    },
    gateway: {
      url: read.string("GATEWAY_URL", "http://127.0.0.1:8080"),
      jwtSecret,
      jwtIssuer,
      jwtAudience,
      connections: read.int("GATEWAY_CONNECTIONS", 16, 1, 1024),
      requestTimeoutMs: read.int("GATEWAY_TIMEOUT_MS", 5_000, 100, 120_000),
    },
    orchestrator: {
      concurrency: read.int("ORCHESTRATOR_CONCURRENCY", 64, 1, 4096),
      ackWaitMs: read.int("ORCHESTRATOR_ACK_WAIT_MS", 15_000, 1_000, 600_000),
      maxDeliver: read.int("ORCHESTRATOR_MAX_DELIVER", 5, 2, 1000),
      placeDeadlineMs: read.int("CALLS_PLACE_DEADLINE_MS", 120_000, 1_000, 86_400_000),
      dialString,
    },
    cdrWriter: {
      eventsSubject: read.string("NATS_SUBJECT", "fs.events"),
      batchSize: read.int("CDR_WRITER_BATCH_SIZE", 256, 1, 10_000),
      batchDelayMs: read.int("CDR_WRITER_BATCH_DELAY_MS", 10, 0, 10_000),
      ackWaitMs: read.int("CDR_WRITER_ACK_WAIT_MS", 30_000, 1_000, 600_000),
      maxDeliver: read.int("CDR_WRITER_MAX_DELIVER", 20, 2, 1000),
    },
    policy: callerPolicyFromEnv(env),
    logLevel: read.string("LOG_LEVEL", "info"),
  };
  if (problems.length > 0) throw new CallsConfigError(problems);
  return config;
}

function readSecret(env: Env, name: string, problems: string[]): string | undefined {
  const file = env[`${name}_FILE`]?.trim();
  if (!file) return env[name] || undefined;
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    return undefined;
  }
}
