import { randomUUID } from "node:crypto";
import { UUID_BRIDGE } from "./call-scripts.ts";
import type { Channel } from "./channel.ts";
import { nowUs } from "./clock.ts";
import type { CompiledTemplate } from "./event-serializer.ts";
import type { SwitchCore } from "./switch-core.ts";
import { beginHangup, finishHangup } from "./teardown.ts";
import { T } from "./template-tokens.ts";

/**
 * Two legs bridged (capture 10): `a` runs the bridge (the originating leg, or uuid_bridge's first uuid),
 * `b` is the other. Each leg's events show the other as Other-Leg-*; killing either hangs up both.
 */

/** Make `b` the other leg of `a` and the other way round (switch_ivr_originate's originator/originatee). */
export function link(a: Channel, b: Channel): void {
  a.other = b;
  a.bridgeRole = "a";
  b.other = a;
  b.bridgeRole = "b";
}

/** Fire a two-leg sequence: each template on the leg its role names. */
function firePair(core: SwitchCore, list: readonly CompiledTemplate[], a: Channel, b: Channel): void {
  for (const t of list) core.fireChannel(t.role === "b" ? b : a, t);
}

/** switch_ivr_multi_threaded_bridge: the bridge is up; from now on a hangup takes both legs. */
export function bridge(
  core: SwitchCore,
  a: Channel,
  b: Channel,
  list: readonly CompiledTemplate[],
  hangup: readonly CompiledTemplate[],
): void {
  const us = nowUs();
  a.mark("bridged", us);
  b.mark("bridged", us);
  a.bridgeHangup = hangup;
  b.bridgeHangup = hangup;
  firePair(core, list, a, b);
  b.state = "CS_EXCHANGE_MEDIA";
}

/**
 * One leg of a bridge hangs up (uuid_kill, the far end's BYE): the other follows NORMAL_CLEARING, in the
 * captured order, with the killed leg's CHANNEL_HANGUP first.
 */
export function hangupBridged(core: SwitchCore, killed: Channel, cause: string, disposition?: string): void {
  const other = killed.other as Channel;
  const [a, b] = killed.bridgeRole === "a" ? [killed, other] : [other, killed];
  beginHangup(killed, cause, disposition);
  beginHangup(other, "NORMAL_CLEARING");
  const steps = (killed.bridgeHangup ?? []).map((t) => [t.role === "b" ? b : a, t] as const);
  // Both captures start with A's CHANNEL_HANGUP then B's: the leg that went first leads.
  if (killed === b) [steps[0], steps[1]] = [steps[1] as (typeof steps)[0], steps[0] as (typeof steps)[0]];
  const [first, ...rest] = steps;
  if (first) core.fireChannel(first[0], first[1]);
  a.state = "CS_HANGUP";
  b.state = "CS_HANGUP";
  setImmediate(() => finishHangup(core, rest));
}

/**
 * uuid_bridge_function → switch_ivr_uuid_bridge: both parked legs leave park (CS_HIBERNATE, CS_RESET,
 * CS_SOFT_EXECUTE), run `uuid_bridge` and are bridged. There is no CHANNEL_EXECUTE_COMPLETE for it.
 */
export function uuidBridge(core: SwitchCore, x: Channel, y: Channel): void {
  link(x, y);
  const second = Math.floor(Date.now() / 1000);
  for (const [leg, other] of [
    [x, y],
    [y, x],
  ] as const) {
    leg.tokens.set(T.TRANSFER_SOURCE, `${second}:${randomUUID()}:uuid_br:${other.uuid}`);
    leg.parked = false;
  }
  const [bridging, rest] = splitAtBridge(UUID_BRIDGE.bridge);
  for (const t of bridging) {
    const leg = t.role === "b" ? y : x;
    if (t.event === "CHANNEL_EXECUTE") {
      leg.tokens.set(T.APP_UUID, randomUUID());
      leg.tokens.set(T.APP_DATA, (leg.other as Channel).uuid);
      leg.application = "uuid_bridge";
      leg.applicationData = (leg.other as Channel).uuid;
    }
    core.fireChannel(leg, t);
  }
  x.state = "CS_SOFT_EXECUTE";
  bridge(core, x, y, rest, UUID_BRIDGE.hangup);
}

/** The events before CHANNEL_BRIDGE, and the bridge itself on. */
function splitAtBridge(list: readonly CompiledTemplate[]): [CompiledTemplate[], CompiledTemplate[]] {
  const at = list.findIndex((t) => t.event === "CHANNEL_BRIDGE");
  return [list.slice(0, at), list.slice(at)];
}
