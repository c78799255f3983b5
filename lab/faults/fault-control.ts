import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import { foreignHostProblem } from "../../src/net/loopback.ts";
import {
  type CutMode,
  type FaultProxy,
  type LinkFault,
  type LinkFaultKind,
  linkFaultKinds,
  type ProxyStatus,
  parseLinkFault,
} from "./fault-proxy.ts";

/**
 * The fault proxies' control protocol: a tiny HTTP API on a loopback port, so that faults can be switched
 * from another shell (`lab fault …`) or a scenario while the proxies run in their own process. Every request
 * carries the lab's control token (from the state file), so only the lab's owner switches its faults, and
 * must name this server in its Host header, so a web page rebinding its DNS name to it cannot.
 *
 *   GET    /links                        every link's status
 *   POST   /links/<link>/faults          body: a LinkFault; on (replaces a fault of the same kind)
 *   DELETE /links/<link>/faults[/<kind>] off: one kind, or all
 *   POST   /links/<link>/cut             body: {"mode":"fin"|"rst"}; closes every open connection
 */
export function startFaultControl(
  proxies: ReadonlyMap<string, FaultProxy>,
  options: { host: string; port: number; token: string },
): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    const foreignHost = foreignHostProblem(request.headers.host, { host: options.host, port });
    if (foreignHost) return send(response, 403, { error: foreignHost });
    handle(proxies, options.token, request)
      .then(({ status, body }) => send(response, status, body))
      .catch((error: Error) => send(response, 400, { error: error.message }));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port }, () => resolve(server));
  });
}

async function handle(
  proxies: ReadonlyMap<string, FaultProxy>,
  token: string,
  request: http.IncomingMessage,
): Promise<{ status: number; body: unknown }> {
  if (!authorized(request.headers.authorization, token)) return { status: 401, body: { error: "bad token" } };
  const path = new URL(request.url ?? "/", "http://control").pathname.split("/").filter(Boolean);
  if (request.method === "GET" && path.length === 1 && path[0] === "links")
    return { status: 200, body: [...proxies.values()].map((p) => p.status()) };
  const [links, name, action, kind] = path;
  const proxy = links === "links" && name ? proxies.get(name) : undefined;
  if (!proxy) return { status: 404, body: { error: `no link ${JSON.stringify(name)}` } };
  if (request.method === "POST" && action === "faults" && kind === undefined) {
    proxy.set(parseLinkFault(await readJson(request)));
    return { status: 200, body: proxy.status() };
  }
  if (request.method === "DELETE" && action === "faults") {
    if (kind !== undefined && !linkFaultKinds.includes(kind as LinkFaultKind))
      return { status: 400, body: { error: `unknown fault kind ${JSON.stringify(kind)}` } };
    await proxy.clear(kind as LinkFaultKind | undefined);
    return { status: 200, body: proxy.status() };
  }
  if (request.method === "POST" && action === "cut") {
    const { mode } = (await readJson(request)) as { mode?: unknown };
    if (mode !== "fin" && mode !== "rst")
      return { status: 400, body: { error: 'mode must be "fin" or "rst"' } };
    return { status: 200, body: { cut: proxy.cut(mode), status: proxy.status() } };
  }
  return { status: 404, body: { error: `no route ${request.method} ${request.url}` } };
}

function authorized(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readJson(request: http.IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of request) text += chunk;
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new Error("body is not JSON");
  }
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** The client side, for the CLI and for scenarios. */
export class FaultControlClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  links(): Promise<ProxyStatus[]> {
    return this.request("GET", "/links");
  }

  set(link: string, fault: LinkFault): Promise<ProxyStatus> {
    return this.request("POST", `/links/${encodeURIComponent(link)}/faults`, fault);
  }

  clear(link: string, kind?: LinkFaultKind): Promise<ProxyStatus> {
    return this.request("DELETE", `/links/${encodeURIComponent(link)}/faults${kind ? `/${kind}` : ""}`);
  }

  cut(link: string, mode: CutMode): Promise<{ cut: number; status: ProxyStatus }> {
    return this.request("POST", `/links/${encodeURIComponent(link)}/cut`, { mode });
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(3_000),
      });
    } catch (error) {
      throw new Error(`fault proxy control at ${this.url} unreachable: ${(error as Error).message}`);
    }
    const parsed = (await response.json()) as T & { error?: string };
    if (!response.ok) throw new Error(`fault proxy: ${parsed.error ?? response.statusText}`);
    return parsed;
  }
}
