import { describe, expect, it } from "vitest";
import { api, DIAL, delay, doublePerTest, RawSession } from "./helpers.ts";

const start = doublePerTest();

describe("originate outcomes", () => {
  it("takes the outcome per call from fakeswitch_* variables, with the real hangup causes", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    expect(await api(s, `originate {fakeswitch_outcome=busy}${DIAL} &park()`)).toBe("-ERR USER_BUSY\n");
    expect(await api(s, `originate {fakeswitch_outcome=fail}${DIAL} &park()`)).toBe(
      "-ERR NORMAL_TEMPORARY_FAILURE\n",
    );
    expect(
      await api(
        s,
        `originate {fakeswitch_outcome=fail,fakeswitch_hangup_cause=UNALLOCATED_NUMBER}${DIAL} &park()`,
      ),
    ).toBe("-ERR UNALLOCATED_NUMBER\n");
    expect(await api(s, `originate {fakeswitch_outcome=reject}${DIAL} &park()`)).toBe("-ERR CALL_REJECTED\n");
    const t0 = Date.now();
    expect(await api(s, `originate {originate_timeout=1,fakeswitch_outcome=noanswer}${DIAL} &park()`)).toBe(
      "-ERR NO_ANSWER\n",
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(await api(s, `originate ${DIAL} &park()`)).toMatch(/^\+OK [0-9a-f-]{36}\n$/);
    s.close();
  });

  it("lets the far end hang up NORMAL_CLEARING after the hold time, with duration and billsec", async () => {
    const sw = await start({ profile: { answerDelayMs: 5, holdMs: 1100 } });
    const s = await RawSession.authed(sw.port);
    await s.command("event plain CHANNEL_HANGUP_COMPLETE");
    const ok = await api(s, `originate ${DIAL} &park()`);
    const uuid = ok.slice(4).trim();
    await s.until(() => s.events().some((e) => e.name === "CHANNEL_HANGUP_COMPLETE"), 3000);
    const e = s.events()[0];
    expect(e?.uniqueId).toBe(uuid);
    expect(e?.hangupCause).toBe("NORMAL_CLEARING");
    expect(e?.variable("sip_hangup_disposition")).toBe("recv_bye");
    expect(e?.variable("billsec")).toBe("1");
    expect(Number(e?.variable("billmsec"))).toBeGreaterThanOrEqual(1100);
    expect(sw.channelCount).toBe(0);
    s.close();
  });

  it("tries `|` groups in turn and rings `,` legs at once, the first answer winning", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain CHANNEL_HANGUP_COMPLETE");
    const seq = await api(
      s,
      `originate {origination_uuid=aaaaaaaa-0000-4000-8000-000000000001}[fakeswitch_outcome=busy]${DIAL}|[origination_uuid=aaaaaaaa-0000-4000-8000-000000000002]${DIAL} &park()`,
    );
    expect(seq).toBe("+OK aaaaaaaa-0000-4000-8000-000000000002\n");
    const sim = await api(
      s,
      `originate [fakeswitch_answer_delay_ms=200]${DIAL},[fakeswitch_answer_delay_ms=5,origination_uuid=bbbbbbbb-0000-4000-8000-000000000001]${DIAL} &park()`,
    );
    expect(sim).toBe("+OK bbbbbbbb-0000-4000-8000-000000000001\n");
    await s.until(() => s.events().some((e) => e.hangupCause === "LOSE_RACE"));
    expect(await api(s, "error/user_busy")).toBe("-ERR error/user_busy Command not found!\n");
    expect(await api(s, `originate error/user_busy,error/no_answer &park()`)).toBe("-ERR NO_ANSWER\n");
    expect(await api(s, "originate")).toMatch(/^-USAGE: /);
    s.close();
  });

  it("refuses past max-sessions and past sessions-per-second with DESTINATION_OUT_OF_ORDER", async () => {
    const sw = await start({ maxSessions: 2, sessionsPerSecond: 1000 });
    const s = await RawSession.authed(sw.port);
    expect(await api(s, `originate ${DIAL} &park()`)).toMatch(/^\+OK/);
    expect(await api(s, `originate ${DIAL} &park()`)).toMatch(/^\+OK/);
    expect(await api(s, `originate ${DIAL} &park()`)).toBe("-ERR DESTINATION_OUT_OF_ORDER\n");
    expect(await api(s, "fsctl max_sessions 3")).toBe("+OK max sessions: 3\n");
    expect(await api(s, `originate ${DIAL} &park()`)).toMatch(/^\+OK/);
    await api(s, "hupall");
    await s.until(() => sw.channelCount === 0);

    expect(await api(s, "fsctl sps 3")).toBe("+OK sessions per second: 3\n");
    const results: string[] = [];
    for (let i = 0; i < 3; i++) results.push(await api(s, `originate {fakeswitch_hold_ms=0}${DIAL} &park()`));
    // switch_core_session_request_uuid: `--runtime.sps <= 0` refuses, so sps N admits N-1 a second.
    expect(results.map((r) => r.slice(0, 4))).toEqual(["+OK ", "+OK ", "-ERR"]);
    expect(results[2]).toBe("-ERR DESTINATION_OUT_OF_ORDER\n");
    await delay(1100);
    expect(await api(s, `originate {fakeswitch_hold_ms=0}${DIAL} &park()`)).toMatch(/^\+OK/);

    expect(await api(s, "fsctl pause")).toBe("+OK\n");
    expect(await api(s, `originate ${DIAL} &park()`)).toBe("-ERR DESTINATION_OUT_OF_ORDER\n");
    expect(await api(s, "fsctl resume")).toBe("+OK\n");
    s.close();
  });
});

