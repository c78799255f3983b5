import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, YAMLParseError } from "yaml";
import { profileFlagProblem } from "../../src/fakeswitch/profile-flags.ts";
import { repoRoot } from "../run/paths.ts";

/** What a lab is made of, as declared in lab/topologies/<name>.yaml. */
export interface Topology {
  name: string;
  description: string;
  /** One node: a single nats-server. Three or more: a JetStream cluster on loopback routes. */
  nats: { nodes: string[] };
  freeswitch: FreeswitchSpec[];
  gateways: GatewaySpec[];
  /** The TCP links that run through a fault proxy; the others connect directly. */
  links: LinkSpec[];
  /**
   * Real SIP, in every topology unless its file says `sip: false`: Kamailio in front of the doubles (each
   * with a SIP side), and a SIPp carrier behind it.
   */
  sip?: SipSpec;
  /** The calls pipeline (src/calls; off unless the file has `calls:`): calls API, orchestrators, CDR writer. */
  calls?: CallsSpec;
}

export interface CallsSpec {
  /** Orchestrator processes sharing the JetStream consumer: one can crash while the others carry on. */
  orchestrators: number;
  /** The gateway whose REST API the orchestrators originate through (default the first). */
  gateway: string;
  /** Extra environment for every pipeline process (src/calls/config.ts), over the lab's defaults. */
  env: Record<string, string>;
}

export interface SipSpec {
  /** How long Kamailio waits for an instance's first response before failing over (tm fr_timer). */
  frTimerMs: number;
  /** The SIPp carrier (lab/sipp/carrier-answer.xml) behind Kamailio that takes every outbound call. */
  carrier: { answerMs: number; holdMs: number };
}

/** A FreeSWITCH of the lab: the double (`kind: double`, the default) or a real one (`kind: freeswitch`). */
type FreeswitchSpec = DoubleSpec | RealFreeswitchSpec;

interface DoubleSpec {
  name: string;
  kind: "double";
  /** FreeSWITCH double flags (`npm run fakeswitch -- --help`), over `labFakeswitchProfile`. */
  profile: Record<string, string>;
}

/** A real FreeSWITCH 1.10 the lab configures (lab/freeswitch/freeswitch.xml) and runs. */
export interface RealFreeswitchSpec {
  name: string;
  kind: "freeswitch";
  /** switch.conf's sessions-per-second and max-sessions (stock FreeSWITCH: 30 and 1000). */
  sessionsPerSecond: number;
  maxSessions: number;
}

/**
 * A real FreeSWITCH's limits when its topology does not set them: raised from stock (30/s, 1000) as the
 * doubles' are, so that a scenario meets this machine's capacity, not a configured refusal.
 */
export const labRealFreeswitchLimits = { sessionsPerSecond: 1000, maxSessions: 10_000 } as const;

export interface GatewaySpec {
  name: string;
  /** The FreeSWITCH whose ESL this gateway owns. */
  freeswitch: string;
  /** Extra gateway environment (thresholds, timeouts); the lab sets FS_ESL_*, NATS_URL, JWT_*, HTTP_*. */
  env: Record<string, string>;
}

export interface LinkSpec {
  /** What `lab fault <name> …` calls it; unique among links. */
  name: string;
  /** A gateway. */
  from: string;
  /** Its FreeSWITCH (the ESL link) or a NATS node. */
  to: string;
}

/**
 * Raised FreeSWITCH limits for a lab machine: stock FreeSWITCH (30 sessions/s, 1000 sessions) would refuse
 * load scenarios by design. Calls answer after 20 ms and hang up after 500 ms, so a lab left running does
 * not pile up channels. HEARTBEAT keeps FreeSWITCH's 20 s: the gateway counts sessions from its own channel
 * table between heartbeats, and its ESL liveness probes with `api uptime`, so nothing needs them sooner.
 */
export const labFakeswitchProfile: Readonly<Record<string, string>> = {
  "answer-delay": "20",
  hold: "500",
  sps: "5000",
  "max-sessions": "20000",
};

/** A topology's SIP side when its file does not change it: the carrier answers as the lab's doubles do. */
export const defaultSip: Readonly<SipSpec> = {
  frTimerMs: 1000,
  carrier: {
    answerMs: Number(labFakeswitchProfile["answer-delay"]),
    holdMs: Number(labFakeswitchProfile.hold),
  },
};

