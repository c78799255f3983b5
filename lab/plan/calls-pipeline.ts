/**
 * The calls pipeline (src/calls) as lab components, on loopback, each configured by environment:
 *   calls-db              PGlite served over the PostgreSQL protocol (only without a DATABASE_URL),
 *   calls-cdr-writer      status tracking and CDRs from fs.events,
 *   calls-orchestrator-N  placing calls through the gateway's REST API (all share one JetStream consumer),
 *   calls-api             POST /v1/calls, GET /v1/calls/{id}.
 * calls-db starts with NATS and the doubles, the others once NATS, calls-db and the gateway answer
 * (embedded.ts, `dependsOn`).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { callsStream, fsEventsStream } from "../../src/calls/jetstream.ts";
import { distDir } from "../../tools/build.ts";
import { repoRoot } from "../run/paths.ts";
import type { CallsState, ComponentState, GatewayState, SecretName } from "../run/state.ts";
import type { CallsSpec } from "./topology.ts";

const loopback = "127.0.0.1";

interface CallsPlanRequest {
  spec: CallsSpec;
  runDir: string;
  /** The bundles of src/calls/main.ts and src/calls/pglite-main.ts (tools/build.ts). */
  bundles: { calls: string; "calls-db": string };
  /** The NATS nodes' client URLs, direct (the pipeline is not behind the gateway's fault proxies). */
  natsUrls: string[];
  /** Their monitoring URLs, where `lab status` asks about the pipeline's consumers. */
  natsMonitorUrls: string[];
  /** The gateway the orchestrators originate through: its URL, and its token settings (issuer, audience). */
  gateway: GatewayState;
  /**
   * The database: a PostgreSQL server (passed to the processes as a secret), or a migrated PGlite data
   * directory (`pgliteTemplate()`) that calls-db copies into the lab's folder as it starts.
   */
  database: { url: string } | { pgliteTemplate: string };
  /** How the orchestrators dial a number (CALLS_DIAL_STRING); unset: the pipeline's default, which the double answers. */
  dialString?: string;
  /** A free loopback port, taken as it is needed (the API's, and calls-db's unless a server is given). */
  port(): Promise<number>;
}

