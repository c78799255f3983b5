import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../../src/contracts/api-error.ts";
import { defaultMaxTokenLifetimeSec, JwtAuthenticator, mintToken } from "../../src/contracts/bearer-token.ts";

const secret = new TextEncoder().encode("k".repeat(32));
const auth = new JwtAuthenticator({
  secret,
  issuer: "backend",
  audience: "fs-esl-gateway",
  clockToleranceSec: 0,
});
const claims = { issuer: "backend", audience: "fs-esl-gateway" };

async function outcome(
  header: string | undefined,
  scope: Parameters<JwtAuthenticator["authenticate"]>[1] = "fs:originate",
) {
  try {
    await auth.authenticate(header, scope);
    return { status: 200 };
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
}

describe("JWT authorization matrix", () => {
  it("accepts a valid HS256 token with the scope", async () => {
    const token = await mintToken(secret, { ...claims, scopes: ["fs:originate"] });
    expect(await outcome(`Bearer ${token}`)).toEqual({ status: 200 });
  });

  it("answers 403 for a valid token without the command's scope", async () => {
    const token = await mintToken(secret, { ...claims, scopes: ["fs:read"] });
    expect(await outcome(`Bearer ${token}`, "fs:hangup")).toMatchObject({
      status: 403,
      code: "insufficient_scope",
    });
  });

  it("answers 401 for missing, garbage, expired, wrong-audience, wrong-issuer and wrong-key tokens", async () => {
    expect(await outcome(undefined)).toMatchObject({ status: 401, code: "unauthenticated" });
    expect(await outcome("Basic dXNlcjpwYXNz")).toMatchObject({ status: 401 });
    expect(await outcome("Bearer not.a.jwt")).toMatchObject({ status: 401, code: "invalid_token" });
    const expired = await new SignJWT({ scope: "fs:originate" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("backend")
      .setAudience("fs-esl-gateway")
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret);
    expect(await outcome(`Bearer ${expired}`)).toMatchObject({ status: 401, message: "token expired" });
    const wrongAudience = await mintToken(secret, { ...claims, audience: "someone-else" });
    expect(await outcome(`Bearer ${wrongAudience}`)).toMatchObject({
      status: 401,
      message: expect.stringMatching(/aud/),
    });
    const wrongIssuer = await mintToken(secret, { ...claims, issuer: "mallory" });
    expect(await outcome(`Bearer ${wrongIssuer}`)).toMatchObject({
      status: 401,
      message: expect.stringMatching(/iss/),
    });
    const wrongKey = await mintToken(new TextEncoder().encode("x".repeat(32)), claims);
    expect(await outcome(`Bearer ${wrongKey}`)).toMatchObject({
      status: 401,
      message: "token signature invalid",
    });
  });

  it("refuses alg none and other algorithms", async () => {
    const none = new UnsecuredJWT({ scope: "fs:originate" })
      .setIssuer("backend")
      .setAudience("fs-esl-gateway")
      .setExpirationTime("1h")
      .encode();
    expect(await outcome(`Bearer ${none}`)).toMatchObject({ status: 401 });
    const hs512 = await new SignJWT({ scope: "fs:originate" })
      .setProtectedHeader({ alg: "HS512" })
      .setIssuer("backend")
      .setAudience("fs-esl-gateway")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("k".repeat(64)));
    expect(await outcome(`Bearer ${hs512}`)).toMatchObject({
      status: 401,
      message: expect.stringMatching(/algorithm/),
    });
  });

  it("requires an expiry claim", async () => {
    const forever = await new SignJWT({ scope: "fs:originate" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("backend")
      .setAudience("fs-esl-gateway")
      .sign(secret);
    expect(await outcome(`Bearer ${forever}`)).toMatchObject({ status: 401 });
  });

  it("rejects a token that is not yet valid (nbf)", async () => {
    const future = await new SignJWT({ scope: "fs:originate" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("backend")
      .setAudience("fs-esl-gateway")
      .setNotBefore(Math.floor(Date.now() / 1000) + 600)
      .setExpirationTime("1h")
      .sign(secret);
    expect(await outcome(`Bearer ${future}`)).toMatchObject({
      status: 401,
      message: expect.stringMatching(/nbf/),
    });
  });
});

describe("token lifetime", () => {
  const nowSec = () => Math.floor(Date.now() / 1000);
  const signed = (times: { iat?: number; exp: number }) => {
    let jwt = new SignJWT({ scope: "fs:originate" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("backend")
      .setAudience("fs-esl-gateway")
      .setExpirationTime(times.exp);
    if (times.iat !== undefined) jwt = jwt.setIssuedAt(times.iat);
    return jwt.sign(secret);
  };
  const refused = { status: 401, code: "token_lifetime_too_long" };

  it("refuses a token that practically never expires (exp 1e20), with or without iat", async () => {
    expect(await outcome(`Bearer ${await signed({ exp: 1e20 })}`)).toMatchObject(refused);
    expect(await outcome(`Bearer ${await signed({ iat: nowSec(), exp: 1e20 })}`)).toMatchObject(refused);
  });

  it("measures from iat, or from now when iat is in the future, so a far-future iat does not help", async () => {
    const day = defaultMaxTokenLifetimeSec;
    expect(
      await outcome(`Bearer ${await signed({ iat: nowSec() - 3600, exp: nowSec() + day })}`),
    ).toMatchObject(refused);
    expect(await outcome(`Bearer ${await signed({ iat: 1e20 - 60, exp: 1e20 })}`)).toMatchObject(refused);
    expect(await outcome(`Bearer ${await signed({ iat: nowSec(), exp: nowSec() + day })}`)).toEqual({
      status: 200,
    });
  });

  it("takes its limit from the options", async () => {
    const strict = new JwtAuthenticator({ secret, ...claims, clockToleranceSec: 0, maxLifetimeSec: 600 });
    const hour = await mintToken(secret, { ...claims, ttlSec: 3600 });
    await expect(strict.authenticate(`Bearer ${hour}`, "fs:originate")).rejects.toMatchObject(refused);
    const tenMinutes = await mintToken(secret, { ...claims, ttlSec: 600 });
    await expect(strict.authenticate(`Bearer ${tenMinutes}`, "fs:originate")).resolves.toBeDefined();
  });
});

describe("verified-token cache", () => {
  it("still refuses a cached token once it expires, and a cached token without the scope", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const token = await mintToken(secret, { ...claims, scopes: ["fs:read"], ttlSec: 60 });
      expect(await outcome(`Bearer ${token}`, "fs:read")).toEqual({ status: 200 });
      expect(await outcome(`Bearer ${token}`, "fs:read")).toEqual({ status: 200 });
      expect(await outcome(`Bearer ${token}`, "fs:hangup")).toMatchObject({ status: 403 });
      vi.setSystemTime(Date.now() + 61_000);
      expect(await outcome(`Bearer ${token}`, "fs:read")).toMatchObject({
        status: 401,
        message: "token expired",
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not let a tampered copy of a cached token through", async () => {
    const token = await mintToken(secret, { ...claims, scopes: ["fs:read"] });
    expect(await outcome(`Bearer ${token}`, "fs:read")).toEqual({ status: 200 });
    const [header, payload, signature] = token.split(".");
    const widened = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()),
        scope: "fs:hangup",
      }),
    ).toString("base64url");
    expect(await outcome(`Bearer ${header}.${widened}.${signature}`, "fs:hangup")).toMatchObject({
      status: 401,
    });
  });
});
