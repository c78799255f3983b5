import { describe, expect, it } from "vitest";
import { CallCompleteness } from "../../src/harness/measure/call-completeness.ts";

describe("CallCompleteness", () => {
  it("a call announced with its job uuid is complete once all four lifecycle events arrived", () => {
    const calls = new CallCompleteness();
    calls.expect("call-a", "job-a");
    calls.observe("CHANNEL_CREATE", "call-a", undefined);
    calls.observe("CHANNEL_ANSWER", "call-a", undefined);
    calls.observe("CHANNEL_HANGUP_COMPLETE", "call-a", undefined);
    expect(calls.report()).toMatchObject({ calls: 1, complete: 0, missing: { BACKGROUND_JOB: 1 } });
    calls.observe("BACKGROUND_JOB", null, "job-a");
    expect(calls.report()).toMatchObject({ calls: 1, complete: 1, incomplete: 0, examples: [] });
  });

  it("names what each incomplete call is missing", () => {
    const calls = new CallCompleteness();
    calls.expect("call-b");
    calls.observe("CHANNEL_CREATE", "call-b", undefined);
    calls.observe("CHANNEL_EXECUTE", "call-b", undefined); // not a lifecycle event: ignored
    expect(calls.report()).toMatchObject({
      incomplete: 1,
      missing: { CHANNEL_CREATE: 0, CHANNEL_ANSWER: 1, CHANNEL_HANGUP_COMPLETE: 1, BACKGROUND_JOB: 0 },
      examples: [
        {
          callUuid: "call-b",
          seen: ["CHANNEL_CREATE"],
          missing: ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
        },
      ],
    });
  });

  it("follows calls first seen in an event, and counts duplicates and unmatched jobs", () => {
    const calls = new CallCompleteness();
    for (const type of ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_CREATE"]) {
      calls.observe(type, "call-c", undefined);
    }
    calls.observe("BACKGROUND_JOB", null, "job-nobody-announced");
    expect(calls.report()).toMatchObject({ calls: 1, complete: 1, duplicates: 1, unmatchedJobs: 1 });
  });

  it("stops following new calls at its limit, counting their events", () => {
    const calls = new CallCompleteness(2);
    for (const id of ["1", "2", "3"]) calls.observe("CHANNEL_CREATE", id, undefined);
    calls.observe("CHANNEL_ANSWER", "3", undefined);
    expect(calls.report()).toMatchObject({ calls: 2, overflow: 2 });
  });
});

describe("calls whose originate failed", () => {
  it("owe no answer: a refused call with no channel is complete with its job, a busy one with its channel's end", () => {
    const calls = new CallCompleteness();
    calls.expect("refused");
    calls.expect("busy");
    calls.expect("busy-lost-hangup");
    // The gateway names an originate's call in its BACKGROUND_JOB event, so the job finds it by call uuid.
    calls.observe("BACKGROUND_JOB", "refused", "job-1", true);
    calls.observe("CHANNEL_CREATE", "busy", undefined);
    calls.observe("CHANNEL_HANGUP_COMPLETE", "busy", undefined);
    calls.observe("BACKGROUND_JOB", "busy", "job-2", true);
    calls.observe("CHANNEL_CREATE", "busy-lost-hangup", undefined);
    calls.observe("BACKGROUND_JOB", "busy-lost-hangup", "job-3", true);
    expect(calls.report()).toMatchObject({
      calls: 3,
      complete: 2,
      incomplete: 1,
      missing: { CHANNEL_CREATE: 0, CHANNEL_ANSWER: 0, CHANNEL_HANGUP_COMPLETE: 1, BACKGROUND_JOB: 0 },
      unmatchedJobs: 0,
    });
  });
});

describe("calls it was not told of", () => {
  it("can be left alone (another user's, or a warm-up's still up)", () => {
    const calls = new CallCompleteness(100, 20, false);
    calls.expect("ours");
    for (const event of ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"]) {
      calls.observe(event, "ours", undefined);
      calls.observe(event, "someone-elses", undefined);
    }
    expect(calls.report()).toMatchObject({ calls: 1, complete: 1, incomplete: 0 });
  });
});