/** The pipeline's components (in start order) and where it answers. */
export async function planCallsPipeline(request: CallsPlanRequest): Promise<{
  components: ComponentState[];
  calls: CallsState;
}> {
  const { spec, runDir, bundles } = request;
  const logFile = (name: string) => join(runDir, `${name}.log`);
  const components: ComponentState[] = [];
  const secretEnv: Record<string, SecretName> = { JWT_SECRET: "jwtSecret" };
  const env: Record<string, string> = {
    NATS_URL: request.natsUrls.join(","),
    GATEWAY_URL: request.gateway.url,
    // Tokens for the gateway carry what it checks; the API checks its callers' the same way.
    ...pick(request.gateway.env, [
      "JWT_ISSUER",
      "JWT_AUDIENCE",
      "NATS_SUBJECT",
      // The API refuses early what its gateway would refuse: the same caller policy.
      "ALLOWED_APPLICATIONS",
      "ALLOWED_VARIABLES",
      "MEDIA_PREFIXES",
      "ALLOWED_DIALPLANS",
    ]),
    LOG_LEVEL: "info",
    ...(request.dialString && { CALLS_DIAL_STRING: request.dialString }),
  };

  let database: CallsState["database"];
  if ("url" in request.database) {
    secretEnv.DATABASE_URL = "callsDatabaseUrl";
    database = { kind: "postgres", display: withoutPassword(request.database.url) };
  } else {
    const port = await request.port();
    const dir = join(runDir, "calls-db");
    const url = `postgres://postgres@${loopback}:${port}/postgres`;
    database = { kind: "pglite", url, dir };
    components.push({
      name: "calls-db",
      kind: "calls-db",
      launch: {
        name: "calls-db",
        command: process.execPath,
        args: ["--enable-source-maps", bundles["calls-db"]],
        env: {
          PGLITE_DIR: dir,
          PGLITE_TEMPLATE_DIR: request.database.pgliteTemplate,
          PGLITE_HOST: loopback,
          PGLITE_PORT: String(port),
        },
        secretEnv: {},
        logFile: logFile("calls-db"),
        ready: { port: { host: loopback, port } },
        // Copying the template and opening PGlite took over 10 s on a 2-core host with other work on it.
        readyTimeoutMs: 30_000,
      },
      endpoints: { postgres: url },
      ports: [port],
      health: { kind: "calls-db", url },
    });
    // calls-db migrated its database; through pglite-socket a client's transaction is not isolated.
    Object.assign(env, { DATABASE_URL: url, CALLS_MIGRATE: "false" });
  }

  const worker = (name: string, role: string, stream: string, consumer: string): ComponentState => ({
    name,
    kind: "calls-worker",
    launch: {
      name,
      command: process.execPath,
      args: ["--enable-source-maps", bundles.calls],
      env: { ...env, ...spec.env, CALLS_ROLES: role },
      secretEnv,
      logFile: logFile(name),
      // No port of its own: src/calls/main.ts prints {"ready":…} once its consumer is bound.
      ready: { logLine: '{"ready"' },
    },
    endpoints: {},
    ports: [],
    health: { kind: "jetstream-consumer", monitorUrls: request.natsMonitorUrls, stream, consumer },
  });
  components.push(
    worker("calls-cdr-writer", "cdr-writer", fsEventsStream.name, fsEventsStream.cdrWriterDurable),
  );
  for (let i = 1; i <= spec.orchestrators; i++)
    components.push(
      worker(`calls-orchestrator-${i}`, "orchestrator", callsStream.name, callsStream.orchestratorDurable),
    );

  const apiPort = await request.port();
  const apiUrl = `http://${loopback}:${apiPort}`;
  components.push({
    name: "calls-api",
    kind: "calls-api",
    launch: {
      name: "calls-api",
      command: process.execPath,
      args: ["--enable-source-maps", bundles.calls],
      env: {
        ...env,
        ...spec.env,
        CALLS_ROLES: "api",
        CALLS_HTTP_HOST: loopback,
        CALLS_HTTP_PORT: String(apiPort),
      },
      secretEnv,
      logFile: logFile("calls-api"),
      ready: { http: `${apiUrl}/health` },
    },
    endpoints: { http: apiUrl },
    ports: [apiPort],
    health: { kind: "calls-api", url: apiUrl },
  });
  return { components, calls: { apiUrl, database } };
}

const templatesDir = join(distDir, "calls-db-templates");

/**
 * A migrated PGlite data directory for calls-db to copy as it starts (in parallel with the gateway's start):
 * PGlite's initdb takes 4–5 s on a busy 2-core machine, copying and opening a copy under a second. Made
 * once per migration set and PGlite version, in dist/calls-db-templates/<key>/ (written aside and renamed,
 * so labs starting together never see half a template), by `maker` (the calls-db-template bundle) in a
 * process of its own: initdb grows a process to ~900 MB, which the lab's would have kept for the run.
 */
export async function pgliteTemplate(maker: string): Promise<string> {
  const migrations = join(repoRoot, "src/calls/migrations");
  const hash = createHash("sha256");
  hash.update(readFileSync(join(repoRoot, "node_modules/@electric-sql/pglite/package.json")));
  for (const file of readdirSync(migrations).sort())
    hash.update(file).update(readFileSync(join(migrations, file)));
  const dir = join(templatesDir, hash.digest("hex").slice(0, 16));
  if (existsSync(dir)) return dir;
  const temporary = `${dir}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  mkdirSync(templatesDir, { recursive: true });
  await promisify(execFile)(process.execPath, [maker, temporary]);
  try {
    renameSync(temporary, dir);
  } catch (error) {
    // Another lab made it meanwhile: theirs is as good.
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
  return dir;
}

/** `postgres://user@host:port/db`, for showing: a URL's password stays in the lab's secrets. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(a PostgreSQL URL)";
  }
}

function pick(env: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]])));
}
