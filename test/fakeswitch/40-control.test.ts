import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ControlApi,
  type FakeSwitch,
  FakeSwitchControl,
  type FakeSwitchOptions,
  startControlApi,
  startFakeSwitch,
} from "../../src/fakeswitch/index.ts";
import { CliProcess, delay, RawSession } from "./helpers.ts";

/** The control API: every fault reachable over HTTP, and what a client of the double observes. */

const DIAL = "sofia/internal/1000@127.0.0.1:5090";
let fs: FakeSwitch | undefined;
let api: ControlApi | undefined;
const sessions: RawSession[] = [];

async function start(opts: Partial<FakeSwitchOptions> = {}, token?: string) {
  fs = await startFakeSwitch({ password: "ClueCon", profile: { answerDelayMs: 5 }, ...opts });
  api = await startControlApi(fs, { token });
  return { sw: fs, control: new FakeSwitchControl(`http://127.0.0.1:${api.port}`, token), port: api.port };
}
async function session(port: number): Promise<RawSession> {
  const s = await RawSession.authed(port);
  sessions.push(s);
  return s;
}
function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}
/** fetch will not send a Host header of our choosing; node:http will (a DNS-rebinding page's request). */
function statusWithHost(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(
        { host: "127.0.0.1", port, path: "/stats", headers: { host, authorization: "Bearer s3cret" } },
        (r) => {
          r.resume();
          resolve(r.statusCode);
        },
      )
      .once("error", reject);
  });
}
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  await api?.close();
  await fs?.close();
  api = undefined;
  fs = undefined;
});

