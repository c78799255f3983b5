import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { defaultCallerPolicy } from "../../src/contracts/caller-policy.ts";
import { farEnds } from "../../src/harness/run/lab-handle.ts";
import {
  freeswitchArgs,
  freeswitchStopGraceMs,
  requireFreeswitch,
  writeFreeswitchConfig,
} from "../freeswitch/freeswitch.ts";
import { kamailioArgs } from "../kamailio/kamailio.ts";
import { sippArgs } from "../sipp/sipp.ts";
import { buildServices } from "./build.ts";
import { callsPipelinePorts, pgliteTemplate, planCallsPipeline } from "./calls-pipeline.ts";
import type { Endpoint } from "./fault-proxy.ts";
import { freePorts, freeUdpPort } from "./ports.ts";
import type { ComponentFaultKind, LabRuntime } from "./runtime.ts";
import { isRunning, signalProcess, startProcess, stopProcess } from "./service.ts";
import {
  type ComponentKind,
  type ComponentState,
  type GatewayState,
  type LabSecrets,
  type LabState,
  type LinkState,
  type SecretName,
  secretValues,
} from "./state.ts";
import { ensureSystemDependencies, kamailio, natsServer, sipp } from "./system-deps.ts";
import {
  defaultSip,
  type GatewaySpec,
  labRealFreeswitchLimits,
  type RealFreeswitchSpec,
  type SipSpec,
  type Topology,
} from "./topology.ts";

const loopback = "127.0.0.1";

/** The gateway under test: ours (default), any command given the lab's environment, or one already running. */
export type GatewayChoice =
  | { kind: "ours" }
  | { kind: "command"; command: string }
  | { kind: "url"; url: string };

/** external mode: an existing FreeSWITCH takes the place of the double. */
export interface ExternalFreeswitch {
  host: string;
  port: number;
  /** Read by the gateway (FS_ESL_PASSWORD_FILE); the lab never reads or records the password. */
  passwordFile: string;
}

interface EmbeddedPlanRequest {
  topology: Topology;
  labId: string;
  runDir: string;
  secrets: LabSecrets;
  gateway: GatewayChoice;
  external?: ExternalFreeswitch;
  /** Over every FreeSWITCH double's profile (a scenario's call profile). */
  fakeswitchProfile?: Record<string, string>;
  /** Over every gateway's environment (a scenario's thresholds). */
  gatewayEnv?: Record<string, string>;
}

/**
 * Lays out a topology as local processes on free loopback ports: which ports, which commands, which links
 * through the fault proxies. Nothing is started yet, so the plan can be recorded first and a start that
 * crashes half-way still leaves a record of what to clean up.
 */
