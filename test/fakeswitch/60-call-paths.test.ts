import { afterEach, describe, expect, it } from "vitest";
import type { EslEvent } from "../../src/esl/event.ts";
import type { EslFrame } from "../../src/esl/frame.ts";
import {
  type ControlApi,
  type FakeSwitch,
  FakeSwitchControl,
  type FakeSwitchOptions,
  startControlApi,
  startFakeSwitch,
} from "../../src/fakeswitch/index.ts";
import { capturedShapes, framesOf, myShapes, type Shape } from "./fixtures.ts";
import { RawSession } from "./helpers.ts";

/**
 * Early media, bridges, inbound calls and log lines against captures 09b, 10, 11 and 14: the same
 * commands give the same events, in the same order, with the same header names.
 */

let fs: FakeSwitch | undefined;
let api: ControlApi | undefined;
const sessions: RawSession[] = [];
async function start(opts: Partial<FakeSwitchOptions> = {}): Promise<{ sw: FakeSwitch; s: RawSession }> {
  fs = await startFakeSwitch({
    password: "ClueCon",
    profile: { answerDelayMs: 20 },
    heartbeatIntervalMs: 60_000,
    ...opts,
  });
  const s = await RawSession.authed(fs.port);
  sessions.push(s);
  await s.command("event plain ALL");
  s.frames.splice(0);
  return { sw: fs, s };
}
afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  await api?.close();
  await fs?.close();
  api = undefined;
  fs = undefined;
});

const PLAIN = "text/event-plain";
/** Our events and the captured ones: the same names in the same order, each with the same header names. */
function expectSameShapes(mine: Shape[], captured: Shape[]): void {
  expect(mine.map((x) => x.name)).toEqual(captured.map((x) => x.name));
  mine.forEach((shape, i) => {
    expect(shape.names, `${i} ${shape.name}`).toEqual(captured[i]?.names);
  });
}
const channelShapes = (shapes: Shape[]) => shapes.filter((x) => x.names.includes("Unique-ID"));
const seen = (s: RawSession, name: string, state?: string) => () =>
  s.events().some((e) => e.name === name && (state === undefined || e.channelState === state));
const count = (s: RawSession, name: string, state?: string) =>
  s.events().filter((e) => e.name === name && (state === undefined || e.channelState === state)).length;
const of = (s: RawSession, uuid: string, name: string): EslEvent | undefined =>
  s.events().find((e) => e.uniqueId === uuid && e.name === name);

describe("early media (09b)", () => {
  const STEM = "09b-sip-183-early-media";

  it("183 with SDP: the originate succeeds at the 183, the call parks in early media, the 200 answers it later", async () => {
    const { sw, s } = await start({ profile: { answerDelayMs: 200, earlyMediaShare: 1 } });
    const uuid = "bea98020-fccf-439b-8902-a887312f6783";
    await s.command(`bgapi originate {origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5110 &park()`);
    await s.until(seen(s, "CHANNEL_CALLSTATE"), 2000);
    await s.until(() => s.events().some((e) => e.name === "CHANNEL_CALLSTATE" && e.callState === "ACTIVE"));
    await s.command(`api uuid_kill ${uuid}`);
    await s.until(seen(s, "CHANNEL_STATE", "CS_DESTROY"));
    expectSameShapes(myShapes(s.frames, PLAIN), capturedShapes(STEM, PLAIN, 2, 4));
    const names = s.events().map((e) => e.name);
    expect(names.indexOf("BACKGROUND_JOB")).toBeLessThan(names.indexOf("CHANNEL_ANSWER"));
    expect(s.events().find((e) => e.name === "BACKGROUND_JOB")?.body).toBe(`+OK ${uuid}\n`);
    expect(of(s, uuid, "CHANNEL_PROGRESS_MEDIA")?.get("Answer-State")).toBe("early");
    expect(of(s, uuid, "CHANNEL_PARK")?.get("Answer-State")).toBe("early");
    expect(of(s, uuid, "CHANNEL_ANSWER")?.get("Channel-Call-State")).toBe("EARLY");
    const complete = of(s, uuid, "CHANNEL_HANGUP_COMPLETE");
    expect(Number(complete?.variable("progress_media_uepoch"))).toBeGreaterThan(0);
    expect(Number(complete?.variable("answer_uepoch"))).toBeGreaterThan(
      Number(complete?.variable("progress_media_uepoch")),
    );
    expect(sw.channelCount).toBe(0);
  });

  it("ignore_early_media=true: the 183 plays, but the originate waits for the 200", async () => {
    const { s } = await start({ profile: { answerDelayMs: 50, earlyMediaShare: 1 } });
    const uuid = "03040801-2131-4e69-8c86-5272527e121f";
    await s.command(
      `bgapi originate {ignore_early_media=true,origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5110 &park()`,
    );
    await s.until(seen(s, "CHANNEL_PARK"));
    await s.command(`api uuid_kill ${uuid}`);
    await s.until(seen(s, "CHANNEL_STATE", "CS_DESTROY"));
    expectSameShapes(myShapes(s.frames, PLAIN), capturedShapes(STEM, PLAIN, 4, 6));
    const names = s.events().map((e) => e.name);
    expect(names.indexOf("CHANNEL_PROGRESS_MEDIA")).toBeLessThan(names.indexOf("CHANNEL_ANSWER"));
    expect(names.indexOf("CHANNEL_ANSWER")).toBeLessThan(names.indexOf("BACKGROUND_JOB"));
  });
});

