import type { Percentiles } from "../measure/histogram.ts";
import { activityChanges } from "../measure/sip-numbers.ts";
import { formatGateTable } from "../run/gates.ts";
import type { PhaseSection, RunSummary } from "./summary.ts";
import { textTable } from "./text-table.ts";

// The summary as text for people: what a run prints at its end, and `lab report` again.

/** What a run prints at its end (and `lab report` again): the summary, the gate table, any problem. */
export function formatRun(summary: RunSummary): string {
  return [
    formatSummary(summary),
    ...(summary.gates ? [formatGateTable(summary.gates)] : []),
    ...(summary.outcome?.problems ?? []).map((problem) => `problem: ${problem}`),
  ].join("\n");
}

/** A compact table for people: counts, errors, command latency and lag percentiles. */
export function formatSummary(summary: RunSummary): string {
  const lines = [`run ${summary.runId}  ${summary.startedAt}  ${(summary.durationMs / 1000).toFixed(1)} s`];
  const host = summary.host;
  if (host?.busy) {
    lines.push(
      `warning: the host was busy: load average ${host.loadAverageStart} → ${host.loadAverageEnd} on ${host.cpus} cores, ${host.otherLoad} of it not the lab's; that work is in these figures`,
    );
  }
  const table: string[][] = [["", "count", "errors", "p50", "p95", "p99", "max"]];
  const { load, lag } = summary;
  if (load) table.push(row("command latency", load.latency, String(load.counts.errors)));
  if (lag) {
    table.push(row("publish lag", lag.publishLag, String(lag.malformed)));
    table.push(row("end-to-end lag", lag.endToEndLag, "-"));
  }
  lines.push(...textTable(table, { numbers: true }));
  if (load) {
    const { counts, rate, errors } = load;
    const kinds = Object.entries(errors)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`);
    lines.push(
      `rate ${rate.achieved.toFixed(1)}/s of ${rate.target.toFixed(1)}/s; sent ${counts.sent} of ${counts.planned}, ok ${counts.ok}, dropped ${counts.dropped}` +
        (kinds.length > 0 ? `; errors: ${kinds.join(", ")}` : ""),
    );
  }
  if (lag && lag.calls.calls > 0) {
    lines.push(
      `calls: ${lag.calls.calls} followed, ${lag.calls.complete} complete, ${lag.calls.incomplete} incomplete`,
    );
  }
  lines.push(
    ...formatCalls(summary),
    ...formatPublisher(summary),
    ...formatPipeline(summary),
    ...formatCapacity(summary),
    ...formatFaults(summary),
    ...formatSip(summary),
    ...formatProcesses(summary),
  );
  return lines.join("\n");
}

function formatCalls({ calls, metrics = {} }: RunSummary): string[] {
  if (!calls) return [];
  const causes = Object.entries(calls.failedByCause).map(([cause, n]) => `${cause} ${n}`);
  const refused = Object.entries(calls.refused).map(([why, n]) => `${why} ${n}`);
  const esl = metrics["esl_command_latency.p95"];
  return [
    `telecom: ASR ${calls.asr === undefined ? "-" : calls.asr.toFixed(3)} (${calls.answered} answered of ${calls.seizures} seized, ${calls.attempts} attempted); setup p95 ${calls.setupLatency.count ? `${calls.setupLatency.p95} ms` : "-"}; ${calls.erlangs} erlangs, peak ${calls.concurrentPeak} calls up` +
      (esl === undefined ? "" : `; gateway ESL p95 ${esl} ms`),
    ...(causes.length > 0 ? [`failed calls by cause: ${causes.join(", ")}`] : []),
    ...(refused.length > 0 ? [`originates refused: ${refused.join(", ")}`] : []),
  ];
}

/** Publisher loss against what NATS stored, and whether the gateways' books balance. */
function formatPublisher({ publisher, gateways = [] }: RunSummary): string[] {
  if (gateways.length === 0) return [];
  const sum = (key: "eventsReceived" | "eventsPublished" | "eventsDropped") =>
    gateways.reduce((total, g) => total + g.totals[key], 0);
  const books = `received ${sum("eventsReceived")}, published ${sum("eventsPublished")}, dropped ${sum("eventsDropped")}`;
  if (!publisher)
    return [`publisher: ${books}; no JetStream stream read, so not checked against what NATS stored`];
  const own = publisher.ownStream ? ", the harness's for the run" : "";
  return [
    `publisher: ${books}; stream ${publisher.stream}${own} stored ${publisher.events} distinct events on ${publisher.subject} (${publisher.messages} messages); ${publisher.unstored} counted published and not stored`,
  ];
}

/** The gateways' CPU and RSS during a phase: what the capacity costs. */
function formatGatewayUse(phase: PhaseSection, gatewayNames: ReadonlySet<string>): string {
  const gateways = (phase.processes ?? []).filter((p) => gatewayNames.has(p.name));
  if (gateways.length === 0) return "";
  const cpu = Math.max(...gateways.map((g) => g.cpuMean));
  const rss = Math.max(...gateways.map((g) => g.rssMaxMb));
  return `  gateway cpu ${(cpu * 100).toFixed(0)}% rss ${rss.toFixed(0)} MB`;
}

/** The calls pipeline's audit: one row per phase (with `--fault each`, per fault kind), then the total. */
function formatPipeline({ pipeline }: RunSummary): string[] {
  if (!pipeline) return [];
  const rows = pipeline.segments.length > 1 ? [...pipeline.segments, pipeline.total] : pipeline.segments;
  const n = (v: number) => v.toLocaleString("en-US");
  const ms = (p: { count: number; p50: number; p95: number; p99: number }) =>
    p.count === 0 ? "-" : `${Math.round(p.p50)} / ${Math.round(p.p95)} / ${Math.round(p.p99)}`;
  const table = [
    [
      "phase",
      "accepted",
      "refused",
      "answered",
      "with CDR",
      "completeness",
      "lost CDRs",
      `late (>${pipeline.lateCdrMs / 1000} s)`,
      "unfinished",
      "setup ms p50/p95/p99",
      "CDR lag ms p50/p95/p99",
    ],
    ...rows.map((r) => [
      r.name,
      n(r.accepted),
      n(r.refused),
      n(r.answered),
      n(r.answeredWithCdr),
      r.cdrCompleteness === undefined ? "-" : `${(r.cdrCompleteness * 100).toFixed(2)} %`,
      n(r.lostCdrs),
      n(r.lateCdrs),
      n(r.unfinished.queued + r.unfinished.ringing + r.unfinished.inProgress),
      ms(r.setup),
      ms(r.cdrLag),
    ]),
  ];
  const { total } = pipeline;
  const reasons = Object.entries(total.failedByReason).map(([reason, count]) => `${reason} ${count}`);
  return [
    `calls pipeline (its database, ${pipeline.settled ? `every call ended ${(pipeline.settledAfterMs / 1000).toFixed(1)} s after the drain` : `${(pipeline.settledAfterMs / 1000).toFixed(1)} s after the drain some calls had not ended`}):`,
    ...textTable(table, { numbers: true }).map((line) => `  ${line}`),
    ...(reasons.length > 0 ? [`  failed calls by reason: ${reasons.join(", ")}`] : []),
    ...(total.unplaced > 0 ? [`  never placed: ${total.unplaced}`] : []),
    ...(total.missing > 0 ? [`  accepted but not in the database: ${total.missing}`] : []),
  ];
}

function formatCapacity({ capacity, phases = [], topology }: RunSummary): string[] {
  if (!capacity) return [];
  const gatewayNames = new Set((topology?.gateways ?? []).map((g) => g.name));
  const verdict = (p: PhaseSection) =>
    p.skipped
      ? "stopped"
      : p.passed
        ? "pass"
        : `FAIL ${(p.gates ?? [])
            .filter((g) => !g.pass)
            .map((g) => `${g.metric} ${g.actual ?? "-"} (${g.operator} ${g.threshold})`)
            .join(", ")}`;
  return [
    `capacity: ${capacity.cps === undefined ? "no step passed" : `${capacity.cps} calls/s`}, the highest step at which every gate held`,
    ...phases.map(
      (p) =>
        `  ${p.name.padEnd(9)} sent ${String(p.sent).padStart(6)}  p95 ${p.latency.count ? `${p.latency.p95} ms` : "-"}  lag p95 ${p.publishLag?.count ? `${p.publishLag.p95} ms` : "-"}${formatGatewayUse(p, gatewayNames)}  ${verdict(p)}`,
    ),
  ];
}

function formatFaults({ faults = [] }: RunSummary): string[] {
  const ms = (v: number | undefined) => (v === undefined ? "-" : `${v} ms`);
  return faults.map((f) => {
    const at = f.injectedAtMs === undefined ? "not injected" : `at ${(f.injectedAtMs / 1000).toFixed(3)} s`;
    if (f.error) return `fault ${f.label} ${at}: ${f.error}`;
    const o = f.outage;
    const d = f.dispatcher;
    const dispatcher = d
      ? `; Kamailio's dispatcher marked it inactive after ${ms(d.inactiveAfterMs)}${f.clearedAtMs === undefined ? "" : `, active again ${ms(d.activeAgainAfterMs)} after the fault was undone`}`
      : "";
    if (!o) return `fault ${f.label} ${at}${dispatcher}`;
    return `fault ${f.label} ${at}: detected after ${ms(o.detectMs)}, reconnected in ${ms(o.reconnectMs)}${f.clearedAtMs === undefined ? "" : ` from the fault's end at ${(f.clearedAtMs / 1000).toFixed(3)} s`}, outage ${ms(o.outageMs)}${o.unseen ? " (between two polls)" : ""}; commands ${o.commands.sent} sent, ${o.commands.failed} failed (the slowest after ${o.commands.slowestFailureMs} ms), ${o.commands.hung} hung${o.eventsLost === undefined ? "" : `; ${o.eventsLost} events lost`}${dispatcher}`;
  });
}

