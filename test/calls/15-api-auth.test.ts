import type { FastifyInstance } from "fastify";
import { SignJWT, UnsecuredJWT } from "jose";
import type { JetStreamClient } from "nats";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCallsApi } from "../../src/calls/api.ts";
import { CallStore } from "../../src/calls/call-store.ts";
import { migrate } from "../../src/calls/migrate.ts";
import { openPglite } from "../../src/calls/pglite-client.ts";
import type { SqlClient } from "../../src/calls/sql.ts";
import { JwtAuthenticator, mintToken } from "../../src/contracts/bearer-token.ts";
import { CallerPolicy } from "../../src/contracts/caller-policy.ts";
import type { Scope } from "../../src/contracts/scopes.ts";

// The calls API with the gateway's authenticator, configured as a deployment with issuer and audience would
// be; JetStream is a stub that stores every publish (the pipeline test covers the real one).
const secret = new TextEncoder().encode("calls-api-secret-0123456789abcdefghij");
const claims = { issuer: "backend", audience: "calls-api" };
const published: string[] = [];
let db: SqlClient;
let app: FastifyInstance;

beforeAll(async () => {
  db = await openPglite(undefined);
  await migrate(db);
  const js = {
    publish: async (subject: string) => {
      published.push(subject);
      return { seq: published.length, duplicate: false, stream: "calls" };
    },
  } as unknown as JetStreamClient;
  app = await buildCallsApi({
    store: new CallStore(db),
    auth: new JwtAuthenticator({ secret, ...claims, clockToleranceSec: 0 }),
    policy: new CallerPolicy(),
    js,
    log: pino({ level: "silent" }),
    natsConnected: () => true,
    publishTimeoutMs: 1_000,
  });
});
afterAll(async () => {
  await app?.close();
  await db?.close();
});

const body = { to: "+14155551234", from: "+15105551234" };
const token = (scopes: Scope[], overrides: Partial<typeof claims> = {}) =>
  mintToken(secret, { scopes, ...claims, ...overrides });

async function post(authorization: string | undefined, payload: unknown = body) {
  const response = await app.inject({
    method: "POST",
    url: "/v1/calls",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    payload: JSON.stringify(payload),
  });
  return { status: response.statusCode, body: response.json() };
}

async function get(id: string, authorization: string) {
  const response = await app.inject({ method: "GET", url: `/v1/calls/${id}`, headers: { authorization } });
  return { status: response.statusCode, body: response.json() };
}

