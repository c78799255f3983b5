import { Writable } from "node:stream";
import pino from "pino";
import { labAllowedVariables } from "../../lab/plan/embedded-gateway.ts";
import { mintToken } from "../../src/contracts/bearer-token.ts";
import type { Scope } from "../../src/contracts/scopes.ts";
import { type FakeSwitch, type FakeSwitchOptions, startFakeSwitch } from "../../src/fakeswitch/index.ts";
import { loadConfig } from "../../src/gateway/config.ts";
import { Gateway } from "../../src/gateway/gateway.ts";

export const testEslPassword = "test-esl-password-Zq81";
export const testJwtSecret = "test-jwt-secret-0123456789abcdefghijkl";

export interface JsonResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON read field by field in assertions
  body: any;
  headers: Headers;
}

export interface GatewayUnderTest {
  gateway: Gateway;
  fs: FakeSwitch;
  base: string;
  logLines: string[];
  token(scopes?: Scope[]): Promise<string>;
  /** JSON request with a token holding every scope; the body parsed when there is one. */
  call(method: string, path: string, body?: unknown): Promise<JsonResponse>;
  stop(): Promise<void>;
}

/** An in-process gateway against an in-process FreeSWITCH double, logging into `logLines`. */
export async function startGatewayUnderTest(options: {
  natsUrl: string;
  env?: Record<string, string>;
  fakeswitch?: Partial<FakeSwitchOptions>;
}): Promise<GatewayUnderTest> {
  const fs = await startFakeSwitch({
    password: testEslPassword,
    port: 0,
    sessionsPerSecond: 1000,
    heartbeatIntervalMs: 500,
    profile: { answerDelayMs: 10 },
    ...options.fakeswitch,
  });
  const config = loadConfig({
    FS_ESL_PORT: String(fs.port),
    FS_ESL_PASSWORD: testEslPassword,
    JWT_SECRET: testJwtSecret,
    HTTP_PORT: "0",
    NATS_URL: options.natsUrl,
    ESL_BACKOFF_INITIAL_MS: "20",
    ESL_BACKOFF_MAX_MS: "200",
    SOURCE_HOST: "test-fs",
    ALLOWED_VARIABLES: labAllowedVariables.join(","),
    LOG_LEVEL: "debug",
    ...options.env,
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const gateway = new Gateway(config, pino({ level: "debug" }, sink));
  const address = await gateway.start();
  const base = `http://127.0.0.1:${address.port}`;
  const secret = new TextEncoder().encode(testJwtSecret);
  const token = (scopes?: Scope[]) =>
    mintToken(secret, { scopes, issuer: config.jwt.issuer, audience: config.jwt.audience });
  await until("gateway healthy", async () => (await fetch(`${base}/health`)).ok || undefined);
  return {
    gateway,
    fs,
    base,
    logLines,
    token,
    async call(method, path, body) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await token()}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text ? JSON.parse(text) : undefined,
        headers: response.headers,
      };
    },
    async stop() {
      await gateway.stop();
      await fs.close();
    },
  };
}

/** Polls `probe` until it returns something other than undefined/false. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
