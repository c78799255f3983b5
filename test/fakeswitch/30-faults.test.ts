import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EslClient, type EslClientEvents } from "../../src/esl/client.ts";
import { EslTimeoutError } from "../../src/esl/errors.ts";
import { type FakeSwitch, type FakeSwitchOptions, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { delay, RawSession } from "./helpers.ts";

/** Each fault injection method of FakeSwitch, and what a client observes. */

const DIAL = "sofia/internal/1000@127.0.0.1:5090";
let fs: FakeSwitch | undefined;
const clients: EslClient[] = [];
async function start(opts: Partial<FakeSwitchOptions> = {}): Promise<FakeSwitch> {
  fs = await startFakeSwitch({ password: "ClueCon", profile: { answerDelayMs: 5 }, ...opts });
  return fs;
}
function client(sw: FakeSwitch): EslClient {
  const c = new EslClient({
    host: "127.0.0.1",
    port: sw.port,
    password: "ClueCon",
    events: { format: "plain", names: ["HEARTBEAT", "CHANNEL_ANSWER"] },
    backoff: { initialMs: 20, maxMs: 100, jitter: 0 },
    commandTimeoutMs: 2000,
  });
  c.on("error", () => {});
  clients.push(c);
  return c;
}
function once<K extends keyof EslClientEvents>(c: EslClient, name: K): Promise<EslClientEvents[K]> {
  return new Promise((resolve) => c.once(name, ((...args: EslClientEvents[K]) => resolve(args)) as never));
}
function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close(100);
  await fs?.close();
  fs = undefined;
});

