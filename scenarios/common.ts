import type { Thresholds } from "../src/harness/run/gates.ts";
import type { LoadSettings } from "./types.ts";

/**
 * ADR-0011's targets as gates: p95 command latency under 50 ms (here as callers see it: HTTP, from the
 * intended send time), p95 publish lag under 100 ms (ESL receive → NATS subscriber), resident memory under
 * 512 MB.
 */
export const ADR_GATES: Thresholds = {
  "command_latency.p95": "<50",
  "publish_lag.p95": "<100",
  "gateway_rss_mb.max": "<512",
};

/** ADR-0011: the gateway is back within 5 s of losing ESL; no caller is left hanging meanwhile. */
export const RECONNECT_GATES: Thresholds = {
  "reconnect_ms.max": "<5000",
  hung_commands: "==0",
  "outages.unrecovered": "==0",
};

/**
 * At least once: every event a gateway counted published is in a JetStream stream on
 * `fs.events` (the ground truth, read by the harness), and every event it received in the run was
 * published or dropped by its end.
 */
export const PUBLISHER_GATES: Thresholds = {
  events_unstored: "==0",
  "gateway.events_unbalanced": "==0",
};

/** Originates only, on a pool large enough for 2,000 calls/s at a few ms each. */
export const originateLoad = (overrides: Partial<LoadSettings> = {}): LoadSettings => ({
  connections: 64,
  maxInFlight: 5_000,
  requestTimeoutMs: 10_000,
  // No destination: each gateway's originates dial the far end its FreeSWITCH reaches (LabHandle).
  mix: { weights: { originate: 1 } },
  ...overrides,
});

export const seconds = (s: number): number => s * 1000;