export async function planEmbedded(request: EmbeddedPlanRequest): Promise<LabState> {
  const { runDir, external } = request;
  if (external && request.topology.freeswitch.length !== 1)
    throw new Error(
      `external mode points the lab at one FreeSWITCH; topology ${request.topology.name} has ${request.topology.freeswitch.length}`,
    );
  const topology = external ? withExternalFreeswitch(request.topology) : request.topology;
  mkdirSync(runDir, { recursive: true });
  const callsDatabaseUrl = request.secrets.callsDatabaseUrl;
  // SIP needs the lab's own doubles: an external FreeSWITCH's SIP profile is not the lab's to know.
  const sipSpec = external ? undefined : topology.sip;
  // The template is made by one of the bundles, so after the build (~50 ms).
  const buildAndTemplate = buildServices().then(async (built) => ({
    built,
    template:
      topology.calls && !callsDatabaseUrl ? await pgliteTemplate(built["calls-db-template"]) : undefined,
  }));
  const wantsRealFreeswitch = !external && topology.freeswitch.some((fs) => fs.kind === "freeswitch");
  const [bins, { built, template }, freeswitchBinary] = await Promise.all([
    ensureSystemDependencies(sipSpec ? [natsServer, kamailio, sipp] : [natsServer]),
    buildAndTemplate,
    wantsRealFreeswitch ? requireFreeswitch() : undefined,
  ]);
  const cluster = topology.nats.nodes.length > 1;
  const ports = await freePorts(
    topology.links.length +
      (topology.links.length > 0 ? 1 : 0) +
      topology.nats.nodes.length * (cluster ? 3 : 2) +
      (external ? 0 : topology.freeswitch.length * 2) +
      topology.gateways.length +
      (sipSpec ? 1 : 0) +
      (topology.calls ? callsPipelinePorts(callsDatabaseUrl) : 0),
  );
  const take = () => ports.shift() as number;
  const node = (file: string) => ({ command: process.execPath, args: ["--enable-source-maps", file] });
  const logFile = (name: string) => join(runDir, `${name}.log`);
  const components: ComponentState[] = [];

  // NATS: one server, or a JetStream cluster whose routes run on loopback.
  const nats = topology.nats.nodes.map((name) => ({
    name,
    client: take(),
    monitor: take(),
    route: cluster ? take() : 0,
  }));
  for (const n of nats) {
    const routes = nats.filter((other) => other !== n).map((other) => `nats://${loopback}:${other.route}`);
    const clusterArgs = cluster
      ? // --no_advertise: servers would otherwise tell clients each other's direct addresses, and the
        // gateway could reconnect around the fault proxies.
        [
          "--cluster",
          `nats://${loopback}:${n.route}`,
          "--routes",
          routes.join(","),
          "--cluster_name",
          "fs-esl-lab",
          "--no_advertise",
        ]
      : [];
    const monitorUrl = `http://${loopback}:${n.monitor}`;
    components.push({
      name: n.name,
      kind: "nats",
      launch: {
        name: n.name,
        command: bins["nats-server"] as string,
        args: [
          "-a",
          loopback,
          "-p",
          String(n.client),
          "-n",
          n.name,
          "-m",
          String(n.monitor),
          "-js",
          "-sd",
          join(runDir, `${n.name}-jetstream`),
          ...clusterArgs,
        ],
        env: {},
        secretEnv: {},
        logFile: logFile(n.name),
        // /healthz answers 200 once JetStream is current (in a cluster: once a meta leader is known).
        ready: { http: `${monitorUrl}/healthz` },
      },
      endpoints: {
        client: `nats://${loopback}:${n.client}`,
        monitor: monitorUrl,
        ...(cluster ? { route: `nats://${loopback}:${n.route}` } : {}),
      },
      ports: [n.client, n.monitor, ...(cluster ? [n.route] : [])],
      health: { kind: "nats", monitorUrl },
    });
  }

  // SIP: Kamailio's UDP ports (SIP, JSON-RPC) and its kamcmd port, each double's SIP side, the carrier.
  const sip = sipSpec ? await planSip(topology, sipSpec, runDir, take()) : undefined;

  // FreeSWITCH: the doubles, or the one external FreeSWITCH.
  const eslTargets = new Map<string, Endpoint>();
  for (const fs of topology.freeswitch) {
    if (external) {
      const endpoint = { host: external.host, port: external.port };
      eslTargets.set(fs.name, endpoint);
      components.push({
        name: fs.name,
        kind: "freeswitch",
        endpoints: { esl: `tcp://${external.host}:${external.port}` },
        ports: [],
        health: { kind: "esl", endpoint },
      });
      continue;
    }
    if (fs.kind === "freeswitch") {
      const eslPort = take();
      eslTargets.set(fs.name, { host: loopback, port: eslPort });
      components.push(
        realFreeswitchComponent({
          spec: fs,
          index: topology.freeswitch.indexOf(fs),
          binary: freeswitchBinary as string,
          eslPort,
          sipPort: sip?.freeswitch.get(fs.name) ?? (await freeUdpPort()),
          kamailio: sip && { host: loopback, port: sip.port },
          inboundHoldMs: sipSpec?.carrier.holdMs ?? defaultSip.carrier.holdMs,
          eslPassword: request.secrets.eslPassword,
          runDir,
          logFile: logFile(fs.name),
        }),
      );
      continue;
    }
    const port = take();
    const controlPort = take();
    const endpoint = { host: loopback, port };
    eslTargets.set(fs.name, endpoint);
    const sipPort = sip?.freeswitch.get(fs.name);
    const profile = {
      ...fs.profile,
      ...request.fakeswitchProfile,
      ...(sip && sipPort && { "sip-port": String(sipPort), "sip-proxy": `${loopback}:${sip.port}` }),
    };
    const flags = Object.entries(profile).flatMap(([flag, value]) => [`--${flag}`, value]);
    const { command, args } = node(built.fakeswitch);
    components.push({
      name: fs.name,
      kind: "fakeswitch",
      launch: {
        name: fs.name,
        command,
        args: [
          ...args,
          ...["--host", loopback, "--port", String(port), "--control-port", String(controlPort)],
          ...["--hostname", fs.name, ...flags],
        ],
        env: {},
        secretEnv: { FAKESWITCH_PASSWORD: "eslPassword", FAKESWITCH_CONTROL_TOKEN: "controlToken" },
        logFile: logFile(fs.name),
        // The control API opens after the ESL port: once it accepts, the double is wholly up.
        ready: { port: { host: loopback, port: controlPort } },
      },
      endpoints: {
        esl: `tcp://${loopback}:${port}`,
        control: `http://${loopback}:${controlPort}`,
        ...(sipPort && { sip: `udp://${loopback}:${sipPort}` }),
      },
      ports: [port, controlPort],
      health: { kind: "esl", endpoint },
    });
  }

  if (sip) {
    components.push(kamailioComponent(sip, bins.kamailio as string, logFile("kamailio")));
    components.push(
      carrierComponent(sip.carrier, bins.sipp as string, join(runDir, "carrier"), logFile("carrier")),
    );
  }

  // Fault proxies: one process for every proxied link, with a control API for `lab fault`.
  const natsTargets = new Map(nats.map((n) => [n.name, { host: loopback, port: n.client }]));
  const links: LinkState[] = topology.links.map((link) => ({
    ...link,
    listen: { host: loopback, port: take() },
    target: (eslTargets.get(link.to) ?? natsTargets.get(link.to)) as Endpoint,
  }));
  let faultControlUrl: string | undefined;
  if (links.length > 0) {
    const controlPort = take();
    faultControlUrl = `http://${loopback}:${controlPort}`;
    const { command, args } = node(built["fault-proxies"]);
    components.push({
      name: "fault-proxy",
      kind: "fault-proxy",
      launch: {
        name: "fault-proxy",
        command,
        args,
        env: {
          FAULT_PROXY_LINKS: JSON.stringify(
            links.map(({ name, listen, target }) => ({ name, listen, target })),
          ),
          FAULT_CONTROL_HOST: loopback,
          FAULT_CONTROL_PORT: String(controlPort),
        },
        secretEnv: { FAULT_CONTROL_TOKEN: "controlToken" },
        logFile: logFile("fault-proxy"),
        ready: { port: { host: loopback, port: controlPort } },
      },
      endpoints: { control: faultControlUrl },
      ports: [controlPort, ...links.map((l) => l.listen.port)],
      health: { kind: "fault-proxy", controlUrl: faultControlUrl },
    });
  }

  // Gateways: each reaches its FreeSWITCH and every NATS node through the link's proxy where there is one.
  const through = (from: string, to: string, direct: Endpoint) =>
    links.find((l) => l.from === from && l.to === to)?.listen ?? direct;
  const gateways: GatewayState[] = topology.gateways.map((spec) => {
    const url = request.gateway.kind === "url" ? request.gateway.url : `http://${loopback}:${take()}`;
    const esl = through(spec.name, spec.freeswitch, eslTargets.get(spec.freeswitch) as Endpoint);
    const natsUrls = nats.map((n) => through(spec.name, n.name, natsTargets.get(n.name) as Endpoint));
    return {
      name: spec.name,
      url,
      freeswitch: spec.freeswitch,
      ...gatewayEnvironment(spec, esl, natsUrls, url, request),
    };
  });
  for (const gateway of gateways)
    components.push(gatewayComponent(gateway, request.gateway, built.gateway, logFile));

  // The calls pipeline, talking to NATS directly and to its gateway over the REST API.
  const pipelineGateway = gateways.find((g) => g.name === topology.calls?.gateway) as GatewayState;
  const pipeline = topology.calls
    ? planCallsPipeline({
        spec: topology.calls,
        runDir,
        bundles: built,
        natsUrls: nats.map((n) => `nats://${loopback}:${n.client}`),
        natsMonitorUrls: nats.map((n) => `http://${loopback}:${n.monitor}`),
        gateway: pipelineGateway,
        // A real FreeSWITCH reaches the carrier through Kamailio; the double answers its default itself.
        ...(isRealFreeswitch(components, pipelineGateway.freeswitch) && {
          dialString: farEnds.freeswitch.replace("1000", "{to}"),
        }),
        database: callsDatabaseUrl ? { url: callsDatabaseUrl } : { pgliteTemplate: template as string },
        port: take,
      })
    : undefined;
  components.push(...(pipeline?.components ?? []));

  return {
    version: 1,
    labId: request.labId,
    mode: external ? "external" : "embedded",
    phase: "starting",
    topology,
    createdAt: new Date().toISOString(),
    runDir,
    secrets: request.secrets,
    components,
    links,
    faultControlUrl,
    gateways,
    ...(pipeline && { calls: pipeline.calls }),
  };
}

