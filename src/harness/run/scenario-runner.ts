import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { mintToken } from "../../contracts/bearer-token.ts";
import { defaultBackoff } from "../../net/backoff.ts";
import { auditCalls, CallsApiRequests, type PipelineSection } from "../load/calls-api-load.ts";
import { HttpLoad, type HttpRequestSpec } from "../load/http-load.ts";
import { joinPhases, phaseIndexAt } from "../load/phases.ts";
import { RequestMixer, type ResolvedRequestMix } from "../load/request-mix.ts";
import { outageRecords } from "../measure/outage-records.ts";
import { OutcomeLog } from "../measure/outcome-log.ts";
import { CallTracker } from "../measure/telecom.ts";
import { startProgress } from "../report/progress.ts";
import { writeRunFiles } from "../report/results-files.ts";
import { newRunId, type RunSummary, type WarmupSection } from "../report/summary.ts";
import { formatRun } from "../report/summary-text.ts";
import { phaseJudge } from "./capacity.ts";
import { FaultSchedule } from "./fault-schedule.ts";
import { resolveFaultTargets } from "./fault-targets.ts";
import { type Gate, gatesFromThresholds, overrideGates } from "./gates.ts";
import { Instruments } from "./instruments.ts";
import type { LabHandle } from "./lab-handle.ts";
import type { CallsLoad, FaultStep, LoadSettings, Scenario } from "./scenario.ts";
import { assembleSummary, judgeRun, phaseSections } from "./summary-assembler.ts";
import { callsApiTraffic, gatewayMixTraffic, mixOf, type Traffic } from "./traffic.ts";
import { validateScenario } from "./validate-scenario.ts";

export interface HarnessRunOptions {
  /** Default `results`. */
  resultsDir?: string;
  /** Default: a new one naming the scenario. */
  runId?: string;
  /** Command-line gates; each replaces the scenario's gates on its metric. */
  gates?: readonly Gate[];
  /** Fail when a latency p95 (`BASELINE_METRICS`, or `metrics`) grew more than `maxRegressionPct` % over this run's. */
  baseline?: { summary: RunSummary; maxRegressionPct: number; metrics?: readonly string[] };
  log?: (line: string) => void;
  /** A live progress line on stderr; default true. */
  progress?: boolean;
  /** Ends the load early; the run is still measured and written. */
  signal?: AbortSignal;
  /** Labels of the scenario's faults to leave out (`--skip-fault`). */
  skipFaults?: readonly string[];
}

export interface ScenarioRunResult {
  summary: RunSummary;
  dir: string;
  summaryPath: string;
  /** 0 passed, 99 a gate failed (as k6), 1 the run did not go as written (a fault the lab refused). */
  exitCode: number;
  /** What to print at the end: the summary, calls, faults and the gate table. */
  text: string;
}

/** After a phase ends, how long its last requests get before a capacity search judges it. */
const PHASE_JUDGE_GRACE_MS = 1_000;
/** Calls made this long before a fault may still have been up during it: their missing events count as lost. */
const OUTAGE_LOOKBACK_MS = 2_000;

/**
 * Runs a scenario on a running lab: warm-up, then the measured phases as one open-loop load with the
 * faults at their times, while NATS events, the gateway's /metrics and /health, and every lab process are
 * followed each second. Then drains, computes every figure, judges the gates, and writes results/<run-id>/
 * (summary.json, series.ndjson, junit.xml, report.html, harness.log). A load on the calls API (`load.calls`)
 * is then audited in the pipeline's database: how each accepted call ended, and whether it got its CDR.
 */
