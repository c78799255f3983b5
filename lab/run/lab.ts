import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { mintToken } from "../../src/contracts/bearer-token.ts";
import type { Scope } from "../../src/contracts/scopes.ts";
import { FakeSwitchControl } from "../../src/fakeswitch/control-client.ts";
import type { SampledProcess } from "../../src/harness/measure/process-sampler.ts";
import { newRunId } from "../../src/harness/report/summary.ts";
import { farEnds, type LabHandle } from "../../src/harness/run/lab-handle.ts";
import type { Fault } from "../../src/harness/run/scenario.ts";
import { isLoopbackHost } from "../../src/net/loopback.ts";
import { pidListeningOn, readProcStat } from "../../src/procfs/proc-stats.ts";
import { FaultControlClient } from "../faults/fault-control.ts";
import type { LinkFault, LinkFaultKind, ProxyStatus } from "../faults/fault-proxy.ts";
import { composeRuntime, planCompose } from "../plan/compose.ts";
import { type ExternalFreeswitch, type GatewayChoice, planEmbedded } from "../plan/embedded.ts";
import { isRealFreeswitch } from "../plan/embedded-freeswitch.ts";
import { portIsFree } from "../plan/ports.ts";
import { loadTopology, type Topology } from "../plan/topology.ts";
import { embeddedRuntime } from "./embedded-runtime.ts";
import { type Health, probeHealth } from "./health.ts";
import { defaultResultsDir, defaultStateFile } from "./paths.ts";
import type { LabRuntime } from "./runtime.ts";
import { labSipHandle } from "./sip-handle.ts";
import {
  type ComponentState,
  claimStateFile,
  LabAlreadyUpError,
  type LabMode,
  type LabSecrets,
  type LabState,
  type LinkState,
  readState,
  removeState,
  writeState,
} from "./state.ts";

export interface UpOptions {
  /** A shipped topology's name, a topology file, or a parsed topology. Default: single. */
  topology?: string | Topology;
  /** Default: embedded, or external when `external` is given. */
  mode?: LabMode;
  gateway?: GatewayChoice;
  external?: ExternalFreeswitch;
  fakeswitchProfile?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  /** The SIPp carrier's hold, over the topology's `sip.carrier.hold_ms`: the hold of a real FreeSWITCH's calls. */
  carrierHoldMs?: number;
  /**
   * A PostgreSQL server for the calls pipeline (the CLI passes `DATABASE_URL`); unset: PGlite in the lab's
   * folder. Kept with the lab's secrets: it may hold a password.
   */
  callsDatabaseUrl?: string;
  /** Where to record the lab for other shells (default .lab/state.json); null: nowhere, the lab lives in this process. */
  stateFile?: string | null;
  resultsDir?: string;
  /** Default: a new id naming the topology; also the name of its folder under `resultsDir`. */
  labId?: string;
  /** Aborting stops what was started and rejects. */
  signal?: AbortSignal;
}

interface ComponentStatus {
  name: string;
  kind: ComponentState["kind"];
  pid: number | undefined;
  running: boolean;
  health: Health;
  detail: string;
  endpoints: Record<string, string>;
}

interface LinkStatus extends LinkState {
  /** From the proxy; absent when its control API did not answer. */
  proxy?: Pick<ProxyStatus, "listening" | "connections" | "faults" | "bytes">;
}

export interface LabStatus {
  labId: string;
  mode: LabMode;
  topology: string;
  phase: LabState["phase"];
  startupMs: number | undefined;
  runDir: string;
  /** The calls pipeline's API, and its database (a PostgreSQL URL without its password). */
  calls?: { apiUrl: string; database: string };
  components: ComponentStatus[];
  links: LinkStatus[];
}

interface DownReport {
  /** Components whose processes would not go. */
  leftovers: string[];
  /** Ports of the lab still accepting connections. */
  busyPorts: number[];
}

