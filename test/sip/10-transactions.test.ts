import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SipMessage } from "../../src/sip/message.ts";
import { isParseError, parseDatagram } from "../../src/sip/parser.ts";
import { UserAgent } from "../../src/sip/user-agent.ts";

const T1 = 20;

/** A silent far end that records what arrives and when. */
async function listener() {
  const socket = dgram.createSocket("udp4");
  const got: Array<{ at: number; message: SipMessage }> = [];
  socket.on("message", (data) => {
    const m = parseDatagram(data);
    if (!isParseError(m)) got.push({ at: Date.now(), message: m });
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  return { socket, got, port: socket.address().port };
}

describe("RFC 3261 transaction timers over UDP", () => {
  let ua: UserAgent;
  beforeAll(async () => {
    ua = await UserAgent.start({ timers: { t1: T1, t2: 4 * T1, t4: 5 * T1 } });
  });
  afterAll(() => ua.close());

  it("retransmits an INVITE on Timer A (doubling) until Timer B gives up at 64·T1", async () => {
    const far = await listener();
    const started = Date.now();
    const failed = await new Promise<number>((resolve) =>
      ua.invite({ to: `sip:1@127.0.0.1:${far.port}`, from: "fs" }, { failed: resolve }),
    );
    expect(failed).toBe(408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(64 * T1 - 2);
    // Sent at 0, T1, 3T1, 7T1, 15T1, 31T1, 63T1: 7 copies in 64·T1 (6 when a busy machine's timers run late
    // and the last one falls past Timer B; capped at T2 there would be about 18, never doubled 64).
    const copies = far.got.filter((g) => g.message.kind === "request" && g.message.method === "INVITE");
    expect(copies.length).toBeGreaterThanOrEqual(6);
    expect(copies.length).toBeLessThanOrEqual(7);
    far.socket.close();
  });

  it("retransmits a non-INVITE on Timer E, capped at T2, until Timer F", async () => {
    const far = await listener();
    const status = await ua.options(`sip:1@127.0.0.1:${far.port}`, { host: "127.0.0.1", port: far.port });
    expect(status).toBe(408);
    const gaps = far.got.slice(1).map((g, i) => g.at - far.got[i]!.at);
    // T1, 2T1, 4T1 (= T2), then T2 each time: the gaps after the third stay at T2 (their median, so one
    // late timer on a busy machine does not decide), where uncapped doubling would go on to 8T1, 16T1…
    const later = gaps.slice(3).sort((a, b) => a - b);
    expect(later[later.length >> 1]).toBeLessThan(4 * T1 + 15);
    expect(far.got.length).toBeGreaterThanOrEqual(15);
    far.socket.close();
  });

  it("answers OPTIONS with 200 and resends its final response for a retransmitted request (Timer J)", async () => {
    const far = await listener();
    const options = Buffer.from(
      `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${far.port};branch=z9hG4bKopt1\r\nFrom: <sip:p@h>;tag=1\r\nTo: <sip:x@h>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    );
    far.socket.send(options, ua.port, "127.0.0.1");
    far.socket.send(options, ua.port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 50));
    const statuses = far.got.map((g) => (g.message.kind === "response" ? g.message.status : 0));
    expect(statuses).toEqual([200, 200]);
    far.socket.close();
  });
});
