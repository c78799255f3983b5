import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import { foreignHostProblem } from "../net/loopback.ts";
import type { CallProfile } from "./call-model.ts";
import {
  BadRequest,
  booleanField,
  type JsonBody,
  numberField,
  oneOf,
  onlyFields,
  optionalNumber,
  stringField,
} from "./json-fields.ts";
import { type LoadLatency, loadLatencyKeys } from "./reply-latency.ts";
import type { FakeSwitch } from "./server.ts";

/**
 * The double's control endpoint: a tiny HTTP/JSON API on 127.0.0.1, so that tests, scenarios and the lab
 * can inject faults into a double that runs in another process. Routes are listed in README.md.
 *
 * Only loopback clients get in: the socket binds 127.0.0.1, the Host header must name it (a web page
 * that rebinds its DNS to 127.0.0.1 cannot), and a request with a body must say `application/json` (a
 * cross-site form cannot). With a token set, every request needs `Authorization: Bearer <token>`.
 */
export interface ControlApiOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  token?: string;
}

export interface ControlApi {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

type ControlRoute = (body: JsonBody) => unknown;

const HOST = "127.0.0.1";

/** A refusal with its HTTP status (403 Host, 401 token, 404 route, 415 media type). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startControlApi(fs: FakeSwitch, opts: ControlApiOptions = {}): Promise<ControlApi> {
  const routes = controlRoutes(fs);
  let port = opts.port ?? 0;
  const server = http.createServer((request, response) => {
    handle(routes, request, port, opts.token)
      .then((body) => send(response, 200, body ?? { ok: true }))
      .catch((error: Error) =>
        send(response, error instanceof HttpError ? error.status : error instanceof BadRequest ? 400 : 500, {
          error: error.message,
        }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: HOST, port, exclusive: true }, () => resolve());
  });
  const address = server.address();
  if (address && typeof address === "object") port = address.port;
  return {
    host: HOST,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  routes: ReadonlyMap<string, ControlRoute>,
  request: http.IncomingMessage,
  port: number,
  token: string | undefined,
): Promise<unknown> {
  const foreignHost = foreignHostProblem(request.headers.host, { host: HOST, port });
  if (foreignHost) throw new HttpError(403, foreignHost);
  if (token !== undefined && !bearerMatches(request.headers.authorization, token))
    throw new HttpError(401, "bad token");
  const path = new URL(request.url ?? "/", `http://${HOST}`).pathname;
  const route = routes.get(`${request.method} ${path}`);
  if (!route) throw new HttpError(404, `no route ${request.method} ${path}`);
  return route(request.method === "GET" ? {} : await readJson(request));
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readJson(request: http.IncomingMessage): Promise<JsonBody> {
  if (!(request.headers["content-type"] ?? "").startsWith("application/json"))
    throw new HttpError(415, "Content-Type must be application/json");
  let text = "";
  for await (const chunk of request) text += chunk;
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new BadRequest("body is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new BadRequest("body must be a JSON object");
  return body as JsonBody;
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Every route: `"<METHOD> <path>"` → what it does to the double. */
function controlRoutes(fs: FakeSwitch): Map<string, ControlRoute> {
  return new Map<string, ControlRoute>([
    ["GET /stats", () => ({ ...fs.stats, coreUuid: fs.coreUuid, port: fs.port })],
    ["GET /profile", () => profileJson(fs.profile)],
    [
      "PATCH /profile",
      (body) => {
        fs.setProfile(profileFrom(body));
        return profileJson(fs.profile);
      },
    ],
    ["POST /drop-connections", (body) => fs.dropConnections(oneOf(body, "how", ["fin", "rst"] as const))],
    [
      "POST /refuse-connections",
      (body) => {
        // Answer at once: the caller wants to see the refusals while they last.
        void fs.refuseConnections(numberField(body, "ms", { max: 3_600_000 }));
      },
    ],
    ["POST /half-open", (body) => fs.halfOpen(booleanField(body, "on"))],
    ["POST /delay-replies", (body) => fs.delayReplies(numberField(body, "ms", { max: 3_600_000 }))],
    ["POST /load-latency", (body) => fs.setLoadLatency(loadLatencyFrom(body))],
    ["POST /event-rate", (body) => fs.capEventRate(numberField(body, "perSecond"))],
    ["POST /pause-events", () => fs.pauseEvents()],
    ["POST /resume-events", () => fs.resumeEvents()],
    [
      "POST /event-burst",
      (body) => {
        onlyFields(body, ["n", "event"]);
        const event = body.event === undefined ? undefined : String(body.event);
        fs.eventBurst(numberField(body, "n", { max: 1_000_000 }), event);
      },
    ],
    ["POST /malformed-frame", () => fs.sendMalformedFrame()],
    [
      "POST /inbound",
      (body) => {
        onlyFields(body, ["from", "fromName", "to", "context", "uuid"]);
        const optional = (name: string) => (body[name] === undefined ? undefined : stringField(body, name));
        const result = fs.inboundCall({
          from: stringField(body, "from"),
          to: stringField(body, "to"),
          fromName: optional("fromName"),
          context: optional("context"),
          uuid: optional("uuid"),
        });
        if ("refused" in result) throw new HttpError(503, result.refused);
        return result;
      },
    ],
    [
      "POST /shutdown",
      async (body) => {
        onlyFields(body, ["notice", "lingerMs"]);
        await fs.shutdown({
          notice: body.notice === undefined ? true : booleanField(body, "notice"),
          lingerMs: optionalNumber(body, "lingerMs", { max: 600_000 }),
        });
      },
    ],
    [
      "POST /restart",
      async () => {
        await fs.restart();
        return { coreUuid: fs.coreUuid, port: fs.port };
      },
    ],
  ]);
}

function loadLatencyFrom(body: JsonBody): LoadLatency | undefined {
  onlyFields(body, loadLatencyKeys);
  const latency: LoadLatency = {};
  for (const name of loadLatencyKeys) {
    const v = optionalNumber(body, name);
    if (v !== undefined) latency[name] = v;
  }
  return Object.keys(latency).length > 0 ? latency : undefined;
}

type Duration = CallProfile["answerDelayMs"];
const PROFILE_DURATIONS = ["answerDelayMs", "holdMs"] as const;
const PROFILE_SHARES = ["busyShare", "noAnswerShare", "failShare", "earlyMediaShare"] as const;

/** A profile change: durations as ms, `[min, max]` or `"inf"`; shares from 0 to 1. */
function profileFrom(body: JsonBody): Partial<CallProfile> {
  onlyFields(body, [...PROFILE_DURATIONS, ...PROFILE_SHARES]);
  const profile: Partial<CallProfile> = {};
  for (const name of PROFILE_DURATIONS)
    if (body[name] !== undefined) profile[name] = durationFrom(body, name);
  for (const name of PROFILE_SHARES) {
    const v = optionalNumber(body, name, { max: 1 });
    if (v !== undefined) profile[name] = v;
  }
  return profile;
}

function durationFrom(body: JsonBody, name: string): Duration {
  const v = body[name];
  if (v === "inf") return Number.POSITIVE_INFINITY;
  if (Array.isArray(v) && v.length === 2) {
    const [min, max] = [numberField({ min: v[0] }, "min"), numberField({ max: v[1] }, "max")];
    if (min > max) throw new BadRequest(`${name}: min above max`);
    return [min, max];
  }
  return numberField(body, name);
}

/** JSON has no Infinity: an endless hold reads `"inf"`, as it is written. */
function profileJson(profile: CallProfile): Record<string, unknown> {
  const out: Record<string, unknown> = { ...profile };
  for (const name of PROFILE_DURATIONS) if (profile[name] === Number.POSITIVE_INFINITY) out[name] = "inf";
  return out;
}