export class NoLabError extends Error {
  override name = "NoLabError";
}

/** A fault aimed at a link or component the lab does not have (or at the wrong one of the two). */
export class TargetError extends Error {
  override name = "TargetError";
}

/** A scenario asked to run on the lab that is up, which lacks the gateway or double settings it needs. */
export class LabSettingsError extends Error {
  override name = "LabSettingsError";
}

const runtimes: Record<LabMode, LabRuntime> = {
  embedded: embeddedRuntime,
  external: embeddedRuntime,
  compose: composeRuntime,
};

/**
 * A running lab: start one (`Lab.up`), or attach to the one another shell started (`Lab.attach`); then read
 * its status, inject faults, and tear it down. The CLI, scenarios and tests all go through this class; the
 * harness's scenario runner through `handle()`.
 */
export class Lab {
  private constructor(
    readonly state: LabState,
    private readonly stateFile: string | null,
  ) {}

  static async up(options: UpOptions = {}): Promise<Lab> {
    const started = performance.now();
    const topology = withCarrierHold(
      typeof options.topology === "object" ? options.topology : loadTopology(options.topology ?? "single"),
      options.carrierHoldMs,
    );
    const mode = options.mode ?? (options.external ? "external" : "embedded");
    if ((mode === "external") !== (options.external !== undefined))
      throw new Error(
        "external mode and an external FreeSWITCH (--esl-host, --esl-port, --esl-password-file) go together",
      );
    const stateFile = options.stateFile === undefined ? defaultStateFile() : options.stateFile;
    if (stateFile) await Lab.refuseIfUp(stateFile);

    const labId = options.labId ?? newRunId(topology.name);
    const request = {
      topology,
      labId,
      runDir: join(options.resultsDir ?? defaultResultsDir, labId),
      secrets: newSecrets(options.callsDatabaseUrl),
      gateway: options.gateway ?? { kind: "ours" as const },
    };
    const state =
      mode === "compose"
        ? await planCompose(request)
        : await planEmbedded({
            ...request,
            external: options.external,
            fakeswitchProfile: options.fakeswitchProfile,
            gatewayEnv: options.gatewayEnv,
          });
    const lab = new Lab(state, stateFile);
    if (stateFile) claimStateFile(stateFile, state);
    try {
      await lab.runtime.start(state, () => lab.persist(), options.signal);
    } catch (error) {
      await lab.runtime.stop(state);
      if (stateFile) removeState(stateFile);
      throw error;
    }
    state.phase = "up";
    state.startupMs = Math.round(performance.now() - started);
    lab.persist();
    return lab;
  }

  /**
   * The lab recorded in `stateFile`. A record whose processes are all gone (a crash, a reboot) is stale:
   * its leftovers are stopped, the record removed, and NoLabError says so.
   */
  static async attach(stateFile = defaultStateFile()): Promise<Lab> {
    const state = readState(stateFile);
    if (!state) throw new NoLabError("no lab is up; start one with: npm run lab -- up");
    const lab = new Lab(state, stateFile);
    if (await lab.gone()) {
      await lab.runtime.stop(state);
      removeState(stateFile);
      throw new NoLabError(
        `no lab is up: lab ${state.labId} had stopped (none of its processes is left, as after a crash or reboot); removed its stale record ${stateFile}`,
      );
    }
    return lab;
  }

  private static async refuseIfUp(stateFile: string): Promise<void> {
    try {
      const running = await Lab.attach(stateFile);
      throw new LabAlreadyUpError(
        `lab ${running.state.labId} (${running.state.topology.name}, ${running.state.mode}) is already up; stop it first: npm run lab -- down`,
      );
    } catch (error) {
      if (!(error instanceof NoLabError)) throw error;
    }
  }

  get runtime(): LabRuntime {
    return runtimes[this.state.mode];
  }

  get secrets(): LabSecrets {
    return this.state.secrets;
  }

