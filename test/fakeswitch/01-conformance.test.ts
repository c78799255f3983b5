import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSwitch, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { capturedShapes, eventName, framesOf, headerNames, myShapes, replyTo } from "./fixtures.ts";
import { RawSession } from "./helpers.ts";

/**
 * The double against the FreeSWITCH 1.10.12 captures: the same commands get the same replies, and every
 * event type it emits has the captured header names (duplicates included), order, Content-Type and framing.
 * Values may differ where they are call-specific.
 */

const U = "8f24660c-4559-4ec7-8493-7f4d12518737";
const ORIGINATE = `bgapi originate {origination_uuid=${U}}sofia/internal/1000@127.0.0.1:5090 &park()`;
const done = (s: RawSession, name: string, state?: string) => () =>
  s.events().some((e) => e.name === name && (state === undefined || e.channelState === state));

describe("conformance with the FreeSWITCH 1.10.12 captures", () => {
  let fs: FakeSwitch;
  beforeAll(async () => {
    fs = await startFakeSwitch({
      password: "ClueCon",
      profile: { answerDelayMs: 5 },
      heartbeatIntervalMs: 60_000,
    });
  });
  afterAll(async () => {
    await fs.close();
  });

  it("plain: the answered call and its uuid_kill carry the captured header sets, in order (14-log-data)", async () => {
    const s = await RawSession.authed(fs.port);
    await s.command("event plain ALL");
    await s.command(ORIGINATE);
    await s.until(done(s, "CHANNEL_PARK"));
    await s.command(`api uuid_kill ${U}`);
    await s.until(done(s, "CHANNEL_STATE", "CS_DESTROY"));
    const captured = capturedShapes("14-log-data", "text/event-plain");
    const mine = myShapes(s.frames, "text/event-plain");
    expect(mine.map((x) => x.name)).toEqual(captured.map((x) => x.name));
    mine.forEach((shape, i) => {
      expect(shape.names, `${i} ${shape.name}`).toEqual(captured[i]?.names);
    });
    for (const frame of s.frames.filter((f) => f.contentType === "text/event-plain")) {
      expect(frame.headers.map(([k]) => k)).toEqual(["Content-Length", "Content-Type"]);
      const body = frame.bodyText();
      expect(frame.body?.length).toBe(Number(frame.header("Content-Length")));
      if (!body.includes("Event-Name: BACKGROUND_JOB")) expect(body.endsWith("\n\n")).toBe(true);
      // URL-encoded values: the plain body is pure ASCII.
      expect(/^[\x20-\x7e\n]*$/.test(body.replace(/\n\n\+OK [^\n]*\n$/, "\n\n"))).toBe(true);
    }
    const bg = s.frames.find((f) => f.bodyText().startsWith("Event-Name: BACKGROUND_JOB"));
    expect(bg?.bodyText()).toMatch(/\nContent-Length: 41\n\n\+OK [0-9a-f-]{36}\n$/);
    s.close();
  });

  it("json: the same sequence with raw values, _body for BACKGROUND_JOB, and uuid_broadcast's playback (04a)", async () => {
    const s = await RawSession.authed(fs.port);
    expect((await s.command("event json ALL")).header("Reply-Text")).toBe(
      replyTo("04a-lifecycle-event-json", "event json ALL\n\n").headers["Reply-Text"],
    );
    const uuid = "02e8b1cf-1fd8-4d92-acc8-8758dae7434a";
    await s.command(`bgapi originate {origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5090 &park()`);
    await s.until(done(s, "CHANNEL_PARK"));
    const bcast = await s.command(`api uuid_broadcast ${uuid} tone_stream://%(20,0,800) aleg`);
    expect(bcast.bodyText()).toBe("+OK Message sent\n");
    await s.until(done(s, "PRIVATE_COMMAND"));
    // Capture: sent #2 is the originate, #3 the broadcast, #4 the transfer.
    const captured = capturedShapes("04a-lifecycle-event-json", "text/event-json", 2, 4);
    const mine = myShapes(s.frames, "text/event-json");
    expect(mine.map((x) => x.name)).toEqual(captured.map((x) => x.name));
    mine.forEach((shape, i) => {
      expect(shape.names, `${i} ${shape.name}`).toEqual(captured[i]?.names);
    });
    const create = s.frames.find((f) => f.bodyText().includes('"Event-Name":"CHANNEL_CREATE"'));
    expect(create?.bodyText().endsWith("}")).toBe(true);
    expect(JSON.parse(create?.bodyText() ?? "{}")["Channel-Name"]).toBe("sofia/internal/1000@127.0.0.1:5090");
    await s.command(`api uuid_kill ${uuid}`);
    await s.until(() => fs.channelCount === 0);
    s.close();
  });

  it("xml: the captured layout, indentation, <Content-Length> and <body> (04b)", async () => {
    const s = await RawSession.authed(fs.port);
    const sub = "event xml CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB";
    expect((await s.command(sub)).header("Reply-Text")).toBe(
      replyTo("04b-event-xml", `${sub}\n\n`).headers["Reply-Text"],
    );
    const uuid = "f92859f2-f547-4ec6-84e7-d247209bc773";
    await s.command(`bgapi originate {origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5090 &park()`);
    await s.until(() => s.frames.filter((f) => f.contentType === "text/event-xml").length >= 3);
    await s.command(`api uuid_kill ${uuid}`);
    await s.until(() => s.frames.filter((f) => f.contentType === "text/event-xml").length >= 4);
    const layout = (xml: string) =>
      xml
        .replace(/^( {4}<([^>]+)>)[^\n]*(<\/\2>)$/gm, "$1$3")
        .replace(/<Content-Length>\d+</, "<Content-Length><")
        .replace(/<body>[\s\S]*? {2}<\/body>/, "<body>  </body>");
    const captured = framesOf("04b-event-xml")
      .filter((f) => f.headers["Content-Type"] === "text/event-xml")
      .map((f) => layout(f.body ?? ""));
    const mine = s.frames.filter((f) => f.contentType === "text/event-xml").map((f) => layout(f.bodyText()));
    expect(mine).toEqual(captured);
    const bg = s.frames.find((f) => f.bodyText().includes("<Event-Name>BACKGROUND_JOB<"))?.bodyText();
    expect(bg).toMatch(
      new RegExp(
        `  </headers>\\n  <Content-Length>41</Content-Length>\\n  <body>\\+OK ${uuid}\\n  </body>\\n</event>\\n$`,
      ),
    );
    s.close();
  });

  it("xml: a body is serialised as switch_event_xmlize + switch_xml_toxml do: no newline added, escapes of switch_xml_ampencode", async () => {
    const s = await RawSession.authed(fs.port);
    await s.command("event xml BACKGROUND_JOB");
    const bodies = async (command: string) => {
      const before = s.frames.length;
      await s.command(`bgapi ${command}`);
      await s.until(() => s.frames.slice(before).some((f) => f.contentType === "text/event-xml"));
      const xml =
        s.frames
          .slice(before)
          .find((f) => f.contentType === "text/event-xml")
          ?.bodyText() ?? "";
      return xml.slice(xml.indexOf("  <Content-Length>"));
    };
    // No trailing newline: none is added, and the closing tag is not indented.
    expect(await bodies("uuid_exists 00000000-0000-0000-0000-000000000000")).toBe(
      "  <Content-Length>5</Content-Length>\n  <body>false</body>\n</event>\n",
    );
    // A trailing newline: the closing tag is indented after it (capture 04b).
    expect(await bodies("uptime")).toMatch(/<body>\d+\n {2}<\/body>\n<\/event>\n$/);
    // & < > escaped, quotes kept, non-ASCII as &#xHEX; (USE_UTF_8_ENCODING); Content-Length counts the raw bytes.
    const raw = 'a<b > & "q" Zoë ☎';
    expect(await bodies(`echo ${raw}`)).toBe(
      `  <Content-Length>${Buffer.byteLength(raw)}</Content-Length>\n  <body>a&lt;b &gt; &amp; "q" Zo&#xEB; &#x260E;</body>\n</event>\n`,
    );
    // From a `<!` on, the text is copied as it is.
    expect(await bodies("echo x&<![CDATA[<y>&]]>")).toContain("<body>x&amp;<![CDATA[<y>&]]></body>");
    s.close();
  });

  it("a far end that answers 486 gives the captured failure sequence and -ERR USER_BUSY (09a)", async () => {
    const busy = await startFakeSwitch({ password: "ClueCon", profile: { answerDelayMs: 5, busyShare: 1 } });
    const s = await RawSession.authed(busy.port);
    await s.command("event plain ALL");
    const uuid = "910cdef1-7206-45c3-b5c9-baf0f09fd23f";
    await s.command(`bgapi originate {origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5100 &park()`);
    await s.until(done(s, "CHANNEL_STATE", "CS_DESTROY"));
    const captured = capturedShapes("09a-sip-error-responses", "text/event-plain", 2, 3);
    const mine = myShapes(s.frames, "text/event-plain");
    expect(mine.map((x) => x.name)).toEqual(captured.map((x) => x.name));
    mine.forEach((shape, i) => {
      expect(shape.names, `${i} ${shape.name}`).toEqual(captured[i]?.names);
    });
    const events = s.events();
    expect(events.find((e) => e.name === "BACKGROUND_JOB")?.body).toBe("-ERR USER_BUSY\n");
    const complete = events.find((e) => e.name === "CHANNEL_HANGUP_COMPLETE");
    expect(complete?.hangupCause).toBe("USER_BUSY");
    expect(complete?.variable("hangup_cause_q850")).toBe("17");
    expect(complete?.variable("sip_term_status")).toBe("486");
    s.close();
    await busy.close();
  });

  it("HEARTBEAT and RE_SCHEDULE carry the captured headers (03)", async () => {
    const hb = await startFakeSwitch({ password: "ClueCon", heartbeatIntervalMs: 50 });
    const s = await RawSession.authed(hb.port);
    await s.command("event plain HEARTBEAT RE_SCHEDULE");
    await s.until(() => s.events().some((e) => e.name === "RE_SCHEDULE"));
    const all = framesOf("03-lifecycle-event-plain")
      .filter((f) => f.headers["Content-Type"] === "text/event-plain")
      .map((f) => ({
        name: eventName("text/event-plain", f.body ?? ""),
        names: headerNames("text/event-plain", f.body ?? ""),
      }));
    const mine = myShapes(s.frames, "text/event-plain");
    const heartbeat = s.events().find((e) => e.name === "HEARTBEAT");
    expect(heartbeat?.get("Max-Sessions")).toBe("1000");
    expect(heartbeat?.get("Session-Per-Sec")).toBe("30");
    for (const name of ["HEARTBEAT", "RE_SCHEDULE"]) {
      const want = all.find((x) => x.name === name)?.names;
      const got = [...s.frames]
        .map((f) => f.bodyText())
        .filter((b) => b.startsWith(`Event-Name: ${name}\n`))
        .map((b) => headerNames("text/event-plain", b))[0];
      expect(got, name).toEqual(want);
    }
    void mine;
    s.close();
    await hb.close();
  });

  it("answers the captured api and command replies byte for byte (01, 02, 14)", async () => {
    const s = await RawSession.authed(fs.port);
    const cases: Array<[stem: string, command: string]> = [
      ["02-api-commands", "api version\n\n"],
      ["02-api-commands", "api show channels as json\n\n"],
      ["02-api-commands", "api show calls as json\n\n"],
      ["02-api-commands", "api show channels\n\n"],
      ["02-api-commands", "api nosuchcmd\n\n"],
      ["02-api-commands", "api nosuchcmd with args\n\n"],
      ["02-api-commands", "api originate error/user_busy &park()\n\n"],
      ["02-api-commands", "api uuid_kill 00000000-0000-0000-0000-000000000000\n\n"],
      ["02-api-commands", "api hupall NORMAL_CLEARING\n\n"],
      ["03-lifecycle-event-plain", "event plain ALL\n\n"],
      ["03-lifecycle-event-plain", "noevents\n\n"],
      ["14-log-data", "log 7\n\n"],
      ["14-log-data", "nolog\n\n"],
    ];
    for (const [stem, command] of cases) {
      const want = replyTo(stem, command);
      const got = await s.command(command);
      expect(
        got.headers.map(([k]) => k),
        command,
      ).toEqual(want.header_order);
      for (const name of want.header_order) {
        if (name !== "Content-Length")
          expect(got.header(name), `${command} ${name}`).toBe(want.headers[name]);
      }
      expect(got.bodyText(), command).toBe(want.body ?? "");
    }
    // The second nolog of capture 14.
    expect((await s.command("nolog")).header("Reply-Text")).toBe("-ERR not loging");
    s.close();
  });

  it("log levels, divert_events and uuid_answer on a missing uuid answer as FreeSWITCH 1.10.12 did (npm run conformance)", async () => {
    const s = await RawSession.authed(fs.port);
    const replies = async (commands: string[]) => {
      const texts: string[] = [];
      for (const c of commands) texts.push((await s.command(c)).header("Reply-Text") ?? "");
      return texts;
    };
    expect(await replies(["log 99", "log -1", "log debug", "log foo"])).toEqual([
      "+OK log level 99 [63]",
      "+OK log level -1 [0]",
      "+OK log level debug [7]",
      "-ERR invalid log level",
    ]);
    expect((await s.command(`api uuid_answer ${U}`)).bodyText()).toBe("-ERROR\n");
    await s.command(ORIGINATE);
    await s.until(() => fs.channelCount === 1);
    await s.command(`myevents ${U}`);
    expect(await replies(["divert_events on", "divert_events off"])).toEqual([
      "+OK events diverted",
      "+OK events not diverted",
    ]);
    await s.command(`api uuid_kill ${U}`);
    await s.until(() => fs.channelCount === 0);
    s.close();
  });

  it("api status, uptime and show channels with live calls have the captured shapes (02)", async () => {
    const s = await RawSession.authed(fs.port);
    const status = (await s.command("api status")).bodyText();
    const capturedStatus = replyTo("02-api-commands", "api status\n\n").body ?? "";
    const shape = (text: string) =>
      text
        .replace(/\d+(\.\d+)?/g, "N")
        .replace(/(year|day|hour|minute|second|millisecond|microsecond)s\b/g, "$1");
    expect(shape(status)).toBe(shape(capturedStatus));
    const uuids = ["9c0384ff-5803-4856-b648-ac5d6ba2c6fa", "28d5a51a-797b-483b-a95f-13800519af00"];
    for (const u of uuids) {
      const r = await s.command(
        `api originate {origination_uuid=${u}}sofia/internal/1000@127.0.0.1:5090 &park()`,
      );
      expect(r.bodyText()).toBe(`+OK ${u}\n`);
    }
    const dup = await s.command(
      `api originate {origination_uuid=${uuids[0]}}sofia/internal/1000@127.0.0.1:5090 &park()`,
    );
    expect(dup.bodyText()).toBe("-ERR DESTINATION_OUT_OF_ORDER\n");
    const capturedFrames = framesOf("02-api-commands");
    const capturedJson = capturedFrames.find(
      (f) => f.sent === "api show channels as json\n\n" && (f.body ?? "").startsWith('{"row_count":3'),
    );
    const wantRow = JSON.parse(capturedJson?.body ?? "{}").rows[0];
    const json = JSON.parse((await s.command("api show channels as json")).bodyText());
    expect(json.row_count).toBe(2);
    expect(Object.keys(json.rows[0])).toEqual(Object.keys(wantRow));
    expect(json.rows[0].state).toBe("CS_EXECUTE");
    expect(json.rows[0].application).toBe("park");
    const capturedCalls = capturedFrames.find(
      (f) => f.sent === "api show calls as json\n\n" && (f.body ?? "").startsWith('{"row_count":3'),
    );
    const calls = JSON.parse((await s.command("api show calls as json")).bodyText());
    expect(Object.keys(calls.rows[0])).toEqual(Object.keys(JSON.parse(capturedCalls?.body ?? "{}").rows[0]));
    const csv = (await s.command("api show channels")).bodyText();
    const capturedCsv = capturedFrames.find(
      (f) => f.sent === "api show channels\n\n" && (f.body ?? "").includes("3 total"),
    );
    expect(csv.split("\n")[0]).toBe((capturedCsv?.body ?? "").split("\n")[0]);
    expect(csv.endsWith("\n\n2 total.\n")).toBe(true);
    expect((await s.command("api show channels count")).bodyText()).toBe("\n2 total.\n");
    expect((await s.command("api show calls count")).bodyText()).toBe("\n2 total.\n");
    expect((await s.command("api hupall NORMAL_CLEARING")).bodyText()).toBe(
      "+OK hangup all channels with cause NORMAL_CLEARING\n",
    );
    await s.until(() => fs.channelCount === 0);
    expect((await s.command("api show channels as json")).bodyText()).toBe('{"row_count": 0}\n');
    s.close();
  });

  it("api originate answers at answer time, and the events of that time queue behind the response (10)", async () => {
    const s = await RawSession.authed(fs.port);
    await s.command("event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_PARK");
    const uuid = "d9d0216c-8410-4336-9467-b448058a1e9c";
    s.frames.splice(0);
    s.send(`api originate {origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5090 &park()\n\n`);
    await s.until(done(s, "CHANNEL_PARK"));
    const types = s.frames.map((f) =>
      f.contentType === "api/response" ? "response" : eventName("text/event-plain", f.bodyText()),
    );
    expect(types).toEqual(["response", "CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_PARK"]);
    expect(s.frames[0]?.bodyText()).toBe(`+OK ${uuid}\n`);
    await s.command(`api uuid_kill ${uuid}`);
    await s.until(() => fs.channelCount === 0);
    s.close();
  });
});

