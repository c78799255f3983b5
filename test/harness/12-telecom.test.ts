import { describe, expect, it } from "vitest";
import { CallTracker } from "../../src/harness/measure/telecom.ts";

/** Synthetic calls on a clock that starts at 1000 ms. */
function callsOn(tracker: CallTracker) {
  return {
    answered(uuid: string, acceptAt: number, answerAt: number, hangupAt: number) {
      tracker.attempt(uuid);
      tracker.accepted(uuid, acceptAt);
      tracker.event("CHANNEL_CREATE", uuid, acceptAt + 1);
      tracker.event("CHANNEL_ANSWER", uuid, answerAt);
      tracker.event("CHANNEL_HANGUP_COMPLETE", uuid, hangupAt, { hangupCause: "NORMAL_CLEARING" });
    },
    busy(uuid: string, at: number) {
      tracker.attempt(uuid);
      tracker.accepted(uuid, at);
      tracker.event("CHANNEL_HANGUP_COMPLETE", uuid, at + 50, { hangupCause: "USER_BUSY" });
      tracker.event("BACKGROUND_JOB", uuid, at + 51, { jobResult: "-ERR USER_BUSY" });
    },
  };
}

describe("telecom figures", () => {
  it("computes ASR, call-setup latency and failures by cause", () => {
    const tracker = new CallTracker(1000);
    const calls = callsOn(tracker);
    calls.answered("a", 1000, 1020, 3000);
    calls.answered("b", 1100, 1150, 2100);
    calls.busy("c", 1200);
    // Refused by FreeSWITCH outright: no channel, only the job's -ERR.
    tracker.attempt("d");
    tracker.accepted("d", 1300);
    tracker.event("BACKGROUND_JOB", "d", 1310, { jobResult: "-ERR DESTINATION_OUT_OF_ORDER\n" });
    // Refused by the gateway: never seized.
    tracker.attempt("e");
    tracker.notAccepted("e", "429");
    const report = tracker.report(4000);
    expect(report).toMatchObject({
      attempts: 5,
      seizures: 4,
      answered: 2,
      asr: 0.5,
      refused: { "429": 1 },
      failedByCause: { USER_BUSY: 1, DESTINATION_OUT_OF_ORDER: 1 },
      hangupCauses: { NORMAL_CLEARING: 2, USER_BUSY: 1 },
      answeredBeforeAccept: 0,
    });
    expect(report.setupLatency.count).toBe(2);
    expect(report.setupLatency.min).toBeCloseTo(20, 1);
    expect(report.setupLatency.max).toBeCloseTo(50, 1);
  });

  it("integrates concurrent calls per second into erlangs", () => {
    const tracker = new CallTracker(1000);
    // Run time: call a is up from 0.5 s to 2.5 s, b from 1.0 s to 2.0 s; events arrive in time order.
    for (const uuid of ["a", "b"]) tracker.attempt(uuid);
    tracker.accepted("a", 1400);
    tracker.event("CHANNEL_ANSWER", "a", 1500);
    tracker.accepted("b", 1900);
    tracker.event("CHANNEL_ANSWER", "b", 2000);
    tracker.event("CHANNEL_HANGUP_COMPLETE", "b", 3000, { hangupCause: "NORMAL_CLEARING" });
    tracker.event("CHANNEL_HANGUP_COMPLETE", "a", 3500, { hangupCause: "NORMAL_CLEARING" });
    const report = tracker.report(5000);
    expect(report.series.map((r) => [r.second, r.erlangs, r.peak, r.concurrent])).toEqual([
      [0, 0.5, 1, 1],
      [1, 2, 2, 2],
      [2, 0.5, 2, 0],
      [3, 0, 0, 0],
    ]);
    expect(report.concurrentPeak).toBe(2);
    expect(report.erlangs).toBe(0.75); // 3 call-seconds over 4 s
    expect(report.series.map((r) => r.answered)).toEqual([1, 1, 0, 0]);
  });

  it("records an answer seen before its 202 as 0 ms setup, and offers only live answered calls", () => {
    const tracker = new CallTracker(0);
    tracker.attempt("x");
    tracker.event("CHANNEL_ANSWER", "x", 10);
    tracker.accepted("x", 12);
    tracker.attempt("y");
    tracker.accepted("y", 20);
    expect(tracker.pickLive(() => 0.99)).toBe("x");
    tracker.release("x");
    expect(tracker.pickLive()).toBeUndefined();
    const report = tracker.report(100);
    expect(report.answeredBeforeAccept).toBe(1);
    expect(report.setupLatency.max).toBe(0);
  });
});
