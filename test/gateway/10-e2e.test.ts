import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken } from "../../src/contracts/bearer-token.ts";
import type { FakeSwitch } from "../../src/fakeswitch/index.ts";
import type { Gateway } from "../../src/gateway/gateway.ts";
import {
  type GatewayUnderTest,
  startGatewayUnderTest,
  testEslPassword,
  testJwtSecret,
  until,
} from "../helpers/gateway.ts";
import { startNatsServer, type TestNatsServer } from "../helpers/nats.ts";

const jwtSecret = new TextEncoder().encode(testJwtSecret);
const destination = "sofia/internal/1000@127.0.0.1:5090";
const welcomePrompt = "/usr/share/freeswitch/sounds/en/us/callie/ivr/8000/ivr-welcome.wav";

let nats: TestNatsServer;
let lab: GatewayUnderTest;
let fs: FakeSwitch;
let gateway: Gateway;
let base: string;
let subscriber: NatsConnection;
const published: Array<Record<string, unknown>> = [];
const call = (method: string, path: string, body?: unknown) => lab.call(method, path, body);

beforeAll(async () => {
  nats = await startNatsServer();
  lab = await startGatewayUnderTest({
    natsUrl: nats.url,
    env: {
      JWT_ISSUER: "backend",
      JWT_AUDIENCE: "fs-esl-gateway",
      ESL_COMMAND_TIMEOUT_MS: "400",
      SOURCE_HOST: "e2e-fs",
    },
  });
  ({ fs, gateway, base } = lab);
  subscriber = await connect({ servers: nats.url });
  subscriber.subscribe("fs.events", { callback: (_, msg) => published.push(msg.json()) });
  await subscriber.flush();
});

afterAll(async () => {
  await subscriber?.close();
  await lab?.stop();
  await nats?.stop();
});

