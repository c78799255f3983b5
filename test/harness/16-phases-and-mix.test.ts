import { describe, expect, it } from "vitest";
import { intendedOffsets, plannedArrivals } from "../../src/harness/load/arrival.ts";
import { joinPhases, phaseIndexAt, stepPhases } from "../../src/harness/load/phases.ts";
import { RequestMixer } from "../../src/harness/load/request-mix.ts";
import { CallTracker } from "../../src/harness/measure/telecom.ts";

describe("phases joined into one schedule", () => {
  it("runs the steps back to back at their own rates, each step starting at once (no ramp between)", () => {
    const { schedule, placed } = joinPhases(stepPhases([10, 40], 1_000));
    expect(placed).toEqual([
      { name: "10/s", startMs: 0, endMs: 1_000, targetRate: 10, finalRate: 10 },
      { name: "40/s", startMs: 1_000, endMs: 2_000, targetRate: 40, finalRate: 40 },
    ]);
    expect(plannedArrivals(schedule)).toBe(50);
    const offsets = [...intendedOffsets(schedule)];
    expect(offsets.filter((t) => t < 1_000)).toHaveLength(10);
    expect(offsets[10]).toBe(1_000);
    expect(offsets[11]).toBeCloseTo(1_025, 6);
    expect(phaseIndexAt(placed, 999.9)).toBe(0);
    expect(phaseIndexAt(placed, 1_000)).toBe(1);
    // As the runner computes it: (t0 + 1000) - t0 can be a hair short of 1000.
    const t0 = 1_234.5678;
    expect(t0 + 1_000 - t0).toBeLessThan(1_000);
    expect(phaseIndexAt(placed, t0 + 1_000 - t0)).toBe(1);
    expect(phaseIndexAt(placed, 5_000)).toBe(1);
    expect(() => stepPhases([100, 50], 1_000)).toThrow(/rising/);
  });
});

describe("request mix", () => {
  /** A generator of fixed draws, cycled. */
  const draws = (...values: number[]) => {
    let i = 0;
    return () => values[i++ % values.length]!;
  };

  it("draws commands by weight, sends mid-call ones to a live call, and falls back to an originate when none is up", () => {
    const calls = new CallTracker(0);
    const mix = {
      weights: { originate: 1, hangup: 1 },
      gateways: { "http://127.0.0.1:1": { destination: "sofia/x", double: true } },
      holdMs: [1_000, 3_000] as const,
    };
    const mixer = new RequestMixer(mix, "token", calls, ["http://127.0.0.1:1"], draws(0.9, 0.5, 0.25));
    const fallback = mixer.next(); // 0.9 → hangup, no call up → originate; 0.5 → its hold: 2,000 ms
    expect(fallback).toMatchObject({ operation: "originate", fallback: true });
    expect(fallback.spec).toMatchObject({
      method: "POST",
      path: "/api/v1/fs/originate",
      headers: { authorization: "Bearer token" },
      body: {
        destination: "sofia/x",
        call_uuid: fallback.callUuid,
        variables: { fakeswitch_hold_ms: 2_000 },
      },
    });
    calls.attempt(fallback.callUuid);
    calls.accepted(fallback.callUuid, 1);
    calls.event("CHANNEL_ANSWER", fallback.callUuid, 2);
    const hangup = new RequestMixer(mix, "token", calls, ["http://127.0.0.1:1"], draws(0.9, 0)).next();
    expect(hangup).toMatchObject({ operation: "hangup", callUuid: fallback.callUuid, fallback: false });
    expect(hangup.spec.path).toBe(`/api/v1/fs/hangup/${fallback.callUuid}`);
    expect(calls.pickLive()).toBeUndefined(); // released: not hung up twice
    expect(() => new RequestMixer({ ...mix, weights: {} }, "t", calls, ["http://127.0.0.1:1"])).toThrow(
      /positive weight/,
    );
    expect(() => new RequestMixer(mix, "t", calls, ["http://127.0.0.1:2"])).toThrow(
      /a destination for every gateway, not for http:\/\/127.0.0.1:2/,
    );
  });

  it("sends originates to the gateways in turn, and a call's commands to the gateway that made it", () => {
    const calls = new CallTracker(0);
    const origins = ["http://127.0.0.1:1", "http://127.0.0.1:2"];
    const gateway = { destination: "sofia/x", double: true };
    const mix = { weights: { originate: 1 }, gateways: { [origins[0]!]: gateway, [origins[1]!]: gateway } };
    const mixer = new RequestMixer(mix, "token", calls, origins, () => 0);
    const made = [mixer.next(), mixer.next(), mixer.next()];
    expect(made.map((r) => r.spec.origin)).toEqual([origins[0], origins[1], origins[0]]);
    const second = made[1]!;
    calls.attempt(second.callUuid, second.origin);
    calls.accepted(second.callUuid, 1);
    calls.event("CHANNEL_ANSWER", second.callUuid, 2);
    const play = new RequestMixer({ ...mix, weights: { play: 1 } }, "token", calls, origins, () => 0).next();
    expect(play).toMatchObject({ operation: "play", callUuid: second.callUuid, origin: origins[1] });
    expect(play.spec.origin).toBe(origins[1]);
  });
});
