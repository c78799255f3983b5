import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EslFrame } from "../../src/esl/frame.ts";
import { type FakeSwitch, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { type CapturedFrame, eventName, framesOf, headerNames } from "./fixtures.ts";
import { RawSession } from "./helpers.ts";

/**
 * origination_caller_id_name against capture 17: the name headers appear where FreeSWITCH puts them,
 * URL-encoded UTF-8 in plain, raw UTF-8 in json (Content-Length in bytes), and caller and callee swap
 * at the caller-ID flip (CALL_UPDATE, after the answer).
 */

const STEM = "17-utf8-caller-id-name";
const NAME = "Zoë Ünïcødé ☎";
const PLAIN_UUID = "a8b9b98f-1887-4f9d-9d53-e94697a305bb";
const JSON_UUID = "d51af0cc-3f0b-4f88-871c-05da14234c21";
const originate = (uuid: string) =>
  `bgapi originate {origination_uuid=${uuid},origination_caller_id_name='${NAME}'}sofia/internal/1000@127.0.0.1:5090 &park()`;
/** Headers whose values the caller-ID name decides (sip_full_from's tag aside). */
const CALLER_ID_HEADERS = [
  "Caller-Caller-ID-Name",
  "Caller-Caller-ID-Number",
  "Caller-Orig-Caller-ID-Name",
  "Caller-Orig-Caller-ID-Number",
  "Caller-Callee-ID-Name",
  "Caller-Callee-ID-Number",
  "variable_origination_caller_id_name",
  "variable_sip_from_display",
  "variable_pre_transfer_caller_id_name",
  "variable_caller_id",
];
const NOISE = new Set(["HEARTBEAT", "RE_SCHEDULE"]);
const untagged = (fullFrom: string | undefined) => fullFrom?.replace(/tag(=|%3D).*$/, "tag");

interface Seen {
  name: string;
  names: string[];
  /** The value as it is on the wire: URL-encoded in plain, raw in json. */
  value(header: string): string | undefined;
}

function fromPlain(body: string): Seen {
  const lines = body.slice(0, body.indexOf("\n\n")).split("\n");
  const pairs = lines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)] as const);
  return {
    name: eventName("text/event-plain", body),
    names: headerNames("text/event-plain", body),
    value: (h) => pairs.find(([k]) => k === h)?.[1],
  };
}

function fromJson(body: string): Seen {
  const json = JSON.parse(body) as Record<string, string>;
  return {
    name: json["Event-Name"] ?? "",
    names: headerNames("text/event-json", body),
    value: (h) => json[h],
  };
}

/** Captured channel events after the commands numbered `from`..`to` were sent. */
function capturedChannelEvents(contentType: string, from: number, to: number): Seen[] {
  return framesOf(STEM)
    .filter((f: CapturedFrame & { after: number }) => f.headers["Content-Type"] === contentType)
    .filter((f) => f.after >= from && f.after <= to)
    .map((f) => (contentType === "text/event-json" ? fromJson(f.body ?? "") : fromPlain(f.body ?? "")))
    .filter((e) => !NOISE.has(e.name) && e.value("Unique-ID") !== undefined);
}

function myChannelEvents(frames: EslFrame[], contentType: string): Seen[] {
  return frames
    .filter((f) => f.contentType === contentType)
    .map((f) => (contentType === "text/event-json" ? fromJson(f.bodyText()) : fromPlain(f.bodyText())))
    .filter((e) => !NOISE.has(e.name) && e.value("Unique-ID") !== undefined);
}

function expectSameCallerId(mine: Seen[], captured: Seen[]): void {
  expect(mine.map((e) => e.name)).toEqual(captured.map((e) => e.name));
  mine.forEach((event, i) => {
    const want = captured[i] as Seen;
    expect(event.names, `${i} ${event.name}`).toEqual(want.names);
    for (const header of CALLER_ID_HEADERS)
      expect(event.value(header), `${i} ${event.name} ${header}`).toBe(want.value(header));
    expect(untagged(event.value("variable_sip_full_from")), `${i} ${event.name}`).toBe(
      untagged(want.value("variable_sip_full_from")),
    );
  });
}

const seen = (s: RawSession, name: string, state?: string) => () =>
  s.events().some((e) => e.name === name && (state === undefined || e.channelState === state));