/**
 * The topology with its one FreeSWITCH as the external one takes its place: a double's entry (single's
 * `fakeswitch`) becomes a real FreeSWITCH named `freeswitch`, in the gateways and links that name it too,
 * so that status, fault targets and the events' `source_host` never call a real FreeSWITCH `fakeswitch`.
 * A topology that names a real FreeSWITCH keeps its name.
 */
export function withExternalFreeswitch(topology: Topology): Topology {
  const [spec] = topology.freeswitch;
  if (!spec || spec.kind === "freeswitch") return topology;
  const name = "freeswitch";
  const renamed = (ref: string) => (ref === spec.name ? name : ref);
  return {
    ...topology,
    freeswitch: [{ name, kind: "freeswitch", ...labRealFreeswitchLimits }],
    gateways: topology.gateways.map((g) => ({ ...g, freeswitch: renamed(g.freeswitch) })),
    links: topology.links.map((l) => ({ ...l, from: renamed(l.from), to: renamed(l.to) })),
  };
}

/**
 * The caller policy's variables plus the double's per-call script (`fakeswitch_hold_ms`...), which the
 * scenarios send; a real FreeSWITCH keeps them as inert channel variables. The denylist still applies.
 */
const labAllowedVariables = [...defaultCallerPolicy.variables, "fakeswitch_*"].join(",");

