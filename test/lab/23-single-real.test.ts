import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreeswitch } from "../../lab/freeswitch/freeswitch.ts";
import { Lab } from "../../lab/run/lab.ts";
import { readState } from "../../lab/run/state.ts";
import { farEnds } from "../../src/harness/run/lab-handle.ts";
import {
  downAndCheckNothingLeft,
  originate,
  scratchDir,
  subscribeEvents,
  watchHealth,
} from "./lab-helpers.ts";

const freeswitch = await findFreeswitch();
if (!freeswitch)
  console.warn(
    "test/lab/23-single-real: skipped, no FreeSWITCH installed (FREESWITCH_BIN, PATH, /usr/local/freeswitch); CI installs one",
  );

const scratch = scratchDir();
let lab: Lab;

describe.skipIf(!freeswitch)("single-real: a real FreeSWITCH 1.10 in the lab", () => {
  beforeAll(async () => {
    lab = await Lab.up({
      topology: "single-real",
      stateFile: scratch.stateFile,
      resultsDir: scratch.resultsDir,
    });
  }, 60_000);
  afterAll(async () => {
    if (readState(scratch.stateFile)) await lab.down();
    scratch.remove();
  }, 60_000);

  it("comes up healthy, its configuration private and on loopback, the password nowhere in argv or results", async () => {
    const status = await lab.status();
    expect(status.components.map((c) => [c.name, c.health])).toEqual([
      ["nats", "ok"],
      ["freeswitch", "ok"],
      ["kamailio", "ok"],
      ["carrier", "ok"],
      ["fault-proxy", "ok"],
      ["gateway", "ok"],
      ["calls-db", "ok"],
      ["calls-cdr-writer", "ok"],
      ["calls-orchestrator-1", "ok"],
      ["calls-orchestrator-2", "ok"],
      ["calls-api", "ok"],
    ]);
    const component = lab.state.components.find((c) => c.name === "freeswitch");
    const conf = component?.privateDir as string;
    expect(conf.startsWith(tmpdir())).toBe(true);
    const xml = readFileSync(`${conf}/freeswitch.xml`, "utf8");
    expect(xml).toContain(`value="${lab.secrets.eslPassword}"`);
    expect(xml).not.toMatch(/value="0\.0\.0\.0"|\$\$\{/);
    expect(component?.launch?.args.join(" ")).not.toContain(lab.secrets.eslPassword);
    expect(readFileSync(`${scratch.resultsDir}/${lab.state.labId}/freeswitch.log`, "utf8")).not.toContain(
      lab.secrets.eslPassword,
    );
  });

  it("originates through the gateway to the SIPp carrier via Kamailio; the call's events reach NATS from the real FreeSWITCH", async () => {
    const events = await subscribeEvents(lab.natsUrls()[0] as string);
    try {
      const callUuid = await originate(lab, lab.gatewayUrl(), farEnds.freeswitch);
      const answer = await events.waitFor(
        (e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_ANSWER",
      );
      expect(answer).toMatchObject({ source_host: "freeswitch" });
      // The carrier hangs up after 500 ms with its own BYE.
      expect(
        await events.waitFor((e) => e.call_uuid === callUuid && e.event_type === "CHANNEL_HANGUP_COMPLETE"),
      ).toMatchObject({
        fields: { "Hangup-Cause": "NORMAL_CLEARING", variable_sip_hangup_disposition: "recv_bye" },
      });
    } finally {
      await events.close();
    }
  });

  it("restarts as a fault: the gateway goes unhealthy and comes back once the new FreeSWITCH answers", async () => {
    const health = watchHealth(lab.gatewayUrl());
    try {
      await lab.fault("freeswitch", { kind: "restart" });
      await health.until([503, 200], 60_000);
    } finally {
      await health.stop();
    }
  }, 90_000);

  it("goes down cleanly: no process, no port, no private configuration left", async () => {
    const conf = lab.state.components.find((c) => c.name === "freeswitch")?.privateDir as string;
    await downAndCheckNothingLeft(lab);
    expect(existsSync(conf)).toBe(false);
  }, 60_000);
});