describe("caller-ID name (capture 17)", () => {
  let fs: FakeSwitch;
  let s: RawSession;
  beforeAll(async () => {
    fs = await startFakeSwitch({
      password: "ClueCon",
      profile: { answerDelayMs: 5 },
      heartbeatIntervalMs: 60_000,
    });
    s = await RawSession.authed(fs.port);
  });
  afterAll(async () => {
    s.close();
    await fs.close();
  });

  it("plain: URL-encoded UTF-8 name headers, in the captured places, flipped from CALL_UPDATE on", async () => {
    await s.command("event plain ALL");
    await s.command(originate(PLAIN_UUID));
    await s.until(seen(s, "CHANNEL_PARK"));
    await s.command(`api uuid_kill ${PLAIN_UUID}`);
    await s.until(seen(s, "CHANNEL_STATE", "CS_DESTROY"));
    const mine = myChannelEvents(s.frames, "text/event-plain");
    expectSameCallerId(mine, capturedChannelEvents("text/event-plain", 2, 3));
    const create = mine.find((e) => e.name === "CHANNEL_CREATE");
    expect(create?.value("Caller-Caller-ID-Name")).toBe("Zo%C3%AB%20%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E2%98%8E");
    const park = mine.find((e) => e.name === "CHANNEL_PARK");
    expect(park?.value("Caller-Caller-ID-Name")).toBe("Outbound%20Call");
    expect(park?.value("Caller-Callee-ID-Name")).toBe(create?.value("Caller-Caller-ID-Name"));
    const job = s.events().find((e) => e.name === "BACKGROUND_JOB");
    const capturedJob = framesOf(STEM)
      .map((f) => f.event_headers_raw ?? [])
      .find((h) => h.some(([k, v]) => k === "Event-Name" && v === "BACKGROUND_JOB"));
    expect(
      fromPlain(
        s.frames.find((f) => f.bodyText().startsWith("Event-Name: BACKGROUND_JOB"))?.bodyText() ?? "",
      ).value("Job-Command-Arg"),
    ).toBe(capturedJob?.find(([k]) => k === "Job-Command-Arg")?.[1]);
    expect(job?.get("Job-Command-Arg")).toContain(NAME);
    s.frames.splice(0);
  });

  it("json: raw UTF-8 values, Content-Length in bytes, and uuid_getvar returns the 20-byte name", async () => {
    await s.command("event json ALL");
    await s.command(originate(JSON_UUID));
    await s.until(seen(s, "CHANNEL_PARK"));
    const getvar = await s.command(`api uuid_getvar ${JSON_UUID} origination_caller_id_name`);
    expect(getvar.header("Content-Length")).toBe("20");
    expect(getvar.bodyText()).toBe(NAME);
    await s.command(`api uuid_kill ${JSON_UUID}`);
    await s.until(seen(s, "CHANNEL_STATE", "CS_DESTROY"));
    const mine = myChannelEvents(s.frames, "text/event-json");
    expectSameCallerId(mine, capturedChannelEvents("text/event-json", 5, 7));
    expect(mine.find((e) => e.name === "CHANNEL_CREATE")?.value("Caller-Caller-ID-Name")).toBe(NAME);
    const outgoing = s.frames.find((f) => f.bodyText().includes('"Event-Name":"CHANNEL_OUTGOING"'));
    const body = outgoing?.bodyText() ?? "";
    // Two 13-character, 20-byte names: the byte count is 14 above the character count, as captured.
    expect(Number(outgoing?.header("Content-Length"))).toBe(Buffer.byteLength(body));
    expect(Buffer.byteLength(body) - body.length).toBe(14);
  });

  it("show channels lists the name as cid_name before the answer and as callee_name after it", async () => {
    const uuid = "5e1f7c2a-0b7e-4d6b-9a3e-1f2a3b4c5d6e";
    const slow = await startFakeSwitch({ password: "ClueCon", profile: { answerDelayMs: 60_000 } });
    const t = await RawSession.authed(slow.port);
    await t.command(originate(uuid));
    await t.until(() => slow.channelCount === 1);
    const row = async () => JSON.parse((await t.command("api show channels as json")).bodyText()).rows[0];
    expect(await row()).toMatchObject({
      cid_name: NAME,
      callee_name: "Outbound Call",
      initial_cid_name: NAME,
    });
    await t.command("event plain CHANNEL_PARK");
    await t.command(`api uuid_answer ${uuid}`);
    await t.until(() => t.events().some((e) => e.name === "CHANNEL_PARK"));
    expect(await row()).toMatchObject({ cid_name: "Outbound Call", callee_name: NAME });
    t.close();
    await slow.close();
  });

  it("a call without a name has no name headers, and the positional cid arguments set the caller ID", async () => {
    const t = await RawSession.authed(fs.port);
    await t.command("event plain CHANNEL_CREATE");
    const plainCall = await t.command("api originate sofia/internal/1000@127.0.0.1:5090 &park()");
    await t.until(() => t.events().length === 1);
    expect(t.events()[0]?.get("Caller-Caller-ID-Name")).toBeUndefined();
    expect(t.events()[0]?.get("Caller-Orig-Caller-ID-Name")).toBeUndefined();
    await t.command(`api uuid_kill ${plainCall.bodyText().slice(4).trim()}`);
    await t.command("api originate sofia/internal/1000@127.0.0.1:5090 &park() XML default Alice 2000");
    await t.until(() => t.events().length === 2);
    const positional = t.events()[1];
    expect(positional?.get("Caller-Caller-ID-Name")).toBe("Alice");
    expect(positional?.get("Caller-Caller-ID-Number")).toBe("2000");
    expect(positional?.variable("origination_caller_id_name")).toBe("Alice");
    // The variable wins over the positional argument (switch_ivr_originate).
    await t.command(
      "api originate {origination_caller_id_name=Bob}sofia/internal/1000@127.0.0.1:5090 &park() XML default Alice 2000",
    );
    await t.until(() => t.events().length === 3);
    expect(t.events()[2]?.get("Caller-Caller-ID-Name")).toBe("Bob");
    await t.command("api hupall");
    await t.until(() => fs.channelCount === 0);
    t.close();
  });
});
