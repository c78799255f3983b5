import { describe, expect, it } from "vitest";
import type { EslEvent } from "../../src/esl/event.ts";
import type { FakeSwitch } from "../../src/fakeswitch/index.ts";
import { api, DIAL, doublePerTest, RawSession } from "./helpers.ts";

/**
 * Behaviours measured on FreeSWITCH 1.10.12 that the double used to get wrong (docs/fidelity.md): the
 * expected strings and header orders below are what the real one sent.
 */

const MISSING = "00000000-0000-0000-0000-000000000000";
const start = doublePerTest();

const named = (s: RawSession, name: string) => s.events().filter((e) => e.name === name);
const has = (s: RawSession, name: string) => () => named(s, name).length > 0;
/** The names of `names` in the order the event carries them (absent ones left out). */
const order = (e: EslEvent | undefined, names: readonly string[]) =>
  (e?.headerNames() ?? []).filter((n) => names.includes(n));

describe("originate to an endpoint or profile the double does not have", () => {
  it("answers CHAN_NOT_IMPLEMENTED and INVALID_PROFILE, api and bgapi, and still dials internal and external", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain ALL");
    expect(await api(s, "originate foo/bar &park()")).toBe("-ERR CHAN_NOT_IMPLEMENTED\n");
    expect(await api(s, "originate sofia/nosuch/1000@127.0.0.1:5999 &park()")).toBe("-ERR INVALID_PROFILE\n");
    await s.command("bgapi originate foo/bar &park()");
    await s.until(has(s, "BACKGROUND_JOB"));
    expect(named(s, "BACKGROUND_JOB")[0]?.body).toBe("-ERR CHAN_NOT_IMPLEMENTED\n");
    // No session was requested: no channel event at all.
    expect(s.events().filter((e) => e.name.startsWith("CHANNEL_"))).toEqual([]);
    expect(sw.channelCount).toBe(0);
    expect(await api(s, `originate ${DIAL} &park()`)).toMatch(/^\+OK /);
    expect(await api(s, "originate sofia/external/1000@carrier &park()")).toMatch(/^\+OK /);
    s.close();
  });
});

describe("uuid commands on a missing uuid", () => {
  it("answer as FreeSWITCH does: broadcast `-ERR invalid uuid`, kill and transfer `-ERR No such channel!`", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    expect(await api(s, `uuid_broadcast ${MISSING} tone_stream://%(200,0,800) aleg`)).toBe(
      "-ERR invalid uuid\n",
    );
    expect(await api(s, `uuid_kill ${MISSING}`)).toBe("-ERR No such channel!\n");
    expect(await api(s, `uuid_transfer ${MISSING} 7001 XML default`)).toBe("-ERR No such channel!\n");
    s.close();
  });
});

