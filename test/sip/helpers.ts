import { freeUdpPort } from "../../lab/plan/ports.ts";
import { type SippOptions, type SippRun, startSipp } from "../../lab/sipp/sipp.ts";

/** Polls `cond` every 5 ms; throws after `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 5000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** SIPp's inbound caller (lab/sipp/inbound-caller.xml): `calls` calls at 20/s to 127.0.0.1:`port`, service 5000. */
export async function startInboundCaller(
  port: number,
  calls: number,
  timings: SippOptions["timings"],
): Promise<SippRun> {
  return startSipp({
    scenario: "inbound-caller",
    port: await freeUdpPort(),
    remote: { host: "127.0.0.1", port },
    service: "5000",
    calls,
    rate: 20,
    timeoutS: 10,
    timings,
  });
}
