import { defaultCallerPolicy } from "../../src/contracts/caller-policy.ts";
import type { Endpoint } from "../faults/fault-proxy.ts";
import type { ComponentState, GatewayState, SecretName } from "../run/state.ts";
import type { EmbeddedPlanRequest, GatewayChoice } from "./embedded.ts";
import type { GatewaySpec } from "./topology.ts";

/**
 * The caller policy's variables plus the double's per-call script (`fakeswitch_hold_ms`...), which the
 * scenarios send; a real FreeSWITCH keeps them as inert channel variables. The denylist still applies.
 */
export const labAllowedVariables: readonly string[] = [...defaultCallerPolicy.variables, "fakeswitch_*"];

export function gatewayEnvironment(
  spec: GatewaySpec,
  esl: Endpoint,
  natsUrls: Endpoint[],
  url: string,
  request: EmbeddedPlanRequest,
): Pick<GatewayState, "env" | "secretEnv"> {
  const http = new URL(url);
  const secretEnv: Record<string, SecretName> = { JWT_SECRET: "jwtSecret" };
  const password: Record<string, string> = {};
  if (request.external) password.FS_ESL_PASSWORD_FILE = request.external.passwordFile;
  else secretEnv.FS_ESL_PASSWORD = "eslPassword";
  return {
    env: {
      FS_ESL_HOST: esl.host,
      FS_ESL_PORT: String(esl.port),
      ...password,
      NATS_URL: natsUrls.map((n) => `nats://${n.host}:${n.port}`).join(","),
      HTTP_HOST: http.hostname,
      HTTP_PORT: http.port,
      SOURCE_HOST: spec.freeswitch,
      LOG_LEVEL: "info",
      ALLOWED_VARIABLES: labAllowedVariables.join(","),
      ...spec.env,
      ...request.gatewayEnv,
    },
    secretEnv,
  };
}

/**
 * Node flags of our gateway, the same as deploy/systemd/fs-esl-gateway.service uses (a test holds them
 * equal). A 4 MB semi-space (V8 lets it grow to 16 MB) keeps the young generation small; a heap growing
 * factor of 2 (V8 picks up to 4 for a heap this small) keeps the old generation near twice its live size.
 * Measured side by side at 1,000 calls/s in docs/decisions/gateway-design.md.
 */
export const gatewayNodeFlags = [
  "--enable-source-maps",
  "--max-semi-space-size=4",
  "--heap-growing-percent=100",
];

export function gatewayComponent(
  gateway: GatewayState,
  choice: GatewayChoice,
  bundle: string,
  logFile: (name: string) => string,
): ComponentState {
  const port = Number(new URL(gateway.url).port);
  const component: ComponentState = {
    name: gateway.name,
    kind: "gateway",
    endpoints: { http: gateway.url },
    ports: choice.kind === "url" ? [] : [port],
    health: { kind: "gateway", url: gateway.url },
  };
  if (choice.kind === "url") return component; // someone else runs it; `lab env` tells them how
  const [command, args] =
    choice.kind === "command"
      ? ["/bin/sh", ["-c", choice.command]]
      : [process.execPath, [...gatewayNodeFlags, bundle]];
  component.launch = {
    name: gateway.name,
    command,
    args,
    env: gateway.env,
    secretEnv: gateway.secretEnv,
    logFile: logFile(gateway.name),
    // 200 from /health: listening, and ESL authenticated and subscribed.
    ready: { http: `${gateway.url}/health` },
    readyTimeoutMs: 15_000,
  };
  return component;
}
