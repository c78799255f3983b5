import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EslClient } from "../../src/esl/client.ts";
import { type FakeSwitch, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { RawSession } from "./helpers.ts";

const ANSWERED_SEQUENCE = [
  "CHANNEL_OUTGOING",
  "CHANNEL_STATE CS_INIT",
  "CHANNEL_CREATE",
  "CHANNEL_ORIGINATE",
  "CHANNEL_STATE CS_ROUTING",
  "CHANNEL_STATE CS_CONSUME_MEDIA",
  "CHANNEL_PROGRESS",
  "CHANNEL_CALLSTATE RINGING",
  "CODEC",
  "CODEC",
  "CHANNEL_ANSWER",
  "CHANNEL_CALLSTATE ACTIVE",
  "CALL_UPDATE",
  "API",
  "BACKGROUND_JOB",
  "CHANNEL_STATE CS_EXECUTE",
  "CHANNEL_EXECUTE",
  "CHANNEL_PARK",
];
const HANGUP_SEQUENCE = [
  "CHANNEL_HANGUP",
  "CHANNEL_UNPARK",
  "CHANNEL_EXECUTE_COMPLETE",
  "CHANNEL_STATE CS_HANGUP",
  "CHANNEL_CALLSTATE HANGUP",
  "CHANNEL_STATE CS_REPORTING",
  "CHANNEL_HANGUP_COMPLETE",
  "CHANNEL_DESTROY",
  "CHANNEL_STATE CS_DESTROY",
];

function label(e: { name: string; channelState?: string; callState?: string }): string {
  if (e.name === "CHANNEL_STATE") return `${e.name} ${e.channelState}`;
  if (e.name === "CHANNEL_CALLSTATE") return `${e.name} ${e.callState}`;
  return e.name;
}

describe("fakeswitch ESL server", () => {
  let fs: FakeSwitch;
  beforeEach(async () => {
    fs = await startFakeSwitch({ password: "ClueCon", profile: { answerDelayMs: 20 } });
  });
  afterEach(async () => {
    await fs.close();
  });

  it("answers every command before auth with -ERR command not found (01c)", async () => {
    const s = await RawSession.open(fs.port);
    expect(s.frames[0]?.contentType).toBe("auth/request");
    await s.command("api status");
    await s.command("event plain ALL");
    await s.command("auth ClueCon");
    const uptime = await s.command("api uptime");
    expect(s.replies()).toEqual(["-ERR command not found", "-ERR command not found", "+OK accepted"]);
    expect(uptime.contentType).toBe("api/response");
    expect(uptime.bodyText()).toMatch(/^\d+\n$/);
    s.close();
  });

  it("refuses a wrong password with -ERR invalid, the goodbye notice and a close (01b)", async () => {
    const s = await RawSession.open(fs.port);
    s.send("auth WrongPassword\n\n");
    await s.until(() => s.closed);
    expect(s.raw).toBe(
      "Content-Type: auth/request\n\nContent-Type: command/reply\nReply-Text: -ERR invalid\n\n" +
        "Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" +
        "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n",
    );
  });

  it("says +OK bye and goodbye on exit, then closes (01a)", async () => {
    const s = await RawSession.authed(fs.port);
    s.send("exit\n\n");
    await s.until(() => s.closed);
    expect(s.frames.map((f) => f.contentType)).toEqual(["command/reply", "text/disconnect-notice"]);
    expect(s.frames[1]?.bodyText()).toBe(
      "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n",
    );
  });

  it("runs a bgapi originate through the captured answered-call sequence, then uuid_kill (03, 14)", async () => {
    const s = await RawSession.authed(fs.port);
    await s.command("event plain ALL");
    const uuid = "8f24660c-4559-4ec7-8493-7f4d12518737";
    const reply = await s.command(
      `bgapi originate {origination_uuid=${uuid}}sofia/internal/1000@127.0.0.1:5090 &park()`,
    );
    const job = reply.header("Job-UUID");
    expect(reply.header("Reply-Text")).toBe(`+OK Job-UUID: ${job}`);
    await s.until(() => s.events().some((e) => e.name === "CHANNEL_PARK"));
    const events = s.events();
    expect(events.map(label)).toEqual(ANSWERED_SEQUENCE);
    const bg = events.find((e) => e.name === "BACKGROUND_JOB");
    expect(bg?.jobUuid).toBe(job);
    expect(bg?.body).toBe(`+OK ${uuid}\n`);
    expect(events[0]?.get("Channel-Name")).toBe("sofia/internal/1000@127.0.0.1:5090");
    const seqs = events.map((e) => e.sequence ?? 0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.coreUuid))).toEqual(new Set([fs.coreUuid]));

    s.frames.splice(0);
    const kill = await s.command(`api uuid_kill ${uuid}`);
    expect(kill.bodyText()).toBe("+OK\n");
    await s.until(() =>
      s.events().some((e) => e.name === "CHANNEL_STATE" && e.channelState === "CS_DESTROY"),
    );
    const after = s.events().map(label);
    expect(after.filter((n) => n !== "API")).toEqual(HANGUP_SEQUENCE);
    expect(after.indexOf("API")).toBe(1);
    const complete = s.events().find((e) => e.name === "CHANNEL_HANGUP_COMPLETE");
    expect(complete?.hangupCause).toBe("NORMAL_CLEARING");
    expect(complete?.variable("billsec")).toMatch(/^\d+$/);
    expect(fs.channelCount).toBe(0);
    s.close();
  });

  it("works with our EslClient: bgapi originate resolves with +OK <uuid>", async () => {
    const client = new EslClient({
      host: "127.0.0.1",
      port: fs.port,
      password: "ClueCon",
      reconnect: false,
      events: { format: "plain", names: ["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"] },
    });
    await client.connect();
    const job = await client.bgapi(
      "originate {fakeswitch_hold_ms=30}sofia/internal/1000@127.0.0.1:5090 &park()",
    );
    const result = await job.completion;
    expect(result.ok).toBe(true);
    expect(result.body).toMatch(/^\+OK [0-9a-f-]{36}\n$/);
    await client.close();
  });
});
