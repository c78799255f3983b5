import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Kamailio, startKamailio } from "../../lab/kamailio/kamailio.ts";
import { freeUdpPort } from "../../lab/plan/ports.ts";
import { startSipp } from "../../lab/sipp/sipp.ts";
import { sippTotals } from "../../lab/sipp/stats.ts";
import { UserAgent } from "../../src/sip/user-agent.ts";
import { missing } from "./binaries.ts";
import { startInboundCaller, until } from "./helpers.ts";

const T1 = 50;

/** A FreeSWITCH stand-in: answers OPTIONS (the UA does), rings and answers every INVITE, counts them. */
async function instance() {
  const ua = await UserAgent.start({ timers: { t1: T1 } });
  const invites: string[] = [];
  ua.onInvite = (call) => {
    invites.push(call.to);
    call.ringing();
    call.answer();
  };
  return { ua, invites };
}

describe.skipIf(missing("kamailio", "sipp"))("Kamailio with the lab's config", () => {
  let kamailio: Kamailio;
  let a: Awaited<ReturnType<typeof instance>>;
  let b: Awaited<ReturnType<typeof instance>>;

  beforeAll(async () => {
    a = await instance();
    b = await instance();
    kamailio = await startKamailio({
      port: await freeUdpPort(),
      freeswitch: [a.ua, b.ua].map((ua) => ({ host: "127.0.0.1", port: ua.port })),
    });
  });
  afterAll(async () => {
    await kamailio?.stop();
    await a?.ua.close();
    await b?.ua.close();
  });

  const inboundCalls = async (calls: number) => {
    const sipp = await startInboundCaller(kamailio.port, calls, { HOLD_MS: 20, T1_MS: T1 });
    const code = await sipp.exited;
    return { code, calls: sippTotals(sipp.read("caller").rows) };
  };

  it("probes both instances with OPTIONS and marks them active", async () => {
    await until(async () => (await kamailio.dispatcher()).every((t) => t.active), 5000, "both active");
    expect(await kamailio.dispatcher()).toHaveLength(2);
  });

  it("balances inbound calls over the instances (round robin), dialogs through the proxy", async () => {
    const { code, calls } = await inboundCalls(10);
    expect(code).toBe(0);
    expect(calls.successful).toBe(10);
    expect(a.invites.length + b.invites.length).toBe(10);
    expect(a.invites.length).toBeGreaterThan(0);
    expect(b.invites.length).toBeGreaterThan(0);
    const s = await kamailio.statistics();
    expect(s["core:rcv_requests_invite"]).toBeGreaterThanOrEqual(10);
    expect(s["core:rcv_requests_bye"]).toBeGreaterThanOrEqual(10);
  });

  it("relays an instance's outbound INVITE to the carrier named in its Request-URI", async () => {
    const carrierPort = await freeUdpPort();
    const carrier = startSipp({
      scenario: "carrier-busy",
      port: carrierPort,
      calls: 1,
      timeoutS: 10,
      timings: { T1_MS: T1 },
    });
    await new Promise((r) => setTimeout(r, 150));
    const failed = await new Promise<number>((resolve) =>
      a.ua.invite(
        {
          to: `sip:1000@127.0.0.1:${carrierPort}`,
          from: "fs",
          via: { host: "127.0.0.1", port: kamailio.port },
        },
        { failed: resolve },
      ),
    );
    expect(failed).toBe(486);
    expect(await carrier.exited).toBe(0);
  });

  it("moves new inbound calls to the other instance when one stops answering", async () => {
    await b.ua.close();
    const before = a.invites.length;
    const { code } = await inboundCalls(6);
    expect(code).toBe(0);
    expect(a.invites.length - before).toBe(6);
    await until(async () => (await kamailio.dispatcher()).some((t) => !t.active), 5000, "one inactive");
  });
});
