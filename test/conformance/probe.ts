import type { EslFrame } from "../../src/esl/frame.ts";
import { RawSession } from "../fakeswitch/helpers.ts";
import type { Target } from "./targets.ts";

/**
 * What one check saw, normalised: a text (compared exactly), or a set of names (compared as sets, so a
 * divergence lists what only one side has).
 */
export type Observation = string | { set: string[] };

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Values that differ between any two runs (uuids) are replaced; everything else is kept. */
export const normalise = (text: string): string => text.replace(UUID, "<uuid>");

/** For texts made of counters and durations (`status`, `fsctl`): every number becomes N, `1 unit` as `N units`. */
export const numbersToN = (text: string): string =>
  normalise(text)
    .replace(/\d+(\.\d+)?/g, "N")
    .replace(/\bN ([a-z]+?)s?\b/g, "N $1s");

/** Headers every reply has: the observation names only the others (Job-UUID). */
const REPLY_FRAMING = new Set(["Content-Type", "Content-Length", "Reply-Text"]);

/** A reply frame as an observation: its type, its text, and any headers beyond the framing. */
export function replyShape(frame: EslFrame, rewrite: (text: string) => string = normalise): string {
  const text = frame.contentType === "command/reply" ? (frame.header("Reply-Text") ?? "") : frame.bodyText();
  const extra = frame.headers.map(([name]) => name).filter((name) => !REPLY_FRAMING.has(name));
  return `${frame.contentType} ${JSON.stringify(rewrite(text))}${extra.length ? ` [${extra.join(",")}]` : ""}`;
}

/**
 * One target's side of a check: its sessions, and what it recorded under each check id. Every session it
 * opens is closed by `close`, whatever happened.
 */
export class Probe {
  readonly observations = new Map<string, Observation>();
  private readonly sessions: RawSession[] = [];

  constructor(readonly target: Target) {}

  /** A new session, authenticated unless `authed` is false (then the auth/request is still in `frames`). */
  async session(authed = true): Promise<RawSession> {
    const s = authed
      ? await RawSession.authed(this.target.eslPort, this.target.password)
      : await RawSession.open(this.target.eslPort);
    this.sessions.push(s);
    return s;
  }

  record(check: string, observation: Observation): void {
    this.observations.set(check, observation);
  }

  /** Sends `command`, records the shape of its reply under `check` and returns the frame. */
  async reply(
    check: string,
    s: RawSession,
    command: string,
    rewrite?: (text: string) => string,
  ): Promise<EslFrame | undefined> {
    const frame = await this.command(s, command);
    this.record(check, frame ? replyShape(frame, rewrite) : "no reply within 5 s");
    return frame;
  }

  /** The reply to `command`, or undefined when none came within 5 s (the session is then out of step: closed). */
  async command(s: RawSession, command: string): Promise<EslFrame | undefined> {
    return s.command(command).catch(() => {
      s.close();
      return undefined;
    });
  }

  close(): void {
    for (const s of this.sessions) s.close();
  }
}
