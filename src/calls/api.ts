import { randomUUID } from "node:crypto";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { JetStreamClient } from "nats";
import type { Logger } from "pino";
import { ApiError } from "../contracts/api-error.ts";
import type { JwtAuthenticator } from "../contracts/bearer-token.ts";
import { type CallerPolicy, PolicyViolation } from "../contracts/caller-policy.ts";
import { jsonValidatorCompiler } from "../contracts/json-validator.ts";
import type { CallsScope } from "../contracts/scopes.ts";
import { channelVariable, EslArgumentError } from "../esl/index.ts";
import { encodeCallRequest } from "./call-request.ts";
import type { CallOptions, CallRecord, CallStore, CdrRecord } from "./call-store.ts";
import { callsStream } from "./jetstream.ts";

interface CallsApiDeps {
  store: CallStore;
  /** Bearer JWTs as the gateway checks them (HS256, exp, iss, aud): `calls:write` to post, `calls:read` to look up. */
  auth: JwtAuthenticator;
  /** The gateway's caller policy: a call the gateway would refuse is refused here (400), not queued. */
  policy: CallerPolicy;
  js: JetStreamClient;
  log: Logger;
  /** Whether NATS is connected, for /health. */
  natsConnected: () => boolean;
  publishTimeoutMs: number;
}

/** A number as callers write it: E.164 with or without `+`, or a short extension; never dial-string syntax. */
const phoneNumber = { type: "string", pattern: "^\\+?[0-9]{2,20}$" } as const;

const createCallBody = {
  type: "object",
  additionalProperties: false,
  required: ["to", "from"],
  properties: {
    to: phoneNumber,
    from: phoneNumber,
    options: {
      type: "object",
      additionalProperties: false,
      properties: {
        timeout_sec: { type: "integer", minimum: 1, maximum: 600 },
        /** Channel variables for the originate: the caller policy's, checked here and again by the gateway. */
        variables: {
          type: "object",
          maxProperties: 32,
          propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$" },
          additionalProperties: {
            anyOf: [{ type: "string", maxLength: 256 }, { type: "number" }, { type: "boolean" }],
          },
        },
      },
    },
  },
} as const;

const callIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", format: "uuid" } },
} as const;

/**
 * The calls API: `POST /v1/calls` records a call and queues it on the `calls` stream (answering 202 with its
 * id once JetStream has stored the request), `GET /v1/calls/{id}` reports where it is and its CDR. Both
 * want a bearer token with their scope, checked before the request is read; errors are the gateway's
 * `{error:{code,message}}` with the same codes (401 `unauthenticated` / `invalid_token`, 403
 * `insufficient_scope`...).
 */
