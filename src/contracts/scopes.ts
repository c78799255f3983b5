/**
 * Scope claims per command family: the answer to ADR-0011's open question on the authorization matrix.
 * One vocabulary for every service that shares the backend's HS256 secret: the gateway's `fs:*`, the calls
 * API's `calls:*` (src/calls/api.ts: `calls:write` to place a call, `calls:read` to look one up).
 */
export type GatewayScope = "fs:originate" | "fs:hangup" | "fs:play" | "fs:transfer" | "fs:read";
export type CallsScope = "calls:write" | "calls:read";
export type Scope = GatewayScope | CallsScope;
const gatewayScopes: readonly GatewayScope[] = [
  "fs:originate",
  "fs:hangup",
  "fs:play",
  "fs:transfer",
  "fs:read",
];
const callsScopes: readonly CallsScope[] = ["calls:write", "calls:read"];
export const allScopes: readonly Scope[] = [...gatewayScopes, ...callsScopes];