describe("bridges (10)", () => {
  const STEM = "10-bridge-and-uuid-bridge";
  const A = "d9d0216c-8410-4336-9467-b448058a1e9c";
  const B = "8bb87119-2802-472a-9a1b-f8f63c8060a6";
  const BRIDGE_CMD = `api originate {origination_uuid=${A}}sofia/internal/1000@127.0.0.1:5090 &bridge({origination_uuid=${B}}sofia/internal/2000@127.0.0.1:5090)`;

  it("&bridge: api originate returns at A's answer, B rings and answers, CHANNEL_BRIDGE; uuid_kill A takes B", async () => {
    const { sw, s } = await start();
    const reply = await s.command(BRIDGE_CMD);
    expect(reply.bodyText()).toBe(`+OK ${A}\n`);
    const captured = capturedShapes(STEM, PLAIN, 2, 3);
    await s.until(() => myShapes(s.frames, PLAIN).length >= captured.length);
    expectSameShapes(myShapes(s.frames, PLAIN), captured);
    expect(of(s, B, "CHANNEL_OUTGOING")?.get("Other-Leg-Unique-ID")).toBe(A);
    const bridged = of(s, A, "CHANNEL_BRIDGE");
    expect(bridged?.get("Bridge-A-Unique-ID")).toBe(A);
    expect(bridged?.get("Bridge-B-Unique-ID")).toBe(B);
    expect(bridged?.get("Other-Leg-Unique-ID")).toBe(B);
    expect(bridged?.get("Other-Leg-Channel-Name")).toBe("sofia/internal/2000@127.0.0.1:5090");
    expect(Number(bridged?.get("Caller-Channel-Bridged-Time"))).toBeGreaterThan(0);
    s.frames.splice(0);
    await s.command(`api uuid_kill ${A}`);
    await s.until(() => count(s, "CHANNEL_STATE", "CS_DESTROY") === 2);
    expectSameShapes(myShapes(s.frames, PLAIN), capturedShapes(STEM, PLAIN, 3, 4));
    expect(of(s, A, "CHANNEL_UNBRIDGE")?.get("Bridge-B-Unique-ID")).toBe(B);
    expect(of(s, B, "CHANNEL_HANGUP_COMPLETE")?.hangupCause).toBe("NORMAL_CLEARING");
    expect(Number(of(s, A, "CHANNEL_HANGUP_COMPLETE")?.variable("bridge_uepoch"))).toBeGreaterThan(0);
    expect(sw.channelCount).toBe(0);
  });

  it("killing the B leg hangs up A too, B's CHANNEL_HANGUP first", async () => {
    const { sw, s } = await start();
    await s.command(BRIDGE_CMD);
    await s.until(seen(s, "CHANNEL_BRIDGE"));
    s.frames.splice(0);
    await s.command(`api uuid_kill ${B} USER_BUSY`);
    await s.until(() => sw.channelCount === 0);
    const hangups = s.events().filter((e) => e.name === "CHANNEL_HANGUP");
    expect(hangups.map((e) => [e.uniqueId, e.hangupCause])).toEqual([
      [B, "USER_BUSY"],
      [A, "NORMAL_CLEARING"],
    ]);
  });

  it("a B leg that fails hangs up the A leg with its cause", async () => {
    const { sw, s } = await start();
    const reply = await s.command(
      `api originate sofia/internal/1000@127.0.0.1:5090 &bridge({fakeswitch_outcome=busy}sofia/internal/2000@127.0.0.1:5090)`,
    );
    const a = reply.bodyText().slice(4).trim();
    await s.until(() => sw.channelCount === 0 && count(s, "CHANNEL_HANGUP_COMPLETE") === 2);
    expect(of(s, a, "CHANNEL_HANGUP_COMPLETE")?.hangupCause).toBe("USER_BUSY");
    expect(s.events().some((e) => e.name === "CHANNEL_BRIDGE")).toBe(false);
  });

  it("uuid_bridge X Y of two parked calls: +OK Y, the captured sequence, and uuid_kill X takes Y", async () => {
    const { sw, s } = await start();
    const X = "e7adbe25-fe30-4dcc-af7f-1ada0169750d";
    const Y = "bdd87bca-7af8-4e49-be7f-595de0d988e7";
    await s.command(`api originate {origination_uuid=${X}}sofia/internal/1000@127.0.0.1:5090 &park()`);
    await s.command(`api originate {origination_uuid=${Y}}sofia/internal/2000@127.0.0.1:5090 &park()`);
    await s.until(() => count(s, "CHANNEL_PARK") === 2);
    expect((await s.command(`api uuid_bridge ${X} 00000000-0000-0000-0000-000000000000`)).bodyText()).toBe(
      "-ERR Invalid uuid\n",
    );
    expect((await s.command("api uuid_bridge")).bodyText()).toBe("-USAGE: <uuid> <other_uuid>\n");
    s.frames.splice(0);
    expect((await s.command(`api uuid_bridge ${X} ${Y}`)).bodyText()).toBe(`+OK ${Y}\n`);
    const captured = capturedShapes(STEM, PLAIN, 6, 7);
    await s.until(() => myShapes(s.frames, PLAIN).length >= captured.length);
    expectSameShapes(myShapes(s.frames, PLAIN), captured);
    expect(of(s, X, "CHANNEL_EXECUTE")?.get("Application-Data")).toBe(Y);
    expect(of(s, X, "CHANNEL_BRIDGE")?.get("Bridge-B-Unique-ID")).toBe(Y);
    s.frames.splice(0);
    await s.command(`api uuid_kill ${X}`);
    await s.until(() => sw.channelCount === 0 && count(s, "CHANNEL_STATE", "CS_DESTROY") === 2);
    expectSameShapes(myShapes(s.frames, PLAIN), capturedShapes(STEM, PLAIN, 7, 8));
  });
});