const topologiesDir = resolve(fileURLToPath(new URL("../topologies", import.meta.url)));

/** Names the lab gives its own components; a topology cannot use them (nor `calls-…`, the pipeline's). */
const reservedNames = ["fault-proxy"];
const reservedPrefix = "calls-";
/** Gateway variables the lab owns: a topology setting them would point the gateway elsewhere. */
const labOwnedEnv = /^(FS_ESL_|NATS_URL$|JWT_SECRET|HTTP_HOST$|HTTP_PORT$|HTTP_INTERFACE$)/;
/** Pipeline variables the lab owns: where NATS, the gateway, the database and each process's role are. */
const labOwnedCallsEnv =
  /^(NATS_URL$|GATEWAY_URL$|JWT_SECRET|DATABASE_URL$|CALLS_ROLES$|CALLS_HTTP_|CALLS_MIGRATE$|PGLITE_)/;
/** Orchestrator processes a topology may ask for: each is a process on a 2-core lab machine. */
const maxOrchestrators = 8;
const namePattern = /^[a-z][a-z0-9-]{0,30}$/;

export class TopologyError extends Error {
  override name = "TopologyError";
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid topology ${source}:\n  - ${problems.join("\n  - ")}`);
  }
}

/** The shipped topologies' names (lab/topologies/*.yaml). */
export function topologyNames(): string[] {
  return readdirSync(topologiesDir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => basename(f, ".yaml"))
    .sort();
}

/** A shipped topology by name, or any topology file by path. */
export function loadTopology(nameOrPath: string): Topology {
  const isPath = nameOrPath.includes("/") || nameOrPath.endsWith(".yaml") || nameOrPath.endsWith(".yml");
  const file = isPath ? resolve(nameOrPath) : join(topologiesDir, `${nameOrPath}.yaml`);
  if (!existsSync(file)) {
    throw new TopologyError(nameOrPath, [
      isPath ? `no such file ${file}` : `no topology "${nameOrPath}"; shipped: ${topologyNames().join(", ")}`,
    ]);
  }
  return parseTopology(readFileSync(file, "utf8"), file);
}

/** Parses and checks a topology, reporting every problem at once with its path in the file. */
export function parseTopology(text: string, source: string): Topology {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true });
  } catch (error) {
    const message = error instanceof YAMLParseError ? error.message : String(error);
    throw new TopologyError(source, [`not valid YAML: ${message}`]);
  }
  const problems: string[] = [];
  const check = new Checker(problems);
  const root = check.object(doc, "(top level)", [
    "description",
    "nats",
    "freeswitch",
    "gateways",
    "links",
    "sip",
    "calls",
  ]);
  const description = check.string(root.description, "description") ?? "";

  const nats = check.object(root.nats, "nats", ["nodes"]);
  const natsNodes = check.list(nats.nodes, "nats.nodes").map((n, i) => check.name(n, `nats.nodes[${i}]`));
  if (natsNodes.length === 2 || natsNodes.length === 0)
    problems.push(
      `nats.nodes: give 1 node (a single server) or 3 or more (a JetStream cluster; ${natsNodes.length} cannot keep a quorum)`,
    );

  const freeswitch = check.list(root.freeswitch, "freeswitch").map((item, i): FreeswitchSpec => {
    const where = `freeswitch[${i}]`;
    const kind = (item as { kind?: unknown } | null)?.kind ?? "double";
    if (kind === "freeswitch") {
      const fs = check.object(item, where, ["name", "kind", "sessions_per_second", "max_sessions"]);
      return {
        name: check.name(fs.name, `${where}.name`),
        kind,
        sessionsPerSecond: check.integer(
          fs.sessions_per_second,
          `${where}.sessions_per_second`,
          labRealFreeswitchLimits.sessionsPerSecond,
        ),
        maxSessions: check.integer(
          fs.max_sessions,
          `${where}.max_sessions`,
          labRealFreeswitchLimits.maxSessions,
        ),
      };
    }
    if (kind !== "double")
      problems.push(`${where}.kind: expected double or freeswitch, not ${JSON.stringify(kind)}`);
    const fs = check.object(item, where, ["name", "kind", "profile"]);
    const profile = check.stringMap(fs.profile, `${where}.profile`);
    // A load profile named in a topology is a repository file, wherever the lab is started from.
    if (profile["load-profile"]) profile["load-profile"] = resolve(repoRoot, profile["load-profile"]);
    // Checked here, as the double's CLI would: at `up`, a bad flag would only show as its help text.
    for (const [flag, value] of Object.entries(profile)) {
      const problem = profileFlagProblem(flag, value);
      if (problem) problems.push(`${where}.profile.${flag}: ${problem}`);
    }
    return {
      name: check.name(fs.name, `${where}.name`),
      kind: "double",
      profile: { ...labFakeswitchProfile, ...profile },
    };
  });
  if (freeswitch.length === 0) problems.push("freeswitch: at least one is needed");
  const fsNames = freeswitch.map((f) => f.name);

  const gateways = check.list(root.gateways, "gateways").map((item, i) => {
    const where = `gateways[${i}]`;
    const gw = check.object(item, where, ["name", "freeswitch", "env"]);
    const owned = check.string(gw.freeswitch, `${where}.freeswitch`) ?? "";
    if (owned && !fsNames.includes(owned))
      problems.push(
        `${where}.freeswitch: "${owned}" is not a FreeSWITCH of this topology (${fsNames.join(", ")})`,
      );
    const env = check.stringMap(gw.env, `${where}.env`);
    for (const key of Object.keys(env).filter((k) => labOwnedEnv.test(k)))
      problems.push(`${where}.env.${key}: the lab sets this variable itself`);
    return { name: check.name(gw.name, `${where}.name`), freeswitch: owned, env };
  });
  if (gateways.length === 0) problems.push("gateways: at least one is needed");
  for (const name of fsNames.filter((fs) => gateways.filter((g) => g.freeswitch === fs).length > 1))
    problems.push(
      `freeswitch ${name}: owned by more than one gateway (ADR-0011: one ESL connection per FreeSWITCH)`,
    );

  const links = check.list(root.links ?? [], "links").map((item, i) => {
    const where = `links[${i}]`;
    const link = check.object(item, where, ["name", "from", "to"]);
    const spec = {
      name: check.name(link.name, `${where}.name`),
      from: check.string(link.from, `${where}.from`) ?? "",
      to: check.string(link.to, `${where}.to`) ?? "",
    };
    const gateway = gateways.find((g) => g.name === spec.from);
    if (!gateway) problems.push(`${where}.from: "${spec.from}" is not a gateway of this topology`);
    else if (spec.to !== gateway.freeswitch && !natsNodes.includes(spec.to))
      problems.push(
        `${where}.to: "${spec.to}" is neither ${spec.from}'s FreeSWITCH (${gateway.freeswitch}) nor a NATS node (${natsNodes.join(", ")})`,
      );
    return spec;
  });
  const pairs = links.map((l) => `${l.from} → ${l.to}`);
  for (const pair of new Set(pairs.filter((p, i) => pairs.indexOf(p) !== i)))
    problems.push(`links: ${pair} is proxied twice`);

  // A link may share a name with a component (link "nats-2" leads to node "nats-2"): `lab fault` tells them
  // apart by the kind of fault, as link faults and component faults have different kinds.
  const components = [...natsNodes, ...fsNames, ...gateways.map((g) => g.name)];
  for (const [what, names] of [
    ["component", components],
    ["link", links.map((l) => l.name)],
  ] as const)
    for (const name of new Set(names.filter((n, i) => n && names.indexOf(n) !== i)))
      problems.push(`${what} name "${name}" is used twice`);
  for (const name of components.filter((n) => reservedNames.includes(n)))
    problems.push(`name "${name}" is reserved for the lab's own component`);
  for (const name of components.filter((n) => n.startsWith(reservedPrefix)))
    problems.push(`name "${name}": names starting with "${reservedPrefix}" are the calls pipeline's`);

  let calls: CallsSpec | undefined;
  if (root.calls !== undefined) {
    const spec = check.object(root.calls ?? {}, "calls", ["orchestrators", "gateway", "env"]);
    const orchestrators = spec.orchestrators === undefined ? 2 : Number(spec.orchestrators);
    if (!Number.isInteger(orchestrators) || orchestrators < 1 || orchestrators > maxOrchestrators)
      problems.push(`calls.orchestrators: expected an integer from 1 to ${maxOrchestrators}`);
    const gatewayNames = gateways.map((g) => g.name);
    const gateway =
      spec.gateway === undefined
        ? (gatewayNames[0] ?? "")
        : (check.string(spec.gateway, "calls.gateway") ?? "");
    if (spec.gateway !== undefined && gateway && !gatewayNames.includes(gateway))
      problems.push(
        `calls.gateway: "${gateway}" is not a gateway of this topology (${gatewayNames.join(", ")})`,
      );
    const env = check.stringMap(spec.env, "calls.env");
    for (const key of Object.keys(env).filter((k) => labOwnedCallsEnv.test(k)))
      problems.push(`calls.env.${key}: the lab sets this variable itself`);
    calls = { orchestrators, gateway, env };
  }

  // SIP is on unless the file opts out with `sip: false` (and should say why beside it).
  let sip: SipSpec | undefined;
  if (root.sip !== false) {
    const spec = check.object(root.sip ?? {}, "sip", ["fr_timer_ms", "carrier"]);
    const ms = (value: unknown, where: string, fallback: number, min: number) => {
      const n = value === undefined ? fallback : Number(value);
      if (!Number.isInteger(n) || n < min)
        problems.push(`${where}: expected an integer of at least ${min} (ms), or sip: false for no SIP`);
      return n;
    };
    const carrier = check.object(spec.carrier ?? {}, "sip.carrier", ["answer_ms", "hold_ms"]);
    sip = {
      frTimerMs: ms(spec.fr_timer_ms, "sip.fr_timer_ms", defaultSip.frTimerMs, 100),
      carrier: {
        answerMs: ms(carrier.answer_ms, "sip.carrier.answer_ms", defaultSip.carrier.answerMs, 0),
        holdMs: ms(carrier.hold_ms, "sip.carrier.hold_ms", defaultSip.carrier.holdMs, 0),
      },
    };
  }

  if (problems.length > 0) throw new TopologyError(source, problems);
  return {
    name: basename(source).replace(/\.ya?ml$/, ""),
    description,
    nats: { nodes: natsNodes },
    freeswitch,
    gateways,
    links,
    ...(sip && { sip }),
    ...(calls && { calls }),
  };
}

