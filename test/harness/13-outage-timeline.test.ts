import { describe, expect, it } from "vitest";
import { type HealthChange, outageTimeline } from "../../src/harness/measure/health-watcher.ts";

describe("outage timeline from /health changes", () => {
  it("times detection (first unhealthy poll) and recovery (the new ESL connection's start)", () => {
    const changes: HealthChange[] = [
      { atMs: 0, health: "ok", reconnects: 0, eslUpSinceMs: -5000 },
      { atMs: 5012, health: "down", reconnects: 0 },
      { atMs: 5230, health: "ok", reconnects: 1, eslUpSinceMs: 5221 },
    ];
    expect(outageTimeline(changes, { injectedAtMs: 5000, untilMs: 10_000 })).toEqual({
      injectedAtMs: 5000,
      detectedAtMs: 5012,
      detectMs: 12,
      recoveredAtMs: 5221,
      reconnectMs: 209,
      outageMs: 221,
      unseen: false,
    });
  });

  it("measures reconnection from the fault's clearing when the fault outlasted its detection (half-open)", () => {
    const changes: HealthChange[] = [
      { atMs: 0, health: "ok", reconnects: 0, eslUpSinceMs: 0 },
      { atMs: 3100, health: "down", reconnects: 0 },
      { atMs: 6150, health: "ok", reconnects: 1, eslUpSinceMs: 6140 },
    ];
    expect(outageTimeline(changes, { injectedAtMs: 0, clearedAtMs: 6000, untilMs: 20_000 })).toMatchObject({
      detectMs: 3100,
      reconnectMs: 140,
      outageMs: 6140,
    });
  });

  it("uses the poll time for a recovery that kept its ESL connection (NATS outage: degraded, then ok)", () => {
    const changes: HealthChange[] = [
      { atMs: 0, health: "ok", reconnects: 0, eslUpSinceMs: -100 },
      { atMs: 1040, health: "degraded", reconnects: 0, eslUpSinceMs: -100 },
      { atMs: 4020, health: "ok", reconnects: 0, eslUpSinceMs: -100 },
    ];
    expect(outageTimeline(changes, { injectedAtMs: 1000, clearedAtMs: 3000, untilMs: 9000 })).toMatchObject({
      detectMs: 40,
      recoveredAtMs: 4020,
      reconnectMs: 1020,
    });
  });

  it("notices a reconnect faster than one poll by the reconnect count, and reports no outage when nothing moved", () => {
    const changes: HealthChange[] = [
      { atMs: 0, health: "ok", reconnects: 2, eslUpSinceMs: 0 },
      { atMs: 1011, health: "ok", reconnects: 3, eslUpSinceMs: 1004 },
    ];
    expect(outageTimeline(changes, { injectedAtMs: 1000, untilMs: 2000 })).toMatchObject({
      recoveredAtMs: 1004,
      outageMs: 4,
      unseen: true,
    });
    expect(outageTimeline(changes.slice(0, 1), { injectedAtMs: 1000, untilMs: 2000 })).toEqual({
      injectedAtMs: 1000,
      unseen: false,
    });
  });

  it("leaves recovery open when the gateway never came back within the window", () => {
    const changes: HealthChange[] = [
      { atMs: 0, health: "ok" },
      { atMs: 120, health: "unreachable" },
    ];
    const timeline = outageTimeline(changes, { injectedAtMs: 100, untilMs: 1000 });
    expect(timeline).toMatchObject({ detectMs: 20 });
    expect(timeline.recoveredAtMs).toBeUndefined();
  });
});
