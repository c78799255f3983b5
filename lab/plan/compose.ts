import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { $ } from "zx";
import type { ComponentFaultKind } from "../../src/harness/run/scenario.ts";
import { repoRoot } from "../run/paths.ts";
import type { LabRuntime } from "../run/runtime.ts";
import type { ComponentState, LabSecrets, LabState, LinkState } from "../run/state.ts";
import type { GatewayChoice } from "./embedded.ts";
import { freePorts, freeUdpPort } from "./ports.ts";
import type { Topology } from "./topology.ts";

export const composeFile = join(repoRoot, "compose", "compose.yaml");
const eslTemplate = join(repoRoot, "lab", "freeswitch", "event_socket.conf.xml");
const loopback = "127.0.0.1";

/** Why no Docker engine can be used, or undefined when one answers. Only asks the local docker client. */
async function dockerEngineProblem(): Promise<string | undefined> {
  const info = await $({ quiet: true, nothrow: true })`docker info --format {{.ServerVersion}}`;
  if (info.exitCode === 0) return undefined;
  const reason = info.stderr.trim().split("\n").find(Boolean) ?? `docker info exited ${info.exitCode}`;
  return /command not found|ENOENT/.test(reason) ? "docker is not installed" : reason;
}

/**
 * compose/compose.yaml describes the `single` topology with our gateway and Kamailio (no SIPp carrier: a
 * real FreeSWITCH's outbound calls go where their dial strings say); the lab fills in ports and secrets.
 */
export async function planCompose(request: {
  topology: Topology;
  labId: string;
  runDir: string;
  secrets: LabSecrets;
  gateway: GatewayChoice;
}): Promise<LabState> {
  const { topology, labId } = request;
  if (topology.name !== "single")
    throw new Error(`compose mode runs compose/compose.yaml, the single topology; not ${topology.name}`);
  if (request.gateway.kind !== "ours")
    throw new Error(
      "--gateway-cmd and --gateway-url are for embedded and external modes; compose builds our gateway",
    );
  const problem = await dockerEngineProblem();
  if (problem) throw new Error(`compose mode needs a Docker engine, and none was found: ${problem}`);
  mkdirSync(request.runDir, { recursive: true });
  const [gatewayPort, controlPort, natsPort, monitorPort, kamailioCtlPort] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const [kamailioSipPort, kamailioRpcPort] = [await freeUdpPort(), await freeUdpPort()];
  const gatewayUrl = `http://${loopback}:${gatewayPort}`;
  const controlUrl = `http://${loopback}:${controlPort}`;
  const monitorUrl = `http://${loopback}:${monitorPort}`;
  const container = (
    name: string,
    kind: ComponentState["kind"],
    endpoints: Record<string, string>,
    ports: number[],
  ) =>
    ({
      name,
      kind,
      composeService: name,
      endpoints,
      ports,
      health: { kind: "container", service: name },
    }) as ComponentState;
  return {
    version: 1,
    labId,
    mode: "compose",
    phase: "starting",
    topology,
    createdAt: new Date().toISOString(),
    runDir: request.runDir,
    secrets: request.secrets,
    components: [
      container("freeswitch", "freeswitch", { esl: "tcp://127.0.0.1:8021 (in its network namespace)" }, []),
      {
        ...container("nats", "nats", { client: `nats://${loopback}:${natsPort}`, monitor: monitorUrl }, [
          natsPort,
          monitorPort,
        ]),
        health: { kind: "nats", monitorUrl },
      },
      container(
        "kamailio",
        "kamailio",
        {
          sip: `udp://${loopback}:${kamailioSipPort}`,
          ctl: `tcp:${loopback}:${kamailioCtlPort}`,
          rpc: `udp:${loopback}:${kamailioRpcPort}`,
        },
        [kamailioCtlPort],
      ),
      {
        ...container("fault-proxy", "fault-proxy", { control: controlUrl }, [controlPort]),
        health: { kind: "fault-proxy", controlUrl },
      },
      {
        ...container("gateway", "gateway", { http: gatewayUrl }, [gatewayPort]),
        health: { kind: "gateway", url: gatewayUrl },
      },
    ],
    links: composeLinks(),
    faultControlUrl: controlUrl,
    gateways: [{ name: "gateway", url: gatewayUrl, freeswitch: "freeswitch", env: {}, secretEnv: {} }],
    composeProject: `fs-esl-lab-${labId.toLowerCase().replace(/[^a-z0-9]/g, "")}`,
  };
}