describe("inbound calls through the control API (11)", () => {
  const STEM = "11-inbound-call-uuid-commands";
  const U = "014b0e18-b2cf-4597-8324-a5d04d8c38e7";

  it("POST /inbound: CS_NEW … CHANNEL_PARK ringing; uuid_answer answers it; hupall hangs it up", async () => {
    const { sw, s } = await start();
    api = await startControlApi(sw);
    const control = new FakeSwitchControl(`http://127.0.0.1:${api.port}`);
    expect(await control.inboundCall({ from: "1000", fromName: "SIPp Caller", to: "7100", uuid: U })).toEqual(
      {
        uuid: U,
      },
    );
    await s.until(seen(s, "CHANNEL_PARK"));
    expectSameShapes(
      channelShapes(myShapes(s.frames, PLAIN)),
      channelShapes(capturedShapes(STEM, PLAIN, 1, 2)),
    );
    const create = of(s, U, "CHANNEL_CREATE");
    expect(create?.get("Call-Direction")).toBe("inbound");
    expect(create?.get("Caller-Context")).toBe("default");
    expect(create?.get("Caller-Destination-Number")).toBe("7100");
    expect(create?.get("Caller-Caller-ID-Name")).toBe("SIPp Caller");
    expect(of(s, U, "CHANNEL_PARK")?.get("Answer-State")).toBe("ringing");
    expect(JSON.parse((await s.command("api show channels as json")).bodyText()).rows[0]).toMatchObject({
      direction: "inbound",
      callstate: "RINGING",
    });
    s.frames.splice(0);
    expect((await s.command(`api uuid_answer ${U}`)).bodyText()).toBe("+OK\n");
    await s.until(() => s.events().some((e) => e.name === "CHANNEL_CALLSTATE" && e.callState === "ACTIVE"));
    expectSameShapes(
      channelShapes(myShapes(s.frames, PLAIN)),
      channelShapes(capturedShapes(STEM, PLAIN, 2, 3)),
    );
    expect((await s.command(`api uuid_getvar ${U} sip_from_user`)).bodyText()).toBe("1000");
    s.frames.splice(0);
    await s.command("api hupall NORMAL_CLEARING");
    await s.until(seen(s, "CHANNEL_STATE", "CS_DESTROY"));
    expectSameShapes(
      channelShapes(myShapes(s.frames, PLAIN)),
      channelShapes(capturedShapes(STEM, PLAIN, 10, 11)),
    );
    expect(of(s, U, "CHANNEL_HANGUP_COMPLETE")?.variable("billsec")).toMatch(/^\d+$/);
  });

  it("refuses an inbound call with 503 while inbound calls are paused (fsctl pause inbound)", async () => {
    const { sw, s } = await start();
    api = await startControlApi(sw);
    const control = new FakeSwitchControl(`http://127.0.0.1:${api.port}`);
    await s.command("api fsctl pause inbound");
    await expect(control.inboundCall({ from: "1000", to: "7100" })).rejects.toThrow(
      /DESTINATION_OUT_OF_ORDER/,
    );
    expect(sw.channelCount).toBe(0);
    await s.command("api fsctl resume inbound");
    const { uuid } = await control.inboundCall({ from: "2000", to: "7100", context: "public" });
    await s.until(seen(s, "CHANNEL_PARK"));
    expect(of(s, uuid, "CHANNEL_CREATE")?.get("Caller-Context")).toBe("public");
    expect(of(s, uuid, "CHANNEL_CREATE")?.get("Caller-Caller-ID-Name")).toBe("2000");
  });
});

