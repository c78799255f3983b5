import { backpressure } from "./backpressure.ts";
import { callControl } from "./call-control.ts";
import { callsPipeline } from "./calls-pipeline.ts";
import { dispatcherFailover } from "./dispatcher-failover.ts";
import { eventStorm } from "./event-storm.ts";
import { natsOutage } from "./nats-outage.ts";
import { originateRamp } from "./originate-ramp.ts";
import { reconnect } from "./reconnect.ts";
import { sipOriginate } from "./sip-originate.ts";
import { smoke } from "./smoke.ts";
import { steady } from "./steady.ts";
import type { Scenario } from "./types.ts";

/** Every shipped scenario by name, for `npm run lab -- run <name>`. */
export const scenarios: Readonly<Record<string, Scenario>> = Object.fromEntries(
  [
    smoke,
    originateRamp,
    steady,
    reconnect,
    eventStorm,
    backpressure,
    natsOutage,
    callControl,
    sipOriginate,
    dispatcherFailover,
    callsPipeline,
  ].map((s) => [s.name, s]),
);

/** What `npm run lab` runs without a command. */
export const defaultScenarioName = smoke.name;
