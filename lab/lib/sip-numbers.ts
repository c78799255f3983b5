import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DispatcherTarget, dispatcherTargets, kamailioStatistics } from "../kamailio/kamailio.ts";
import { readSippStats, type SippStats } from "../sipp/stats.ts";
import type { LabState } from "./state.ts";

/** Kamailio counters worth a line, as kamcmd names them. */
const KAMAILIO_COUNTERS = [
  "core:rcv_requests_invite",
  "core:rcv_requests_bye",
  "core:rcv_requests_cancel",
  "core:fwd_requests",
  "core:rcv_replies_2xx_invite",
  "core:rcv_replies_4xx_invite",
  "core:rcv_replies_5xx_invite",
  "tmx:UAS_transactions",
  "tmx:2xx_transactions",
  "tmx:4xx_transactions",
  "tmx:5xx_transactions",
  "tmx:6xx_transactions",
  "core:drop_requests",
] as const;

/** The SIP side of a run: Kamailio's counters over the run, each SIPp's own statistics, the dispatcher's changes. */
export interface SipNumbers {
  kamailio: Record<string, number>;
  sipp: Record<string, SippStats>;
  /** Each change of a dispatcher destination's flags, ms after the run started (polled every 200 ms). */
  dispatcher: Array<{ atMs: number; uri: string; flags: string }>;
}

/**
 * Watches the SIP side of a lab during a run: Kamailio's statistics before and after (the difference is the
 * run's), the dispatcher's state every 200 ms, and at the end each SIPp component's `-trace_stat` CSV.
 */
export class SipMonitor {
  private readonly started = Date.now();
  private readonly changes: SipNumbers["dispatcher"] = [];
  private readonly last = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  private constructor(
    private readonly state: LabState,
    private readonly ctl: string,
    private readonly before: Record<string, number>,
  ) {
    this.timer = setInterval(() => void this.poll(), 200);
  }

  /** A monitor when the lab has Kamailio, else undefined. */
  static async start(state: LabState): Promise<SipMonitor | undefined> {
    const ctl = state.components.find((c) => c.kind === "kamailio")?.endpoints.ctl;
    if (!ctl) return undefined;
    const monitor = new SipMonitor(state, ctl, await kamailioStatistics(ctl).catch(() => ({})));
    await monitor.poll();
    return monitor;
  }

  async stop(): Promise<SipNumbers> {
    clearInterval(this.timer);
    const after = await kamailioStatistics(this.ctl).catch(() => ({}) as Record<string, number>);
    const kamailio = Object.fromEntries(
      KAMAILIO_COUNTERS.map((name) => [name, (after[name] ?? 0) - (this.before[name] ?? 0)]),
    );
    const sipp: Record<string, SippStats> = {};
    for (const c of this.state.components.filter((c) => c.kind === "sipp")) {
      const file = c.endpoints.stats;
      const stats = file && existsSync(file) ? readSippStats(readFileSync(file, "utf8")) : undefined;
      if (stats) sipp[c.name] = stats;
    }
    return { kamailio, sipp, dispatcher: this.changes };
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const targets: DispatcherTarget[] = await dispatcherTargets(this.ctl).catch(() => []);
    this.polling = false;
    for (const t of targets) {
      if (this.last.get(t.uri) === t.flags) continue;
      this.last.set(t.uri, t.flags);
      this.changes.push({ atMs: Date.now() - this.started, uri: t.uri, flags: t.flags });
    }
  }
}

/** The lines `lab run` prints, and `sip.json` beside the run's summary. */
export function reportSipNumbers(numbers: SipNumbers, runDir: string): string[] {
  writeFileSync(join(runDir, "sip.json"), `${JSON.stringify(numbers, null, 2)}\n`);
  const k = numbers.kamailio;
  const lines = [
    `sip: kamailio INVITE ${k["core:rcv_requests_invite"]}, BYE ${k["core:rcv_requests_bye"]}, CANCEL ${k["core:rcv_requests_cancel"]}; replies to INVITE 2xx ${k["core:rcv_replies_2xx_invite"]}, 4xx ${k["core:rcv_replies_4xx_invite"]}, 5xx ${k["core:rcv_replies_5xx_invite"]}; dropped ${k["core:drop_requests"]}`,
  ];
  for (const [name, s] of Object.entries(numbers.sipp))
    lines.push(
      `sip: ${name} (SIPp) ${s.callsCreated} calls, ${s.successfulCalls} ok, ${s.failedCalls} failed, ${s.retransmissions} retransmissions`,
    );
  for (const change of numbers.dispatcher.filter((c) => c.atMs > 0))
    lines.push(`sip: dispatcher ${change.uri} → ${change.flags} at ${(change.atMs / 1000).toFixed(1)} s`);
  return lines;
}
