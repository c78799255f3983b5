import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import swagger from "@fastify/swagger";
import Fastify, {
  type ConnectionError,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import { ApiError } from "../contracts/api-error.ts";
import type { JwtAuthenticator } from "../contracts/bearer-token.ts";
import { jsonValidatorCompiler } from "../contracts/json-validator.ts";
import { type OriginateInput, originateBodySchema } from "../contracts/originate-input.ts";
import type { GatewayScope } from "../contracts/scopes.ts";
import type { ChannelTable } from "./channels.ts";
import type { FsControl, Leg } from "./fs-control.ts";
import type { GatewayMetrics } from "./metrics.ts";

interface HttpDeps {
  log: Logger;
  auth: JwtAuthenticator;
  control: FsControl;
  channels: ChannelTable;
  metrics: GatewayMetrics;
  health: () => { healthy: boolean; body: Record<string, unknown> };
}

/** Per-request lines at debug level: at 1,000 requests/s, info-level access logs would cost more than the work. */
class DebugRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.url }, "incoming request");
  }
  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    request.log.debug(
      { status: reply.statusCode, ms: reply.elapsedTime, err: error?.message },
      "request completed",
    );
  }
}

const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" } },
      required: ["code", "message"],
    },
  },
  required: ["error"],
} as const;

const uuidParam = {
  type: "object",
  properties: { call_uuid: { type: "string", minLength: 1, maxLength: 64 } },
  required: ["call_uuid"],
} as const;

const leg = { type: "string", enum: ["aleg", "bleg", "both"] } as const;

const originateResponse = {
  type: "object",
  required: ["call_uuid", "job_uuid", "status"],
  properties: {
    call_uuid: { type: "string" },
    job_uuid: { type: "string" },
    status: { type: "string", enum: ["accepted", "answered", "failed"] },
    hangup_cause: { type: "string" },
    result: { type: "string" },
  },
} as const;

const okResponse = {
  type: "object",
  required: ["call_uuid", "status"],
  properties: { call_uuid: { type: "string" }, status: { type: "string" } },
} as const;

const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  405: errorSchema,
  414: errorSchema,
  415: errorSchema,
  429: errorSchema,
  431: errorSchema,
  503: errorSchema,
  504: errorSchema,
};

/** Longest request target (path and query) served: 414 past it. */
export const maxUrlBytes = 8 * 1024;
/** Request line and header fields together (Node's own limit, made explicit): 431 past it, 414 when the request line alone is. */
export const maxHeaderBytes = 16 * 1024;

/** The ApiError for an error fastify raised (validation, body parsing, routing) or one a handler threw. */
function toApiError(error: FastifyError, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  if ((error as { validation?: unknown }).validation) return new ApiError(400, "bad_request", error.message);
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError(413, "payload_too_large", error.message);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError(415, "unsupported_media_type", "send application/json");
    case "FST_ERR_BAD_URL":
      return new ApiError(400, "bad_request", "the request URL is not valid percent-encoded UTF-8");
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new ApiError(414, "uri_too_long", `the request URL is over ${maxUrlBytes} bytes`);
  }
  if (error.statusCode === 400 || error.code?.startsWith("FST_ERR_CTP"))
    return new ApiError(400, "bad_request", error.message);
  request.log.error({ err: error.message }, "unhandled error");
  return new ApiError(500, "internal", "internal error");
}

function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const apiError = toApiError(error, request);
  if (apiError.retryAfterSec !== undefined) void reply.header("Retry-After", String(apiError.retryAfterSec));
  if (apiError.status >= 500)
    request.log.warn({ code: apiError.code, reason: apiError.message }, "request failed");
  void reply.code(apiError.status).send({ error: { code: apiError.code, message: apiError.message } });
}

/** A request method token followed by a space: what an HTTP request starts with. */
const requestLineStart = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ /;

/**
 * Requests Node's HTTP parser refuses before fastify sees them, answered with the same JSON envelope; the
 * connection is closed, as Node does (the parser cannot resume mid-request).
 */
