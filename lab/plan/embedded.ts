import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { farEnds } from "../../src/harness/run/lab-handle.ts";
import { buildServices } from "../../tools/build.ts";
import type { Endpoint } from "../faults/fault-proxy.ts";
import { requireFreeswitch } from "../freeswitch/freeswitch.ts";
import type { ComponentState, GatewayState, LabSecrets, LabState, LinkState } from "../run/state.ts";
import { ensureSystemDependencies, kamailio, natsServer, sipp } from "../run/system-deps.ts";
import { pgliteTemplate, planCallsPipeline } from "./calls-pipeline.ts";
import { isRealFreeswitch, realFreeswitchComponent } from "./embedded-freeswitch.ts";
import { gatewayComponent, gatewayEnvironment } from "./embedded-gateway.ts";
import { carrierComponent, kamailioComponent, planSip } from "./embedded-sip.ts";
import { freeUdpPort, PortAllocator } from "./ports.ts";
import { defaultSip, labRealFreeswitchLimits, type Topology } from "./topology.ts";

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

export interface EmbeddedPlanRequest {
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
  const ports = new PortAllocator();
  const take = () => ports.take();
  const node = (file: string) => ({ command: process.execPath, args: ["--enable-source-maps", file] });
  const logFile = (name: string) => join(runDir, `${name}.log`);
  const components: ComponentState[] = [];

  // NATS: one server, or a JetStream cluster whose routes run on loopback.
  const nats: { name: string; client: number; monitor: number; route: number }[] = [];
  for (const name of topology.nats.nodes)
    nats.push({ name, client: await take(), monitor: await take(), route: cluster ? await take() : 0 });
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
  const sip = sipSpec ? await planSip(topology, sipSpec, runDir, await take()) : undefined;

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
      const eslPort = await take();
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
    const port = await take();
    const controlPort = await take();
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
  const links: LinkState[] = [];
  for (const link of topology.links)
    links.push({
      ...link,
      listen: { host: loopback, port: await take() },
      target: (eslTargets.get(link.to) ?? natsTargets.get(link.to)) as Endpoint,
    });
  let faultControlUrl: string | undefined;
  if (links.length > 0) {
    const controlPort = await take();
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
  const gateways: GatewayState[] = [];
  for (const spec of topology.gateways) {
    const url = request.gateway.kind === "url" ? request.gateway.url : `http://${loopback}:${await take()}`;
    const esl = through(spec.name, spec.freeswitch, eslTargets.get(spec.freeswitch) as Endpoint);
    const natsUrls = nats.map((n) => through(spec.name, n.name, natsTargets.get(n.name) as Endpoint));
    gateways.push({
      name: spec.name,
      url,
      freeswitch: spec.freeswitch,
      ...gatewayEnvironment(spec, esl, natsUrls, url, request),
    });
  }
  for (const gateway of gateways)
    components.push(gatewayComponent(gateway, request.gateway, built.gateway, logFile));

  // The calls pipeline, talking to NATS directly and to its gateway over the REST API.
  const pipelineGateway = gateways.find((g) => g.name === topology.calls?.gateway) as GatewayState;
  const pipeline = topology.calls
    ? await planCallsPipeline({
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
