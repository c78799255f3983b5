import { loadavg } from "node:os";
import { type GatewayScrapeResult, GatewayScraper } from "../measure/gateway-scraper.ts";
import { type HealthChange, HealthWatcher } from "../measure/health-watcher.ts";
import { LagMonitor, type LagResult } from "../measure/lag.ts";
import { ProcessSampler, type ProcessSeries } from "../measure/process-sampler.ts";
import { SipMonitor } from "../measure/sip-monitor.ts";
import type { SipCaller, SippReading, SipSection } from "../measure/sip-numbers.ts";
import { StoredEventCounter, type StoredEvents } from "../measure/stored-events.ts";
import { CallTracker } from "../measure/telecom.ts";
import type { LabHandle } from "./lab-handle.ts";

/** While faults run, how often the dispatcher's state is read, to time how fast it follows them. */
const DISPATCHER_POLL_MS = 200;
/**
 * Between the stored-events mark and the gateways' baseline scrape. The gateway counts an event published
 * when the PONG after it comes (within ~10 ms, plus a round trip): so none it stored before the mark is
 * counted after the baseline, and taken for one NATS lacks.
 */
const PUBLISH_CONFIRM_MARGIN_MS = 200;

/** What the instruments measured, once stopped. */
export interface InstrumentReadings {
  sip: SipSection | undefined;
  lag: LagResult;
  gateways: GatewayScrapeResult[];
  stored: StoredEvents | undefined;
  processes: ProcessSeries[];
  health: { name: string; changes: HealthChange[] }[];
  /** performance.now() ms, when the last had stopped. */
  endedAt: number;
}

/**
 * The monitors a run starts together before its measured load and stops together after it, in their order:
 * the stored-events counter, the NATS lag meter (feeding the call tracker), the gateways' scrapers, the SIP
 * monitor, the process sampler and, when the run has faults, the gateways' health watchers. Their series
 * start at `t0`.
 */
export class Instruments {
  private constructor(
    readonly t0: number,
    /** The host's 1-minute load average at t0. */
    readonly loadAverageStart: number,
    readonly lag: LagMonitor,
    readonly tracker: CallTracker,
    readonly scrapers: GatewayScraper[],
    readonly sampler: ProcessSampler,
    private readonly storedEvents: StoredEventCounter | undefined,
    private readonly sip: SipMonitor | undefined,
    private readonly watchers: { name: string; watcher: HealthWatcher }[],
  ) {}

  static async start(
    lab: LabHandle,
    options: { caller: SipCaller | undefined; withFaults: boolean; log: (line: string) => void },
  ): Promise<Instruments> {
    const { caller, withFaults, log } = options;
    // Ground truth for publisher loss; without JetStream the run goes on, and `events_unstored` is not measured.
    const storedEvents = await StoredEventCounter.start({ servers: [...lab.natsUrls] }).catch(
      (error: Error) => {
        log(`run: ${error.message}`);
        return undefined;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, PUBLISH_CONFIRM_MARGIN_MS));
    // The tracker starts at t0, taken once the lag meter is subscribed; no event is followed before.
    let tracker: CallTracker | undefined;
    const lag = await LagMonitor.start({
      servers: [...lab.natsUrls],
      onlyAnnouncedCalls: true,
      onEvent: (event, atMs) =>
        tracker?.event(event.type, event.callUuid, atMs, {
          hangupCause: event.hangupCause,
          jobResult: event.jobResult,
        }),
    });
    const loadAverageStart = loadavg()[0]!;
    const t0 = performance.now();
    tracker = new CallTracker(t0);
    const scrapers = lab.gateways.map((g) => new GatewayScraper(g.name, g.url, t0));
    await Promise.all(scrapers.map((s) => s.started()));
    const sip = lab.sip
      ? await SipMonitor.start(lab.sip, t0, withFaults ? DISPATCHER_POLL_MS : 1000)
      : undefined;
    const sampler = new ProcessSampler(
      () => [
        ...lab.processes(),
        ...(caller ? [{ name: caller.name, pid: caller.pid }] : []),
        { name: "harness", pid: process.pid },
      ],
      t0,
    );
    const watchers = withFaults
      ? lab.gateways.map((g) => ({ name: g.name, watcher: new HealthWatcher(g.url) }))
      : [];
    return new Instruments(
      t0,
      loadAverageStart,
      lag,
      tracker,
      scrapers,
      sampler,
      storedEvents,
      sip,
      watchers,
    );
  }

  /** Stops them all, the SIP monitor with the SIPp callers' last readings. */
  async stop(sippReadings: SippReading[], log: (line: string) => void): Promise<InstrumentReadings> {
    const sip = await this.sip?.stop(performance.now(), sippReadings);
    const lag = await this.lag.stop();
    const gateways = await Promise.all(this.scrapers.map((s) => s.stop()));
    // After the last scrape: every event counted published by then is in the stream by now.
    const stored = await this.storedEvents?.stop().catch((error: Error) => {
      log(`run: reading the events NATS stored: ${error.message}`);
      return undefined;
    });
    const processes = this.sampler.stop();
    const health = await Promise.all(
      this.watchers.map(async ({ name, watcher }) => ({ name, changes: await watcher.stop() })),
    );
    return { sip, lag, gateways, stored, processes, health, endedAt: performance.now() };
  }
}
