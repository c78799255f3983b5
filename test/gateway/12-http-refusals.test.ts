import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxHeaderBytes, maxUrlBytes } from "../../src/gateway/http.ts";
import { type GatewayUnderTest, startGatewayUnderTest } from "../helpers/gateway.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats.ts";

// Requests refused before a route runs (by Node's HTTP parser, fastify's router or its body parsers) get
// the same `{"error":{"code","message"}}` envelope and the status that names the problem.

let nats: TestNatsServer;
let lab: GatewayUnderTest;
let port: number;

beforeAll(async () => {
  nats = await startNatsServer();
  lab = await startGatewayUnderTest({ natsUrl: nats.url });
  port = Number(new URL(lab.base).port);
});

afterAll(async () => {
  await lab?.stop();
  await nats?.stop();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: the JSON body is read field by field in assertions
  body: any;
}

/** Writes `request` as-is (in `chunks` writes) and parses the one response the gateway sends back. */
function raw(request: string, chunks = 1): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", async () => {
      const size = Math.ceil(request.length / chunks);
      for (let at = 0; at < request.length && !socket.destroyed; at += size) {
        socket.write(request.slice(at, at + size));
        if (chunks > 1) await new Promise((r) => setTimeout(r, 10));
      }
    });
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (data) => {
      text += data;
    });
    socket.on("error", () => {}); // a reset after the answer: the answer is what is checked
    socket.on("close", () => {
      const [head = "", body = ""] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const status = Number(statusLine.split(" ")[1]);
      if (!status) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const headers = Object.fromEntries(
        lines.map((line) => [
          line.slice(0, line.indexOf(":")).toLowerCase(),
          line.slice(line.indexOf(":") + 1).trim(),
        ]),
      );
      resolve({ status, headers, body: body ? JSON.parse(body) : undefined });
    });
  });
}

const request = (line: string, headers: string[] = []) =>
  [line, "Host: 127.0.0.1", "Connection: close", ...headers, "", ""].join("\r\n");

describe("requests refused before a route runs", () => {
  it("answers 415 unsupported_media_type for a text/plain body to a JSON route", async () => {
    const response = await fetch(`${lab.base}/api/v1/fs/originate`, {
      method: "POST",
      headers: { authorization: `Bearer ${await lab.token()}`, "content-type": "text/plain" },
      body: "destination=sofia/internal/1000",
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: "unsupported_media_type" } });
  });

  it("answers 414 uri_too_long for a URL over the limit, whether fastify or Node's parser catches it", async () => {
    for (const length of [maxUrlBytes + 1, maxHeaderBytes + 1, 4 * maxHeaderBytes]) {
      const response = await raw(request(`GET /api/v1/fs/channels?pad=${"a".repeat(length)} HTTP/1.1`));
      expect({ length, ...response }).toMatchObject({
        length,
        status: 414,
        body: { error: { code: "uri_too_long", message: expect.any(String) } },
      });
    }
    const longParam = await raw(request(`POST /api/v1/fs/hangup/${"u".repeat(maxUrlBytes)} HTTP/1.1`));
    expect(longParam).toMatchObject({ status: 414, body: { error: { code: "uri_too_long" } } });
  });

  it("answers 431 headers_too_large for header fields over the limit, in one write or several", async () => {
    const big = request("GET /health HTTP/1.1", [`X-Padding: ${"b".repeat(maxHeaderBytes)}`]);
    for (const chunks of [1, 8]) {
      expect(await raw(big, chunks)).toMatchObject({
        status: 431,
        headers: { "content-type": expect.stringContaining("application/json"), connection: "close" },
        body: { error: { code: "headers_too_large" } },
      });
    }
  });

  it("answers 400 bad_request for a URL that is not valid percent-encoding", async () => {
    for (const target of ["/health%zz", "/api/v1/fs/hangup/%E0%A4%A", "/%"]) {
      expect(await raw(request(`GET ${target} HTTP/1.1`))).toMatchObject({
        status: 400,
        body: { error: { code: "bad_request" } },
      });
    }
  });

  it("answers 501 for a method the server does not implement, 405 with Allow for one a path does not take", async () => {
    for (const method of ["FOO", "PROPFIND"]) {
      expect(await raw(request(`${method} /health HTTP/1.1`))).toMatchObject({
        status: 501,
        body: { error: { code: "not_implemented" } },
      });
    }
    expect(await raw(request("DELETE /health HTTP/1.1"))).toMatchObject({
      status: 405,
      headers: { allow: "GET, HEAD" },
      body: { error: { code: "method_not_allowed" } },
    });
    expect(await raw(request("PUT /api/v1/fs/hangup/abc HTTP/1.1", ["Content-Length: 0"]))).toMatchObject({
      status: 405,
      headers: { allow: "POST" },
      body: { error: { code: "method_not_allowed" } },
    });
    expect(await raw(request("GET /no/such/path HTTP/1.1"))).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
  });

  it("answers 400 bad_request, in the envelope, for bytes that are not an HTTP request", async () => {
    expect(await raw("\u0000\u0001 not http\r\n\r\n")).toMatchObject({
      status: 400,
      body: { error: { code: "bad_request", message: expect.any(String) } },
    });
  });

  it("still serves ordinary requests on the same server", async () => {
    const ok = await raw(request("GET /health HTTP/1.1"));
    expect(ok.status).toBe(200);
  });
});
