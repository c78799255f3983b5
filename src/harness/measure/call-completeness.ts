/** The events that make up one call's life, as the gateway publishes them. */
export const CALL_LIFECYCLE = [
  "CHANNEL_CREATE",
  "CHANNEL_ANSWER",
  "CHANNEL_HANGUP_COMPLETE",
  "BACKGROUND_JOB",
] as const;
export type LifecycleEvent = (typeof CALL_LIFECYCLE)[number];

const CHANNEL_EVENTS: readonly LifecycleEvent[] = [
  "CHANNEL_CREATE",
  "CHANNEL_ANSWER",
  "CHANNEL_HANGUP_COMPLETE",
];

export interface IncompleteCall {
  callUuid: string;
  jobUuid?: string;
  seen: LifecycleEvent[];
  missing: LifecycleEvent[];
}

export interface CompletenessReport {
  /** Calls followed: those announced with `expect`, and those first seen in an event. */
  calls: number;
  complete: number;
  incomplete: number;
  /** For each lifecycle event, how many followed calls never got it. */
  missing: Record<LifecycleEvent, number>;
  /** Lifecycle events that arrived again for the same call (a double publish). */
  duplicates: number;
  /** BACKGROUND_JOB events whose job uuid no followed call announced. */
  unmatchedJobs: number;
  /** Events of calls left unfollowed because `maxCalls` calls were already followed. */
  overflow: number;
  /** The first incomplete calls, for a reader to look up (at most `maxExamples`). */
  examples: IncompleteCall[];
}

interface Followed {
  jobUuid?: string;
  /** When the call was announced (the caller's clock), to tell which calls an outage touched. */
  expectedAt?: number;
  /** Its originate's job ended `-ERR`: the call was never answered, and may never have had a channel. */
  failed?: boolean;
  seen: Set<LifecycleEvent>;
}

/**
 * Which lifecycle events arrived for each call. A call announced with its job uuid (the Job-UUID of the
 * bgapi originate that made it) expects all four events; any other call the three channel events. Announce
 * a call before sending the command that makes it: a BACKGROUND_JOB that comes first cannot be matched.
 */
export class CallCompleteness {
  private readonly calls = new Map<string, Followed>();
  private readonly callOfJob = new Map<string, string>();
  private duplicates = 0;
  private unmatchedJobs = 0;
  private overflow = 0;

  constructor(
    private readonly maxCalls = 100_000,
    private readonly maxExamples = 20,
    /** Whether a call first seen in an event is followed too; not when only the announced calls are ours. */
    private readonly followUnannounced = true,
  ) {}

  expect(callUuid: string, jobUuid?: string, atMs?: number): void {
    const call = this.follow(callUuid);
    if (!call) return;
    if (atMs !== undefined) call.expectedAt = atMs;
    if (jobUuid === undefined) return;
    call.jobUuid = jobUuid;
    this.callOfJob.set(jobUuid, callUuid);
  }

  /** The command that would have made the call was refused: no event is due for it. */
  withdraw(callUuid: string): void {
    const call = this.calls.get(callUuid);
    if (call?.jobUuid !== undefined) this.callOfJob.delete(call.jobUuid);
    this.calls.delete(callUuid);
  }

  /** Lifecycle events never received, summed over the calls announced between `fromMs` and `toMs`. */
  missingEventsOfCallsExpectedBetween(fromMs: number, toMs: number): number {
    let missing = 0;
    for (const call of this.calls.values()) {
      if (call.expectedAt === undefined || call.expectedAt < fromMs || call.expectedAt > toMs) continue;
      missing += expectedEvents(call).filter((name) => !call.seen.has(name)).length;
    }
    return missing;
  }

  /**
   * Takes any event; only lifecycle events count. A BACKGROUND_JOB belongs to the call that announced its
   * job, else to the call it names (the gateway names an originate's call in its job event); `jobFailed`
   * says its result was `-ERR …`.
   */
  observe(
    eventType: string,
    callUuid: string | null | undefined,
    jobUuid: string | null | undefined,
    jobFailed = false,
  ): void {
    if (!isLifecycleEvent(eventType)) return;
    let call: Followed | undefined;
    if (eventType === "BACKGROUND_JOB") {
      const owner = (jobUuid ? this.callOfJob.get(jobUuid) : undefined) ?? (callUuid || undefined);
      call = owner === undefined ? undefined : this.calls.get(owner);
      if (!call) {
        this.unmatchedJobs++;
        return;
      }
      if (jobFailed) call.failed = true;
    } else if (callUuid) {
      call = this.followUnannounced ? this.follow(callUuid) : this.calls.get(callUuid);
    }
    if (!call) return;
    if (call.seen.has(eventType)) this.duplicates++;
    else call.seen.add(eventType);
  }

  report(): CompletenessReport {
    const missing = Object.fromEntries(CALL_LIFECYCLE.map((name) => [name, 0])) as Record<
      LifecycleEvent,
      number
    >;
    const examples: IncompleteCall[] = [];
    let complete = 0;
    for (const [callUuid, call] of this.calls) {
      const absent = expectedEvents(call).filter((name) => !call.seen.has(name));
      if (absent.length === 0) {
        complete++;
        continue;
      }
      for (const name of absent) missing[name]++;
      if (examples.length < this.maxExamples) {
        const seen = CALL_LIFECYCLE.filter((name) => call.seen.has(name));
        examples.push({
          callUuid,
          ...(call.jobUuid ? { jobUuid: call.jobUuid } : {}),
          seen,
          missing: absent,
        });
      }
    }
    return {
      calls: this.calls.size,
      complete,
      incomplete: this.calls.size - complete,
      missing,
      duplicates: this.duplicates,
      unmatchedJobs: this.unmatchedJobs,
      overflow: this.overflow,
      examples,
    };
  }

  private follow(callUuid: string): Followed | undefined {
    const known = this.calls.get(callUuid);
    if (known) return known;
    if (this.calls.size >= this.maxCalls) {
      this.overflow++;
      return undefined;
    }
    const call: Followed = { seen: new Set() };
    this.calls.set(callUuid, call);
    return call;
  }
}

/**
 * A call announced with its job expects all four events, any other the three channel events. A failed call
 * (its job ended `-ERR`) is owed no answer: its channel's end if it had a channel, else nothing more.
 */
function expectedEvents(call: Followed): readonly LifecycleEvent[] {
  const all = call.jobUuid === undefined ? CHANNEL_EVENTS : CALL_LIFECYCLE;
  if (!call.failed) return all;
  const hadChannel = call.seen.has("CHANNEL_CREATE") || call.seen.has("CHANNEL_HANGUP_COMPLETE");
  return all.filter((name) => name === "BACKGROUND_JOB" || (hadChannel && name !== "CHANNEL_ANSWER"));
}

const isLifecycleEvent = (name: string): name is LifecycleEvent =>
  (CALL_LIFECYCLE as readonly string[]).includes(name);