export async function runOnLab(
  written: Scenario,
  lab: LabHandle,
  options: HarnessRunOptions = {},
): Promise<ScenarioRunResult> {
  validateScenario(written);
  if (lab.gateways.length === 0) throw new Error("the lab has no gateway to send load to");
  // Refused before anything runs: faults this lab cannot apply, originates with nowhere to go.
  const faultSteps = resolveFaultTargets(written.faults ?? [], lab.gateways, options.skipFaults);
  const scenario: Scenario = { ...written, faults: faultSteps };
  const mix = written.load.mix && mixOf(written.load.mix, lab);
  const callsApi = scenario.load.calls ? lab.calls : undefined;
  if (scenario.load.calls && !callsApi)
    throw new Error(
      `scenario ${scenario.name} places calls through the calls API, and this lab runs no calls pipeline (its topology has no calls: section; single has one)`,
    );
  if (scenario.inbound && !lab.sip)
    throw new Error(
      `scenario ${scenario.name} makes inbound SIP calls, and the lab has no SIP side (Kamailio)`,
    );
  const origins = callsApi ? [callsApi.apiUrl] : lab.gateways.map((g) => g.url);
  const gatewayNames = new Set(lab.gateways.map((g) => g.name));
  const runId = options.runId ?? newRunId(scenario.name);
  const dir = join(options.resultsDir ?? "results", runId);
  mkdirSync(dir, { recursive: true });
  const logLines: string[] = [];
  const print = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (line: string) => {
    logLines.push(`${new Date().toISOString()} ${line}`);
    print(line);
  };
  const gates = overrideGates(gatesFromThresholds(scenario.gates), options.gates ?? []);
  const capacityGates = scenario.capacity ? gatesFromThresholds(scenario.capacity.gates) : undefined;
  const token = await mintToken(new TextEncoder().encode(lab.jwtSecret), { ttlSec: 12 * 3600 });
  const { load: settings } = scenario;

  const warmup: WarmupSection[] = [];
  for (const phase of scenario.phases.filter((p) => p.warmup)) {
    log(`run: warm-up ${phase.name} (not gated)`);
    const request = warmupRequests(settings, mix, token, origins);
    const result = await new HttpLoad({
      origin: origins,
      schedule: phase.schedule,
      connections: settings.connections,
      maxInFlight: settings.maxInFlight,
      requestTimeoutMs: settings.requestTimeoutMs,
      request,
      signal: options.signal,
    }).run();
    warmup.push({ name: phase.name, counts: result.counts, latency: result.latency.snapshot() });
    await sleep(scenario.drainMs, options.signal); // its calls end before measuring starts
  }

  await awaitFreshBackoff(lab, faultSteps, log, options.signal);

  const measured = scenario.phases.filter((p) => !p.warmup);
  const { schedule, placed } = joinPhases(measured);
  // The inbound caller starts idle before the measured load; the phases set its rate.
  const caller =
    scenario.inbound && lab.sip
      ? await lab.sip.startCaller({
          ...scenario.inbound,
          maxRate: Math.max(...measured.map((p) => p.inboundRate ?? 0)),
          timeoutS: Math.ceil((placed.at(-1)!.endMs + scenario.drainMs) / 1000) + 60,
          dir: join(dir, "caller"),
        })
      : undefined;
  const instruments = await Instruments.start(lab, { caller, withFaults: faultSteps.length > 0, log });
  const { t0, tracker, lag: monitor, scrapers, sampler, loadAverageStart } = instruments;
  const outcomes = new OutcomeLog(t0, placed);
  const stopLoad = new AbortController();
  options.signal?.addEventListener("abort", () => stopLoad.abort(), { once: true });

  // The gateway's commands, or new calls on the calls API (audited in the pipeline's database afterwards).
  let traffic: Traffic;
  let callsRun: { requests: CallsApiRequests; databaseUrl: string; load: CallsLoad } | undefined;
  if (callsApi && settings.calls) {
    const requests = new CallsApiRequests(settings.calls, token, callsApi.apiUrl, t0);
    callsRun = { requests, databaseUrl: callsApi.databaseUrl, load: settings.calls };
    traffic = callsApiTraffic(requests, outcomes);
  } else {
    const mixer = new RequestMixer(mix as ResolvedRequestMix, token, tracker, origins);
    traffic = gatewayMixTraffic(mixer, tracker, monitor, outcomes);
  }
  const judgePhase =
    capacityGates &&
    phaseJudge(capacityGates, {
      placed,
      outcomes,
      lag: monitor,
      esl: scrapers[0]!,
      sampler,
      gatewayNames,
      t0,
    });

  const load = new HttpLoad({
    origin: origins,
    schedule,
    connections: settings.connections,
    maxInFlight: settings.maxInFlight,
    requestTimeoutMs: settings.requestTimeoutMs,
    signal: stopLoad.signal,
    // Its schedule starts at t0, as the phases, the faults and every series do: the scrapers' first round
    // trip after t0 must not shift requests into the next phase.
    startMs: t0,
    request: (index) => traffic.request(index),
    onOutcome: (outcome) => traffic.onOutcome(outcome),
  });

  let stoppedAfter: string | undefined;
  const setInboundRate = (rate: number) =>
    caller?.setRate(rate).catch((error: Error) => log(`run: the SIPp caller: ${error.message}`));
  const phaseTimers = placed.map((phase, index) =>
    setTimeout(
      () => {
        monitor.window(phase.name);
        void setInboundRate(measured[index]!.inboundRate ?? 0);
      },
      Math.max(0, phase.startMs - (performance.now() - t0)),
    ),
  );
  if (judgePhase) {
    placed.forEach((phase, index) => {
      phaseTimers.push(
        setTimeout(
          () => {
            if (stopLoad.signal.aborted || index === placed.length - 1) return;
            if (!judgePhase(index).passed) {
              stoppedAfter = phase.name;
              log(`run: ${phase.name} failed its gates; the capacity search stops here`);
              stopLoad.abort();
            }
          },
          phase.endMs + PHASE_JUDGE_GRACE_MS - (performance.now() - t0),
        ),
      );
    });
  }
  const faults = new FaultSchedule(faultSteps, lab, t0, log);
  const progress =
    options.progress === false
      ? undefined
      : startProgress(() => {
          const live = load.live();
          return live && { ...live, lagP95Ms: monitor.live().publishLagP95Ms };
        });

  log(`run: ${scenario.name}: ${scenario.description}`);
  const loadResult = await load.run();
  const loadEndedAt = performance.now();
  progress?.stop();
  for (const timer of phaseTimers) clearTimeout(timer);
  if (caller) {
    // The HTTP load ends with its last request; the last phase's inbound calls run to its end.
    await sleep(placed.at(-1)!.endMs - (performance.now() - t0), stopLoad.signal);
    await setInboundRate(0);
  }
  await faults.stop();
  if (!options.signal?.aborted) await sleep(scenario.drainMs);
  await caller?.stop();
  const {
    sip: sipResult,
    lag: lagResult,
    gateways: gatewayResults,
    stored,
    processes,
    health,
    endedAt,
  } = await instruments.stop(caller ? [caller.read()] : [], log);

  const faultRecords = outageRecords(faults.applied, health, {
    startMs: t0,
    loadEndedAt,
    endedAt,
    requestsBetween: (from, to) => outcomes.between(from, to),
    // Calls on the calls API are not followed by their events: the audit below counts their CDRs instead.
    ...(callsRun
      ? {}
      : { eventsLostBetween: (from, to) => monitor.missingEventsBetween(from - OUTAGE_LOOKBACK_MS, to) }),
  });

  let pipeline: PipelineSection | undefined;
  if (callsRun) {
    log(`run: auditing ${callsRun.requests.accepted.length} calls in the pipeline's database`);
    pipeline = await auditCalls({
      databaseUrl: callsRun.databaseUrl,
      calls: callsRun.requests.accepted,
      placed,
      sentByPhase: outcomes.phases.map((p) => p.sent),
      faultsByPhase: placed.map((_, index) =>
        faultRecords
          .filter((f) => phaseIndexAt(placed, f.injectedAtMs ?? f.atMs) === index)
          .map((f) => f.label),
      ),
      load: callsRun.load,
      signal: options.signal,
    });
    if (!pipeline.settled)
      log(
        `run: ${pipeline.total.unfinished.queued + pipeline.total.unfinished.ringing + pipeline.total.unfinished.inProgress} calls still on their way after ${pipeline.settledAfterMs} ms`,
      );
  }

  const phases = phaseSections({
    placed,
    measured,
    outcomes,
    lag: lagResult,
    sampler,
    sip: sipResult,
    inbound: Boolean(scenario.inbound),
    capacity: judgePhase && { judge: judgePhase, ...(stoppedAfter ? { stoppedAfter } : {}) },
  });
  const summary = assembleSummary({
    runId,
    scenario,
    lab,
    load: loadResult,
    lag: lagResult,
    loadAverageStart,
    processes,
    warmup,
    outcomes,
    mixFallbacks: traffic.mixFallbacks(),
    placed,
    phases,
    capacity: capacityGates && (stoppedAfter ? { stoppedAfter } : {}),
    calls: callsRun ? undefined : tracker.report(endedAt),
    pipeline,
    gateways: gatewayResults,
    stored,
    faults: faultRecords,
    sip: sipResult,
  });
  const exitCode = judgeRun(summary, gates, options.baseline, faultRecords);
  const text = formatRun(summary);
  log(`run: done, exit code ${exitCode}`);
  const summaryPath = await writeRunFiles(dir, summary, logLines);
  return { summary, dir, summaryPath, exitCode, text: `${text}\nresults: ${dir}` };
}