  component(name: string): ComponentState {
    const component = this.state.components.find((c) => c.name === name);
    if (component) return component;
    const isLink = this.state.links.some((l) => l.name === name);
    throw new TargetError(
      `${isLink ? `${name} is a link, not a component` : `no component ${JSON.stringify(name)}`}; components: ${this.state.components.map((c) => c.name).join(", ")}`,
    );
  }

  link(name: string): LinkState {
    const link = this.state.links.find((l) => l.name === name);
    if (link) return link;
    const isComponent = this.state.components.some((c) => c.name === name);
    const links = this.state.links.map((l) => l.name).join(", ") || "none";
    throw new TargetError(
      `${isComponent ? `${name} is a component, not a proxied link` : `no link ${JSON.stringify(name)}`}; proxied links: ${links}`,
    );
  }

  /** A gateway's base URL: the named one, or the first. */
  gatewayUrl(name?: string): string {
    const gateway = name ? this.state.gateways.find((g) => g.name === name) : this.state.gateways[0];
    if (!gateway) throw new Error(`no gateway ${JSON.stringify(name)}`);
    return gateway.url;
  }

  /** Client URLs of the NATS nodes, direct (not through a fault proxy): for subscribers that watch the lab. */
  natsUrls(): string[] {
    return this.state.components.filter((c) => c.kind === "nats").map((c) => c.endpoints.client as string);
  }

  /** Kamailio's SIP address and JSON-RPC address, unless the lab has no SIP (`sip: false`, external mode). */
  kamailio(): { sip: { host: string; port: number }; rpc: string } | undefined {
    const component = this.state.components.find((c) => c.kind === "kamailio");
    const url = component?.endpoints.sip;
    if (!component || !url) return undefined;
    const { hostname, port } = new URL(url);
    return { sip: { host: hostname, port: Number(port) }, rpc: component.endpoints.rpc as string };
  }

  /** The calls pipeline's API and database, when the lab runs one. */
  calls(): { apiUrl: string; databaseUrl: string } | undefined {
    const calls = this.state.calls;
    if (!calls) return undefined;
    const databaseUrl = calls.database.kind === "pglite" ? calls.database.url : this.secrets.callsDatabaseUrl;
    if (!databaseUrl) throw new Error("the lab's record lost the calls pipeline's DATABASE_URL");
    return { apiUrl: calls.apiUrl, databaseUrl };
  }

  /** This lab as the harness's scenario runner sees it. */
  handle(): LabHandle {
    const calls = this.calls();
    const sip = labSipHandle(this.state);
    return {
      topology: this.state.topology.name,
      mode: this.state.mode,
      gateways: this.state.gateways.map(({ name, url, freeswitch }) => {
        const component = this.component(freeswitch);
        const double = component.kind === "fakeswitch";
        // The lab knows what answers behind the FreeSWITCH it configured; not behind anyone else's.
        const destination = double
          ? farEnds.double
          : isRealFreeswitch(this.state.components, freeswitch)
            ? farEnds.freeswitch
            : undefined;
        return {
          name,
          url,
          ...(destination && { destination }),
          freeswitch: {
            name: freeswitch,
            double,
            runByLab: component.launch !== undefined || component.composeService !== undefined,
          },
        };
      }),
      ...(calls && { calls }),
      natsUrls: this.natsUrls(),
      jwtSecret: this.secrets.jwtSecret,
      processes: () => this.processes(),
      fault: async (target, fault) => {
        await this.fault(target, fault);
      },
      ...(sip ? { sip } : {}),
    };
  }

  /**
   * Local processes of the lab that are running, for CPU and memory sampling; Kamailio with its workers; and
   * an external FreeSWITCH on this machine, found by its ESL port, whose CPU is then the lab's, not other work.
   */
  processes(): SampledProcess[] {
    return this.state.components.flatMap((c) => {
      if (c.process)
        return [{ name: c.name, pid: c.process.pid, ...(c.kind === "kamailio" ? { group: true } : {}) }];
      const pid = this.externalFreeswitchPid(c);
      return pid === undefined ? [] : [{ name: c.name, pid }];
    });
  }