describe("a third-party client (modesl) works against the double unchanged", () => {
  let fs: FakeSwitch;
  beforeAll(async () => {
    fs = await startFakeSwitch({ password: "ClueCon", profile: { answerDelayMs: 5 } });
  });
  afterAll(async () => {
    await fs.close();
  });

  it("connects, authenticates, subscribes, bgapi-originates, sees events and uuid_kills", async () => {
    const { default: esl } = await import("modesl");
    const conn = await new Promise<InstanceType<typeof esl.Connection>>((resolve) => {
      const c = new esl.Connection("127.0.0.1", fs.port, "ClueCon", () => resolve(c));
    });
    conn.on("error", () => {});
    // biome-ignore lint/suspicious/noExplicitAny: modesl's untyped callback arguments.
    type Evt = any;
    await new Promise<void>((resolve) =>
      conn.events("plain", "CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE", () => resolve()),
    );
    const uuid = "5b0c6a47-1a8a-4c0e-9a47-2e6c5b1c9e01";
    const answered = new Promise<Evt>((resolve) => conn.once(`esl::event::CHANNEL_ANSWER::${uuid}`, resolve));
    const job = await new Promise<Evt>((resolve) =>
      conn.bgapi(
        "originate",
        `{origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5090 &park()`,
        resolve,
      ),
    );
    expect(job.getHeader("Event-Name")).toBe("BACKGROUND_JOB");
    expect(job.getBody()).toBe(`+OK ${uuid}\n`);
    expect((await answered).getHeader("Channel-Name")).toBe("sofia/internal/1000@127.0.0.1:5090");
    const complete = new Promise<Evt>((resolve) =>
      conn.once(`esl::event::CHANNEL_HANGUP_COMPLETE::${uuid}`, resolve),
    );
    const kill = await new Promise<Evt>((resolve) => conn.api("uuid_kill", uuid, resolve));
    expect(kill.getBody()).toBe("+OK\n");
    expect((await complete).getHeader("Hangup-Cause")).toBe("NORMAL_CLEARING");
    const unknown = await new Promise<Evt>((resolve) => conn.api("uuid_kill", uuid, resolve));
    expect(unknown.getBody()).toBe("-ERR No such channel!\n");
    const ended = new Promise<void>((resolve) => conn.once("esl::end", () => resolve()));
    conn.on("error", () => {});
    conn.disconnect();
    await ended;
  });
});