describe("log/data frames after `log <level>` (14)", () => {
  const STEM = "14-log-data";
  const U = "93f2c6e9-5f5c-4cf7-b097-db805f70cd45";
  const label = (f: {
    contentType?: string;
    level?: string;
    file?: string;
    line?: string;
    event?: string;
  }) => (f.contentType === "log/data" ? `log ${f.level} ${f.file}:${f.line}` : (f.event ?? ""));
  const skip = new Set(["HEARTBEAT", "RE_SCHEDULE", "API", "BACKGROUND_JOB", ""]);
  const normalise = (body: string) =>
    body.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \d+\.\d\d% /, "STAMP ").replaceAll(U, "UUID");

  it("log 7: the captured lines, in the captured order among the call's events, framed as captured", async () => {
    const { s } = await start();
    expect((await s.command("log 7")).header("Reply-Text")).toBe("+OK log level 7 [7]");
    await s.command(`bgapi originate {origination_uuid=${U}}sofia/internal/1000@127.0.0.1:5090 &park()`);
    await s.until(seen(s, "CHANNEL_PARK"));
    await s.until(() => s.frames.filter((f) => f.contentType === "log/data").length === 50);
    expect((await s.command("nolog")).header("Reply-Text")).toBe("+OK no longer logging");
    const captured = framesOf(STEM).filter((f) => f.after === 3);
    const capturedLogs = captured.filter((f) => f.headers["Content-Type"] === "log/data");
    const mineLogs = s.frames.filter((f) => f.contentType === "log/data");
    const sequence = (
      frames: Array<{ contentType?: string; level?: string; file?: string; line?: string; event?: string }>,
    ) => frames.map(label).filter((l) => !skip.has(l));
    expect(sequence(s.frames.map(frameView))).toEqual(
      sequence(
        captured.map((f) => ({
          contentType: f.headers["Content-Type"],
          level: f.headers["Log-Level"],
          file: f.headers["Log-File"],
          line: f.headers["Log-Line"],
          event: /^Event-Name: (.*)$/m.exec(f.body ?? "")?.[1],
        })),
      ),
    );
    mineLogs.forEach((frame, i) => {
      const want = capturedLogs[i];
      expect(frame.headers.map(([k]) => k)).toEqual(want?.header_order);
      for (const name of ["Log-Level", "Text-Channel", "Log-File", "Log-Func", "Log-Line"])
        expect(frame.header(name), `${i} ${name}`).toBe(want?.headers[name]);
      expect(frame.header("User-Data")).toBe(want?.headers["User-Data"] === "" ? "" : U);
      expect(normalise(frame.bodyText())).toBe(normalise(want?.body ?? ""));
    });
    const before = s.frames.length;
    await s.command(`api uuid_kill ${U}`);
    await s.until(seen(s, "CHANNEL_STATE", "CS_DESTROY"));
    expect(s.frames.slice(before).some((f) => f.contentType === "log/data")).toBe(false);
  });

  it("log 5 sends only NOTICE and more severe lines; a second nolog says -ERR not loging", async () => {
    const { s } = await start();
    await s.command("log notice");
    await s.command(`api originate sofia/internal/1000@127.0.0.1:5090 &park()`);
    await s.until(seen(s, "CHANNEL_PARK"));
    const logs = s.frames.filter((f) => f.contentType === "log/data");
    expect(logs.map((f) => f.header("Log-Level"))).toEqual(["5", "5", "5"]);
    expect(logs[0]?.bodyText()).toMatch(
      /\[NOTICE\] switch_channel\.c:1142 New Channel sofia\/internal\/1000@/,
    );
    await s.command("nolog");
    expect((await s.command("nolog")).header("Reply-Text")).toBe("-ERR not loging");
  });
});

/** What the log test compares of a received frame. */
function frameView(f: EslFrame) {
  return {
    contentType: f.contentType,
    level: f.header("Log-Level"),
    file: f.header("Log-File"),
    line: f.header("Log-Line"),
    event: f.contentType === PLAIN ? /^Event-Name: (.*)$/m.exec(f.bodyText())?.[1] : undefined,
  };
}