function formatSip({ sip }: RunSummary): string[] {
  if (!sip) return [];
  const k = sip.kamailio;
  const c = k.counters;
  const n = (name: string) => c[name] ?? 0;
  const classes = ["2xx", "4xx", "5xx", "6xx"].map((r) => `${r} ${n(`core:rcv_replies_${r}`)}`).join(", ");
  const lines = [
    `sip: kamailio INVITE ${n("core:rcv_requests_invite")}, BYE ${n("core:rcv_requests_bye")}, CANCEL ${n("core:rcv_requests_cancel")}; replies received ${classes}; dropped ${n("core:drop_requests") + n("core:drop_replies")}; transactions up at most ${k.activeTransactionsMax}; shared memory ${k.shm.usedMaxMb} of ${k.shm.totalMb} MB`,
  ];
  for (const s of sip.sipp) {
    const reasons = Object.entries(s.calls.failedBy).map(([reason, count]) => `${reason} ${count}`);
    const rt = s.responseTime;
    lines.push(
      `sip: ${s.name} (SIPp ${s.scenario}) ${s.calls.created} calls, ${s.calls.successful} ok, ${s.calls.failed} failed${reasons.length ? ` (${reasons.join(", ")})` : ""}, ${s.calls.retransmissions} retransmissions` +
        (rt.count > 0 ? `; ${s.responseTimeOf} p50 ${rt.p50} ms, p95 ${rt.p95} ms, p99 ${rt.p99} ms` : ""),
    );
  }
  for (const change of activityChanges(k.dispatcher.changes))
    lines.push(
      `sip: dispatcher ${change.component ?? change.uri} ${change.active ? "active" : "inactive"} (${change.flags}) at ${(change.atMs / 1000).toFixed(1)} s`,
    );
  return lines;
}

function formatProcesses({ processes = [] }: RunSummary): string[] {
  if (processes.length === 0) return [];
  const width = Math.max(12, ...processes.map((p) => p.name.length));
  return [
    "processes (cpu: share of one core)",
    ...processes.map(
      (p) =>
        `  ${p.name.padEnd(width)} cpu mean ${(p.cpuMean * 100).toFixed(0).padStart(3)}%  max ${(p.cpuMax * 100).toFixed(0).padStart(3)}%  rss max ${p.rssMaxMb.toFixed(0)} MB`,
    ),
  ];
}

function row(label: string, histogram: Percentiles, errors: string): string[] {
  const ms = (value: number) => (histogram.count === 0 ? "-" : `${value.toFixed(value < 10 ? 2 : 0)} ms`);
  return [
    label,
    String(histogram.count),
    errors,
    ms(histogram.p50),
    ms(histogram.p95),
    ms(histogram.p99),
    ms(histogram.max),
  ];
}