  /** How often an external FreeSWITCH not found on this machine is looked for again (a scan of /proc). */
  private static readonly externalLookupMs = 10_000;
  private readonly externalPids = new Map<string, { pid: number | undefined; at: number }>();

  private externalFreeswitchPid(component: ComponentState): number | undefined {
    const { health } = component;
    if (component.kind !== "freeswitch" || component.launch || component.composeService) return undefined;
    if (health.kind !== "esl" || !isLoopbackHost(health.endpoint.host)) return undefined;
    const known = this.externalPids.get(component.name);
    if (known?.pid !== undefined && readProcStat(known.pid)) return known.pid;
    if (known && known.pid === undefined && performance.now() - known.at < Lab.externalLookupMs)
      return undefined;
    const pid = pidListeningOn(health.endpoint.port);
    this.externalPids.set(component.name, { pid, at: performance.now() });
    return pid;
  }

  /** A bearer token the lab's gateways and calls API accept (signed with the lab's JWT secret); every scope by default. */
  token(scopes?: Scope[], ttlSec = 12 * 3600): Promise<string> {
    return mintToken(new TextEncoder().encode(this.secrets.jwtSecret), { scopes, ttlSec });
  }

  async status(): Promise<LabStatus> {
    const components = await Promise.all(
      this.state.components.map(async (c): Promise<ComponentStatus> => {
        const running = await this.runtime.running(this.state, c);
        const report = running
          ? await probeHealth(c.health, this.state)
          : { health: "down" as const, detail: "not running" };
        return {
          name: c.name,
          kind: c.kind,
          pid: c.process?.pid,
          running,
          ...report,
          endpoints: c.endpoints,
        };
      }),
    );
    let proxies: ProxyStatus[] = [];
    if (this.state.faultControlUrl)
      proxies = await this.faultControl()
        .links()
        .catch(() => []);
    return {
      labId: this.state.labId,
      mode: this.state.mode,
      topology: this.state.topology.name,
      phase: this.state.phase,
      startupMs: this.state.startupMs,
      runDir: this.state.runDir,
      ...(this.state.calls && {
        calls: {
          apiUrl: this.state.calls.apiUrl,
          database:
            this.state.calls.database.kind === "pglite"
              ? `${this.state.calls.database.url} (PGlite in ${this.state.calls.database.dir})`
              : this.state.calls.database.display,
        },
      }),
      components,
      links: this.state.links.map((link) => {
        const proxy = proxies.find((p) => p.name === link.name);
        return proxy
          ? {
              ...link,
              proxy: {
                listening: proxy.listening,
                connections: proxy.connections,
                faults: proxy.faults,
                bytes: proxy.bytes,
              },
            }
          : link;
      }),
    };
  }

  /**
   * Injects a fault and says what happened. Link faults (latency, bandwidth, blackhole, refuse) stay on until
   * cleared (`clear`); `cut` closes the link's open connections once. Component faults act on the process or
   * container; `delay-replies` and `event-burst` go to a FreeSWITCH double's control API. A name may be both
   * a link and a component ("nats-2"): the kind of fault tells which is meant.
   */
  async fault(target: string, fault: Fault): Promise<string> {
    switch (fault.kind) {
      case "cut": {
        const { cut } = await this.faultControl().cut(this.link(target).name, fault.mode);
        return `${target}: cut ${cut} connection${cut === 1 ? "" : "s"} with ${fault.mode.toUpperCase()}`;
      }
      case "clear":
        return this.clearFault(target);
      case "latency":
      case "bandwidth":
      case "blackhole":
      case "refuse": {
        const status = await this.faultControl().set(this.link(target).name, fault);
        return `${target}: ${describeFaults(status.faults)}`;
      }
      case "delay-replies":
        await this.doubleControl(target).delayReplies(fault.ms);
        return `${target}: ${fault.ms > 0 ? `answers every command ${fault.ms} ms late` : "answers commands at once"}`;
      case "event-burst":
        await this.doubleControl(target).eventBurst(fault.count, fault.event);
        return `${target}: fired ${fault.count} ${fault.event ?? "HEARTBEAT"} events at once`;
      default:
        return this.runtime.componentFault(this.state, this.component(target), fault.kind, () =>
          this.persist(),
        );
    }
  }

