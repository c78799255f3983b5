import { createSecretKey, type KeyObject } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ApiError } from "./errors.ts";

/** Scope claims per command family: the answer to ADR-0011's open question on the authorization matrix. */
export type Scope = "fs:originate" | "fs:hangup" | "fs:play" | "fs:transfer" | "fs:read";
export const allScopes: readonly Scope[] = ["fs:originate", "fs:hangup", "fs:play", "fs:transfer", "fs:read"];

export interface AuthOptions {
  secret: Uint8Array;
  issuer: string | undefined;
  audience: string | undefined;
  clockToleranceSec: number;
}

export interface Principal {
  subject: string;
  scopes: ReadonlySet<string>;
}

/**
 * Verifies `Authorization: Bearer <jwt>` with the HS256 secret shared with the backend. Only HS256 is
 * accepted (jose refuses `alg: none` and, with `algorithms`, every other algorithm); exp, nbf, iss and
 * aud are checked. Scopes come from `scope` (space-separated, RFC 8693) or `scopes` (array).
 */
export class JwtAuthenticator {
  /** Imported once: handing jose raw bytes would re-import the key on every request. */
  private readonly key: KeyObject;

  constructor(private readonly options: AuthOptions) {
    this.key = createSecretKey(options.secret);
  }

  async authenticate(authorization: string | undefined, required: Scope): Promise<Principal> {
    if (!authorization) throw new ApiError(401, "unauthenticated", "missing Authorization: Bearer token");
    const match = /^Bearer\s+([A-Za-z0-9_.-]+=*)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new ApiError(401, "unauthenticated", "Authorization must be a Bearer token");
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(match[1], this.key, {
        algorithms: ["HS256"],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSec,
        requiredClaims: ["exp"],
      }));
    } catch (error) {
      throw new ApiError(401, "invalid_token", describeJwtError(error));
    }
    const scopes = new Set<string>();
    if (typeof payload.scope === "string") for (const s of payload.scope.split(" ")) if (s) scopes.add(s);
    if (Array.isArray(payload.scopes))
      for (const s of payload.scopes) if (typeof s === "string") scopes.add(s);
    if (!scopes.has(required)) throw new ApiError(403, "insufficient_scope", `token lacks scope ${required}`);
    return { subject: typeof payload.sub === "string" ? payload.sub : "", scopes };
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

/** Mint a token the gateway accepts: for the lab, the harness and tests (the backend mints its own). */
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
