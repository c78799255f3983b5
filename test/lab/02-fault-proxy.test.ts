import http from "node:http";
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FaultControlClient, startFaultControl } from "../../lab/faults/fault-control.ts";
import { FaultProxy } from "../../lab/faults/fault-proxy.ts";
import { foreignHostProblem } from "../../src/net/loopback.ts";

const loopback = "127.0.0.1";
/** "It answers": a generous bound, as the machine may be busy; a held or refused connection never answers. */
const answersWithinMs = 2_000;
let echo: net.Server;
let echoPort: number;
let proxy: FaultProxy;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  echo = net.createServer((socket) => {
    socket.on("error", () => {}); // the proxy resets its upstream side on a RST cut
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, loopback, resolve));
  echoPort = (echo.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

async function startProxy(targetPort = echoPort): Promise<FaultProxy> {
  proxy = new FaultProxy("test", { host: loopback, port: 0 }, { host: loopback, port: targetPort });
  await proxy.start();
  return proxy;
}
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await proxy?.close();
});

function connect(port = proxy.listen.port): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: loopback, port });
    sockets.push(socket);
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends `bytes` and resolves with the echo's milliseconds once all of it came back. */
function roundTrip(socket: net.Socket, bytes = 16): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received >= bytes) {
        socket.off("data", onData);
        resolve(performance.now() - started);
      }
    };
    socket.on("data", onData);
    socket.write(Buffer.alloc(bytes, 0x61));
  });
}

function closedHow(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    socket.once("end", () => resolve("FIN"));
  });
}