/** The proxied links as compose/compose.yaml declares them (addresses inside FreeSWITCH's network namespace). */
export function composeLinks(): LinkState[] {
  const compose = parse(readFileSync(composeFile, "utf8"), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  return JSON.parse(compose.services["fault-proxy"]?.environment?.FAULT_PROXY_LINKS ?? "[]") as LinkState[];
}

function secretsDir(state: LabState): string {
  return join(repoRoot, ".lab", `compose-${state.labId}`);
}

/** Runs `docker compose` for this lab: its project, and the ports and secrets folder the file interpolates. */
async function dockerCompose(
  state: LabState,
  args: string[],
  options: { nothrow?: boolean; inherit?: boolean } = {},
): Promise<string> {
  const endpoint = (name: string, role: string) =>
    state.components.find((c) => c.name === name)?.endpoints[role] ?? "";
  const port = (name: string, role: string) => new URL(endpoint(name, role)).port;
  const env = {
    ...process.env,
    LAB_GATEWAY_PORT: port("gateway", "http"),
    LAB_FAULT_CONTROL_PORT: port("fault-proxy", "control"),
    LAB_NATS_PORT: port("nats", "client"),
    LAB_NATS_MONITOR_PORT: port("nats", "monitor"),
    LAB_KAMAILIO_SIP_PORT: port("kamailio", "sip"),
    // kamcmd's and JSON-RPC's addresses are `tcp:127.0.0.1:<port>` and `udp:…`, not URLs.
    LAB_KAMAILIO_CTL_PORT: endpoint("kamailio", "ctl").split(":").at(-1) ?? "",
    LAB_KAMAILIO_RPC_PORT: endpoint("kamailio", "rpc").split(":").at(-1) ?? "",
    LAB_SECRETS_DIR: secretsDir(state),
  };
  const result = await $({
    env,
    cwd: repoRoot,
    quiet: !options.inherit,
    nothrow: options.nothrow ?? false,
    stdio: options.inherit ? "inherit" : "pipe",
  })`docker compose -f ${composeFile} -p ${state.composeProject ?? ""} ${args}`;
  return result.stdout;
}

/**
 * What compose/compose.yaml reads from $LAB_SECRETS_DIR: the secrets, and FreeSWITCH's event socket config
 * rendered from lab/freeswitch/event_socket.conf.xml. The folder is 0700; the files are readable by the
 * containers' unprivileged users, to whom compose bind-mounts them.
 */
export function writeComposeSecrets(dir: string, secrets: LabSecrets): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files: Record<string, string> = {
    esl_password: secrets.eslPassword,
    jwt_secret: secrets.jwtSecret,
    fault_control_token: secrets.controlToken,
    "event_socket.conf.xml": readFileSync(eslTemplate, "utf8").replace(
      "{{ESL_PASSWORD}}",
      secrets.eslPassword,
    ),
  };
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, name), content, { mode: 0o644 });
}

const verbs: Record<ComponentFaultKind, string> = {
  stop: "stop",
  kill: "kill",
  start: "start",
  restart: "restart",
  pause: "pause",
  resume: "unpause",
};

export const composeRuntime: LabRuntime = {
  async start(state, persist) {
    writeComposeSecrets(secretsDir(state), state.secrets);
    persist();
    await dockerCompose(state, ["up", "-d", "--build", "--wait", "--wait-timeout", "180"]);
  },
  async stop(state) {
    await dockerCompose(state, ["down", "-v", "--remove-orphans"], { nothrow: true });
    rmSync(secretsDir(state), { recursive: true, force: true });
    return [];
  },
  async running(state, component) {
    const ps = await dockerCompose(state, ["ps", "--format", "{{.State}}", component.composeService ?? ""], {
      nothrow: true,
    });
    return ps.trim() === "running";
  },
  async componentFault(state, component, kind) {
    await dockerCompose(state, [verbs[kind], component.composeService ?? ""]);
    return `docker compose ${verbs[kind]} ${component.composeService}: done`;
  },
  async showLogs(state, components, { lines, follow }) {
    const services = components.flatMap((c) => (c.composeService ? [c.composeService] : []));
    const args = ["logs", "--tail", String(lines), ...(follow ? ["-f"] : []), ...services];
    await dockerCompose(state, args, { nothrow: true, inherit: true });
  },
};
