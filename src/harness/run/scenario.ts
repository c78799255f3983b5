import type { ArrivalSchedule } from "../load/arrival.ts";
import type { Thresholds } from "./gates.ts";

/**
 * A load scenario, declared in scenarios/<name>.ts: what the lab should run, the load in phases, the faults
 * to inject at given times, and the gates the run must pass.
 */
export interface Scenario {
  name: string;
  description: string;
  /** The lab topology a lab started for this scenario has (lab/topologies/<name>.yaml); default `single`. */
  topology?: string;
  /**
   * What the lab should run for this scenario: the FreeSWITCH double's profile, the gateway's environment,
   * the SIPp carrier's hold.
   */
  lab?: {
    /** Flags for the FreeSWITCH double's CLI (`npm run fakeswitch -- --help`), over the topology's profile. */
    fakeswitch?: Record<string, string>;
    gatewayEnv?: Record<string, string>;
    /**
     * How long the lab's SIPp carrier holds each call before its BYE (topology `sip.carrier.hold_ms`): the hold
     * of every call a real FreeSWITCH of the lab places, which no per-call setting reaches (see `RequestMix.holdMs`).
     */
    carrierHoldMs?: number;
  };
  load: LoadSettings;
  /**
   * Inbound SIP calls beside the HTTP load: a SIPp caller (lab/sipp/inbound-caller.xml) calling the lab's
   * Kamailio at each measured phase's `inboundRate`, started with the measured load and stopped after it.
   */
  inbound?: InboundCalls;
  /** Run one after another; warm-up phases first. */
  phases: readonly LoadPhase[];
  faults?: readonly FaultStep[];
  /** Gates on the whole measured run (k6 thresholds): `{ "command_latency.p95": "<50" }`. */
  gates: Thresholds;
  /**
   * Faults a run chooses among by name (`--fault <name>`): its faults and gates replace the scenario's, and
   * its one measured phase takes its name. `--fault each` runs that phase once per kind, back to back, each
   * with its faults (timed from the start of its turn) and its gates on its own figures (see
   * `applyFaultKind`). The scenario's own `faults` and `gates` are what runs without `--fault`.
   */
  faultKinds?: Readonly<Record<string, FaultKind>>;
  /**
   * A capacity search: each measured phase is gated on its own by these, the highest passing phase's rate is
   * reported as `capacity_cps`, and the run stops after the first failing phase.
   */
  capacity?: { gates: Thresholds };
  /** After the last phase, time for calls to end and their events to arrive. */
  drainMs: number;
}

/** One of a scenario's named faults: what is injected, and what must hold when it is. */
export interface FaultKind {
  faults: readonly FaultStep[];
  gates: Thresholds;
}

/** The load: the gateway's commands in a mix (`mix`), or new calls on the calls pipeline's API (`calls`). */
export interface LoadSettings {
  /** Keep-alive HTTP connections to the gateway (or to the calls API). */
  connections: number;
  /** Requests outstanding at most; a due request beyond it is dropped and counted, never delayed. */
  maxInFlight: number;
  /** Whole-request limit; a request without a response by then counts as hung. Default 5 s. */
  requestTimeoutMs?: number;
  mix?: RequestMix;
  calls?: CallsLoad;
}

/**
 * `POST /v1/calls` on the lab's calls API (`calls:write` token), one new call per request. The run keeps
 * each accepted call's id, and after the load asks the pipeline's database how each one ended: statuses,
 * setup latency, and whether each answered call got its CDR (the summary's `pipeline` section).
 */
export interface CallsLoad {
  to: string;
  from: string;
  /** Channel variables of every call (the FreeSWITCH double reads `fakeswitch_*` ones). */
  variables?: Readonly<Record<string, string | number | boolean>>;
  /** After the drain, how long calls still on their way (queued, ringing, up) get to end before the audit. */
  settleMs: number;
  /** A CDR written more than this after its call's hangup counts as late. */
  lateCdrMs: number;
}

export type Operation = "originate" | "play" | "transfer" | "hangup";
export const OPERATIONS: readonly Operation[] = ["originate", "play", "transfer", "hangup"];

export interface RequestMix {
  /**
   * Relative weights of the commands. play, transfer and hangup act on a random answered call that is still
   * up; with none up, an originate is sent instead (counted as `mix.fallbacks`).
   */
  weights: Readonly<Partial<Record<Operation, number>>>;
  /** Dial string each originate uses; unset: each gateway's own far end (`LabHandle.gateways[].destination`). */
  destination?: string;
  /** What an answered originate runs (`&name(args)`); default `park`, which any FreeSWITCH has. */
  application?: OriginateApplication;
  /**
   * Each call's hold time, uniform in [min, max] ms, sent to a FreeSWITCH double as its `fakeswitch_hold_ms`
   * originate variable. A real FreeSWITCH is not sent it (a gateway's caller policy may refuse the name): its
   * calls last as long as the far end holds them (in the lab: the SIPp carrier's `carrierHoldMs`). Unset: the
   * double's profile decides.
   */
  holdMs?: readonly [number, number];
  /** What play sends (uuid_broadcast). Default `tone_stream://%(100,0,440)`. */
  playFile?: string;
  /**
   * Where transfer sends the call (uuid_transfer). Default extension `9999` in the channel's own context (an
   * originated call's is `default`, where the lab's FreeSWITCH parks 9999).
   */
  transfer?: TransferTarget;
}

