/** Runs an embedded lab's plan as local processes: start in dependency order, stop, process faults. */
import { rmSync } from "node:fs";
import { $ } from "zx";
import type { ComponentFaultKind } from "../../src/harness/run/scenario.ts";
import type { LabRuntime } from "./runtime.ts";
import { isRunning, signalProcess, startProcess, stopProcess } from "./service.ts";
import { type ComponentKind, type ComponentState, type LabState, secretValues } from "./state.ts";

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