describe("calls API authorization (the gateway's HS256 JWTs, calls:write / calls:read)", () => {
  it("places a call with calls:write and shows it with calls:read", async () => {
    const accepted = await post(`Bearer ${await token(["calls:write"])}`);
    expect(accepted).toMatchObject({ status: 202, body: { status: "queued" } });
    expect(published).toEqual(["calls.requests"]);
    expect(await get(accepted.body.id, `Bearer ${await token(["calls:read"])}`)).toMatchObject({
      status: 200,
      body: { id: accepted.body.id, status: "queued", cdr: null },
    });
  });

  it("answers 401 unauthenticated without a bearer token, before looking at the body", async () => {
    expect(await post(undefined)).toEqual({
      status: 401,
      body: { error: { code: "unauthenticated", message: "missing Authorization: Bearer token" } },
    });
    expect(await post("Basic dXNlcjpwYXNz", { nonsense: true })).toMatchObject({
      status: 401,
      body: { error: { code: "unauthenticated" } },
    });
  });

  it("answers 401 invalid_token for an expired token, a wrong audience or issuer, and a wrong key", async () => {
    const expired = await new SignJWT({ scope: "calls:write" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret);
    expect(await post(`Bearer ${expired}`)).toEqual({
      status: 401,
      body: { error: { code: "invalid_token", message: "token expired" } },
    });
    expect(await post(`Bearer ${await token(["calls:write"], { audience: "fs-esl-gateway" })}`)).toEqual({
      status: 401,
      body: { error: { code: "invalid_token", message: "token claim aud rejected: check_failed" } },
    });
    expect(await post(`Bearer ${await token(["calls:write"], { issuer: "mallory" })}`)).toMatchObject({
      status: 401,
      body: { error: { code: "invalid_token", message: expect.stringMatching(/iss/) } },
    });
    const otherKey = await mintToken(new TextEncoder().encode("x".repeat(32)), {
      scopes: ["calls:write"],
      ...claims,
    });
    expect(await post(`Bearer ${otherKey}`)).toMatchObject({
      status: 401,
      body: { error: { code: "invalid_token", message: "token signature invalid" } },
    });
  });

  it("answers 401 token_lifetime_too_long for a token that practically never expires", async () => {
    const forever = await new SignJWT({ scope: "calls:write" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setIssuedAt()
      .setExpirationTime(1e20)
      .sign(secret);
    expect(await post(`Bearer ${forever}`)).toMatchObject({
      status: 401,
      body: { error: { code: "token_lifetime_too_long" } },
    });
  });

  it("refuses alg none", async () => {
    const none = new UnsecuredJWT({ scope: "calls:write calls:read" })
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setExpirationTime("1h")
      .encode();
    expect(await post(`Bearer ${none}`)).toMatchObject({
      status: 401,
      body: { error: { code: "invalid_token" } },
    });
  });

  it("answers 403 insufficient_scope for a valid token without the route's scope", async () => {
    const before = published.length;
    expect(await post(`Bearer ${await token(["calls:read", "fs:originate"])}`)).toEqual({
      status: 403,
      body: { error: { code: "insufficient_scope", message: "token lacks scope calls:write" } },
    });
    expect(published).toHaveLength(before); // nothing queued
    const accepted = await post(`Bearer ${await token(["calls:write"])}`);
    expect(await get(accepted.body.id, `Bearer ${await token(["calls:write"])}`)).toEqual({
      status: 403,
      body: { error: { code: "insufficient_scope", message: "token lacks scope calls:read" } },
    });
  });

  it("keeps /health open: it tells a load balancer whether NATS is connected, nothing about calls", async () => {
    const response = await app.inject({ method: "GET", url: "/health" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "ok", nats: true });
  });
});

describe("calls API input: refused at once with 400, nothing stored or queued", () => {
  const write = () => token(["calls:write"]).then((t) => `Bearer ${t}`);
  const refuses = async (options: unknown, code: string) => {
    const before = published.length;
    const response = await post(await write(), { ...body, options });
    expect(response, JSON.stringify(options)).toMatchObject({ status: 400, body: { error: { code } } });
    expect(response.body.error.message).toEqual(expect.any(String));
    expect(published).toHaveLength(before);
  };

  it("answers 400 (not 503 database_unavailable) for a NUL or a lone surrogate in a variable", async () => {
    await refuses({ variables: { origination_caller_id_name: "a\u0000b" } }, "unsafe_value");
    await refuses({ variables: { origination_caller_id_name: "a\ud800b" } }, "unsafe_value");
    await refuses({ variables: { origination_caller_id_name: "\udc00" } }, "unsafe_value");
  });

  it("refuses the variables FreeSWITCH executes, and ${...} expansions, as the gateway does", async () => {
    await refuses({ variables: { api_on_answer: "system touch /tmp/x" } }, "variable_not_allowed");
    await refuses({ variables: { execute_on_answer: "park" } }, "variable_not_allowed");
    await refuses({ variables: { api_hangup_hook: "status" } }, "variable_not_allowed");
    await refuses({ variables: { origination_caller_id_name: "${system(id)}" } }, "unsafe_value");
    await refuses({ variables: { not_in_the_allowlist: "1" } }, "variable_not_allowed");
  });

  it("takes JSON types as they are: a string or boolean is not an integer", async () => {
    await refuses({ timeout_sec: "10" }, "bad_request");
    await refuses({ timeout_sec: true }, "bad_request");
  });

  it("accepts an allowed variable and keeps it as sent", async () => {
    const response = await post(await write(), {
      ...body,
      options: { timeout_sec: 10, variables: { "sip_h_X-Tenant": "acme", originate_timeout: 10 } },
    });
    expect(response.status).toBe(202);
    const read = await get(response.body.id, `Bearer ${await token(["calls:read"])}`);
    expect(read.body.options).toEqual({
      timeout_sec: 10,
      variables: { "sip_h_X-Tenant": "acme", originate_timeout: 10 },
    });
  });
});