describe("uuid_* api commands", () => {
  it("getvar, setvar, exists, dump, answer, broadcast, transfer and kill", async () => {
    const sw = await start({ profile: { answerDelayMs: 60_000 } });
    const s = await RawSession.authed(sw.port);
    await s.command("event plain CHANNEL_ANSWER CHANNEL_PARK PLAYBACK_STOP CHANNEL_UNPARK");
    const uuid = "014b0e18-b2cf-4597-8324-a5d04d8c38e7";
    await s.command(`bgapi originate {origination_uuid=${uuid},my_var=hello}${DIAL} &park()`);
    await s.until(() => sw.channelCount === 1);
    expect(await api(s, `uuid_exists ${uuid}`)).toBe("true");
    expect(await api(s, `uuid_getvar ${uuid} my_var`)).toBe("hello");
    expect(await api(s, `uuid_getvar ${uuid} no_such_variable`)).toBe("_undef_");
    expect(await api(s, `uuid_getvar ${uuid} sip_to_user`)).toBe("1000");
    expect(await api(s, `uuid_setvar ${uuid} foo bar`)).toBe("+OK\n");
    expect(await api(s, `uuid_getvar ${uuid} foo`)).toBe("bar");
    expect(await api(s, `uuid_answer ${uuid}`)).toBe("+OK\n");
    await s.until(() => s.events().some((e) => e.name === "CHANNEL_PARK"));
    const dump = await api(s, `uuid_dump ${uuid}`);
    expect(dump.startsWith("Event-Name: CHANNEL_DATA\n")).toBe(true);
    expect(dump).toContain("Event-Calling-Function: uuid_dump_function\n");
    expect(dump.endsWith("variable_foo: bar\n\n")).toBe(true);
    const json = JSON.parse(await api(s, `uuid_dump ${uuid} json`));
    expect(json["Event-Name"]).toBe("CHANNEL_DATA");
    expect(json.variable_foo).toBe("bar");
    expect(json.variable_my_var).toBe("hello");
    expect(await api(s, `uuid_broadcast ${uuid} tone_stream://%(10,0,800) aleg`)).toBe("+OK Message sent\n");
    await s.until(() => s.events().some((e) => e.name === "PLAYBACK_STOP"));
    expect(await api(s, `uuid_transfer ${uuid} 7001 XML default`)).toBe("+OK\n");
    await s.until(() => s.events().some((e) => e.name === "CHANNEL_UNPARK"));
    expect(await api(s, `uuid_kill ${uuid}`)).toBe("+OK\n");
    await s.until(() => sw.channelCount === 0);
    expect(await api(s, `uuid_exists ${uuid}`)).toBe("false");
    expect(await api(s, `uuid_getvar ${uuid} foo`)).toBe("-ERR No such channel!\n");
    s.close();
  });
});