describe("control API", () => {
  it("binds 127.0.0.1 and refuses a foreign Host, a missing JSON type, a bad token, bad fields, unknown routes", async () => {
    const { control, port } = await start({}, "s3cret");
    expect(api?.host).toBe("127.0.0.1");
    const url = `http://127.0.0.1:${port}`;
    const auth = { authorization: "Bearer s3cret", "content-type": "application/json" };
    expect((await fetch(`${url}/stats`)).status).toBe(401);
    expect(await statusWithHost(port, `evil.example:${port}`)).toBe(403);
    expect(await statusWithHost(port, `localhost:${port}`)).toBe(200);
    const noType = await fetch(`${url}/pause-events`, {
      method: "POST",
      headers: { authorization: "Bearer s3cret", "content-type": "text/plain" },
      body: "{}",
    });
    expect(noType.status).toBe(415);
    const bad = await fetch(`${url}/drop-connections`, {
      method: "POST",
      headers: auth,
      body: '{"how":"nicely"}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "how must be one of fin, rst" });
    expect((await fetch(`${url}/nope`, { headers: auth })).status).toBe(404);
    await expect(control.setProfile({ busyShare: 2 })).rejects.toThrow(
      /busyShare must be a number from 0 to 1/,
    );
    await expect(control.setLoadLatency({ perChanelMs: 1 } as never)).rejects.toThrow(
      /unknown field perChanelMs/,
    );
    expect((await control.stats()).connectionsOpen).toBe(0);
  });

  it("GET /stats and PATCH /profile: the calls a client makes, and the far end it will meet", async () => {
    const { sw, control } = await start();
    expect(await control.profile()).toMatchObject({ answerDelayMs: 5, holdMs: "inf", busyShare: 0 });
    expect(await control.setProfile({ busyShare: 1, answerDelayMs: [1, 3] })).toMatchObject({
      busyShare: 1,
      answerDelayMs: [1, 3],
    });
    const s = await session(sw.port);
    expect((await s.command(`api originate ${DIAL} &park()`)).bodyText()).toBe("-ERR USER_BUSY\n");
    await control.setProfile({ busyShare: 0, holdMs: 10_000 });
    expect((await s.command(`api originate ${DIAL} &park()`)).bodyText()).toMatch(/^\+OK /);
    const stats = await control.stats();
    expect(stats).toMatchObject({ originates: 2, channels: 1, connectionsOpen: 1, coreUuid: sw.coreUuid });
    expect(stats.originatesPerSecond).toBeGreaterThan(0);
    expect(sw.profile.holdMs).toBe(10_000);
  });

  it("drop-connections, refuse-connections and half-open reach the ESL clients", async () => {
    const { sw, control } = await start();
    const a = await session(sw.port);
    const reset = new Promise<string | undefined>((r) =>
      a.socket.once("error", (e: NodeJS.ErrnoException) => r(e.code)),
    );
    await control.dropConnections("rst");
    expect(await reset).toBe("ECONNRESET");
    const b = await session(sw.port);
    await control.dropConnections("fin");
    await b.until(() => b.closed);
    expect(b.frames).toEqual([]);
    await control.refuseConnections(300);
    await expect(connectRaw(sw.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await delay(400);
    const c = await session(sw.port);
    await control.halfOpen(true);
    c.send("api uptime\n\n");
    await delay(100);
    expect(c.frames).toEqual([]);
    expect(c.closed).toBe(false);
    await control.halfOpen(false);
  });

  it("delay-replies, pause/resume-events, event-burst and malformed-frame", async () => {
    const { sw, control } = await start();
    const s = await session(sw.port);
    await s.command("event plain HEARTBEAT");
    await control.delayReplies(120);
    expect(await timed(() => s.command("api uptime"))).toBeGreaterThanOrEqual(115);
    await control.delayReplies(0);
    await control.pauseEvents();
    await control.eventBurst(3);
    await delay(50);
    expect(s.events()).toEqual([]);
    await control.resumeEvents();
    await control.eventBurst(4, "HEARTBEAT");
    await s.until(() => s.events().length === 4);
    await control.sendMalformedFrame();
    await s.until(() => s.raw.includes("Content-Length: banana"));
  });

  it("shutdown and restart: the notice, then a new Core-UUID on the same port", async () => {
    const { sw, control } = await start();
    const before = sw.coreUuid;
    const s = await session(sw.port);
    await control.shutdown();
    await s.until(() => s.closed);
    expect(s.frames.at(-1)?.bodyText()).toBe("The system is being shut down.\n");
    await expect(connectRaw(sw.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    const restarted = await control.restart();
    expect(restarted).toEqual({ coreUuid: sw.coreUuid, port: sw.port });
    expect(restarted.coreUuid).not.toBe(before);
    const again = await session(sw.port);
    expect((await again.command("api uptime")).contentType).toBe("api/response");
  });
});

describe("load-dependent reply latency (FreeSWITCH under CPU pressure)", () => {
  it("grows with the live channels, and steeply near saturation", async () => {
    const { sw, control } = await start();
    const s = await session(sw.port);
    for (let i = 0; i < 4; i++) await s.command(`api originate ${DIAL} &park()`);
    expect(await timed(() => s.command("api uptime"))).toBeLessThan(50);
    await control.setLoadLatency({ perChannelMs: 30 });
    expect((await control.stats()).replyDelayMs).toBe(120);
    expect(await timed(() => s.command("api uptime"))).toBeGreaterThanOrEqual(115);
    // 4 of 5 channels: 1 / (1 - 0.8) = 5 times the linear delay.
    await control.setLoadLatency({ baseMs: 10, saturationChannels: 5, maxMs: 1000 });
    expect((await control.stats()).replyDelayMs).toBeCloseTo(50, 5);
    await s.command(`api originate ${DIAL} &park()`);
    expect((await control.stats()).replyDelayMs).toBe(1000);
    await control.setLoadLatency(undefined);
    expect(await timed(() => s.command("api uptime"))).toBeLessThan(50);
  });

  it("grows with the originate rate and decays when originates stop", async () => {
    const { sw, control } = await start({ sessionsPerSecond: 1000 });
    await control.setLoadLatency({ perOriginatePerSecondMs: 5, maxMs: 400 });
    const s = await session(sw.port);
    for (let i = 0; i < 20; i++) s.send(`bgapi originate {fakeswitch_hold_ms=0}${DIAL} &park()\n\n`);
    await s.until(() => s.replies().length === 20, 10_000);
    const busy = (await control.stats()).replyDelayMs;
    expect(busy).toBeGreaterThan(50);
    await delay(1500);
    expect((await control.stats()).replyDelayMs).toBeLessThan(busy / 3);
  });
});

describe("slow event delivery (a per-client event rate cap)", () => {
  it("writes at most N events a second to each client, in order, and lifting the cap releases the rest", async () => {
    const { sw, control } = await start();
    const s = await session(sw.port);
    await s.command("event plain HEARTBEAT");
    await control.capEventRate(100);
    const t0 = performance.now();
    sw.eventBurst(30);
    await s.until(() => s.events().length === 30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    const seqs = s.events().map((e) => e.sequence ?? 0);
    expect(seqs.every((v, i) => i === 0 || v === (seqs[i - 1] ?? 0) + 1)).toBe(true);
    sw.eventBurst(500);
    await delay(100);
    const slow = s.events().length;
    expect(slow).toBeLessThan(60);
    await control.capEventRate(0);
    await s.until(() => s.events().length === 530);
  });

  it("a capped client falls behind, loses events past its queue and is killed, as a slow reader is", async () => {
    const { sw } = await start({ eventQueueLength: 100, eventRatePerSecond: 50 });
    const s = await session(sw.port);
    await s.command("event plain HEARTBEAT");
    sw.eventBurst(1000);
    await s.until(() => s.closed, 5000);
    expect(sw.stats.listenersKilled).toBe(1);
    expect(s.frames.at(-1)?.bodyText()).toBe("killed listener because of lost events\n");
  });
});

describe("the CLI with --control-port", () => {
  let cli: CliProcess | undefined;
  afterEach(() => {
    cli?.child.kill("SIGKILL");
    cli = undefined;
  });

  it("prints the control address in its ready line, and another process drives the double through it", async () => {
    cli = CliProcess.start(["--port", "0", "--control-port", "0"], {
      FAKESWITCH_PASSWORD: "ClueCon",
      FAKESWITCH_CONTROL_TOKEN: "t0k",
    });
    const ready = await cli.nextJson<{
      listening: { host: string; port: number };
      control: { host: string; port: number };
    }>();
    expect(ready.control.host).toBe("127.0.0.1");
    expect(ready.control.port).toBeGreaterThan(0);
    const control = new FakeSwitchControl(`http://127.0.0.1:${ready.control.port}`, "t0k");
    const s = await session(ready.listening.port);
    expect((await control.stats()).connectionsOpen).toBe(1);
    await control.dropConnections("fin");
    await s.until(() => s.closed);
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
  });
});
