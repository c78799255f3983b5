import type { ComponentFaultKind } from "../../src/harness/run/scenario.ts";
import type { ComponentState, LabState } from "./state.ts";

/**
 * One way of running a lab's components: local processes (embedded and external modes) or Docker Compose.
 * Link faults go through the fault proxies' control API and do not depend on the runtime.
 */
export interface LabRuntime {
  /** Starts what the state describes; `persist` records progress (pids) as it is made. */
  start(state: LabState, persist: () => void, signal?: AbortSignal): Promise<void>;
  /** Stops everything; returns what would not stop. */
  stop(state: LabState): Promise<string[]>;
  /** Whether the component runs (a process alive, a container up). */
  running(state: LabState, component: ComponentState): Promise<boolean>;
  /** Applies a component fault and says what happened; `persist` records a restarted process. */
  componentFault(
    state: LabState,
    component: ComponentState,
    kind: ComponentFaultKind,
    persist: () => void,
  ): Promise<string>;
  /** Prints the components' logs to stdout: the last `lines` of each, then new lines as they come if `follow`. */
  showLogs(
    state: LabState,
    components: ComponentState[],
    options: { lines: number; follow: boolean },
  ): Promise<void>;
}
