import { randomUUID } from "node:crypto";
import { freeUdpPort } from "../../lab/plan/ports.ts";
import { type SippOptions, type SippScenario, startSipp } from "../../lab/sipp/sipp.ts";
import type { EslEvent } from "../../src/esl/event.ts";
import { delay, type RawSession } from "../fakeswitch/helpers.ts";
import { normalise, numbersToN, type Probe } from "./probe.ts";

/**
 * The scripted ESL sessions of the differential suite. Each script runs against one target through its
 * Probe and records observations under stable check ids (`<group>.<what>`); docs/fidelity.md allows
 * divergences by these ids. A script runs alone on its target (the limits change the switch's settings).
 */
export interface Script {
  id: string;
  run(p: Probe): Promise<void>;
}

/** A uuid no switch has. */
const MISSING = "00000000-0000-4000-8000-000000000000";

/** Command sequences whose replies are compared one by one; each list runs in one session, in order. */
const REPLY_SEQUENCES: Record<string, string[]> = {
  api: [
    "api uuid_kill MISSING",
    "api uuid_exists MISSING",
    "api uuid_getvar MISSING foo",
    "api uuid_setvar MISSING foo bar",
    "api uuid_answer MISSING",
    "api uuid_broadcast MISSING tone_stream://%(100,0,440) aleg",
    "api uuid_bridge MISSING MISSING",
    "api uuid_transfer MISSING park XML default",
    "api uuid_dump MISSING",
    "api originate nosuchendpoint/1000 &park()",
    "api originate sofia/nosuchprofile/1000 &park()",
    "api nosuchcommand",

    "api echo hello world",
  ],
  events: [
    "event plain ALL",
    "event json CHANNEL_CREATE CHANNEL_ANSWER",
    "event xml BACKGROUND_JOB",
    "event plain NO_SUCH_EVENT",
    "event",
    "event foo BAR",
    "nixevent CHANNEL_CREATE",
    "nixevent",
    "noevents",
    "noevents",
  ],
  filter: [
    "filter Event-Name CHANNEL_CREATE",
    "filter Unique-ID MISSING",
    "filter delete Event-Name CHANNEL_CREATE",
    "filter delete Event-Name NOT_ADDED",
    "filter delete Unique-ID",
    "filter delete all",
    "filter",
    "filter Event-Name",
  ],
  session: [
    "myevents MISSING",
    "linger",
    "nolinger",
    "sendmsg",
    "sendmsg MISSING",
    "divert_events on",
    "bogus",
    "api",
    "bgapi",
  ],
  log: ["log 7", "nolog", "nolog", "log 99", "log -1", "log debug", "log foo", "log", "nolog"],
};

const replySequences: Script[] = Object.entries(REPLY_SEQUENCES).map(([group, commands]) => ({
  id: group,
  async run(p) {
    const s = await p.session();
    for (const command of commands) {
      const line = command.replaceAll("MISSING", MISSING);
      if (!(await p.reply(`${group}.${command}`, s, line))) return;
    }
  },
}));

/** The texts of the core, with their numbers as N (uptime, counters, idle cpu). */
const coreTexts: Script = {
  id: "core",
  async run(p) {
    const s = await p.session();
    await p.reply("core.api status", s, "api status", numbersToN);
    await p.reply("core.api version", s, "api version");
    await p.reply("core.api uptime", s, "api uptime", numbersToN);
    // The machine's name, or the double's `fakeswitch`: only its form is compared.
    await p.reply("core.api hostname", s, "api hostname", (name) => name.replace(/^[\w.-]+$/, "<hostname>"));
  },
};

/** The greeting, a command before auth, a wrong password. */
const auth: Script = {
  id: "auth",
  async run(p) {
    const greeted = await p.session(false);
    p.record("auth.greeting", framesAfter(greeted, 0));
    await p.reply("auth.api before auth", greeted, "api status");
    const wrong = await p.session(false);
    await p.reply("auth.wrong password", wrong, "auth not-the-password");
    await wrong.until(() => wrong.closed).catch(() => undefined);
    p.record("auth.wrong password: then", `${framesAfter(wrong, 2)}; closed: ${wrong.closed}`);
  },
};

/** `exit`: its reply, the disconnect notice, the close. */
const exit: Script = {
  id: "disconnect",
  async run(p) {
    const s = await p.session();
    await p.reply("disconnect.exit", s, "exit");
    await s.until(() => s.closed).catch(() => undefined);
    p.record("disconnect.exit: then", `${framesAfter(s, 1)}; closed: ${s.closed}`);
  },
};

/** Frames from index `from` on, as content type, header names and normalised body. */
function framesAfter(s: RawSession, from: number): string {
  return s.frames
    .slice(from)
    .map(
      (f) =>
        `${f.contentType} [${f.headers.map(([k]) => k).join(",")}] ${JSON.stringify(normalise(f.bodyText()))}`,
    )
    .join(" | ");
}