function gatewayEnvironment(
  spec: GatewaySpec,
  esl: Endpoint,
  natsUrls: Endpoint[],
  url: string,
  request: EmbeddedPlanRequest,
): Pick<GatewayState, "env" | "secretEnv"> {
  const http = new URL(url);
  const secretEnv: Record<string, SecretName> = { JWT_SECRET: "jwtSecret" };
  const password: Record<string, string> = {};
  if (request.external) password.FS_ESL_PASSWORD_FILE = request.external.passwordFile;
  else secretEnv.FS_ESL_PASSWORD = "eslPassword";
  return {
    env: {
      FS_ESL_HOST: esl.host,
      FS_ESL_PORT: String(esl.port),
      ...password,
      NATS_URL: natsUrls.map((n) => `nats://${n.host}:${n.port}`).join(","),
      HTTP_HOST: http.hostname,
      HTTP_PORT: http.port,
      SOURCE_HOST: spec.freeswitch,
      LOG_LEVEL: "info",
      ALLOWED_VARIABLES: labAllowedVariables,
      ...spec.env,
      ...request.gatewayEnv,
    },
    secretEnv,
  };
}

/**
 * Node flags of our gateway, the same as deploy/systemd/fs-esl-gateway.service uses (a test holds them
 * equal). A 4 MB semi-space (V8 lets it grow to 16 MB) keeps the young generation small; a heap growing
 * factor of 2 (V8 picks up to 4 for a heap this small) keeps the old generation near twice its live size.
 * Measured side by side at 1,000 calls/s in docs/decisions/gateway-design.md.
 */
export const gatewayNodeFlags = [
  "--enable-source-maps",
  "--max-semi-space-size=4",
  "--heap-growing-percent=100",
];