export interface TransferTarget {
  extension: string;
  context?: string;
}

export interface OriginateApplication {
  name: string;
  args?: string;
}

export interface InboundCalls {
  /** A call not answered within this is CANCELled (a caller that gives up). */
  ringMs: number;
  /** An answered call is held this long, then the caller sends BYE. */
  holdMs: number;
}

export interface LoadPhase {
  name: string;
  schedule: ArrivalSchedule;
  /** Inbound SIP calls a second during this phase (the scenario's `inbound` caller); default 0. */
  inboundRate?: number;
  /**
   * Warms the JIT and connection pools before measuring: recorded in the summary, never gated, not in the
   * run's totals; fault times count from the end of the warm-up.
   */
  warmup?: boolean;
}

/** What can be done to a component (a process or a container), as opposed to a link: the one list. */
export const componentFaultKinds = ["stop", "kill", "start", "restart", "pause", "resume"] as const;
export type ComponentFaultKind = (typeof componentFaultKinds)[number];

/** A fault the lab applies to a link (through its fault proxy) or a component (a process, the double). */
export type Fault =
  /** Every open connection of a link closed at once, by FIN or by RST. */
  | { kind: "cut"; mode: "fin" | "rst" }
  | { kind: "latency"; ms: number; jitterMs?: number }
  | { kind: "bandwidth"; bytesPerSec: number }
  /** The link holds bytes without forwarding them: a half-open connection (new ones are accepted). */
  | { kind: "blackhole" }
  /** New connections are refused (nothing listens); open ones are left alone. */
  | { kind: "refuse" }
  /** Every fault on a link off. */
  | { kind: "clear" }
  | { kind: ComponentFaultKind }
  /** The FreeSWITCH double fires `count` events at once (default HEARTBEAT). */
  | { kind: "event-burst"; count: number; event?: string }
  /** The FreeSWITCH double answers every command `ms` late (0 restores). */
  | { kind: "delay-replies"; ms: number };

/**
 * A component named by its role, which the lab resolves to a name before the run: the FreeSWITCH (double,
 * real or external) that the lab's `gateway`-th gateway (1-based) is connected to.
 */
export interface FreeswitchRole {
  role: "freeswitch";
  gateway: number;
}

/** The FreeSWITCH of the lab's first gateway: `fakeswitch` on single, `freeswitch` on single-real. */
export const FIRST_FREESWITCH: FreeswitchRole = { role: "freeswitch", gateway: 1 };

export interface FaultStep {
  /** ms after the measured load starts. */
  at: number;
  /** A link of the lab (`esl`, `nats`), a component (`nats`, `gateway`), or a FreeSWITCH by its role. */
  target: string | FreeswitchRole;
  fault: Fault;
  /** When set, the fault is undone this long after it was applied (see `undoFault`). */
  durationMs?: number;
  /**
   * Whether the gateway should notice this fault (ESL or NATS down): the run then times detection (gateway
   * /health leaves "ok") and recovery (back to "ok"), counts commands failed and hung, and events lost.
   * Default true.
   */
  outage?: boolean;
  /** A short name for tables and chart markers; default `<target> <kind>`. */
  label?: string;
}

/** The fault that undoes `fault`, or undefined for one that is over as soon as it is applied (a cut, a restart). */
export function undoFault(fault: Fault): Fault | undefined {
  switch (fault.kind) {
    case "latency":
    case "bandwidth":
    case "blackhole":
    case "refuse":
      return { kind: "clear" };
    case "stop":
    case "kill":
      return { kind: "start" };
    case "pause":
      return { kind: "resume" };
    case "delay-replies":
      return { kind: "delay-replies", ms: 0 };
    default:
      return undefined;
  }
}

export const faultLabel = (step: FaultStep): string =>
  step.label ??
  `${targetName(step.target)} ${step.fault.kind}${step.fault.kind === "cut" ? ` ${step.fault.mode.toUpperCase()}` : ""}`;

/** A fault target in words: its name, or its role. */
export const targetName = (target: FaultStep["target"]): string =>
  typeof target === "string" ? target : `the FreeSWITCH of gateway ${target.gateway}`;