/** bgapi's reply and its BACKGROUND_JOB: headers and body. */
const bgapi: Script = {
  id: "bgapi",
  async run(p) {
    const s = await p.session();
    await s.command("event plain BACKGROUND_JOB");
    for (const command of ["status", "nosuchcommand"]) {
      const check = `bgapi.${command}`;
      const reply = await p.reply(check, s, `bgapi ${command}`);
      const job = reply?.header("Job-UUID");
      const event = await nextEvent(s, (e) => e.jobUuid === job);
      if (!event) continue;
      p.record(`${check}: BACKGROUND_JOB headers`, { set: [...event.headerNames()] });
      p.record(
        `${check}: BACKGROUND_JOB body`,
        command === "status" ? numbersToN(event.body) : normalise(event.body),
      );
    }
  },
};

async function nextEvent(
  s: RawSession,
  wanted: (e: EslEvent) => boolean,
  ms = 5_000,
): Promise<EslEvent | undefined> {
  const found = () => s.events().find(wanted);
  await s.until(() => found() !== undefined, ms).catch(() => undefined);
  return found();
}

/** A SIPp far end for one script: its port, stopped (and its folder left in tmp) whatever happens. */
async function withSipp<T>(
  scenario: SippScenario,
  timings: SippOptions["timings"],
  calls: number,
  body: (port: number) => Promise<T>,
): Promise<T> {
  const port = await freeUdpPort();
  const sipp = startSipp({ scenario, timings, port, calls, timeoutS: 20 });
  try {
    await delay(150); // SIPp binds its port shortly after it starts.
    return await body(port);
  } finally {
    await sipp.stop();
  }
}

/** A short answer and hold, so a call's whole life fits in a second. */
const ANSWERING = { ANSWER_MS: 100, HOLD_MS: 400 };

/** myevents with a uuid of a live call, linger, nolinger, and sendmsg to that call. */
const controlledSession: Script = {
  id: "myevents",
  async run(p) {
    await withSipp("carrier-answer", { ANSWER_MS: 100, HOLD_MS: 5_000 }, 1, async (port) => {
      const s = await p.session();
      const uuid = randomUUID();
      await p.reply(
        "myevents.originate",
        s,
        `api originate {origination_uuid=${uuid}}${sofiaLeg(port)} &park()`,
      );
      await p.reply("myevents.myevents <live uuid>", s, `myevents ${uuid}`);
      await p.reply("myevents.myevents again", s, `myevents ${uuid}`);
      await p.reply("myevents.linger", s, "linger");
      await p.reply("myevents.linger 5", s, "linger 5");
      await p.reply("myevents.nolinger", s, "nolinger");
      await p.reply("myevents.divert_events on", s, "divert_events on");
      await p.reply(
        "myevents.sendmsg hangup",
        s,
        `sendmsg ${uuid}\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n`,
      );
      const destroy = await nextEvent(s, (e) => e.name === "CHANNEL_DESTROY" && e.uniqueId === uuid);
      p.record(
        "myevents.events of the call after myevents",
        destroy ? "CHANNEL_DESTROY seen" : "no CHANNEL_DESTROY",
      );
    });
  },
};

const sofiaLeg = (port: number, user = "1000") => `sofia/external/${user}@127.0.0.1:${port}`;

/** The event sequence of every leg of one call, and the header names of each kind of event on it. */
async function callOutcome(
  p: Probe,
  outcome: string,
  opts: {
    scenario: SippScenario;
    timings?: SippOptions["timings"];
    calls?: number;
    variables?: string;
    application?: (port: number, legB: string) => string;
  },
): Promise<void> {
  await withSipp(opts.scenario, opts.timings ?? ANSWERING, opts.calls ?? 1, async (port) => {
    const s = await p.session();
    await s.command("event plain ALL");
    const [a, b] = [randomUUID(), randomUUID()];
    const legs = opts.application ? [a, b] : [a];
    const app = opts.application?.(port, b) ?? "&park()";
    const vars = [`origination_uuid=${a}`, ...(opts.variables ? [opts.variables] : [])].join(",");
    const reply = await p.command(s, `bgapi originate {${vars}}${sofiaLeg(port)} ${app}`);
    const job = reply?.header("Job-UUID");
    // A leg's last event is its CHANNEL_STATE(CS_DESTROY), after CHANNEL_DESTROY: wait for it rather than a
    // fixed time (a CI run on a loaded machine cut leg b's sequence short after 100 ms).
    const destroyed = () =>
      legs.every((leg) =>
        s
          .events()
          .some((e) => e.name === "CHANNEL_STATE" && e.channelState === "CS_DESTROY" && e.uniqueId === leg),
      );
    await s.until(destroyed, 10_000).catch(() => undefined);
    await delay(100); // anything else still on its way
    const events = s.events();
    const bg = events.find((e) => e.name === "BACKGROUND_JOB" && e.jobUuid === job);
    p.record(`call.${outcome}.BACKGROUND_JOB body`, bg ? normalise(bg.body) : "none");
    legs.forEach((leg, i) => {
      const mine = events.filter((e) => e.uniqueId === leg);
      const check = `call.${outcome}.${legs.length > 1 ? `leg ${"ab"[i]} ` : ""}`;
      p.record(`${check}events`, inRaceFreeOrder(mine.map(label)).join(" "));
      const names = new Map<string, Set<string>>();
      for (const e of mine) {
        const set = names.get(e.name) ?? new Set<string>();
        for (const n of e.headerNames()) set.add(n);
        names.set(e.name, set);
      }
      for (const [name, set] of names) p.record(`${check}headers of ${name}`, { set: [...set] });
    });
  });
}

