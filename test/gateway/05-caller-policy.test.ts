import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/contracts/api-error.ts";
import {
  CallerPolicy,
  callerPolicyFromEnv,
  defaultCallerPolicy,
  PolicyViolation,
} from "../../src/contracts/caller-policy.ts";
import type { OriginateInput } from "../../src/contracts/originate-input.ts";
import type { EslClient } from "../../src/esl/index.ts";
import { Admission } from "../../src/gateway/admission.ts";
import { ChannelTable } from "../../src/gateway/channels.ts";
import { FsControl } from "../../src/gateway/fs-control.ts";
import { GatewayMetrics } from "../../src/gateway/metrics.ts";

/** FsControl over an ESL client that records every command and answers +OK at once. */
function controlRecordingCommands(policy = new CallerPolicy()) {
  const sent: string[] = [];
  const esl = {
    ready: true,
    oldestOutstandingMs: 0,
    sessionsPerSecond: undefined,
    api: async (command: string) => {
      sent.push(command);
      return { body: "+OK" };
    },
    bgapi: async (command: string) => {
      sent.push(command);
      return { jobUuid: crypto.randomUUID(), completion: new Promise(() => {}) };
    },
  } as unknown as EslClient;
  const metrics = new GatewayMetrics();
  const admission = new Admission(
    { maxInFlight: 1_000_000, latencyP95LimitMs: 600_000, sessionsHeadroom: 1, retryAfterSec: 1 },
    metrics,
    esl,
  );
  return { control: new FsControl(esl, new ChannelTable(), admission, metrics, policy), sent };
}

/** Whether FsControl accepted the request; a refusal must be a 400 ApiError, never anything else. */
async function accepted(run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    return false;
  }
}

// What an attacker reaches for: executing variable names, expansions, app::args, format prefixes, `..`.
const executingNames = [
  "api_on_answer",
  "execute_on_answer",
  "execute_on_ring",
  "api_hangup_hook",
  "session_in_hangup_hook",
  "exec_after_bridge_app",
  "exec_after_bridge_arg",
  "bridge_pre_execute_aleg_app",
  "api_after_bridge",
  "api_reporting_hook",
  "Api_On_Originate",
  "export_vars",
  "origination_uuid",
];
const hostileFragments = [
  "${system(id)}",
  "$${hostname}",
  "${api(status)}",
  "api:status",
  "system id",
  "lua::x",
  "::",
  "../",
  "/etc/passwd",
  "{api_on_answer=x}",
  "[x=1]",
  "\u0000",
  "\ud800",
  "\n",
  "'",
  " ",
];
const hostileText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(...hostileFragments),
  fc
    .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...hostileFragments), fc.string({ maxLength: 8 }))
    .map((parts) => parts.join("")),
);
const allowedName = fc.constantFrom(...defaultCallerPolicy.variables.map((v) => v.replace("*", "Tenant")));
const variableName = fc.oneof(allowedName, fc.constantFrom(...executingNames), fc.string({ maxLength: 20 }));
const variableValue = fc.oneof(hostileText, fc.integer(), fc.boolean(), fc.double());
const applicationName = fc.oneof(
  fc.constantFrom(...defaultCallerPolicy.applications, "system", "lua", "set", "export", "bgsystem", "eval"),
  fc.string({ maxLength: 12 }),
);
const originateInput: fc.Arbitrary<OriginateInput> = fc.record(
  {
    destination: fc.oneof(fc.constant("sofia/internal/1000@127.0.0.1:5090"), hostileText),
    variables: fc.dictionary(variableName, variableValue, { maxKeys: 4 }),
    application: fc.record({ name: applicationName, args: fc.oneof(fc.constant(""), hostileText) }),
    caller_id: fc.record({ name: hostileText }),
    extension: fc.record({
      number: hostileText,
      dialplan: fc.constantFrom("XML", "inline", "INLINE", "lua"),
    }),
  },
  { requiredKeys: ["destination"] },
);

/** What must never appear in a command the gateway writes, whatever the caller sent. */
function assertSafe(command: string): void {
  expect(command).not.toMatch(/\$\{/);
  expect(command).not.toMatch(/api:|\bsystem\b/i);
  expect(command).not.toMatch(/[\x00-\x1f\x7f]/);
  // `app::args` runs an application where uuid_broadcast or playback expect media.
  if (command.startsWith("uuid_broadcast")) expect(command.split(" ")[2]).not.toMatch(/::/);
  expect(/&[a-z_]+\((.*)\)/.exec(command)?.[1] ?? "").not.toMatch(/::/);
  expect(command).not.toMatch(/(^|\/)\.\.(\/|$|\s)/);
  for (const assignment of command.matchAll(/[{,[]([A-Za-z0-9_.-]+)=/g)) {
    const name = assignment[1] ?? "";
    if (name === "origination_uuid") continue; // the gateway's own
    expect(name.toLowerCase().split("_")).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^(api|exec|execute|hook|app|on|export)$/)]),
    );
  }
  const application = /&([a-z_]+)\(/.exec(command)?.[1];
  if (application !== undefined) expect(defaultCallerPolicy.applications).toContain(application);
  const extensionTarget = /\s(\S+)\s+(\S+)(?:\s+\S+)?$/.exec(command);
  if (command.startsWith("uuid_transfer") && extensionTarget)
    expect(extensionTarget[2]).not.toMatch(/inline/i);
  if (/^originate .* \S+ inline/i.test(command)) expect.fail(`inline dialplan in ${command}`);
}