describe("gateway end to end (FreeSWITCH double + real nats-server)", () => {
  it("reports healthy with ESL authenticated and NATS connected", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ status: "ok", esl: { authenticated: true }, nats: { state: "connected" } });
  });

  it("originates with bgapi: answers 202 at once, and the call's events reach fs.events", async () => {
    const callUuid = crypto.randomUUID();
    const { status, body } = await call("POST", "/api/v1/fs/originate", {
      destination,
      call_uuid: callUuid,
      caller_id: { name: "Zoë Ünïcødé ☎", number: "1000" },
    });
    expect(status).toBe(202);
    expect(body).toMatchObject({ call_uuid: callUuid, status: "accepted", job_uuid: expect.any(String) });
    const answer = await until("CHANNEL_ANSWER on NATS", () =>
      published.find((e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_ANSWER"),
    );
    expect(answer).toMatchObject({ schema_version: 1, source_host: "e2e-fs", core_uuid: fs.coreUuid });
    expect(typeof answer.gateway_received_at).toBe("number");
    const job = await until("BACKGROUND_JOB on NATS", () =>
      published.find((e) => e.event_type === "BACKGROUND_JOB" && e.job_uuid === body.job_uuid),
    );
    expect(job).toMatchObject({ call_uuid: callUuid, job_result: `+OK ${callUuid}` });
    const create = published.find((e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_CREATE") as {
      fields: Record<string, string>;
    };
    expect(create.fields["Caller-Caller-ID-Name"]).toBe("Zoë Ünïcødé ☎");
  });

  it("waits for the job result when asked, with the hangup cause of a failed call", async () => {
    const answered = await call("POST", "/api/v1/fs/originate", { destination, wait: true });
    expect(answered).toMatchObject({ status: 200, body: { status: "answered" } });
    const busy = await call("POST", "/api/v1/fs/originate", {
      destination,
      wait: true,
      variables: { fakeswitch_outcome: "busy" },
    });
    expect(busy).toMatchObject({ status: 200, body: { status: "failed", hangup_cause: "USER_BUSY" } });
  });

  it("lists live channels from its event-fed table, paginated", async () => {
    const uuids = [crypto.randomUUID(), crypto.randomUUID()];
    for (const callUuid of uuids)
      await call("POST", "/api/v1/fs/originate", { destination, call_uuid: callUuid, wait: true });
    const listed = await until("channels listed", async () => {
      const { body } = await call("GET", "/api/v1/fs/channels?limit=1000");
      return uuids.every((u) => body.items.some((c: { uuid: string }) => c.uuid === u)) ? body : undefined;
    });
    expect(listed).toMatchObject({ source: "event-stream", offset: 0, limit: 1000 });
    expect(listed.total).toBe(gateway.channels.size);
    const page = await call("GET", "/api/v1/fs/channels?offset=1&limit=1");
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0].uuid).toBe(listed.items[1].uuid);
  });

  it("plays, transfers and hangs up a live call; 404 for an unknown one", async () => {
    const callUuid = crypto.randomUUID();
    await call("POST", "/api/v1/fs/originate", { destination, call_uuid: callUuid, wait: true });
    expect(await call("POST", `/api/v1/fs/play/${callUuid}`, { tone: "%(200,0,800)" })).toMatchObject({
      status: 200,
      body: { status: "playing" },
    });
    expect(
      await call("POST", `/api/v1/fs/play/${callUuid}`, { file: welcomePrompt, leg: "both" }),
    ).toMatchObject({ status: 200 });
    expect(
      await call("POST", `/api/v1/fs/transfer/${callUuid}`, {
        extension: "7001",
        dialplan: "XML",
        context: "default",
      }),
    ).toMatchObject({ status: 200 });
    expect(await call("POST", `/api/v1/fs/hangup/${callUuid}`, { cause: "NORMAL_CLEARING" })).toMatchObject({
      status: 200,
    });
    await until("CHANNEL_HANGUP_COMPLETE", () =>
      published.find((e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_HANGUP_COMPLETE"),
    );
    const unknown = crypto.randomUUID();
    for (const [path, body] of [
      [`/api/v1/fs/hangup/${unknown}`, {}],
      [`/api/v1/fs/play/${unknown}`, { file: welcomePrompt }],
      [`/api/v1/fs/transfer/${unknown}`, { extension: "7001" }],
    ] as const) {
      expect(await call("POST", path, body)).toMatchObject({
        status: 404,
        body: { error: { code: "not_found" } },
      });
    }
  });

  it("refuses a duplicate call uuid with 409 before FreeSWITCH sees it", async () => {
    const callUuid = crypto.randomUUID();
    await call("POST", "/api/v1/fs/originate", { destination, call_uuid: callUuid, wait: true });
    const before = fs.stats.originates;
    expect(await call("POST", "/api/v1/fs/originate", { destination, call_uuid: callUuid })).toMatchObject({
      status: 409,
      body: { error: { code: "duplicate_call_uuid" } },
    });
    expect(fs.stats.originates).toBe(before);
  });

  it("answers 401/403 for the auth matrix", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/v1/fs/originate`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ destination }),
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: "Bearer garbage" })).status).toBe(401);
    const wrongAudience = await mintToken(jwtSecret, { audience: "other", issuer: "backend" });
    expect((await post({ authorization: `Bearer ${wrongAudience}` })).status).toBe(401);
    const expired = await mintToken(jwtSecret, {
      audience: "fs-esl-gateway",
      issuer: "backend",
      ttlSec: -10,
    });
    expect((await post({ authorization: `Bearer ${expired}` })).status).toBe(401);
    const readOnly = await mintToken(jwtSecret, {
      audience: "fs-esl-gateway",
      issuer: "backend",
      scopes: ["fs:read"],
    });
    const forbidden = await post({ authorization: `Bearer ${readOnly}` });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: { code: "insufficient_scope" } });
  });

  it("refuses injection attempts in every string field with 400, and none reaches ESL", async () => {
    const commandsBefore = fs.stats.commands;
    // In an originate string `{ } [ ] , | '` delimit variables and legs, and a line break ends the command.
    const delimiters = ["x\napi hupall", "x\r\nbgapi status", "a,b", "{evil=1}", "a}b", "it's", "a|b", "[x]"];
    // Tokens (uuids, dial strings, extensions, names) may not hold spaces either: the api splits on them.
    const tokenAttacks = [...delimiters, "a b&c"];
    // Application args and media paths are one token: a space, quote or line break would split or end it.
    const argumentAttacks = ["x\napi hupall", "x\r\nbgapi status", "it's", "a b&c", 'say "hi"'];
    const bodies: unknown[] = [];
    for (const attack of tokenAttacks) {
      bodies.push(
        { destination: attack },
        { destination: [destination, attack] },
        { destination, call_uuid: attack },
        { destination, variables: { [attack]: "x" } },
        { destination, application: { name: attack } },
        { destination, extension: { number: attack } },
        { destination, extension: { number: "7001", context: attack } },
        { destination, caller_id: { number: attack } },
      );
    }
    for (const attack of delimiters) {
      bodies.push(
        { destination, variables: { "sip_h_X-Test": attack } },
        { destination, caller_id: { name: attack } },
      );
    }
    for (const attack of argumentAttacks)
      bodies.push({ destination, application: { name: "playback", args: attack } });
    for (const body of bodies) {
      const { status, body: answer } = await call("POST", "/api/v1/fs/originate", body);
      if (status !== 400)
        expect.fail(`accepted ${JSON.stringify(body)}: ${status} ${JSON.stringify(answer)}`);
      expect(answer.error.code).toMatch(
        /^(bad_request|unsafe_value|application_not_allowed|variable_not_allowed|media_not_allowed)$/,
      );
    }
    const callUuid = crypto.randomUUID();
    const requests: Array<readonly [string, unknown]> = [];
    for (const attack of tokenAttacks) {
      requests.push(
        [`/api/v1/fs/hangup/${encodeURIComponent(attack)}`, {}],
        [`/api/v1/fs/hangup/${callUuid}`, { cause: attack }],
        [`/api/v1/fs/transfer/${callUuid}`, { extension: attack }],
        [`/api/v1/fs/transfer/${callUuid}`, { extension: "7001", dialplan: attack }],
        [`/api/v1/fs/transfer/${callUuid}`, { extension: "7001", context: attack }],
      );
    }
    for (const attack of argumentAttacks) {
      requests.push(
        [`/api/v1/fs/play/${callUuid}`, { file: attack }],
        [`/api/v1/fs/play/${callUuid}`, { tone: attack }],
      );
    }
    for (const [path, body] of requests) {
      const { status } = await call("POST", path, body);
      if (status !== 400) expect.fail(`accepted ${path} ${JSON.stringify(body)}: ${status}`);
    }
    expect(fs.stats.commands).toBe(commandsBefore);
  });

  it("refuses what would make FreeSWITCH execute something with 400 and a stable code; none reaches ESL", async () => {
    const commandsBefore = fs.stats.commands;
    const originates: Array<[unknown, string]> = [
      [{ destination, variables: { api_on_answer: "system touch /tmp/x" } }, "variable_not_allowed"],
      [{ destination, variables: { execute_on_answer: "park" } }, "variable_not_allowed"],
      [{ destination, variables: { API_HANGUP_HOOK: "status" } }, "variable_not_allowed"],
      [{ destination, variables: { exec_after_bridge_app: "park" } }, "variable_not_allowed"],
      [{ destination, variables: { bridge_pre_execute_aleg_app: "park" } }, "variable_not_allowed"],
      [{ destination, variables: { api_after_bridge: "status" } }, "variable_not_allowed"],
      [{ destination, variables: { origination_uuid: crypto.randomUUID() } }, "variable_not_allowed"],
      [{ destination, variables: { "sip_h_X-A": "${system(id)}" } }, "unsafe_value"],
      [{ destination, variables: { "sip_h_X-A": "$${hostname}" } }, "unsafe_value"],
      // Raw JSON: 1e400 parses to Infinity, which must not reach FreeSWITCH as a word.
      [`{"destination":"${destination}","variables":{"originate_timeout":1e400}}`, "unsafe_value"],
      [{ destination, timeout_sec: "10" }, "bad_request"],
      [{ destination, timeout_sec: true }, "bad_request"],
      [{ destination, application: { name: "system", args: "id" } }, "application_not_allowed"],
      [{ destination, application: { name: "lua", args: "x.lua" } }, "application_not_allowed"],
      [{ destination, application: { name: "set", args: "api_on_answer=x" } }, "application_not_allowed"],
      [{ destination, application: { name: "park", args: "${system(id)}" } }, "unsafe_value"],
      [{ destination, application: { name: "playback", args: "/etc/passwd" } }, "media_not_allowed"],
      [{ destination, application: { name: "playback", args: "system::id" } }, "unsafe_value"],
      [{ destination, application: { name: "bridge", args: "{api_on_answer=x}user/1" } }, "unsafe_value"],
      [{ destination, extension: { number: "park", dialplan: "inline" } }, "dialplan_not_allowed"],
      [{ destination, caller_id: { name: "${system(id)}" } }, "unsafe_value"],
    ];
    for (const [body, code] of originates) {
      const { status, body: answer } = await call("POST", "/api/v1/fs/originate", body);
      if (status !== 400 || answer.error.code !== code)
        expect.fail(`${JSON.stringify(body)}: ${status} ${JSON.stringify(answer)}, wanted 400 ${code}`);
    }
    const callUuid = crypto.randomUUID();
    const controls: Array<[string, unknown, string]> = [
      [`/api/v1/fs/play/${callUuid}`, { file: "/tmp/x.wav" }, "media_not_allowed"],
      [
        `/api/v1/fs/play/${callUuid}`,
        { file: "/usr/share/freeswitch/sounds/../../../etc/passwd" },
        "media_not_allowed",
      ],
      [`/api/v1/fs/play/${callUuid}`, { file: "lua::evil.lua" }, "media_not_allowed"],
      [`/api/v1/fs/play/${callUuid}`, { file: "${system(id)}" }, "unsafe_value"],
      [`/api/v1/fs/play/${callUuid}`, { tone: "${system(id)}" }, "unsafe_value"],
      [`/api/v1/fs/play/${callUuid}`, { tone: "%(100,0,440)::echo" }, "media_not_allowed"],
      [`/api/v1/fs/transfer/${callUuid}`, { extension: "park", dialplan: "inline" }, "dialplan_not_allowed"],
    ];
    for (const [path, body, code] of controls) {
      const { status, body: answer } = await call("POST", path, body);
      if (status !== 400 || answer.error.code !== code)
        expect.fail(
          `${path} ${JSON.stringify(body)}: ${status} ${JSON.stringify(answer)}, wanted 400 ${code}`,
        );
    }
    expect(fs.stats.commands).toBe(commandsBefore);
  });

  it("quotes a caller-id name with spaces instead of refusing it", async () => {
    const result = await call("POST", "/api/v1/fs/originate", {
      destination,
      caller_id: { name: "Doe & Sons Ltd" },
      wait: true,
    });
    expect(result).toMatchObject({ status: 200, body: { status: "answered" } });
  });

  it("answers 400 for bad JSON, unknown fields and wrong types; 413 for an oversized body", async () => {
    expect(await call("POST", "/api/v1/fs/originate", "{not json")).toMatchObject({
      status: 400,
      body: { error: { code: "bad_request" } },
    });
    expect(await call("POST", "/api/v1/fs/originate", { destination, surprise: 1 })).toMatchObject({
      status: 400,
    });
    expect(await call("POST", "/api/v1/fs/originate", { destination, timeout_sec: "soon" })).toMatchObject({
      status: 400,
    });
    expect(await call("POST", "/api/v1/fs/originate", {})).toMatchObject({ status: 400 });
    const huge = { destination, variables: { big: "x".repeat(100_000) } };
    expect(await call("POST", "/api/v1/fs/originate", huge)).toMatchObject({
      status: 413,
      body: { error: { code: "payload_too_large" } },
    });
  });

  it("answers 504 when FreeSWITCH does not reply in time, and recovers", async () => {
    fs.delayReplies(1_000);
    try {
      const slow = await call("POST", `/api/v1/fs/hangup/${crypto.randomUUID()}`, {});
      expect(slow).toMatchObject({ status: 504, body: { error: { code: "command_timeout" } } });
    } finally {
      fs.delayReplies(0);
    }
    await new Promise((r) => setTimeout(r, 1_200)); // the late reply arrives and is discarded
    expect(await call("POST", `/api/v1/fs/hangup/${crypto.randomUUID()}`, {})).toMatchObject({ status: 404 });
  });

  it("exports the ADR's metrics", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      "fs_esl_commands_total",
      "fs_esl_errors_total",
      "fs_esl_command_latency_ms_bucket",
      "fs_esl_connection_uptime_seconds",
      "fs_esl_event_publish_lag_ms_bucket",
      "fs_esl_reconnects_total",
      "fs_esl_gateway_connection_failures",
      "process_resident_memory_bytes",
      "fs_esl_event_queue_depth",
      "fs_esl_events_dropped_total",
      "fs_esl_rejections_total",
    ]) {
      expect(text).toContain(name);
    }
  });

  it("answers 503 at once while ESL is down, then reconnects and re-subscribes after the double restarts", async () => {
    const oldCore = fs.coreUuid;
    // Down until the 503 is seen: a restart in one step can be back before the request is made.
    await fs.shutdown();
    await until("ESL down", () => !gateway.esl.ready || undefined);
    const during = await call("POST", "/api/v1/fs/originate", { destination });
    expect(during.status).toBe(503);
    expect(during.headers.get("retry-after")).toBe("1");
    await fs.restart();
    await until("ESL back", () => gateway.esl.ready || undefined, 8_000);
    expect(fs.coreUuid).not.toBe(oldCore);
    const callUuid = crypto.randomUUID();
    expect((await call("POST", "/api/v1/fs/originate", { destination, call_uuid: callUuid })).status).toBe(
      202,
    );
    await until("events after reconnect", () =>
      published.find((e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_ANSWER"),
    );
    const health = await (await fetch(`${base}/health`)).json();
    expect(health.esl.reconnects).toBeGreaterThanOrEqual(1);
  });

  it("keeps published + dropped + queued equal to received", () => {
    const { received, published: sent, dropped } = gateway.publisher.counts;
    expect(sent + dropped + gateway.publisher.depth).toBe(received);
  });

  it("never logs the ESL password, the JWT secret or a bearer token", async () => {
    const all = lab.logLines.join("");
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(testEslPassword);
    expect(all).not.toContain(testJwtSecret);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
