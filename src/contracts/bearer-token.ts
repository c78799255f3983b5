import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ApiError } from "./api-error.ts";
import { allScopes, type Scope } from "./scopes.ts";

/** A token's lifetime accepted at most when none is configured: a day, twice what the lab and harness mint. */
export const defaultMaxTokenLifetimeSec = 24 * 3600;

export interface AuthOptions {
  secret: Uint8Array;
  issuer: string | undefined;
  audience: string | undefined;
  clockToleranceSec: number;
  /** Longest lifetime accepted (exp - iat, or exp - now without iat); defaultMaxTokenLifetimeSec if unset. */
  maxLifetimeSec?: number;
}

interface Principal {
  subject: string;
  scopes: ReadonlySet<string>;
}

/** Verified tokens remembered at most; past it the cache starts over (callers are a handful of services). */
const cacheLimit = 1024;

interface VerifiedToken {
  principal: Principal;
  /** Claims re-checked on every use of the cached verification, ms since the epoch. */
  expiresAtMs: number;
  notBeforeMs: number;
}

/**
 * Verifies `Authorization: Bearer <jwt>` with the HS256 secret shared with the backend. Only HS256 is
 * accepted (jose refuses `alg: none` and, with `algorithms`, every other algorithm); exp, nbf, iss and
 * aud are checked. Scopes come from `scope` (space-separated, RFC 8693) or `scopes` (array). A token that
 * lives longer than maxLifetimeSec (`exp: 1e20`: a leaked token that never dies) is refused.
 *
 * A backend service sends the same token with every request until it expires: a token whose signature
 * and claims were verified is remembered by its exact text, and a later use re-checks only exp and nbf.
 */
export class JwtAuthenticator {
  /** Imported once: jose would otherwise import the key into WebCrypto on every request. */
  private readonly key: Promise<CryptoKey>;
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(private readonly options: AuthOptions) {
    this.key = crypto.subtle.importKey(
      "raw",
      new Uint8Array(options.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
  }

  async authenticate(authorization: string | undefined, required: Scope): Promise<Principal> {
    if (!authorization) throw new ApiError(401, "unauthenticated", "missing Authorization: Bearer token");
    const match = /^Bearer\s+([A-Za-z0-9_.-]+=*)$/i.exec(authorization.trim());
    const token = match?.[1];
    if (!token) throw new ApiError(401, "unauthenticated", "Authorization must be a Bearer token");
    const principal = this.fromCache(token) ?? (await this.verify(token));
    if (!principal.scopes.has(required))
      throw new ApiError(403, "insufficient_scope", `token lacks scope ${required}`);
    return principal;
  }

  private fromCache(token: string): Principal | undefined {
    const entry = this.verified.get(token);
    if (!entry) return undefined;
    const now = Date.now();
    const tolerance = this.options.clockToleranceSec * 1000;
    if (now >= entry.expiresAtMs + tolerance || now < entry.notBeforeMs - tolerance) {
      this.verified.delete(token); // verify again, for the exact error
      return undefined;
    }
    return entry.principal;
  }

  private async verify(token: string): Promise<Principal> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: ["HS256"],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSec,
        requiredClaims: ["exp"],
      }));
    } catch (error) {
      throw new ApiError(401, "invalid_token", describeJwtError(error));
    }
    this.checkLifetime(Number(payload.exp), payload.iat);
    const scopes = new Set<string>();
    if (typeof payload.scope === "string") for (const s of payload.scope.split(" ")) if (s) scopes.add(s);
    if (Array.isArray(payload.scopes))
      for (const s of payload.scopes) if (typeof s === "string") scopes.add(s);
    const principal = { subject: typeof payload.sub === "string" ? payload.sub : "", scopes };
    if (this.verified.size >= cacheLimit) this.verified.clear();
    this.verified.set(token, {
      principal,
      expiresAtMs: Number(payload.exp) * 1000,
      notBeforeMs: typeof payload.nbf === "number" ? payload.nbf * 1000 : 0,
    });
    return principal;
  }

  /**
   * Lifetime from the issue time, or from now when iat is absent or in the future (a far-future iat
   * would otherwise make any exp look short).
   */
  private checkLifetime(exp: number, iat: unknown): void {
    const maxSec = this.options.maxLifetimeSec ?? defaultMaxTokenLifetimeSec;
    const nowSec = Date.now() / 1000;
    const start = typeof iat === "number" ? Math.min(iat, nowSec) : nowSec;
    if (exp - start > maxSec + this.options.clockToleranceSec)
      throw new ApiError(
        401,
        "token_lifetime_too_long",
        `token lifetime (exp - iat) is over the ${maxSec} s allowed; mint shorter-lived tokens`,
      );
  }
}

/** A reason a caller can act on, without echoing the token. */
function describeJwtError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `token claim ${error.claim} rejected: ${error.reason}`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "token algorithm not allowed (HS256 only)";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature invalid";
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid)
    return "token malformed";
  if (error instanceof joseErrors.JOSENotSupported) return "token algorithm not supported";
  return "token rejected";
}

/** Mint a token the gateway and the calls API accept: for the lab, the harness and tests (the backend mints its own). */
export async function mintToken(
  secret: Uint8Array,
  claims: {
    scopes?: readonly Scope[];
    subject?: string;
    issuer?: string;
    audience?: string;
    ttlSec?: number;
  } = {},
): Promise<string> {
  let jwt = new SignJWT({ scope: (claims.scopes ?? allScopes).join(" ") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.subject ?? "fs-esl-lab")
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSec ?? 3600}s`);
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(secret);
}
