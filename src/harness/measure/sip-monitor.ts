import { roundTo } from "../round.ts";
import {
  type DispatcherChange,
  type KamailioSecondRow,
  kamailioRow,
  kamailioSection,
  type SipHandle,
  type SippReading,
  type SipSection,
  sippSection,
} from "./sip-numbers.ts";

/**
 * Follows a lab's SIP side during a run: Kamailio's statistics once a second (a row a second), the
 * dispatcher's destinations every `dispatcherPollMs` (each change of a destination's flags, timed); at the
 * end, every SIPp's own statistics over the run. A statistics read that fails (Kamailio stopped) leaves a
 * gap; the next good one closes it.
 */
export class SipMonitor {
  private readonly rows: KamailioSecondRow[] = [];
  private readonly changes: DispatcherChange[] = [];
  private readonly flags = new Map<string, string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private last: Record<string, number>;
  private lastSecond = -1;
  private pollingDispatcher = false;

  private constructor(
    private readonly handle: SipHandle,
    private readonly t0: number,
    private readonly first: Record<string, number>,
  ) {
    this.last = first;
  }

  /** Starts at `t0` (performance.now() of the measured load's start). */
  static async start(handle: SipHandle, t0: number, dispatcherPollMs: number): Promise<SipMonitor> {
    const monitor = new SipMonitor(handle, t0, await handle.kamailioStatistics());
    await monitor.pollDispatcher();
    monitor.timers.push(
      setInterval(() => void monitor.pollStatistics(), 1000),
      setInterval(() => void monitor.pollDispatcher(), dispatcherPollMs),
    );
    for (const timer of monitor.timers) timer.unref();
    return monitor;
  }

  /** Kamailio and every SIPp (the lab's and `callers`) from the start to `endedAt` (performance.now()). */
  async stop(endedAt: number, callers: readonly SippReading[]): Promise<SipSection> {
    for (const timer of this.timers) clearInterval(timer);
    await this.pollStatistics();
    const destinations = await this.handle.dispatcher().catch(() => []);
    const fromMs = performance.timeOrigin + this.t0;
    const toMs = performance.timeOrigin + endedAt;
    return {
      kamailio: kamailioSection(this.first, this.last, this.rows, {
        destinations,
        changes: this.changes,
      }),
      sipp: [...this.handle.sipps(), ...callers].map((reading) => sippSection(reading, fromMs, toMs)),
    };
  }

  private async pollStatistics(): Promise<void> {
    const second = Math.round((performance.now() - this.t0) / 1000) - 1;
    if (second <= this.lastSecond) return;
    const now = await this.handle.kamailioStatistics().catch(() => undefined);
    if (!now) return;
    this.rows.push(kamailioRow(second, this.last, now));
    this.last = now;
    this.lastSecond = second;
  }

  private async pollDispatcher(): Promise<void> {
    if (this.pollingDispatcher) return;
    this.pollingDispatcher = true;
    const destinations = await this.handle.dispatcher().catch(() => []);
    this.pollingDispatcher = false;
    const atMs = roundTo(performance.now() - this.t0, 1);
    for (const d of destinations) {
      if (this.flags.get(d.uri) === d.flags) continue;
      this.flags.set(d.uri, d.flags);
      this.changes.push({
        atMs: Math.max(0, atMs),
        uri: d.uri,
        ...(d.component ? { component: d.component } : {}),
        flags: d.flags,
        active: d.active,
      });
    }
  }
}
