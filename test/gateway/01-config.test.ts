import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/gateway/config.ts";

const secret = "s".repeat(32);
const base = { FS_ESL_PASSWORD: "ClueCon-secret", JWT_SECRET: secret };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("gateway configuration", () => {
  it("starts from safe defaults: loopback ESL and HTTP, fs.events", () => {
    const config = loadConfig(base);
    expect(config.esl).toMatchObject({ host: "127.0.0.1", port: 8021 });
    expect(config.http.host).toBe("127.0.0.1");
    expect(config.nats.subject).toBe("fs.events");
    expect(config.events.names).toContain("BACKGROUND_JOB");
    expect(config.jwt.maxLifetimeSec).toBe(24 * 3600);
  });

  it("reads the longest token lifetime accepted", () => {
    expect(loadConfig({ ...base, JWT_MAX_LIFETIME_SEC: "900" }).jwt.maxLifetimeSec).toBe(900);
    expect(problemsOf({ ...base, JWT_MAX_LIFETIME_SEC: "1e20" })).toEqual([
      expect.stringMatching(/^JWT_MAX_LIFETIME_SEC must be a number from 60 to /),
    ]);
  });

  it("reports every problem at once, by variable name", () => {
    const problems = problemsOf({ FS_ESL_PORT: "99999", ESL_BACKOFF_FACTOR: "x", JWT_SECRET: "short" });
    expect(problems.join("\n")).toMatch(/FS_ESL_PASSWORD/);
    expect(problems.join("\n")).toMatch(/FS_ESL_PORT/);
    expect(problems.join("\n")).toMatch(/ESL_BACKOFF_FACTOR/);
    expect(problems.join("\n")).toMatch(/JWT_SECRET must be at least 32 bytes/);
  });

  it("wants the events its channel table is built from", () => {
    expect(problemsOf({ ...base, FS_EVENTS: "CHANNEL_CREATE CHANNEL_ANSWER HEARTBEAT" })).toEqual([
      "FS_EVENTS must include CHANNEL_DESTROY: the gateway's channel table is built from them",
    ]);
    expect(problemsOf({ ...base, FS_EVENTS: "HEARTBEAT" })).toEqual([
      "FS_EVENTS must include CHANNEL_CREATE and CHANNEL_DESTROY: the gateway's channel table is built from them",
    ]);
  });

  it("never echoes a secret in its errors", () => {
    const problems = problemsOf({
      FS_ESL_PASSWORD: "hunter2-secret",
      JWT_SECRET: "tiny-secret-value",
      HTTP_PORT: "-1",
    });
    expect(problems.join("\n")).not.toContain("hunter2-secret");
    expect(problems.join("\n")).not.toContain("tiny-secret-value");
  });

  it("reads secrets from *_FILE", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-config-"));
    writeFileSync(join(dir, "esl"), "from-file\n");
    writeFileSync(join(dir, "jwt"), `${secret}\n`);
    const config = loadConfig({ FS_ESL_PASSWORD_FILE: join(dir, "esl"), JWT_SECRET_FILE: join(dir, "jwt") });
    expect(config.esl.password).toBe("from-file");
    expect(problemsOf({ FS_ESL_PASSWORD_FILE: join(dir, "missing"), JWT_SECRET: secret })[0]).toMatch(
      /cannot be read/,
    );
  });

  it("reads an optional NAME=value file, with the environment winning over it", () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-config-"));
    writeFileSync(
      join(dir, "gateway.env"),
      `# lab\nFS_ESL_PORT=8022\nNATS_SUBJECT="fs.lab"\n\nHTTP_PORT=9000\n`,
    );
    const config = loadConfig({ ...base, GATEWAY_CONFIG_FILE: join(dir, "gateway.env"), HTTP_PORT: "9100" });
    expect(config.esl.port).toBe(8022);
    expect(config.nats.subject).toBe("fs.lab");
    expect(config.http.port).toBe(9100);
    writeFileSync(join(dir, "bad.env"), "FS_ESL_PORT 8022\n");
    expect(problemsOf({ ...base, GATEWAY_CONFIG_FILE: join(dir, "bad.env") })[0]).toMatch(
      /line 1 is not NAME=value/,
    );
  });

  it("refuses a wildcard HTTP bind unless explicitly allowed", () => {
    expect(problemsOf({ ...base, HTTP_HOST: "0.0.0.0" })[0]).toMatch(/ALLOW_WILDCARD_BIND/);
    expect(loadConfig({ ...base, HTTP_HOST: "0.0.0.0", ALLOW_WILDCARD_BIND: "true" }).http.host).toBe(
      "0.0.0.0",
    );
  });

  it("binds to a named interface's address", () => {
    expect(loadConfig({ ...base, HTTP_INTERFACE: "lo" }).http.host).toBe("127.0.0.1");
    expect(problemsOf({ ...base, HTTP_INTERFACE: "no-such-if0" })[0]).toMatch(/no IPv4 address/);
  });
});