describe("listeners", () => {
  it("keeps subscriptions, formats and filters per client", async () => {
    const sw = await start();
    const a = await RawSession.authed(sw.port);
    const b = await RawSession.authed(sw.port);
    const c = await RawSession.authed(sw.port);
    await a.command("event plain CHANNEL_ANSWER");
    await b.command("event json ALL");
    expect((await b.command("nixevent CHANNEL_STATE CHANNEL_CALLSTATE")).header("Reply-Text")).toBe(
      "+OK events nixed",
    );
    await c.command("event plain ALL");
    expect(
      (await c.command("filter Unique-ID aaaaaaaa-0000-4000-8000-00000000000a")).header("Reply-Text"),
    ).toBe("+OK filter added. [Unique-ID]=[aaaaaaaa-0000-4000-8000-00000000000a]");
    await api(a, `originate {origination_uuid=aaaaaaaa-0000-4000-8000-00000000000a}${DIAL} &park()`);
    await api(a, `originate {origination_uuid=aaaaaaaa-0000-4000-8000-00000000000b}${DIAL} &park()`);
    await delay(50);
    expect(a.events().map((e) => e.name)).toEqual(["CHANNEL_ANSWER", "CHANNEL_ANSWER"]);
    expect(
      b.frames.every((f) => f.contentType !== "text/event-json" || !f.bodyText().includes('"CHANNEL_STATE"')),
    ).toBe(true);
    expect(b.events().some((e) => e.name === "CHANNEL_PARK")).toBe(true);
    const cEvents = c.events();
    expect(cEvents.length).toBeGreaterThan(10);
    expect(cEvents.every((e) => e.uniqueId === "aaaaaaaa-0000-4000-8000-00000000000a")).toBe(true);
    expect((await c.command("filter delete Unique-ID")).header("Reply-Text")).toBe(
      "+OK filter deleted. [Unique-ID][]",
    );
    expect((await c.command("filter Unique-ID")).header("Reply-Text")).toBe("-ERR invalid syntax");
    expect((await a.command("noevents")).header("Reply-Text")).toBe("+OK no longer listening for events");
    expect((await a.command("noevents")).header("Reply-Text")).toBe("-ERR not listening for events");
    expect((await a.command("event plain NO_SUCH_EVENT")).header("Reply-Text")).toBe(
      "-ERR no keywords supplied",
    );
    expect((await a.command("linger")).header("Reply-Text")).toBe("-ERR not controlling a session");
    expect((await a.command("bogus")).header("Reply-Text")).toBe("-ERR command not found");
    for (const x of [a, b, c]) x.close();
  });

  it("myevents follows one channel and closes the socket when it hangs up (no linger)", async () => {
    const sw = await start({ profile: { answerDelayMs: 5, holdMs: 100 } });
    const s = await RawSession.authed(sw.port);
    const uuid = "cccccccc-0000-4000-8000-000000000001";
    await api(s, `originate {origination_uuid=${uuid}}${DIAL} &park()`);
    await api(s, `originate ${DIAL} &park()`);
    expect((await s.command(`myevents ${uuid}`)).header("Reply-Text")).toBe("+OK Events Enabled");
    expect((await s.command(`myevents ${uuid}`)).header("Reply-Text")).toBe("-ERR aready enabled.");
    await s.until(() => s.closed, 3000);
    const events = s.events();
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.uniqueId === uuid)).toBe(true);
    expect(s.frames.at(-1)?.contentType).toBe("text/disconnect-notice");
  });

  it("sendmsg executes playback and hangs up a channel", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain PLAYBACK_START PLAYBACK_STOP CHANNEL_HANGUP_COMPLETE");
    const uuid = (await api(s, `originate ${DIAL} &park()`)).slice(4).trim();
    const play = await s.command(
      `sendmsg ${uuid}\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: tone_stream://%(10,0,800)\n\n`,
    );
    expect(play.header("Reply-Text")).toBe("+OK");
    await s.until(() => s.events().some((e) => e.name === "PLAYBACK_STOP"));
    const hang = await s.command(`sendmsg ${uuid}\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n`);
    expect(hang.header("Reply-Text")).toBe("+OK");
    await s.until(() => s.events().some((e) => e.name === "CHANNEL_HANGUP_COMPLETE"));
    expect(s.events().at(-1)?.hangupCause).toBe("USER_BUSY");
    expect(
      (await s.command("sendmsg 00000000-0000-0000-0000-000000000000\ncall-command: hangup\n\n")).header(
        "Reply-Text",
      ),
    ).toBe("-ERR invalid session id [00000000-0000-0000-0000-000000000000]");
    s.close();
  });
});
