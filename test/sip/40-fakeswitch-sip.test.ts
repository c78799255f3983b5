import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Kamailio, startKamailio } from "../../lab/kamailio/kamailio.ts";
import { freeUdpPort } from "../../lab/plan/ports.ts";
import { type SippRun, type SippScenario, startSipp } from "../../lab/sipp/sipp.ts";
import { type FakeSwitch, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { RawSession } from "../fakeswitch/helpers.ts";
import { missing } from "./binaries.ts";
import { startInboundCaller, until } from "./helpers.ts";

const T1 = 50;

describe.skipIf(missing("kamailio", "sipp"))("the FreeSWITCH double's SIP side through Kamailio", () => {
  let kamailio: Kamailio;
  const switches: FakeSwitch[] = [];
  const sessions: RawSession[] = [];
  let carrier: SippRun | undefined;

  beforeAll(async () => {
    const [kamailioPort, a, b] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    for (const port of [a, b]) {
      const fs = await startFakeSwitch({
        password: "ClueCon",
        sessionsPerSecond: 1000,
        sip: { port, outboundProxy: { host: "127.0.0.1", port: kamailioPort }, timers: { t1: T1 } },
      });
      switches.push(fs);
      const s = await RawSession.authed(fs.port);
      await s.command("event plain ALL");
      sessions.push(s);
    }
    kamailio = await startKamailio({
      port: kamailioPort,
      freeswitch: [a, b].map((port) => ({ host: "127.0.0.1", port })),
    });
    await until(async () => (await kamailio.dispatcher()).every((t) => t.active), 5000, "instances active");
  });
  afterEach(async () => {
    await carrier?.stop();
    carrier = undefined;
  });
  afterAll(async () => {
    for (const s of sessions) s.close();
    await kamailio?.stop();
    for (const fs of switches) await fs.close();
  });

  const startCarrier = async (scenario: SippScenario, holdMs = 300) => {
    const port = await freeUdpPort();
    carrier = startSipp({
      scenario,
      port,
      calls: 1,
      timeoutS: 10,
      timings: { ANSWER_MS: 50, HOLD_MS: holdMs, T1_MS: T1 },
    });
    await new Promise((r) => setTimeout(r, 150));
    return port;
  };
  const eventsOf = (s: RawSession, uuid: string) => s.events().filter((e) => e.uniqueId === uuid);

  it("an originate answered by SIPp: CHANNEL_ANSWER, then CHANNEL_HANGUP_COMPLETE NORMAL_CLEARING at SIPp's BYE", async () => {
    const port = await startCarrier("carrier-answer");
    const s = sessions[0]!;
    const reply = await s.command(
      `api originate {originate_timeout=5}sofia/external/1000@127.0.0.1:${port} &park()`,
    );
    const uuid = /^\+OK (\S+)/.exec(String(reply.body))?.[1];
    expect(uuid).toBeDefined();
    await until(() => eventsOf(s, uuid!).some((e) => e.name === "CHANNEL_HANGUP_COMPLETE"));
    const names = eventsOf(s, uuid!).map((e) => e.name);
    expect(names.indexOf("CHANNEL_PROGRESS")).toBeLessThan(names.indexOf("CHANNEL_ANSWER"));
    expect(names.indexOf("CHANNEL_ANSWER")).toBeLessThan(names.indexOf("CHANNEL_HANGUP_COMPLETE"));
    expect(eventsOf(s, uuid!).find((e) => e.name === "CHANNEL_HANGUP_COMPLETE")?.hangupCause).toBe(
      "NORMAL_CLEARING",
    );
    expect(await carrier!.exited).toBe(0);
  });

  it("a leg of another sofia profile stays off the wire: the double's own profile answers it", async () => {
    const s = sessions[0]!;
    const reply = await s.command(
      "api originate {fakeswitch_answer_delay_ms=0,fakeswitch_hold_ms=0}sofia/internal/1000@127.0.0.1:9 &park()",
    );
    const uuid = /^\+OK (\S+)/.exec(String(reply.body))?.[1];
    expect(uuid).toBeDefined();
    await until(() => eventsOf(s, uuid!).some((e) => e.name === "CHANNEL_HANGUP_COMPLETE"));
    // Over SIP, port 9 would never have answered.
    const names = eventsOf(s, uuid!).map((e) => e.name);
    expect(names).toContain("CHANNEL_ANSWER");
    expect(eventsOf(s, uuid!).find((e) => e.name === "CHANNEL_HANGUP_COMPLETE")?.hangupCause).toBe(
      "NORMAL_CLEARING",
    );
  });

  it("a 486 from SIPp fails the originate USER_BUSY", async () => {
    const port = await startCarrier("carrier-busy");
    const reply = await sessions[0]!.command(`api originate sofia/external/1000@127.0.0.1:${port} &park()`);
    expect(String(reply.body)).toBe("-ERR USER_BUSY\n");
    expect(await carrier!.exited).toBe(0);
  });

  it("a call SIPp never answers ends NO_ANSWER at originate_timeout, with a CANCEL SIPp accepts", async () => {
    const port = await startCarrier("carrier-no-answer");
    const reply = await sessions[0]!.command(
      `api originate {originate_timeout=1}sofia/external/1000@127.0.0.1:${port} &park()`,
    );
    expect(String(reply.body)).toBe("-ERR NO_ANSWER\n");
    expect(await carrier!.exited).toBe(0);
  });

  it("uuid_kill of an answered call sends BYE; SIPp takes it", async () => {
    const port = await startCarrier("carrier-answer", 10_000);
    const s = sessions[0]!;
    const reply = await s.command(`api originate sofia/external/1000@127.0.0.1:${port} &park()`);
    const uuid = /^\+OK (\S+)/.exec(String(reply.body))![1]!;
    await s.command(`api uuid_kill ${uuid}`);
    expect(await carrier!.exited).toBe(0);
    await until(() => eventsOf(s, uuid).some((e) => e.name === "CHANNEL_HANGUP_COMPLETE"));
  });

  it("inbound calls from SIPp land on one instance each (parked, ringing), and move when an instance stops", async () => {
    const inbound = async (calls: number) =>
      (await startInboundCaller(kamailio.port, calls, { RING_MS: 200, T1_MS: T1 })).exited;
    const parks = (s: RawSession) =>
      s.events().filter((e) => e.name === "CHANNEL_PARK" && e.callDirection === "inbound").length;
    expect(await inbound(4)).toBe(0);
    expect(parks(sessions[0]!)).toBe(2);
    expect(parks(sessions[1]!)).toBe(2);
    // Unanswered and CANCELled by the caller: ORIGINATOR_CANCEL, as FreeSWITCH. SIPp is done once the 487s
    // came; the double's hangup events may still be on their way.
    const hangups = () =>
      sessions[0]!
        .events()
        .filter((e) => e.name === "CHANNEL_HANGUP_COMPLETE" && e.callDirection === "inbound");
    await until(() => hangups().length === 2, 5000, "both hangups");
    expect(hangups().map((e) => e.hangupCause)).toEqual(["ORIGINATOR_CANCEL", "ORIGINATOR_CANCEL"]);

    await switches[1]!.close();
    expect(await inbound(4)).toBe(0);
    expect(parks(sessions[0]!)).toBe(6);
  });
});
