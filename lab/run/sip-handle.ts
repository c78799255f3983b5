import type { SipHandle } from "../../src/harness/measure/sip-numbers.ts";
import { dispatcherTargets, kamailioStatistics } from "../kamailio/kamailio.ts";
import { freeUdpPort } from "../plan/ports.ts";
import { readSippDir, type SippScenario, startSipp } from "../sipp/sipp.ts";
import type { LabState } from "./state.ts";

/** The Request-URI user the lab's callers dial (Kamailio routes any user to a FreeSWITCH). */
const INBOUND_SERVICE = "5000";
/** How long a starting caller has to write its first two statistics rows. */
const CALLER_READY_MS = 5_000;

/**
 * A lab's SIP side for the scenario runner (`LabHandle.sip`): Kamailio's statistics and dispatcher through
 * its JSON-RPC, the carrier's SIPp files, and inbound callers started on demand. Undefined for a lab without
 * Kamailio (a topology with `sip: false`, or external mode).
 */
export function labSipHandle(state: LabState): SipHandle | undefined {
  const kamailio = state.components.find((c) => c.kind === "kamailio");
  const rpc = kamailio?.endpoints.rpc;
  const sip = kamailio?.endpoints.sip;
  if (!rpc || !sip) return undefined;
  const front = new URL(sip);
  // A FreeSWITCH's SIP address (`udp://127.0.0.1:5071`) as the dispatcher names it (`sip:127.0.0.1:5071`).
  const components = new Map(
    state.components.flatMap((c) =>
      c.kind === "fakeswitch" && c.endpoints.sip ? [[`sip:${new URL(c.endpoints.sip).host}`, c.name]] : [],
    ),
  );
  return {
    kamailioStatistics: () => kamailioStatistics(rpc),
    dispatcher: async () =>
      (await dispatcherTargets(rpc)).map((t) => {
        const component = components.get(t.uri);
        return component ? { ...t, component } : t;
      }),
    sipps: () =>
      state.components.flatMap((c) =>
        c.kind === "sipp" && c.endpoints.stats && c.endpoints.scenario
          ? [readSippDir(c.name, c.endpoints.scenario as SippScenario, c.endpoints.stats)]
          : [],
      ),
    async startCaller(options) {
      const run = startSipp({
        scenario: "inbound-caller",
        port: await freeUdpPort(),
        controlPort: await freeUdpPort(),
        remote: { host: front.hostname, port: Number(front.port) },
        service: INBOUND_SERVICE,
        rate: 0,
        limit: Math.max(100, Math.ceil(options.maxRate * ((options.ringMs + options.holdMs) / 1000 + 5))),
        calls: 10_000_000,
        timeoutS: options.timeoutS,
        timings: { RING_MS: options.ringMs, HOLD_MS: options.holdMs },
        dir: options.dir,
      });
      // SIPp's call generator takes up a rate change at once only after its first second (before, it
      // waits for the second's end and then catches up in a burst): ready at its second statistics row.
      const deadline = Date.now() + CALLER_READY_MS;
      while (run.read("caller").rows.length < 2) {
        if (Date.now() > deadline) {
          await run.stop();
          throw new Error(`the SIPp caller did not start within ${CALLER_READY_MS} ms; see ${run.dir}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return {
        name: "caller",
        pid: run.pid,
        setRate: (rate) => run.setRate(rate),
        stop: () => run.stop(),
        read: () => run.read("caller"),
      };
    },
  };
}
