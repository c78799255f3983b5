import type http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { HttpLoad, type HttpLoadOptions } from "../../src/harness/load/http-load.ts";
import { closedPort, startHttpServer, type TestHttpServer } from "./http-server.ts";

let server: TestHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const ok = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end("{}");

function load(origin: string | string[], options: Partial<HttpLoadOptions> = {}): HttpLoad {
  return new HttpLoad({
    origin,
    schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: 1000 },
    connections: 8,
    maxInFlight: 1000,
    request: () => ({ method: "GET", path: "/" }),
    ...options,
  });
}

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("HTTP load driver", () => {
  it("sends JSON requests and counts statuses, successes and HTTP errors per second", async () => {
    const bodies: string[] = [];
    server = await startHttpServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        if (req.headers["content-type"] === "application/json") bodies.push(body);
        res.statusCode = req.url === "/fail" ? 503 : 201;
        res.end("{}");
      });
    });
    const result = await load(server.origin, {
      request: (i) => ({ method: "POST", path: i % 10 === 0 ? "/fail" : "/ok", body: { i } }),
    }).run();
    expect(result.counts).toEqual({ planned: 200, sent: 200, ok: 180, errors: 20, dropped: 0, cancelled: 0 });
    expect(result.statusCounts).toEqual({ 201: 180, 503: 20 });
    expect(result.errors).toMatchObject({ http_status: 20, timeout: 0, connection: 0 });
    expect(result.latency.count).toBe(200);
    // One JSON body per arrival, built from its index (connections may reorder them).
    const indices = bodies.map((body) => (JSON.parse(body) as { i: number }).i).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const sum = (key: "sent" | "ok" | "errors") => result.series.reduce((n, row) => n + row[key], 0);
    expect([sum("sent"), sum("ok"), sum("errors")]).toEqual([200, 180, 20]);
    expect(result.series.reduce((n, row) => n + row.latency.count, 0)).toBe(200);
  });

  it("a 1 s server stall shows in p95, p99 and max: every request it held up is slow, not one", async () => {
    const start = performance.now();
    let stallEnds: number | undefined;
    const held: Array<() => void> = [];
    server = await startHttpServer((_req, res) => {
      const now = performance.now();
      if (stallEnds === undefined && now - start >= 500) {
        stallEnds = now + 1000;
        setTimeout(() => {
          for (const release of held.splice(0)) release();
        }, 1000);
      }
      if (stallEnds !== undefined && now < stallEnds) held.push(() => res.end("{}"));
      else res.end("{}");
    });
    const result = await load(server.origin, {
      schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: 2500 },
    }).run();
    expect(result.counts).toMatchObject({ sent: 500, ok: 500, dropped: 0 });
    // ~200 of 500 requests were due during the stall, waiting from ~1000 ms down to 0 ms.
    const latency = result.latency.percentiles();
    expect(latency.max).toBeGreaterThanOrEqual(990);
    expect(latency.p99).toBeGreaterThanOrEqual(900);
    expect(latency.p95).toBeGreaterThanOrEqual(750);
    // The 300 requests outside the stall stay fast: the median sits among them (generous for a busy machine).
    expect(latency.p50).toBeLessThan(500);
  });

  it("a stall of our own event loop counts too: latency runs from the intended send time", async () => {
    server = await startHttpServer(ok);
    const stall = setTimeout(() => busyWait(300), 500);
    const result = await load(server.origin, {
      schedule: { executor: "constant-arrival-rate", rate: 200, durationMs: 1500 },
    }).run();
    clearTimeout(stall);
    expect(result.counts).toMatchObject({ sent: 300, ok: 300 });
    // 60 of 300 requests were due while the loop was blocked: they start late, and that is latency.
    const latency = result.latency.percentiles();
    expect(latency.max).toBeGreaterThanOrEqual(280);
    expect(latency.p95).toBeGreaterThanOrEqual(150);
    expect(result.startLateness.max).toBeGreaterThanOrEqual(280);
  });

  it("drops requests due while maxInFlight are outstanding, and delays none", async () => {
    server = await startHttpServer((_req, res) => setTimeout(() => res.end("{}"), 300));
    const result = await load(server.origin, {
      schedule: { executor: "constant-arrival-rate", rate: 100, durationMs: 500 },
      maxInFlight: 5,
    }).run();
    expect(result.counts.sent + result.counts.dropped).toBe(50);
    expect(result.counts.dropped).toBeGreaterThanOrEqual(20);
    expect(result.counts.ok).toBe(result.counts.sent);
    expect(result.series.reduce((n, row) => n + row.dropped, 0)).toBe(result.counts.dropped);
    expect(result.latency.percentiles().max).toBeLessThan(450);
  });

  it("classifies timeouts and refused connections", async () => {
    server = await startHttpServer(() => {}); // never answers
    const hanging = await load(server.origin, {
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: 500 },
      requestTimeoutMs: 200,
    }).run();
    expect(hanging.counts).toMatchObject({ sent: 10, ok: 0, errors: 10 });
    expect(hanging.errors.timeout).toBe(10);
    expect(hanging.latency.count).toBe(0);

    const refused = await load(`http://127.0.0.1:${await closedPort()}`, {
      schedule: { executor: "constant-arrival-rate", rate: 20, durationMs: 500 },
    }).run();
    expect(refused.counts).toMatchObject({ sent: 10, errors: 10 });
    expect(refused.errors.connection).toBe(10);
  });

  it("an abort stops the schedule and counts the requests it cut short as aborted", async () => {
    server = await startHttpServer(() => {}); // never answers
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const result = await load(server.origin, { signal: abort.signal }).run();
    expect(result.counts.sent).toBeGreaterThan(0);
    expect(result.counts.sent + result.counts.cancelled).toBe(200);
    expect(result.errors.aborted).toBe(result.counts.sent);
    expect(result.counts.errors).toBe(result.counts.sent);
  });

  // Accuracy on a quiet machine is a benchmark figure (`npm run bench harness`); here, bounds a loaded CI
  // machine still meets.
  it("keeps pace with 1,000 requests/s against a local server", async () => {
    server = await startHttpServer(ok);
    const driver = load(server.origin, {
      schedule: { executor: "constant-arrival-rate", rate: 1000, durationMs: 2000 },
      connections: 16,
    });
    expect(driver.live()).toBeUndefined();
    let live: ReturnType<HttpLoad["live"]>;
    const probe = setTimeout(() => {
      live = driver.live();
    }, 1500);
    const result = await driver.run();
    clearTimeout(probe);
    expect(result.counts).toMatchObject({ planned: 2000, sent: 2000, ok: 2000, errors: 0, dropped: 0 });
    expect(Math.abs(result.rate.achieved - 1000)).toBeLessThan(50);
    // The live view covers the seconds completed when it was taken, and agrees with the final series.
    const closed = Math.floor(live!.elapsedMs / 1000);
    expect(closed).toBeGreaterThanOrEqual(1);
    expect(live!.targetRate).toBe(1000);
    expect(live!.sent).toBe(result.series.slice(0, closed).reduce((n, row) => n + row.sent, 0));
    expect(live!.achievedRate).toBe(result.series[closed - 1]!.sent);
  });

  it("refuses to load anything but loopback", () => {
    expect(() => load("http://10.1.2.3:8080")).toThrow(/loopback/);
    expect(() => load("https://127.0.0.1:8443")).toThrow(/loopback/);
    expect(() => load("http://localhost:8080")).not.toThrow();
  });

  it("sends each request to the origin it names, one pool per origin, and refuses an origin off loopback", async () => {
    const hits = { a: 0, b: 0 };
    server = await startHttpServer((_req, res) => {
      hits.a++;
      res.end("{}");
    });
    const second = await startHttpServer((_req, res) => {
      hits.b++;
      res.end("{}");
    });
    try {
      const result = await load([server.origin, second.origin], {
        schedule: { executor: "constant-arrival-rate", rate: 100, durationMs: 200 },
        request: (index) => ({
          method: "GET",
          path: "/",
          origin: index % 2 === 0 ? undefined : second.origin,
        }),
      }).run();
      expect(result.counts).toMatchObject({ planned: 20, sent: 20, ok: 20, errors: 0 });
      expect(hits).toEqual({ a: 10, b: 10 });
    } finally {
      await second.close();
    }
    expect(() => load(["http://127.0.0.1:1", "http://10.0.0.1:80"])).toThrow(/loopback http only/);
  });
});
