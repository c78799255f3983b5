import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import type { GatewayScope, JwtAuthenticator } from "./auth.ts";
import type { ChannelTable } from "./channels.ts";
import { ApiError } from "./errors.ts";
import type { FsControl, Leg, OriginateInput } from "./fs-control.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { jsonValidatorCompiler } from "./validator.ts";

export interface HttpDeps {
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

const scalar = {
  anyOf: [{ type: "string", maxLength: 1024 }, { type: "number" }, { type: "boolean" }],
} as const;
const leg = { type: "string", enum: ["aleg", "bleg", "both"] } as const;

export const originateBodySchema = {
  type: "object",
  additionalProperties: false,
  required: ["destination"],
  properties: {
    destination: {
      description: "Dial string of one leg, or several legs (rung per `mode`)",
      anyOf: [
        { type: "array", minItems: 1, maxItems: 32, items: { type: "string", minLength: 1, maxLength: 512 } },
        { type: "string", minLength: 1, maxLength: 512 },
      ],
    },
    mode: { type: "string", enum: ["simultaneous", "sequential"] },
    application: {
      type: "object",
      additionalProperties: false,
      required: ["name"],
      properties: { name: { type: "string", maxLength: 64 }, args: { type: "string", maxLength: 1024 } },
    },
    extension: {
      type: "object",
      additionalProperties: false,
      required: ["number"],
      properties: {
        number: { type: "string", maxLength: 64 },
        dialplan: { type: "string", maxLength: 32 },
        context: { type: "string", maxLength: 64 },
      },
    },
    variables: { type: "object", maxProperties: 64, additionalProperties: scalar },
    caller_id: {
      type: "object",
      additionalProperties: false,
      properties: { name: { type: "string", maxLength: 128 }, number: { type: "string", maxLength: 64 } },
    },
    timeout_sec: { type: "integer", minimum: 1, maximum: 3600 },
    call_uuid: { type: "string", minLength: 1, maxLength: 64 },
    wait: { type: "boolean", description: "Answer only when the originate has a result (BACKGROUND_JOB)" },
  },
} as const;

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
  429: errorSchema,
  503: errorSchema,
  504: errorSchema,
};

/** The gateway's REST API (ADR-0011's contract). Every error is JSON with a stable `code`. */
export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: 64 * 1024,
    logController: new DebugRequestLog(),
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
  });
  app.setValidatorCompiler(jsonValidatorCompiler());

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

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let apiError: ApiError;
    if (error instanceof ApiError) apiError = error;
    else if ((error as { validation?: unknown }).validation)
      apiError = new ApiError(400, "bad_request", error.message);
    else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      apiError = new ApiError(413, "payload_too_large", error.message);
    else if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
      apiError = new ApiError(415, "unsupported_media_type", error.message);
    else if (error.statusCode === 400 || error.code?.startsWith("FST_ERR_CTP")) {
      apiError = new ApiError(400, "bad_request", error.message);
    } else {
      request.log.error({ err: error.message }, "unhandled error");
      apiError = new ApiError(500, "internal", "internal error");
    }
    if (apiError.retryAfterSec !== undefined)
      void reply.header("Retry-After", String(apiError.retryAfterSec));
    if (apiError.status >= 500)
      request.log.warn({ code: apiError.code, reason: apiError.message }, "request failed");
    void reply.code(apiError.status).send({ error: { code: apiError.code, message: apiError.message } });
  });
  // While shutting down, every response asks the client to close its keep-alive connection.
  app.addHook("onSend", async (_request, reply) => {
    if (closing) void reply.header("connection", "close");
  });
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: { code: "not_found", message: `no route ${request.method} ${request.url}` } });
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

  return app as unknown as FastifyInstance;
}
