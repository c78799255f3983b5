import { roundTo } from "../round.ts";

/** What the gateway's /health says, in one word. */
export type GatewayHealth = "ok" | "degraded" | "down" | "unreachable";

/** A change of the gateway's health, seen at `atMs` (the `performance.now()` clock). */
export interface HealthChange {
  atMs: number;
  health: GatewayHealth;
  /** The ESL connection's start, from /health's `esl.uptime_sec` (exact, unlike the poll time). */
  eslUpSinceMs?: number;
  /** The gateway's ESL reconnect count. */
  reconnects?: number;
}

interface HealthBody {
  status?: string;
  esl?: { uptime_sec?: number; reconnects?: number; authenticated?: boolean };
}

/**
 * Polls a gateway's /health every `intervalMs` (10 ms: faults are timed to about that) and keeps the
 * changes only, so a long run stays small. 200 with status ok → "ok", 200 otherwise → "degraded" (NATS
 * down), 503 → "down" (ESL down), no answer → "unreachable". A reconnect faster than one poll shows as a
 * change of the reconnect count with the health still "ok".
 */
export class HealthWatcher {
  readonly changes: HealthChange[] = [];
  private readonly stopping = new AbortController();
  private readonly done: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly intervalMs = 10,
    private readonly maxChanges = 100_000,
  ) {
    this.done = this.loop();
  }

  async stop(): Promise<HealthChange[]> {
    this.stopping.abort();
    await this.done;
    return this.changes;
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const change = await this.poll(signal);
      const last = this.changes.at(-1);
      if (
        change &&
        this.changes.length < this.maxChanges &&
        (!last || last.health !== change.health || last.reconnects !== change.reconnects)
      ) {
        this.changes.push(change);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, this.intervalMs);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  private async poll(signal: AbortSignal): Promise<HealthChange | undefined> {
    try {
      // A poll is short and bounded by its own timeout; linking it to the stop signal would leave one
      // listener per poll on that signal (nodejs/node#55351).
      const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await response.json()) as HealthBody;
      const atMs = performance.now();
      const health: GatewayHealth =
        response.status === 503 ? "down" : body.status === "ok" ? "ok" : "degraded";
      const uptime = body.esl?.uptime_sec;
      return {
        atMs,
        health,
        ...(body.esl?.authenticated && typeof uptime === "number"
          ? { eslUpSinceMs: atMs - uptime * 1000 }
          : {}),
        ...(typeof body.esl?.reconnects === "number" ? { reconnects: body.esl.reconnects } : {}),
      };
    } catch {
      return signal.aborted ? undefined : { atMs: performance.now(), health: "unreachable" };
    }
  }
}

/** One fault as the gateway lived it, ms since the measured load started. */
export interface OutageTimeline {
  injectedAtMs: number;
  /** When the fault was undone (a step with a duration), if it was. */
  clearedAtMs?: number;
  /** The first poll after the injection that saw the gateway leave "ok". */
  detectedAtMs?: number;
  /** The gateway healthy again: its new ESL connection's start where it says so, else the first "ok" poll. */
  recoveredAtMs?: number;
  detectMs?: number;
  /** Recovery − the later of detection and clearing: how long the gateway took once it could reconnect. */
  reconnectMs?: number;
  /** Recovery − injection. */
  outageMs?: number;
  /** The gateway reconnected between two polls: it never looked unhealthy. */
  unseen: boolean;
}

/**
 * Detection and recovery of a fault injected at `injectedAtMs`, from the health changes, looking no further
 * than `untilMs` (the next fault's injection, or the end). Times in and out are on the same clock.
 */
export function outageTimeline(
  changes: readonly HealthChange[],
  window: { injectedAtMs: number; clearedAtMs?: number; untilMs: number },
): OutageTimeline {
  const { injectedAtMs, clearedAtMs, untilMs } = window;
  const before = [...changes].reverse().find((c) => c.atMs <= injectedAtMs);
  const after = changes.filter((c) => c.atMs > injectedAtMs && c.atMs <= untilMs);
  const base = { injectedAtMs, ...(clearedAtMs !== undefined ? { clearedAtMs } : {}) };
  const detected = after.find((c) => c.health !== "ok");
  if (!detected) {
    // A reconnect count that moved while every poll said "ok": down and up again between two polls.
    const reconnect = after.find(
      (c) => before?.reconnects !== undefined && c.reconnects !== before.reconnects,
    );
    if (!reconnect) return { ...base, unseen: false };
    const recoveredAtMs = reconnect.eslUpSinceMs ?? reconnect.atMs;
    return {
      ...base,
      detectedAtMs: recoveredAtMs,
      recoveredAtMs,
      ...durations(injectedAtMs, recoveredAtMs, recoveredAtMs, clearedAtMs),
      unseen: true,
    };
  }
  const recovered = after.find((c) => c.atMs > detected.atMs && c.health === "ok");
  // A new ESL connection says when it came up to the ms; an older one (a NATS outage) says nothing of recovery.
  const upSince = recovered?.eslUpSinceMs;
  const recoveredAtMs = !recovered
    ? undefined
    : upSince !== undefined && upSince > injectedAtMs
      ? Math.min(recovered.atMs, Math.max(upSince, detected.atMs))
      : recovered.atMs;
  return {
    ...base,
    detectedAtMs: detected.atMs,
    detectMs: roundTo(detected.atMs - injectedAtMs, 1),
    ...(recoveredAtMs !== undefined
      ? { recoveredAtMs, ...durations(injectedAtMs, detected.atMs, recoveredAtMs, clearedAtMs) }
      : {}),
    unseen: false,
  };
}

function durations(injectedAtMs: number, detectedAtMs: number, recoveredAtMs: number, clearedAtMs?: number) {
  return {
    detectMs: roundTo(detectedAtMs - injectedAtMs, 1),
    reconnectMs: roundTo(recoveredAtMs - Math.max(detectedAtMs, clearedAtMs ?? detectedAtMs), 1),
    outageMs: roundTo(recoveredAtMs - injectedAtMs, 1),
  };
}
