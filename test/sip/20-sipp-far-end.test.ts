import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freeUdpPort } from "../../lab/plan/ports.ts";
import { type SippRun, startSipp } from "../../lab/sipp/sipp.ts";
import type { IncomingCall } from "../../src/sip/incoming-call.ts";
import { UserAgent } from "../../src/sip/user-agent.ts";
import { missing } from "./binaries.ts";
import { startInboundCaller, until } from "./helpers.ts";

const T1 = 50;

describe.skipIf(missing("sipp"))("the user agent against SIPp", () => {
  let ua: UserAgent;
  let sipp: SippRun | undefined;
  beforeAll(async () => {
    ua = await UserAgent.start({ timers: { t1: T1, t2: 400, t4: 500 } });
  });
  afterEach(async () => {
    await sipp?.stop();
    sipp = undefined;
  });
  afterAll(() => ua.close());

  const carrier = async (
    scenario: "carrier-answer" | "carrier-busy" | "carrier-no-answer",
    holdMs = 5000,
  ) => {
    const port = await freeUdpPort();
    sipp = startSipp({
      scenario,
      port,
      calls: 1,
      timeoutS: 10,
      timings: { ANSWER_MS: 50, HOLD_MS: holdMs, T1_MS: T1 },
    });
    await new Promise((r) => setTimeout(r, 150)); // SIPp binds its socket before it reads the scenario's first recv
    return `sip:1000@127.0.0.1:${port}`;
  };

  it("calls SIPp, which rings, answers after its delay and takes our BYE", async () => {
    const to = await carrier("carrier-answer");
    const seen: string[] = [];
    const call = ua.invite(
      { to, from: "fs" },
      {
        progress: (s) => seen.push(String(s)),
        answered: () => seen.push("answered"),
        ended: (by) => seen.push(`ended ${by}`),
      },
    );
    await until(() => seen.includes("answered"));
    call.hangup();
    await until(() => seen.includes("ended local"));
    expect(seen).toEqual(["180", "answered", "ended local"]);
    expect(await sipp!.exited).toBe(0);
  });

  it("ends the call when SIPp hangs up first (BYE from the far end)", async () => {
    const to = await carrier("carrier-answer", 100);
    const ended: string[] = [];
    ua.invite({ to, from: "fs" }, { ended: (by) => ended.push(by) });
    await until(() => ended.length > 0);
    expect(ended).toEqual(["remote"]);
    expect(await sipp!.exited).toBe(0);
  });

  it("hears 486 Busy Here and ACKs it", async () => {
    const to = await carrier("carrier-busy");
    const failed: number[] = [];
    ua.invite({ to, from: "fs" }, { failed: (s) => failed.push(s) });
    await until(() => failed.length > 0);
    expect(failed).toEqual([486]);
    expect(await sipp!.exited).toBe(0);
  });

  it("CANCELs a call nobody answers and gets 487", async () => {
    const to = await carrier("carrier-no-answer");
    const seen: string[] = [];
    const call = ua.invite(
      { to, from: "fs" },
      { progress: () => seen.push("180"), failed: (s) => seen.push(String(s)) },
    );
    await until(() => seen.includes("180"));
    call.hangup();
    await until(() => seen.length > 1);
    expect(seen).toEqual(["180", "487"]);
    expect(await sipp!.exited).toBe(0);
  });

  it("times out on Timer B when nothing answers at all", async () => {
    const port = await freeUdpPort();
    const failed: number[] = [];
    const started = Date.now();
    ua.invite({ to: `sip:1000@127.0.0.1:${port}`, from: "fs" }, { failed: (s) => failed.push(s) });
    await until(() => failed.length > 0);
    expect(failed).toEqual([408]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(64 * T1 - 5);
  });

  it("answers SIPp's INVITE as a UAS; SIPp ACKs and sends BYE", async () => {
    const calls: IncomingCall[] = [];
    const ended: string[] = [];
    ua.onInvite = (call) => {
      calls.push(call);
      call.events = { ended: (by) => ended.push(by) };
      call.ringing();
      setTimeout(() => call.answer(), 30);
    };
    sipp = await startInboundCaller(ua.port, 1, { HOLD_MS: 50, T1_MS: T1 });
    expect(await sipp.exited).toBe(0);
    expect(ended).toEqual(["remote"]);
    expect(calls[0]?.to).toBe("5000");
    expect(calls[0]?.from).toBe("caller1");
  });

  it("lets SIPp's caller CANCEL a call we leave ringing", async () => {
    const cancelled: string[] = [];
    ua.onInvite = (call) => {
      call.events = { cancelled: () => cancelled.push(call.callId) };
      call.ringing();
    };
    sipp = await startInboundCaller(ua.port, 1, { RING_MS: 200, T1_MS: T1 });
    expect(await sipp.exited).toBe(0);
    expect(cancelled).toHaveLength(1);
  });
});