function gatewayComponent(
  gateway: GatewayState,
  choice: GatewayChoice,
  bundle: string,
  logFile: (name: string) => string,
): ComponentState {
  const port = Number(new URL(gateway.url).port);
  const component: ComponentState = {
    name: gateway.name,
    kind: "gateway",
    endpoints: { http: gateway.url },
    ports: choice.kind === "url" ? [] : [port],
    health: { kind: "gateway", url: gateway.url },
  };
  if (choice.kind === "url") return component; // someone else runs it; `lab env` tells them how
  const [command, args] =
    choice.kind === "command"
      ? ["/bin/sh", ["-c", choice.command]]
      : [process.execPath, [...gatewayNodeFlags, bundle]];
  component.launch = {
    name: gateway.name,
    command,
    args,
    env: gateway.env,
    secretEnv: gateway.secretEnv,
    logFile: logFile(gateway.name),
    // 200 from /health: listening, and ESL authenticated and subscribed.
    ready: { http: `${gateway.url}/health` },
    readyTimeoutMs: 15_000,
  };
  return component;
}

/** Whether this FreeSWITCH is a real one the lab runs (not the double, not an external one). */
export function isRealFreeswitch(components: readonly ComponentState[], name: string): boolean {
  return components.some((c) => c.name === name && c.kind === "freeswitch" && c.launch !== undefined);
}

/**
 * A real FreeSWITCH: its configuration written from lab/freeswitch/freeswitch.xml into a private folder
 * (it holds the ESL password; removed by `down`), run in the foreground with its own folders under the
 * run's. Ready once ESL accepts: mod_event_socket is the last module it loads.
 */
function realFreeswitchComponent(plan: {
  spec: RealFreeswitchSpec;
  index: number;
  binary: string;
  eslPort: number;
  sipPort: number;
  kamailio: Endpoint | undefined;
  inboundHoldMs: number;
  eslPassword: string;
  runDir: string;
  logFile: string;
}): ComponentState {
  const { spec, eslPort, sipPort } = plan;
  // Below the ephemeral range (32768+), 1,000 ports an instance: the instances of a lab never share one.
  const rtpStart = 20_000 + plan.index * 1_000;
  const dirs = writeFreeswitchConfig(
    {
      name: spec.name,
      eslPort,
      sipPort,
      outboundProxy: plan.kamailio,
      sessionsPerSecond: spec.sessionsPerSecond,
      maxSessions: spec.maxSessions,
      inboundHoldMs: plan.inboundHoldMs,
      rtpPorts: [rtpStart, rtpStart + 999],
    },
    plan.eslPassword,
    plan.runDir,
  );
  const endpoint = { host: loopback, port: eslPort };
  return {
    name: spec.name,
    kind: "freeswitch",
    launch: {
      name: spec.name,
      command: plan.binary,
      args: freeswitchArgs(dirs),
      env: {},
      secretEnv: {},
      logFile: plan.logFile,
      ready: { port: endpoint },
      readyTimeoutMs: 30_000,
      stopGraceMs: freeswitchStopGraceMs,
    },
    privateDir: dirs.conf,
    endpoints: { esl: `tcp://${loopback}:${eslPort}`, sip: `udp://${loopback}:${sipPort}` },
    ports: [eslPort],
    health: { kind: "freeswitch", endpoint },
  };
}

interface SipPlan {
  /** The SIPp carrier's port and timings. */
  carrier: { port: number; answerMs: number; holdMs: number };
  port: number;
  ctlPort: number;
  /** JSON-RPC's UDP port. */
  rpcPort: number;
  dir: string;
  frTimerMs: number;
  /** Each double's SIP port. */
  freeswitch: Map<string, number>;
}

/** Free UDP ports for Kamailio, each double's SIP side and the carrier; Kamailio's runtime folder in the run's. */
async function planSip(topology: Topology, spec: SipSpec, runDir: string, ctlPort: number): Promise<SipPlan> {
  const dir = join(runDir, "kamailio");
  mkdirSync(dir, { recursive: true });
  const freeswitch = new Map<string, number>();
  for (const fs of topology.freeswitch) freeswitch.set(fs.name, await freeUdpPort());
  return {
    port: await freeUdpPort(),
    ctlPort,
    rpcPort: await freeUdpPort(),
    dir,
    frTimerMs: spec.frTimerMs,
    freeswitch,
    carrier: { ...spec.carrier, port: await freeUdpPort() },
  };
}