function answerClientError(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  // The chunk the parser failed on (a Buffer, whatever fastify's type says).
  const packet: Buffer = Buffer.isBuffer(error.rawPacket) ? error.rawPacket : Buffer.alloc(0);
  let apiError: ApiError;
  if (error.code === "HPE_HEADER_OVERFLOW") {
    // The failing chunk shows whether the request line was still being read (it arrives first, unbroken
    // by a line end); a request line split across reads is counted as headers.
    const parsed = packet.subarray(0, error.bytesParsed ?? packet.length).toString("latin1");
    apiError =
      requestLineStart.test(parsed) && !parsed.includes("\n")
        ? new ApiError(414, "uri_too_long", `the request URL is over ${maxUrlBytes} bytes`)
        : new ApiError(
            431,
            "headers_too_large",
            `request line and header fields are over ${maxHeaderBytes} bytes`,
          );
  } else if (error.code === "HPE_INVALID_METHOD" && requestLineStart.test(packet.toString("latin1"))) {
    apiError = new ApiError(501, "not_implemented", "request method not implemented");
  } else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    apiError = new ApiError(408, "request_timeout", "request not received in time");
  } else {
    apiError = new ApiError(400, "bad_request", "malformed HTTP request");
  }
  this.log.debug({ err: error.message, status: apiError.status }, "HTTP client error");
  if (socket.writable) {
    const body = JSON.stringify({ error: { code: apiError.code, message: apiError.message } });
    socket.write(
      `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** The gateway's REST API (ADR-0011's contract). Every error is JSON with a stable `code`. */
export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: 64 * 1024,
    logController: new DebugRequestLog(),
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
    http: { maxHeaderSize: maxHeaderBytes },
    // A path parameter is bounded by its schema (400) and the URL as a whole by maxUrlBytes (414).
    routerOptions: { maxParamLength: maxUrlBytes },
    frameworkErrors: sendError,
    clientErrorHandler: answerClientError,
  });
  app.setValidatorCompiler(jsonValidatorCompiler());
  // Only JSON bodies: fastify's default text/plain parser would hand a string to the schema (400, not 415).
  app.removeContentTypeParser("text/plain");

  let closing = false;
  // Registered (awaited) before the routes, so its onRoute hook sees every one of them.
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "fs-esl-gateway",
        version: "1",
        description:
          "REST API of the FreeSWITCH ESL gateway (ADR-0011). Bearer JWT (HS256) with per-command scopes.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler(sendError);
  app.addHook("onRequest", async (request) => {
    if ((request.raw.url ?? "").length > maxUrlBytes)
      throw new ApiError(414, "uri_too_long", `the request URL is over ${maxUrlBytes} bytes`);
  });
  // While shutting down, every response asks the client to close its keep-alive connection.
  app.addHook("onSend", async (_request, reply) => {
    if (closing) void reply.header("connection", "close");
  });
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.setNotFoundHandler(async (request) => {
    if (!app.supportedMethods.includes(request.method))
      throw new ApiError(501, "not_implemented", `request method ${request.method} not implemented`);
    throw new ApiError(404, "not_found", `no route ${request.method} ${request.url}`);
  });
  // Each path's methods, so that another method on a known path is answered 405 with `Allow`, not 404.
  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const methods = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByUrl.set(route.url, methods);
  });

  const guard = (scope: GatewayScope) => async (request: FastifyRequest) => {
    await deps.auth.authenticate(request.headers.authorization, scope);
  };

  app.post<{ Body: OriginateInput }>(
    "/api/v1/fs/originate",
    {
      onRequest: guard("fs:originate"),
      schema: {
        summary: "Originate a call (bgapi originate)",
        body: originateBodySchema,
        response: { 200: originateResponse, 202: originateResponse, 409: errorSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await deps.control.originate(request.body);
      return reply.code(result.status === "accepted" ? 202 : 200).send(result);
    },
  );

  app.post<{ Params: { call_uuid: string }; Body: { cause?: string } | undefined }>(
    "/api/v1/fs/hangup/:call_uuid",
    {
      onRequest: guard("fs:hangup"),
      schema: {
        summary: "Hang up a channel (uuid_kill)",
        params: uuidParam,
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { cause: { type: "string", maxLength: 64 } },
        },
        response: { 200: okResponse, 404: errorSchema, ...errorResponses },
      },
    },
    async (request) => {
      await deps.control.hangup(request.params.call_uuid, request.body?.cause);
      return { call_uuid: request.params.call_uuid, status: "hangup_requested" };
    },
  );

  app.post<{ Params: { call_uuid: string }; Body: { file?: string; tone?: string; leg?: Leg } }>(
    "/api/v1/fs/play/:call_uuid",
    {
      onRequest: guard("fs:play"),
      schema: {
        summary: "Play a file or tone on a channel (uuid_broadcast)",
        params: uuidParam,
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            file: { type: "string", maxLength: 1024 },
            tone: { type: "string", maxLength: 256 },
            leg,
          },
        },
        response: { 200: okResponse, 404: errorSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { leg: which, ...media } = request.body;
      await deps.control.play(request.params.call_uuid, media, which);
      return { call_uuid: request.params.call_uuid, status: "playing" };
    },
  );

  app.post<{
    Params: { call_uuid: string };
    Body: { extension: string; dialplan?: string; context?: string; leg?: Leg };
  }>(
    "/api/v1/fs/transfer/:call_uuid",
    {
      onRequest: guard("fs:transfer"),
      schema: {
        summary: "Transfer a channel to an extension (uuid_transfer)",
        params: uuidParam,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["extension"],
          properties: {
            extension: { type: "string", maxLength: 64 },
            dialplan: { type: "string", maxLength: 32 },
            context: { type: "string", maxLength: 64 },
            leg,
          },
        },
        response: { 200: okResponse, 404: errorSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { leg: which, ...target } = request.body;
      await deps.control.transfer(request.params.call_uuid, target, which);
      return { call_uuid: request.params.call_uuid, status: "transferred" };
    },
  );

  app.get<{ Querystring: { offset?: number; limit?: number } }>(
    "/api/v1/fs/channels",
    {
      onRequest: guard("fs:read"),
      schema: {
        summary:
          "Live channels, from the gateway's event-fed channel table (re-seeded by `show channels` on reconnect)",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            offset: { type: "integer", minimum: 0, default: 0 },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (request) => {
      const { offset = 0, limit = 100 } = request.query;
      const page = deps.channels.page(offset, limit);
      return { source: "event-stream", total: page.total, offset, limit, items: page.items };
    },
  );

  app.get(
    "/health",
    { schema: { summary: "ESL, NATS and queue state: 200 when ESL is ready, else 503" } },
    async (_, reply) => {
      const { healthy, body } = deps.health();
      return reply.code(healthy ? 200 : 503).send(body);
    },
  );

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get("/metrics", { schema: { hide: true } }, async (_, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });

  for (const [url, methods] of [...methodsByUrl]) {
    const allowed = methods.has("GET") ? [...methods, "HEAD"] : [...methods]; // HEAD: fastify's, from GET
    const allow = [...new Set(allowed)].join(", ");
    app.route({
      method: app.supportedMethods.filter((method) => !allowed.includes(method)),
      url,
      schema: { hide: true },
      handler: async (request, reply) => {
        void reply.header("allow", allow);
        throw new ApiError(405, "method_not_allowed", `${request.method} is not allowed here (${allow})`);
      },
    });
  }

  return app as unknown as FastifyInstance;
}
