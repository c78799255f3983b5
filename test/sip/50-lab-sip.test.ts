import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatcherTargets } from "../../lab/kamailio/kamailio.ts";
import { freeUdpPort } from "../../lab/plan/ports.ts";
import { Lab } from "../../lab/run/lab.ts";
import { startSipp } from "../../lab/sipp/sipp.ts";
import {
  downAndCheckNothingLeft,
  type FsEvent,
  originate,
  scratchDir,
  subscribeEvents,
} from "../lab/lab-helpers.ts";
import { missing } from "./binaries.ts";
import { until } from "./helpers.ts";

const scratch = scratchDir();

describe.skipIf(missing("kamailio", "sipp", "nats-server"))(
  "the sharded-2 lab's SIP side: Kamailio in front of two doubles, a gateway each, the SIPp carrier",
  () => {
    let lab: Lab;
    let kamailio: NonNullable<ReturnType<Lab["kamailio"]>>;
    beforeAll(async () => {
      lab = await Lab.up({ topology: "sharded-2", stateFile: null, resultsDir: scratch.resultsDir });
      kamailio = lab.kamailio()!;
      await until(
        async () => (await dispatcherTargets(kamailio.rpc)).every((t) => t.active),
        8000,
        "both active",
      );
    });
    afterAll(async () => {
      await lab?.down();
      scratch.remove();
    });

    const inbound = async (calls: number) => {
      const caller = startSipp({
        scenario: "inbound-caller",
        port: await freeUdpPort(),
        remote: kamailio.sip,
        service: "5000",
        calls,
        rate: 10,
        timeoutS: 15,
        timings: { RING_MS: 300 },
      });
      return caller.exited;
    };

    it("an inbound call from SIPp lands on one instance; its events reach NATS through that instance's gateway", async () => {
      const events = await subscribeEvents(lab.natsUrls()[0] as string);
      try {
        expect(await inbound(2)).toBe(0);
        const parks = () => events.events.filter((e) => e.event_type === "CHANNEL_CREATE");
        await until(() => parks().length === 2, 5000, "two CHANNEL_CREATE on NATS");
        expect(
          parks()
            .map((e) => e.source_host)
            .sort(),
        ).toEqual(["fakeswitch", "fakeswitch-2"]);
      } finally {
        await events.close();
      }
    });

    it("a gateway originate goes out over SIP through Kamailio to the SIPp carrier: answered, then NORMAL_CLEARING at its BYE", async () => {
      const events = await subscribeEvents(lab.natsUrls()[0] as string);
      try {
        const uuid = await originate(lab, lab.gatewayUrl(), "sofia/external/1000@carrier");
        await events.waitFor((e) => e.call_uuid === uuid && e.event_type === "CHANNEL_ANSWER");
        const done = (await events.waitFor(
          (e) => e.call_uuid === uuid && e.event_type === "CHANNEL_HANGUP_COMPLETE",
        )) as FsEvent & { fields: Record<string, string> };
        expect(done.fields["Hangup-Cause"]).toBe("NORMAL_CLEARING");
        expect(done.fields.variable_sip_hangup_disposition).toBe("recv_bye");
      } finally {
        await events.close();
      }
    });

    it("stopping one instance moves new inbound calls to the other", async () => {
      await lab.fault("fakeswitch-2", { kind: "stop" });
      const events = await subscribeEvents(lab.natsUrls()[0] as string);
      try {
        expect(await inbound(4)).toBe(0);
        const parks = () => events.events.filter((e) => e.event_type === "CHANNEL_CREATE");
        await until(() => parks().length === 4, 5000, "four CHANNEL_CREATE on NATS");
        expect(new Set(parks().map((e) => e.source_host))).toEqual(new Set(["fakeswitch"]));
        expect((await dispatcherTargets(kamailio.rpc)).filter((t) => t.active)).toHaveLength(1);
      } finally {
        await events.close();
      }
    });

    it("tears down with no kamailio, double or port left", async () => {
      await downAndCheckNothingLeft(lab);
    });
  },
);
