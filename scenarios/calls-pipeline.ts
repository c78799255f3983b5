import type { Thresholds } from "../src/harness/run/gates.ts";
import { seconds } from "./common.ts";
import type { FaultKind, Scenario } from "./types.ts";

const FAULT_AT = seconds(20);

/** Every accepted call is placed: none left queued or dead-lettered, whatever the fault. */
const ALL_PLACED: Thresholds = { "pipeline.unplaced": "==0", "pipeline.missing": "==0" };

/**
 * What each fault may cost, as gates: without one, every answered call has exactly one CDR, and sets up
 * within a second of the API accepting it. Late CDRs (written more than 5 s after the hangup) are counted
 * for every kind but gate none: on this 2-core machine they follow the other work on it (the CDR writer
 * and the API share PGlite's one thread), not the pipeline's faults. A gateway restart loses the hangups
 * of the calls that end while no gateway listens (FreeSWITCH keeps no events for a listener that is gone:
 * ADR-0011's "fs.events is not the billing source of truth"), and a NATS restart those published into it;
 * neither may leave a call unplaced. An orchestrator crash loses nothing: another orchestrator carries on,
 * and what the dead one held is redelivered after the consumer's ack wait.
 */
export const callsPipelineFaults: Readonly<Record<string, FaultKind>> = {
  none: {
    faults: [],
    gates: {
      ...ALL_PLACED,
      "pipeline.refused": "==0",
      "cdr.completeness": "==1",
      "pipeline.unfinished": "==0",
      "pipeline_setup.p95": "<1000",
    },
  },
  "gateway-restart": {
    faults: [{ at: FAULT_AT, target: "gateway", fault: { kind: "restart" }, label: "gateway-restart" }],
    gates: { ...ALL_PLACED, "pipeline.refused": "==0" },
  },
  "nats-restart": {
    // The API answers 503 queue_unavailable while JetStream is down: refused, not lost.
    faults: [{ at: FAULT_AT, target: "nats", fault: { kind: "restart" }, label: "nats-restart" }],
    gates: ALL_PLACED,
  },
  "orchestrator-crash": {
    faults: [
      {
        at: FAULT_AT,
        target: "calls-orchestrator-1",
        fault: { kind: "kill" },
        durationMs: seconds(5),
        // The gateway does not notice: no outage of its to time.
        outage: false,
        label: "orchestrator-crash",
      },
    ],
    gates: { ...ALL_PLACED, "pipeline.refused": "==0", "cdr.lost": "==0" },
  },
};

/**
 * POST /v1/calls at 200 calls/s for 60 s through the whole pipeline: calls API → JetStream → orchestrators →
 * the gateway's REST API → the FreeSWITCH double (answer after 100 ms, hold 1 s) → fs.events → CDR writer →
 * the database. Afterwards every accepted call is read back from the pipeline's database: setup latency
 * (API accept → answer), CDR completeness (answered calls with exactly one CDR), late CDRs, calls never
 * placed or never ended. `--fault <kind>` injects one fault 20 s in; `--fault each` runs the minute once
 * per fault kind, back to back, and reports each kind's losses on its own row.
 */
export const callsPipeline: Scenario = {
  name: "calls-pipeline",
  description:
    "POST /v1/calls at 200/s for 60 s through the calls pipeline; CDR completeness and setup latency (--fault <kind>|each)",
  lab: {
    fakeswitch: { "answer-delay": "100", hold: "1000" },
    // The events the CDR writer acts on, and CHANNEL_DESTROY, which the gateway's channel table needs (without
    // it the table only grows, and past 95 % of Max-Sessions admission refuses every originate). The rest
    // would cost the gateway, NATS and the writer.
    gatewayEnv: {
      FS_EVENTS:
        "CHANNEL_CREATE,CHANNEL_ANSWER,CHANNEL_HANGUP_COMPLETE,CHANNEL_DESTROY,BACKGROUND_JOB,HEARTBEAT",
    },
  },
  load: {
    connections: 32,
    maxInFlight: 2_000,
    requestTimeoutMs: 10_000,
    calls: { to: "+14155550100", from: "+15105550100", settleMs: seconds(30), lateCdrMs: seconds(5) },
  },
  phases: [
    {
      name: "warm-up",
      warmup: true,
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: seconds(2) },
    },
    { name: "none", schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: seconds(60) } },
  ],
  faults: callsPipelineFaults.none!.faults,
  gates: callsPipelineFaults.none!.gates,
  faultKinds: callsPipelineFaults,
  drainMs: seconds(3),
};