/** Type checks that note a problem and carry on with a harmless value, so that every problem is reported. */
class Checker {
  constructor(private readonly problems: string[]) {}

  object(value: unknown, where: string, keys: string[]): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.problems.push(`${where}: expected a mapping`);
      return {};
    }
    for (const key of Object.keys(value).filter((k) => !keys.includes(k)))
      this.problems.push(`${where}: unknown key "${key}" (known: ${keys.join(", ")})`);
    return value as Record<string, unknown>;
  }

  list(value: unknown, where: string): unknown[] {
    if (Array.isArray(value)) return value;
    this.problems.push(`${where}: expected a list`);
    return [];
  }

  string(value: unknown, where: string): string | undefined {
    if (typeof value === "string" && value !== "") return value;
    this.problems.push(`${where}: expected a non-empty string`);
    return undefined;
  }

  /** A positive whole number, or `fallback` when absent. */
  integer(value: unknown, where: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
    this.problems.push(`${where}: expected a positive whole number`);
    return fallback;
  }

  name(value: unknown, where: string): string {
    const name = this.string(value, where) ?? "";
    if (name && !namePattern.test(name))
      this.problems.push(
        `${where}: "${name}" must be lower-case letters, digits and dashes, starting with a letter`,
      );
    return name;
  }

  /** A mapping of strings; numbers and booleans are accepted and written as YAML shows them. */
  stringMap(value: unknown, where: string): Record<string, string> {
    if (value === undefined) return {};
    const map = this.object(value, where, Object.keys(value ?? {}));
    const result: Record<string, string> = {};
    for (const [key, item] of Object.entries(map)) {
      if (["string", "number", "boolean"].includes(typeof item)) result[key] = String(item);
      else this.problems.push(`${where}.${key}: expected a string, number or boolean`);
    }
    return result;
  }
}
