import { writeFileSync } from "node:fs";
import pino from "pino";
import { JwtAuthenticator } from "../contracts/bearer-token.ts";
import { CallerPolicy } from "../contracts/caller-policy.ts";
import { EslClient } from "../esl/index.ts";
import { Admission } from "./admission.ts";
import { ChannelTable } from "./channels.ts";
import { FsControl } from "./fs-control.ts";
import { buildHttpApp } from "./http.ts";
import { GatewayMetrics } from "./metrics.ts";

/** The OpenAPI document of the REST API, built from the routes' own JSON schemas (no connection made). */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const metrics = new GatewayMetrics();
  const channels = new ChannelTable();
  const esl = new EslClient({ host: "127.0.0.1", port: 1, password: "unused" });
  const admission = new Admission(
    { maxInFlight: 1, latencyP95LimitMs: 1, sessionsHeadroom: 1, retryAfterSec: 1 },
    metrics,
    esl,
  );
  const app = await buildHttpApp({
    log: pino({ level: "silent" }),
    auth: new JwtAuthenticator({
      secret: new Uint8Array(32),
      issuer: undefined,
      audience: undefined,
      clockToleranceSec: 0,
    }),
    control: new FsControl(esl, channels, admission, metrics, new CallerPolicy()),
    channels,
    metrics,
    health: () => ({ healthy: false, body: {} }),
  });
  await app.ready();
  const document = app.swagger() as unknown as Record<string, unknown>;
  await app.close();
  return document;
}

/** `npm run openapi`: (re)write docs/openapi.json; a test fails when it is out of date. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL("../../docs/openapi.json", import.meta.url);
  writeFileSync(path, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
  console.log(`wrote ${path.pathname}`);
}