describe("FaultProxy", () => {
  it("forwards both ways and counts bytes per direction", async () => {
    await startProxy();
    const socket = await connect();
    expect(await roundTrip(socket, 1000)).toBeLessThan(answersWithinMs);
    expect(proxy.status()).toMatchObject({
      connections: 1,
      accepted: 1,
      bytes: { toTarget: 1000, fromTarget: 1000 },
    });
  });

  it("adds no delay of its own to small writes (no Nagle stall waiting on a delayed ACK)", async () => {
    // The server answers only once both bytes are in, so no reply can carry an early ACK for the first.
    const pairs = net.createServer({ noDelay: true }, (socket) => {
      let got = 0;
      socket.on("data", (chunk) => {
        got += chunk.length;
        if (got % 2 === 0) socket.write("k");
      });
    });
    await new Promise<void>((resolve) => pairs.listen(0, loopback, resolve));
    try {
      await startProxy((pairs.address() as net.AddressInfo).port);
      const socket = (await connect()).setNoDelay(true);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const answered = new Promise((resolve) => socket.once("data", resolve));
        socket.write("a");
        await new Promise((resolve) => setTimeout(resolve, 2));
        socket.write("b");
        await answered;
        times.push(performance.now() - started);
      }
      // A Nagle stall waits for a delayed ACK: 40 ms on Linux.
      expect(times.sort((a, b) => a - b)[2]).toBeLessThan(30);
    } finally {
      pairs.close();
    }
  });

  it("adds latency to each direction while on, and none once off", async () => {
    await startProxy();
    const socket = await connect();
    proxy.set({ kind: "latency", ms: 150, jitterMs: 10 });
    expect(await roundTrip(socket)).toBeGreaterThanOrEqual(280);
    await proxy.clear("latency");
    expect(await roundTrip(socket)).toBeLessThan(150); // less than one way's latency alone
  });

  it("caps bandwidth", async () => {
    await startProxy();
    const socket = await connect();
    proxy.set({ kind: "bandwidth", bytesPerSec: 40_000 });
    // 8 kB each way at 40 kB/s: about 200 ms per direction, the two overlapping slice by slice.
    const ms = await roundTrip(socket, 8_000);
    expect(ms).toBeGreaterThanOrEqual(180);
    expect(ms).toBeLessThan(1_000);
  });

  it("cuts every open connection with RST or FIN", async () => {
    await startProxy();
    const reset = await connect();
    const resetSeen = closedHow(reset);
    await roundTrip(reset);
    expect(proxy.cut("rst")).toBe(1);
    expect(await resetSeen).toBe("ECONNRESET");

    const finished = await connect();
    const finSeen = closedHow(finished);
    await roundTrip(finished);
    expect(proxy.cut("fin")).toBe(1);
    expect(await finSeen).toBe("FIN");
    // The link itself still works.
    expect(await roundTrip(await connect())).toBeLessThan(answersWithinMs);
  });

  it("blackholes: accepts and keeps connections but forwards nothing until cleared, then delivers what was held", async () => {
    await startProxy();
    const open = await connect();
    proxy.set({ kind: "blackhole" });
    const held = roundTrip(open);
    const fresh = await connect(); // still accepted
    const heldFresh = roundTrip(fresh);
    const early = await Promise.race([held, new Promise((r) => setTimeout(() => r("nothing"), 200))]);
    expect(early).toBe("nothing");
    expect(proxy.status().connections).toBe(2);
    await proxy.clear("blackhole");
    expect(await held).toBeGreaterThanOrEqual(200);
    expect(await heldFresh).toBeGreaterThanOrEqual(200);
  });

  it("refuses new connections while on, leaving open ones alone", async () => {
    await startProxy();
    const open = await connect();
    proxy.set({ kind: "refuse" });
    await expect(connect()).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(await roundTrip(open)).toBeLessThan(answersWithinMs);
    await proxy.clear("refuse");
    expect(await roundTrip(await connect())).toBeLessThan(answersWithinMs);
  });

  it("resets the client when the target refuses", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, loopback, resolve));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await startProxy(deadPort);
    const socket = await connect();
    expect(await closedHow(socket)).toBe("ECONNRESET");
  });

  it("refuses a control request whose Host names another server (DNS rebinding), token or not", async () => {
    await startProxy();
    const control = await startFaultControl(new Map([["esl", proxy]]), {
      host: loopback,
      port: 0,
      token: "t0k3n",
    });
    const port = (control.address() as net.AddressInfo).port;
    /** fetch will not send a Host header of our choosing; node:http will. */
    const statusWithHost = (host: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        http
          .get(
            { host: loopback, port, path: "/links", headers: { host, authorization: "Bearer t0k3n" } },
            (r) => {
              r.resume();
              resolve(r.statusCode);
            },
          )
          .once("error", reject);
      });
    try {
      expect(await statusWithHost(`evil.example:${port}`)).toBe(403);
      expect(await statusWithHost(`${loopback}:${port + 1}`)).toBe(403);
      expect(await statusWithHost(`localhost:${port}`)).toBe(200);
      expect(await statusWithHost(`${loopback}:${port}`)).toBe(200);
    } finally {
      control.close();
    }
  });

  it("takes as its own a Host of a loopback name or the address listened on, with the port", () => {
    const listen = { host: "100.64.0.7", port: 7000 };
    for (const host of ["127.0.0.1:7000", "localhost:7000", "[::1]:7000", "100.64.0.7:7000"])
      expect(foreignHostProblem(host, listen)).toBeUndefined();
    for (const host of [
      undefined,
      "",
      "evil.example:7000",
      "127.0.0.1:7001",
      "127.0.0.1",
      "x@127.0.0.1:7000",
    ])
      expect(foreignHostProblem(host, listen)).toMatch(/^Host must name this server/);
  });

  it("is switched through the control API, which wants the token", async () => {
    await startProxy();
    const control = await startFaultControl(new Map([["esl", proxy]]), {
      host: loopback,
      port: 0,
      token: "t0k3n",
    });
    const url = `http://${loopback}:${(control.address() as net.AddressInfo).port}`;
    try {
      const client = new FaultControlClient(url, "t0k3n");
      expect(await client.set("esl", { kind: "latency", ms: 5 })).toMatchObject({
        faults: [{ kind: "latency", ms: 5, jitterMs: 0 }],
      });
      expect((await client.links())[0]?.name).toBe("test");
      expect((await client.clear("esl")).faults).toEqual([]);
      expect(await client.cut("esl", "rst")).toMatchObject({ cut: 0 });
      await expect(client.set("nope", { kind: "refuse" })).rejects.toThrow(/no link "nope"/);
      await expect(new FaultControlClient(url, "wrong").links()).rejects.toThrow(/bad token/);
      const bad = await fetch(`${url}/links/esl/faults`, {
        method: "POST",
        headers: { authorization: "Bearer t0k3n" },
        body: JSON.stringify({ kind: "latency", ms: -1 }),
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: "latency: ms must be a number >= 0" });
    } finally {
      control.close();
    }
  });
});
