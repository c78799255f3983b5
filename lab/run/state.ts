import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Endpoint } from "../faults/fault-proxy.ts";
import type { Topology } from "../plan/topology.ts";
import type { LaunchSpec, ProcessRef } from "./service.ts";

export type LabMode = "embedded" | "external" | "compose";
export const labModes: readonly LabMode[] = ["embedded", "external", "compose"];

/** Generated per lab, kept only in the state file (mode 0600) and handed to processes by environment. */
export interface LabSecrets {
  eslPassword: string;
  jwtSecret: string;
  /** Bearer token of the lab's control APIs: the fault proxies' and the FreeSWITCH doubles'. */
  controlToken: string;
  /** The calls pipeline's PostgreSQL server (`DATABASE_URL` at `lab up`): it may hold a password. */
  callsDatabaseUrl?: string;
}
export type SecretName = keyof LabSecrets;

/** How to tell whether a component answers, beyond its process being alive. */
export type HealthCheck =
  | { kind: "gateway"; url: string }
  | { kind: "nats"; monitorUrl: string }
  | { kind: "esl"; endpoint: Endpoint }
  /** A real FreeSWITCH the lab runs: asked `status` and `show channels count` with the lab's ESL password. */
  | { kind: "freeswitch"; endpoint: Endpoint }
  | { kind: "fault-proxy"; controlUrl: string }
  | { kind: "container"; service: string }
  | { kind: "kamailio"; rpc: string }
  | { kind: "sipp"; statsFile: string }
  /** The calls pipeline's embedded database (PGlite served over the PostgreSQL protocol). */
  | { kind: "calls-db"; url: string }
  | { kind: "calls-api"; url: string }
  /** A worker of the calls pipeline, by the JetStream consumer it shares (asked of any node's /jsz). */
  | { kind: "jetstream-consumer"; monitorUrls: string[]; stream: string; consumer: string };

export type ComponentKind =
  | "nats"
  | "fakeswitch"
  | "freeswitch"
  | "gateway"
  | "fault-proxy"
  | "kamailio"
  | "sipp"
  | "calls-db"
  | "calls-api"
  | "calls-worker";

export interface ComponentState {
  name: string;
  kind: ComponentKind;
  /** The running process, when the lab runs this component as a local process. */
  process?: ProcessRef;
  /** How to start it again (`lab fault <name> start`); secrets by name only. */
  launch?: LaunchSpec & { secretEnv: Record<string, SecretName> };
  /** A folder holding secrets (a real FreeSWITCH's configuration), outside results/; removed when the lab stops. */
  privateDir?: string;
  /** compose mode: the compose service that runs it. */
  composeService?: string;
  /** Addresses worth showing, by role: {client: "nats://…", monitor: "http://…"}. */
  endpoints: Record<string, string>;
  /** Every port it listens on, checked free after `lab down`. */
  ports: number[];
  health: HealthCheck;
}

export interface LinkState {
  name: string;
  from: string;
  to: string;
  listen: Endpoint;
  target: Endpoint;
}

/** What a gateway is given; `lab env <gateway>` prints it for a gateway you start yourself. */
export interface GatewayState {
  name: string;
  url: string;
  freeswitch: string;
  env: Record<string, string>;
  secretEnv: Record<string, SecretName>;
}

/** Where the calls pipeline answers, and which database it keeps its calls in. */
export interface CallsState {
  apiUrl: string;
  /** `pglite`: calls-db's (its URL holds no secret); `postgres`: the server in `secrets.callsDatabaseUrl`. */
  database: { kind: "pglite"; url: string; dir: string } | { kind: "postgres"; display: string };
}

export interface LabState {
  version: 1;
  labId: string;
  mode: LabMode;
  /** "starting" until every component is ready; a crashed start leaves "starting" behind. */
  phase: "starting" | "up";
  topology: Topology;
  createdAt: string;
  /** results/<lab-id>: every process's log. */
  runDir: string;
  startupMs?: number;
  secrets: LabSecrets;
  components: ComponentState[];
  links: LinkState[];
  faultControlUrl?: string;
  gateways: GatewayState[];
  /** The calls pipeline, when the topology has one (not in compose mode). */
  calls?: CallsState;
  /** compose mode: the compose project name. */
  composeProject?: string;
}

export class LabAlreadyUpError extends Error {
  override name = "LabAlreadyUpError";
}

export function readState(file: string): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const state = JSON.parse(text) as LabState;
  if (state.version !== 1) throw new Error(`${file}: unknown state version ${state.version}`);
  return state;
}

/**
 * Creates the state file, failing if one exists: two `lab up`s in two shells cannot both win. The folder
 * is 0700 and the file 0600: it holds the lab's secrets.
 */
export function claimStateFile(file: string, state: LabState): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, JSON.stringify(state, null, 2), { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      throw new LabAlreadyUpError(`${file} exists: a lab is up or starting`);
    throw error;
  }
}

/** Replaces the state file atomically (write, then rename), so a reader never sees half a file. */
export function writeState(file: string, state: LabState): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}

/** The values of a process's secret variables. */
export function secretValues(
  secretEnv: Record<string, SecretName>,
  secrets: LabSecrets,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secretEnv).map(([name, secret]) => {
      const value = secrets[secret];
      if (value === undefined) throw new Error(`the lab has no secret ${secret} for ${name}`);
      return [name, value];
    }),
  );
}