/** Warm-up requests: the measured load's kind, followed by nothing. */
function warmupRequests(
  settings: LoadSettings,
  mix: ResolvedRequestMix | undefined,
  token: string,
  origins: string[],
): () => HttpRequestSpec {
  if (settings.calls || !mix) {
    const requests = new CallsApiRequests(settings.calls as CallsLoad, token, origins[0]!, performance.now());
    return () => requests.request();
  }
  const mixer = new RequestMixer(mix, token, new CallTracker(performance.now()), origins);
  return () => mixer.next().spec;
}

/**
 * The gateway starts its ESL reconnect backoff afresh only once a connection has stayed up this long
 * (src/net/backoff.ts): a run whose first outage comes sooner after the last one (an earlier run's on a lab
 * that stayed up) would otherwise time that run's reconnects from where the last run left the delay.
 */
const BACKOFF_RESET_MS = defaultBackoff.resetAfterMs;

/**
 * How long to wait before the measured load so that every gateway's ESL connection has been up for the
 * backoff's reset time by the first outage (`firstOutageAtMs` into the load): 0 when none is due or an
 * uptime is unknown (a gateway whose /health does not say).
 */
export function backoffResetWaitMs(
  uptimesSec: ReadonlyArray<number | undefined>,
  firstOutageAtMs: number | undefined,
): number {
  if (firstOutageAtMs === undefined) return 0;
  const known = uptimesSec.filter((u): u is number => u !== undefined);
  return Math.max(0, ...known.map((u) => Math.ceil(BACKOFF_RESET_MS - u * 1000 - firstOutageAtMs)));
}

async function awaitFreshBackoff(
  lab: LabHandle,
  faults: readonly FaultStep[],
  log: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const outages = faults.filter((f) => f.outage !== false).map((f) => f.at);
  if (outages.length === 0) return;
  const uptimes = await Promise.all(
    lab.gateways.map(async (g) => {
      try {
        const response = await fetch(`${g.url}/health`, { signal: AbortSignal.timeout(2_000) });
        const { esl } = (await response.json()) as { esl?: { uptime_sec?: unknown; reconnects?: unknown } };
        // A gateway that never reconnected has a fresh backoff, however young its connection.
        if (esl?.reconnects === 0) return undefined;
        return typeof esl?.uptime_sec === "number" && esl.uptime_sec > 0 ? esl.uptime_sec : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  const waitMs = backoffResetWaitMs(uptimes, Math.min(...outages));
  if (waitMs === 0) return;
  log(
    `run: waiting ${(waitMs / 1000).toFixed(1)} s: a gateway's ESL connection is younger than its reconnect backoff's reset (${BACKOFF_RESET_MS / 1000} s), and an earlier outage's delay would carry over into this run's`,
  );
  await sleep(waitMs, signal);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