  /** Turns a link fault off (one kind, or all). */
  async clearFault(target: string, kind?: LinkFaultKind): Promise<string> {
    const status = await this.faultControl().clear(this.link(target).name, kind);
    return `${target}: ${describeFaults(status.faults)}`;
  }

  /** Stops everything, removes the record, and checks that no process or port is left behind. */
  async down(): Promise<DownReport> {
    const leftovers = await this.runtime.stop(this.state);
    const ports = this.state.components.flatMap((c) => c.ports);
    const busyPorts: number[] = [];
    for (const port of ports) if (!(await portIsFree("127.0.0.1", port))) busyPorts.push(port);
    if (this.stateFile) removeState(this.stateFile);
    return { leftovers, busyPorts };
  }

  private doubleControl(target: string): FakeSwitchControl {
    const component = this.component(target);
    const url = component.endpoints.control;
    if (component.kind !== "fakeswitch" || !url)
      throw new TargetError(`${target} is not a FreeSWITCH double; delay-replies and event-burst act on one`);
    return new FakeSwitchControl(url, this.secrets.controlToken);
  }

  private faultControl(): FaultControlClient {
    if (!this.state.faultControlUrl)
      throw new Error("this lab has no fault proxies (its topology proxies no link)");
    return new FaultControlClient(this.state.faultControlUrl, this.secrets.controlToken);
  }

  /** Nothing of the lab runs any more. */
  private async gone(): Promise<boolean> {
    const ours = this.state.components.filter((c) => c.process || c.composeService);
    if (ours.length === 0) return this.state.phase === "starting";
    const running = await Promise.all(ours.map((c) => this.runtime.running(this.state, c)));
    return !running.includes(true);
  }

  private persist(): void {
    if (this.stateFile) writeState(this.stateFile, this.state);
  }
}

/** The topology with its SIPp carrier holding each call `holdMs` (a topology without SIP has no carrier). */
export function withCarrierHold(topology: Topology, holdMs: number | undefined): Topology {
  if (holdMs === undefined || !topology.sip) return topology;
  return { ...topology, sip: { ...topology.sip, carrier: { ...topology.sip.carrier, holdMs } } };
}

/** A link's faults in words: "latency 50 ms ± 10 ms, refusing new connections". */
export function describeFaults(faults: LinkFault[]): string {
  return faults.length === 0 ? "no faults (forwarding normally)" : faults.map(describeFault).join(", ");
}

function describeFault(fault: LinkFault): string {
  switch (fault.kind) {
    case "latency":
      return `latency ${fault.ms} ms${fault.jitterMs ? ` ± ${fault.jitterMs} ms` : ""}`;
    case "bandwidth":
      return `bandwidth ${((fault.bytesPerSec * 8) / 1000).toFixed(0)} kbit/s`;
    case "blackhole":
      return "blackhole (connections held open, nothing forwarded)";
    case "refuse":
      return "refusing new connections";
  }
}

function newSecrets(callsDatabaseUrl: string | undefined): LabSecrets {
  return {
    eslPassword: randomBytes(18).toString("base64url"),
    jwtSecret: randomBytes(32).toString("base64url"),
    controlToken: randomBytes(18).toString("base64url"),
    ...(callsDatabaseUrl ? { callsDatabaseUrl } : {}),
  };
}