export async function buildCallsApi(deps: CallsApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: 16 * 1024,
    // No per-request lines: at 200 calls/s they would cost more than the work; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setValidatorCompiler(jsonValidatorCompiler());

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known =
      error instanceof ApiError
        ? error
        : error.validation
          ? new ApiError(400, "bad_request", error.message)
          : error.code === "FST_ERR_CTP_BODY_TOO_LARGE"
            ? new ApiError(413, "payload_too_large", "request body over 16 KiB")
            : error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
              ? new ApiError(415, "unsupported_media_type", "send application/json")
              : error.statusCode === 400 || error.code?.startsWith("FST_ERR_CTP")
                ? new ApiError(400, "bad_request", error.message)
                : undefined;
    if (!known) request.log.error({ err: error.message }, "unhandled error");
    const reported = known ?? new ApiError(500, "internal", "internal error");
    if (reported.retryAfterSec !== undefined)
      void reply.header("retry-after", String(reported.retryAfterSec));
    void reply.code(reported.status).send({ error: { code: reported.code, message: reported.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: { code: "not_found", message: `no route ${request.method} ${request.url}` } });
  });

  // onRequest: before the body is read or validated, so a caller without the right token learns nothing more.
  const guard = (scope: CallsScope) => async (request: FastifyRequest) => {
    await deps.auth.authenticate(request.headers.authorization, scope);
  };

  app.post<{ Body: { to: string; from: string; options?: CallOptions } }>(
    "/v1/calls",
    { onRequest: guard("calls:write"), schema: { body: createCallBody } },
    async (request, reply) => {
      const id = randomUUID();
      const acceptedAt = new Date();
      const { to, from, options = {} } = request.body;
      for (const [name, value] of Object.entries(options.variables ?? {}))
        checkVariable(deps.policy, name, value);
      try {
        await deps.store.insertCall({ id, to, from, options, acceptedAt });
      } catch (error) {
        request.log.error({ err: (error as Error).message }, "call not recorded");
        throw new ApiError(503, "database_unavailable", "the call could not be recorded; try again", 1);
      }
      try {
        await deps.js.publish(
          callsStream.requestSubject,
          encodeCallRequest({ call_id: id, to, from, options, accepted_at: acceptedAt.toISOString() }),
          { msgID: id, timeout: deps.publishTimeoutMs },
        );
      } catch (error) {
        // Maybe stored after all: the orchestrator only places calls still queued, so failing it is safe.
        await deps.store.failQueued(id, "QUEUE_UNAVAILABLE", new Date()).catch(() => {});
        request.log.error({ err: (error as Error).message, call_id: id }, "call not queued");
        throw new ApiError(503, "queue_unavailable", "the call could not be queued; try again", 1);
      }
      return reply
        .code(202)
        .header("location", `/v1/calls/${id}`)
        .send({ id, status: "queued", accepted_at: acceptedAt.toISOString() });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/calls/:id",
    { onRequest: guard("calls:read"), schema: { params: callIdParams } },
    async (request) => {
      const call = await deps.store.getCall(request.params.id);
      if (!call) throw new ApiError(404, "not_found", `no call ${request.params.id}`);
      const cdr = call.endedAt ? await deps.store.getCdr(call.id) : undefined;
      return callView(call, cdr);
    },
  );

  app.get("/health", async (_request, reply) => {
    const nats = deps.natsConnected();
    return reply.code(nats ? 200 : 503).send({ status: nats ? "ok" : "unavailable", nats });
  });

  return app as unknown as FastifyInstance;
}

/**
 * What the gateway will check of a variable, checked before the call is queued: the caller policy, then
 * the ESL encoder's rules for an originate's `{name=value}` (no quote, brace, comma...). A 400 now instead
 * of a call that fails later.
 */
function checkVariable(policy: CallerPolicy, name: string, value: string | number | boolean): void {
  try {
    policy.variable(name, value);
    channelVariable(name, value);
  } catch (error) {
    if (error instanceof PolicyViolation) throw new ApiError(400, error.code, error.message);
    if (error instanceof EslArgumentError) throw new ApiError(400, "bad_request", error.message);
    throw error;
  }
}

function callView(call: CallRecord, cdr: CdrRecord | undefined) {
  return {
    id: call.id,
    to: call.to,
    from: call.from,
    options: call.options,
    status: call.status,
    accepted_at: call.acceptedAt.toISOString(),
    ringing_at: call.ringingAt?.toISOString() ?? null,
    answered_at: call.answeredAt?.toISOString() ?? null,
    ended_at: call.endedAt?.toISOString() ?? null,
    originate_attempts: call.originateAttempts,
    failure_reason: call.failureReason,
    cdr: cdr
      ? {
          duration_sec: cdr.durationSec,
          billsec: cdr.billsec,
          hangup_cause: cdr.hangupCause,
          hangup_q850: cdr.hangupQ850,
          read_codec: cdr.readCodec,
          write_codec: cdr.writeCodec,
          started_at: cdr.startedAt?.toISOString() ?? null,
          answered_at: cdr.answeredAt?.toISOString() ?? null,
          ended_at: cdr.endedAt.toISOString(),
          source_host: cdr.sourceHost,
        }
      : null,
  };
}