/**
 * FreeSWITCH's state machine thread and sofia's thread race after an outgoing INVITE: the 180's
 * CHANNEL_PROGRESS and CHANNEL_CALLSTATE(RINGING) come before or after CHANNEL_STATE(CS_CONSUME_MEDIA) (both
 * seen on the same build, a CI run on a loaded machine got the other order). Compared in one order: the state
 * change first.
 */
function inRaceFreeOrder(labels: string[]): string[] {
  const ringing = new Set(["CHANNEL_PROGRESS", "CHANNEL_CALLSTATE(RINGING)"]);
  const out = [...labels];
  const at = out.indexOf("CHANNEL_STATE(CS_CONSUME_MEDIA)");
  let first = at;
  while (first > 0 && ringing.has(out[first - 1] as string)) first--;
  if (at > first) out.splice(first, 0, ...out.splice(at, 1));
  return out;
}

/** An event in a sequence: its name, with the state, call state or application that tells them apart. */
function label(e: EslEvent): string {
  const detail =
    e.name === "CHANNEL_STATE"
      ? e.channelState
      : e.name === "CHANNEL_CALLSTATE"
        ? e.callState
        : e.name.startsWith("CHANNEL_EXECUTE")
          ? e.get("Application")
          : undefined;
  return detail ? `${e.name}(${detail})` : e.name;
}

const calls: Script[] = [
  { id: "call.answer", run: (p) => callOutcome(p, "answer", { scenario: "carrier-answer" }) },
  {
    id: "call.busy",
    run: (p) => callOutcome(p, "busy", { scenario: "carrier-busy", timings: { ANSWER_MS: 100 } }),
  },
  {
    id: "call.no-answer",
    run: (p) =>
      callOutcome(p, "no-answer", { scenario: "carrier-no-answer", variables: "originate_timeout=1" }),
  },
  {
    id: "call.bridge",
    run: (p) =>
      callOutcome(p, "bridge", {
        scenario: "carrier-answer",
        calls: 2,
        application: (port, b) => `&bridge({origination_uuid=${b}}${sofiaLeg(port, "2000")})`,
      }),
  },
];

/**
 * The limits: `fsctl pause`, sessions-per-second and max-sessions, each set at runtime, an originate
 * refused, then restored. The far end is busy at once, so an admitted originate ends quickly.
 */
const limits: Script = {
  id: "limits",
  async run(p) {
    await withSipp("carrier-busy", { ANSWER_MS: 0 }, 20, async (busy) => {
      const s = await p.session();
      const originate = `api originate ${sofiaLeg(busy)} &park()`;
      await p.reply("limits.fsctl pause", s, "api fsctl pause", numbersToN);
      await p.reply("limits.originate while paused", s, originate);
      await p.reply("limits.fsctl resume", s, "api fsctl resume", numbersToN);
      await p.reply("limits.fsctl sps 1", s, "api fsctl sps 1", numbersToN);
      // The new budget counts from the next once-a-second refill; then the first session takes it to 0.
      await delay(1_100);
      await p.reply("limits.originate past sessions-per-second", s, originate);
      await p.reply("limits.fsctl sps 30", s, "api fsctl sps 30", numbersToN);
      // As with lowering it: the raised budget counts from the next refill, and this second's is spent.
      await delay(1_100);
    });
    await withSipp("carrier-answer", { ANSWER_MS: 0, HOLD_MS: 5_000 }, 1, async (answer) => {
      const s = await p.session();
      await p.reply("limits.fsctl max_sessions 1", s, "api fsctl max_sessions 1", numbersToN);
      await p.reply("limits.originate under max-sessions", s, `api originate ${sofiaLeg(answer)} &park()`);
      await p.reply("limits.originate past max-sessions", s, `api originate ${sofiaLeg(answer)} &park()`);
      await p.reply("limits.fsctl max_sessions 1000", s, "api fsctl max_sessions 1000", numbersToN);
      await p.command(s, "api hupall NORMAL_CLEARING");
    });
  },
};

export const SCRIPTS: readonly Script[] = [
  auth,
  coreTexts,
  ...replySequences,
  bgapi,
  controlledSession,
  ...calls,
  limits,
  exit,
];