describe("fault injection", () => {
  it("dropConnections('fin'): the client sees a clean close, no notice, and reconnects", async () => {
    const sw = await start();
    const c = client(sw);
    await c.connect();
    const notices: string[] = [];
    c.on("disconnectNotice", (t) => notices.push(t));
    const disconnected = once(c, "disconnected");
    const ready = once(c, "ready");
    sw.dropConnections("fin");
    await disconnected;
    await ready;
    expect(notices).toEqual([]);
    expect((await c.api("uptime")).ok).toBe(true);
  });

  it("dropConnections('rst'): a raw socket gets ECONNRESET", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    const error = new Promise<NodeJS.ErrnoException>((resolve) => s.socket.once("error", resolve));
    sw.dropConnections("rst");
    expect((await error).code).toBe("ECONNRESET");
  });

  it("refuseConnections(ms): connects get ECONNREFUSED for that long, then succeed", async () => {
    const sw = await start();
    const port = sw.port;
    const window = sw.refuseConnections(300);
    await delay(20);
    await expect(connectRaw(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await window;
    const s = await RawSession.open(port);
    expect(s.frames[0]?.contentType).toBe("auth/request");
    s.close();
  });

  it("halfOpen(true): commands go unanswered and nothing arrives, without a FIN", async () => {
    const sw = await start();
    const c = client(sw);
    await c.connect();
    sw.halfOpen(true);
    await expect(c.api("status", 200)).rejects.toBeInstanceOf(EslTimeoutError);
    expect(c.state).toBe("ready");
    sw.halfOpen(false);
  });

  it("delayReplies(ms): every reply comes that much later", async () => {
    const sw = await start();
    const c = client(sw);
    await c.connect();
    sw.delayReplies(150);
    const t0 = performance.now();
    await c.api("uptime");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    sw.delayReplies(0);
  });

  it("pauseEvents / resumeEvents: events stop, then resume with a gap in Event-Sequence", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain ALL");
    sw.eventBurst(1);
    await s.until(() => s.events().length === 1);
    sw.pauseEvents();
    sw.eventBurst(5);
    await delay(50);
    expect(s.events()).toHaveLength(1);
    sw.resumeEvents();
    sw.eventBurst(1);
    await s.until(() => s.events().length === 2);
    const [a, b] = s.events();
    expect((b?.sequence ?? 0) - (a?.sequence ?? 0)).toBe(6);
    s.close();
  });

  it("HEARTBEAT's Session-Per-Sec is the budget left in this second (runtime.sps), not the limit", async () => {
    const sw = await start({ sessionsPerSecond: 30 });
    const s = await RawSession.authed(sw.port);
    await s.command("event plain HEARTBEAT");
    expect(await heartbeatBudget(s, sw)).toBe(30);
    // Ten sessions, then a HEARTBEAT at once: 20 left, unless the second turned meanwhile (then ten more).
    let budget = 30;
    for (let attempt = 0; attempt < 3 && budget > 20; attempt++) {
      for (let i = 0; i < 10; i++) await s.command(`api originate ${DIAL} &park()`);
      budget = await heartbeatBudget(s, sw);
    }
    expect(budget).toBeLessThanOrEqual(20);
    expect((await s.command("api fsctl sps")).bodyText()).toBe("+OK sessions per second: 30\n");
  });

  it("eventBurst(n): n events at once, in order", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event json HEARTBEAT");
    sw.eventBurst(2000);
    await s.until(() => s.events().length === 2000);
    const seqs = s.events().map((e) => e.sequence ?? 0);
    expect(seqs.every((v, i) => i === 0 || v === (seqs[i - 1] ?? 0) + 1)).toBe(true);
    s.close();
  });

  it("sendMalformedFrame(): the client reports a protocol error, drops the connection and reconnects", async () => {
    const sw = await start();
    const c = client(sw);
    await c.connect();
    const protocolError = once(c, "protocolError");
    const ready = once(c, "ready");
    sw.sendMalformedFrame();
    const [error] = await protocolError;
    expect(error.name).toBe("EslProtocolError");
    await ready;
  });

  it("shutdown(): SHUTDOWN, calls hung up SYSTEM_SHUTDOWN, the shutdown notice, EOF, then refused (07a/07e)", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain ALL");
    await s.command(`api originate ${DIAL} &park()`);
    s.frames.splice(0);
    await sw.shutdown();
    await s.until(() => s.closed);
    const names = s.events().map((e) => e.name);
    expect(names[0]).toBe("SHUTDOWN");
    expect(names).toContain("CHANNEL_HANGUP_COMPLETE");
    expect(s.events().find((e) => e.name === "CHANNEL_HANGUP")?.hangupCause).toBe("SYSTEM_SHUTDOWN");
    const last = s.frames.at(-1);
    expect(last?.contentType).toBe("text/disconnect-notice");
    expect(last?.bodyText()).toBe("The system is being shut down.\n");
    await expect(connectRaw(sw.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("shutdown({ lingerMs }): after SHUTDOWN, originates fail CHAN_NOT_IMPLEMENTED and fsctl sps answers 0 until the notice", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain SHUTDOWN BACKGROUND_JOB");
    const shutdown = sw.shutdown({ lingerMs: 300 });
    await s.until(() => s.events().some((e) => e.name === "SHUTDOWN"));
    expect((await s.command(`api originate ${DIAL} &park()`)).bodyText()).toBe("-ERR CHAN_NOT_IMPLEMENTED\n");
    expect((await s.command("api fsctl sps")).bodyText()).toBe("+OK sessions per second: 0\n");
    expect((await s.command("api status")).bodyText()).toMatch(/is not ready\n/);
    const late = await RawSession.authed(sw.port); // FreeSWITCH still accepts ESL connections meanwhile
    expect(s.closed).toBe(false);
    await shutdown;
    await s.until(() => s.closed && late.closed);
    expect(s.frames.at(-1)?.bodyText()).toBe("The system is being shut down.\n");
  });

  it("shutdown({ notice: false }): a SIGKILL — EOF with no events and no notice (07d)", async () => {
    const sw = await start();
    const s = await RawSession.authed(sw.port);
    await s.command("event plain ALL");
    await s.command(`api originate ${DIAL} &park()`);
    s.frames.splice(0);
    await sw.shutdown({ notice: false });
    await s.until(() => s.closed);
    expect(s.frames).toEqual([]);
  });

  it("restart(): the client reconnects to a switch with a new Core-UUID", async () => {
    const sw = await start();
    const before = sw.coreUuid;
    const c = client(sw);
    await c.connect();
    const ready = once(c, "ready");
    await sw.restart();
    await ready;
    expect(sw.coreUuid).not.toBe(before);
    const answered = new Promise<string | undefined>((resolve) =>
      c.on("event", (e) => e.name === "CHANNEL_ANSWER" && resolve(e.coreUuid)),
    );
    await c.api(`originate ${DIAL} &park()`);
    expect(await answered).toBe(sw.coreUuid);
  });

  it("a slow reader loses events past its queue and, past 500 lost, is disconnected (mod_event_socket)", async () => {
    const sw = await start({ eventQueueLength: 50 });
    const s = await RawSession.authed(sw.port);
    await s.command("event plain HEARTBEAT");
    s.socket.pause();
    for (let i = 0; i < 200 && sw.stats.listenersKilled === 0; i++) {
      sw.eventBurst(500);
      await delay(10);
    }
    expect(sw.stats.listenersKilled).toBe(1);
    expect(sw.stats.eventsLost).toBeGreaterThan(500);
    s.socket.resume();
    await s.until(() => s.closed, 10_000);
    const last = s.frames.at(-1);
    expect(last?.contentType).toBe("text/disconnect-notice");
    expect(last?.bodyText()).toBe("killed listener because of lost events\n");
    expect(s.events().length).toBeGreaterThan(0);
  });
});

async function heartbeatBudget(s: RawSession, sw: FakeSwitch): Promise<number> {
  const seen = s.events().length;
  sw.eventBurst(1);
  await s.until(() => s.events().length > seen);
  return Number(s.events().at(-1)?.get("Session-Per-Sec"));
}