describe("caller policy (no caller input makes FreeSWITCH execute something it did not ask for)", () => {
  it("property: no accepted originate writes an executing variable, an expansion or a non-allowlisted app", async () => {
    await fc.assert(
      fc.asyncProperty(originateInput, async (input) => {
        const { control, sent } = controlRecordingCommands();
        if (await accepted(() => control.originate(input))) {
          expect(sent).toHaveLength(1);
          assertSafe(sent[0] ?? "");
        } else expect(sent).toHaveLength(0);
      }),
      { numRuns: 3_000 },
    );
  });

  it("property: no accepted play or transfer writes an expansion, app::args, a path outside the prefixes or inline", async () => {
    const uuid = "5d6f0c1e-1111-4222-8333-944455556666";
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ file: hostileText }),
          fc.record({ tone: hostileText }),
          fc.record({ file: hostileText.map((tail) => `/usr/share/freeswitch/sounds/${tail}`) }),
        ),
        fc.record({ extension: hostileText, dialplan: fc.constantFrom("XML", "inline", "Inline") }),
        async (media, target) => {
          const { control, sent } = controlRecordingCommands();
          const played = await accepted(() => control.play(uuid, media));
          const transferred = await accepted(() => control.transfer(uuid, target));
          expect(sent).toHaveLength(Number(played) + Number(transferred));
          for (const command of sent) assertSafe(command);
          if (played) {
            const path = sent[0]?.split(" ")[2] ?? "";
            expect(defaultCallerPolicy.mediaPrefixes.some((prefix) => path.startsWith(prefix))).toBe(true);
          }
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("accepts what the API's callers need", async () => {
    const { control, sent } = controlRecordingCommands();
    await control.originate({
      destination: "sofia/internal/1000@127.0.0.1:5090",
      variables: { "sip_h_X-Tenant": "acme", originate_timeout: 20, hangup_after_bridge: true },
      application: { name: "playback", args: "tone_stream://%(100,0,440);loops=3" },
      caller_id: { name: "Doe & Sons", number: "+15105551234" },
    });
    await control.originate({ destination: "user/1000", application: { name: "bridge", args: "user/1001" } });
    await control.originate({
      destination: "user/1000",
      extension: { number: "9999", dialplan: "XML", context: "default" },
    });
    await control.play("abc-1", {
      file: "/usr/share/freeswitch/sounds/en/us/callie/ivr/8000/ivr-welcome.wav",
    });
    await control.play("abc-1", { file: "silence_stream://1000" });
    await control.play("abc-1", { tone: "%(100,100,350,440)" });
    await control.transfer("abc-1", { extension: "9999" });
    expect(sent).toHaveLength(7);
    expect(sent[0]).toContain("sip_h_X-Tenant=acme");
    expect(sent[0]).toContain("&playback(tone_stream://%(100,0,440);loops=3)");
  });

  it("keeps the denylist whatever configuration allows", () => {
    const policy = new CallerPolicy(
      callerPolicyFromEnv({
        ALLOWED_VARIABLES: "*",
        ALLOWED_APPLICATIONS: "park,system,lua,set",
        ALLOWED_DIALPLANS: "XML,inline",
      }),
    );
    expect(() => policy.variable("anything_goes", "x")).not.toThrow();
    for (const name of executingNames)
      expect(() => policy.variable(name, "x"), name).toThrow(PolicyViolation);
    for (const name of ["system", "lua", "set"])
      expect(() => policy.application(name, ""), name).toThrow(PolicyViolation);
    expect(() => policy.application("park", "")).not.toThrow();
    expect(() => policy.dialplan("dialplan", "inline")).toThrow(PolicyViolation);
  });

  it("reads its lists from the environment, each replacing its default", () => {
    expect(callerPolicyFromEnv({})).toEqual(defaultCallerPolicy);
    expect(
      callerPolicyFromEnv({ ALLOWED_APPLICATIONS: "park, echo", MEDIA_PREFIXES: "/srv/sounds/" }),
    ).toEqual({
      ...defaultCallerPolicy,
      applications: ["park", "echo"],
      mediaPrefixes: ["/srv/sounds/"],
    });
    const policy = new CallerPolicy(callerPolicyFromEnv({ MEDIA_PREFIXES: "/srv/sounds/" }));
    expect(() => policy.media("file", "/srv/sounds/a.wav")).not.toThrow();
    expect(() => policy.media("file", "tone_stream://%(1,0,440)")).toThrow(PolicyViolation);
  });
});