/**
 * Kamailio in front of the doubles (lab/kamailio/kamailio.cfg): kamcmd over TCP on loopback (for people, and
 * its readiness), JSON-RPC over UDP on loopback (what the lab reads).
 */
function kamailioComponent(sip: SipPlan, command: string, logFile: string): ComponentState {
  const ctl = `tcp:${loopback}:${sip.ctlPort}`;
  const rpc = `udp:${loopback}:${sip.rpcPort}`;
  const freeswitch = [...sip.freeswitch.values()].map((port) => ({ host: loopback, port }));
  return {
    name: "kamailio",
    kind: "kamailio",
    launch: {
      name: "kamailio",
      command,
      args: kamailioArgs({
        port: sip.port,
        dir: sip.dir,
        ctl,
        rpc,
        freeswitch,
        frTimerMs: sip.frTimerMs,
        carrier: { host: loopback, port: sip.carrier.port },
      }),
      env: {},
      secretEnv: {},
      logFile,
      // The ctl socket opens once the configuration is loaded and the workers run.
      ready: { port: { host: loopback, port: sip.ctlPort } },
    },
    endpoints: { sip: `udp://${loopback}:${sip.port}`, ctl, rpc },
    ports: [sip.ctlPort],
    health: { kind: "kamailio", rpc },
  };
}

/**
 * The carrier: SIPp answering every call (lab/sipp/carrier-answer.xml) in its own folder, its working
 * directory, where it also writes its response times. A lab may stay up for long, so its bound is large but
 * finite: a million calls or a day. SIPp speaks UDP only: it is ready once it has written its statistics
 * file's header.
 */
function carrierComponent(
  carrier: SipPlan["carrier"],
  command: string,
  dir: string,
  logFile: string,
): ComponentState {
  mkdirSync(dir, { recursive: true });
  const scenario = "carrier-answer";
  const { args, statsFile } = sippArgs(
    {
      scenario,
      port: carrier.port,
      calls: 1_000_000,
      timeoutS: 86_400,
      timings: { ANSWER_MS: carrier.answerMs, HOLD_MS: carrier.holdMs },
    },
    dir,
  );
  const name = "carrier";
  return {
    name,
    kind: "sipp",
    launch: { name, command, args, cwd: dir, env: {}, secretEnv: {}, logFile, ready: { file: statsFile } },
    endpoints: { sip: `udp://${loopback}:${carrier.port}`, scenario, stats: statsFile },
    ports: [],
    health: { kind: "sipp", statsFile },
  };
}

/**
 * What each kind of component waits for: it starts once every component of these kinds is ready. Proxies,
 * NATS, FreeSWITCH, Kamailio, SIPp and the calls database start at once; the gateways once the first five
 * answer; the calls pipeline's processes once NATS, their database and the gateway answer. PGlite opening
 * (half a second or more) thus overlaps the gateway's start instead of delaying it.
 */
const dependsOn: Readonly<Record<ComponentKind, readonly ComponentKind[]>> = {
  "fault-proxy": [],
  nats: [],
  fakeswitch: [],
  freeswitch: [],
  kamailio: [],
  sipp: [],
  "calls-db": [],
  gateway: ["fault-proxy", "nats", "fakeswitch", "freeswitch", "kamailio", "sipp"],
  "calls-worker": ["nats", "calls-db", "gateway"],
  "calls-api": ["nats", "calls-db", "gateway"],
};

/** How many steps of dependencies a kind is from one that waits for nothing: dependants stop first. */
const depth = (kind: ComponentKind): number =>
  Math.max(0, ...dependsOn[kind].map((dependency) => depth(dependency) + 1));

/**
 * Starts every component that has a launch spec, each as soon as what it depends on is ready; `persist`
 * records each process as soon as it runs. If anything fails, whatever started is stopped and the first
 * error (naming the component, where it should answer, and its last log lines) is thrown.
 */