describe("playback events", () => {
  async function parked(sw: FakeSwitch): Promise<[RawSession, string]> {
    const s = await RawSession.authed(sw.port);
    await s.command("event plain ALL");
    const uuid = (await api(s, `originate ${DIAL} &park()`)).slice(4).trim();
    await s.until(has(s, "CHANNEL_PARK"));
    return [s, uuid];
  }

  it("name the file played, and its type only for tone_stream", async () => {
    const sw = await start();
    const [s, uuid] = await parked(sw);
    await api(s, `uuid_broadcast ${uuid} silence_stream://30 aleg`);
    await s.until(() => named(s, "PLAYBACK_STOP").length === 1);
    await api(s, `uuid_broadcast ${uuid} tone_stream://%(30,0,440);loops=1 aleg`);
    await s.until(() => named(s, "PLAYBACK_STOP").length === 2);
    const [silence, tone] = named(s, "PLAYBACK_START");
    expect(silence?.get("Playback-File-Path")).toBe("silence_stream://30");
    expect(silence?.get("Playback-File-Type")).toBeUndefined();
    expect(tone?.get("Playback-File-Path")).toBe("tone_stream://%(30,0,440);loops=1");
    expect(order(tone, ["Playback-File-Type", "Playback-File-Path"])).toEqual([
      "Playback-File-Type",
      "Playback-File-Path",
    ]);
    expect(tone?.get("Playback-File-Type")).toBe("tone_stream");
    expect(named(s, "PLAYBACK_STOP")[1]?.get("Playback-File-Path")).toBe("tone_stream://%(30,0,440);loops=1");
    await s.until(() => named(s, "PRIVATE_COMMAND").length === 2);
    expect(named(s, "PRIVATE_COMMAND")[0]?.get("execute-app-arg")).toBe("silence_stream://30");
    s.close();
  });

  it("end with PLAYBACK_STOP, Answer-State hangup, when the call hangs up during the playback", async () => {
    const sw = await start();
    const [s, uuid] = await parked(sw);
    await api(s, `uuid_broadcast ${uuid} tone_stream://%(1000,0,440);loops=5 aleg`);
    await s.until(has(s, "PLAYBACK_START"));
    const from = s.events().length;
    expect(await api(s, `uuid_kill ${uuid}`)).toBe("+OK\n");
    await s.until(has(s, "CHANNEL_DESTROY"));
    const teardown = s
      .events()
      .slice(from)
      .filter((e) => e.name !== "CHANNEL_STATE" && e.name !== "CHANNEL_CALLSTATE");
    expect(teardown.map((e) => e.name)).toEqual([
      "CHANNEL_HANGUP",
      "API",
      "PLAYBACK_STOP",
      "CHANNEL_EXECUTE_COMPLETE",
      "PRIVATE_COMMAND",
      "CHANNEL_UNPARK",
      "CHANNEL_EXECUTE_COMPLETE",
      "CHANNEL_HANGUP_COMPLETE",
      "CHANNEL_DESTROY",
    ]);
    const stop = teardown[2];
    expect(stop?.get("Answer-State")).toBe("hangup");
    expect(stop?.hangupCause).toBe("NORMAL_CLEARING");
    expect(stop?.get("Channel-State-Number")).toBe("10");
    expect(order(stop, ["Answer-State", "Hangup-Cause"])).toEqual(["Answer-State", "Hangup-Cause"]);
    expect(stop?.get("Playback-File-Path")).toBe("tone_stream://%(1000,0,440);loops=5");
    expect(teardown[3]?.get("Application")).toBe("playback");
    s.close();
  });
});

describe("hangup events of a sofia leg", () => {
  const SIP_TERM = [
    "variable_current_application",
    "variable_sip_term_status",
    "variable_proto_specific_hangup_cause",
    "variable_sip_term_cause",
    "variable_sip_hangup_disposition",
    "variable_hangup_cause",
  ];

  it("carry sip_term_status 200 from CHANNEL_HANGUP on when the far end's BYE ends the call", async () => {
    const sw = await start({ profile: { answerDelayMs: 5, holdMs: 50 } });
    const s = await RawSession.authed(sw.port);
    await s.command("event plain ALL");
    await api(s, `originate ${DIAL} &park()`);
    await s.until(has(s, "CHANNEL_DESTROY"));
    const [hangup] = named(s, "CHANNEL_HANGUP");
    expect(hangup?.variable("sip_term_status")).toBe("200");
    expect(hangup?.variable("proto_specific_hangup_cause")).toBe("sip:200");
    expect(hangup?.variable("sip_term_cause")).toBe("16");
    // sofia records the disposition just after the hangup: not yet in CHANNEL_HANGUP.
    expect(order(hangup, SIP_TERM)).toEqual(SIP_TERM.slice(0, 4));
    for (const name of ["CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE"]) {
      expect(order(named(s, name).at(-1), SIP_TERM)).toEqual(SIP_TERM.slice(0, 5));
    }
    for (const name of ["CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"]) {
      const e = named(s, name)[0];
      expect(order(e, SIP_TERM)).toEqual(SIP_TERM);
      expect(e?.variable("sip_hangup_disposition")).toBe("recv_bye");
      expect(e?.variable("sip_term_status")).toBe("200");
    }
    s.close();
  });

  it("carry no sip_term_status when the double hangs up (uuid_kill sends the BYE)", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain ALL");
    const uuid = (await api(s, `originate ${DIAL} &park()`)).slice(4).trim();
    await api(s, `uuid_kill ${uuid}`);
    await s.until(has(s, "CHANNEL_DESTROY"));
    for (const e of s.events().filter((x) => x.uniqueId === uuid)) {
      expect(e.variable("sip_term_status")).toBeUndefined();
    }
    const complete = named(s, "CHANNEL_HANGUP_COMPLETE")[0];
    expect(complete?.variable("sip_hangup_disposition")).toBe("send_bye");
    // send_bye comes late, after the CDR variables, as in capture 14.
    expect(order(complete, SIP_TERM)).toEqual([
      "variable_current_application",
      "variable_hangup_cause",
      "variable_sip_hangup_disposition",
    ]);
    s.close();
  });
});