async function startEmbedded(state: LabState, persist: () => void, signal?: AbortSignal): Promise<void> {
  const launched = state.components.filter((c) => c.launch);
  const ready = new Map<ComponentState, Promise<void>>();
  const start = (component: ComponentState): Promise<void> => {
    let started = ready.get(component);
    if (!started) {
      const dependencies = launched.filter((c) => dependsOn[component.kind].includes(c.kind));
      started = Promise.all(dependencies.map(start)).then(() =>
        startComponent(state, component, persist, signal),
      );
      ready.set(component, started);
    }
    return started;
  };
  const results = await Promise.allSettled(launched.map(start));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stopEmbedded(state);
    throw failed.reason;
  }
}

async function startComponent(
  state: LabState,
  component: ComponentState,
  persist: () => void,
  signal?: AbortSignal,
): Promise<void> {
  const launch = component.launch;
  if (!launch) throw new Error(`${component.name} is not run by the lab`);
  component.process = await startProcess(launch, secretValues(launch.secretEnv, state.secrets), signal);
  persist();
}

/** Stops every process, dependants first; returns the names of any whose process group would not go. */
async function stopEmbedded(state: LabState): Promise<string[]> {
  const leftovers: string[] = [];
  const depths = [...new Set(state.components.map((c) => depth(c.kind)))].sort((a, b) => b - a);
  for (const level of depths) {
    const tier = state.components.filter((c) => c.process && depth(c.kind) === level);
    await Promise.all(
      tier.map(async (c) => {
        if (c.process && !(await stopProcess(c.process, c.launch?.stopGraceMs)))
          leftovers.push(`${c.name} (pid ${c.process.pid})`);
      }),
    );
  }
  for (const c of state.components) if (c.privateDir) rmSync(c.privateDir, { recursive: true, force: true });
  return leftovers;
}

/** Component faults on local processes: signals to the process group, and starting it again from its launch spec. */
async function processFault(
  state: LabState,
  component: ComponentState,
  kind: ComponentFaultKind,
  persist: () => void,
): Promise<string> {
  const running = component.process !== undefined && isRunning(component.process);
  const pid = component.process?.pid;
  if (!component.launch)
    throw new Error(`${component.name} is not run by the lab (it is external): the lab cannot ${kind} it`);
  switch (kind) {
    case "stop":
    case "kill":
      if (!running || !component.process) return `${component.name} is not running`;
      if (kind === "kill") signalProcess(component.process, "SIGKILL");
      await stopProcess(component.process, component.launch.stopGraceMs);
      return `${component.name} (pid ${pid}) ${kind === "kill" ? "killed (SIGKILL)" : "stopped (SIGTERM)"}`;
    case "start":
      if (running) return `${component.name} is already running (pid ${pid})`;
      await startComponent(state, component, persist);
      return `${component.name} started (pid ${component.process?.pid})`;
    case "restart":
      if (running && component.process) await stopProcess(component.process, component.launch.stopGraceMs);
      await startComponent(state, component, persist);
      return `${component.name} restarted (pid ${pid ?? "-"} → ${component.process?.pid})`;
    case "pause":
    case "resume":
      if (!running || !component.process) return `${component.name} is not running`;
      // SIGSTOP freezes the process with its sockets open: to its peers it is a hung, half-open service.
      signalProcess(component.process, kind === "pause" ? "SIGSTOP" : "SIGCONT");
      return `${component.name} (pid ${pid}) ${kind === "pause" ? "paused (SIGSTOP)" : "resumed (SIGCONT)"}`;
  }
}

export const embeddedRuntime: LabRuntime = {
  start: startEmbedded,
  stop: stopEmbedded,
  running: async (_state, component) =>
    component.process !== undefined ? isRunning(component.process) : component.launch === undefined,
  componentFault: processFault,
  showLogs: async (_state, components, { lines, follow }) => {
    const files = components.flatMap((c) => (c.launch ? [c.launch.logFile] : []));
    if (files.length === 0) return;
    // tail names each file when there are several (==> file <==), and -F follows a file across restarts.
    await $({ stdio: "inherit", nothrow: true })`tail -n ${lines} ${follow ? ["-F"] : []} ${files}`;
  },
};
