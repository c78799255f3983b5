import { activityChanges, REPLY_CLASSES } from "../measure/sip-numbers.ts";
import { describeGate } from "../run/gates.ts";
import { reportCharts } from "./report-charts.ts";
import type { RunSummary } from "./summary.ts";
import { escapeHtml, renderLineChart } from "./svg-chart.ts";

/**
 * A run's report as one self-contained HTML file (inline CSS and SVG, no script, nothing fetched): the
 * verdict and gates first, then the figures people ask for, then the time series with the faults marked.
 */
export function renderHtmlReport(summary: RunSummary): string {
  const title = `${summary.scenario?.name ?? "run"} — ${summary.runId}`;
  const sections = [
    header(summary),
    gatesSection(summary),
    figuresSection(summary),
    phasesSection(summary),
    faultsSection(summary),
    pipelineSection(summary),
    sipSection(summary),
  ];
  const charts = reportCharts(summary).map(renderLineChart);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${sections.join("\n")}
<section><h2>Time series</h2>
<p class="note">Red lines: faults injected; shaded: until the gateway was healthy again. Grey lines: phase boundaries.</p>
${charts.join("\n")}
</section>
<footer>summary.json schema ${summary.schemaVersion}; raw per-second series in series.ndjson; gates in junit.xml.</footer>
</body>
</html>
`;
}

function header(summary: RunSummary): string {
  const outcome = summary.outcome;
  const verdict = !outcome ? "" : outcome.passed ? "PASSED" : `FAILED (exit code ${outcome.exitCode})`;
  const rows: Array<[string, string]> = [
    ["scenario", summary.scenario?.description ?? ""],
    ["verdict", verdict],
    ["started", summary.startedAt],
    ["duration", `${(summary.durationMs / 1000).toFixed(1)} s`],
    [
      "lab",
      summary.topology
        ? `${summary.topology.name} (${summary.topology.mode}); load to ${summary.topology.gateways.map((g) => `${g.name} ${g.url}`).join(", ")}`
        : "",
    ],
  ];
  if (summary.host) {
    const { cpus, loadAverageStart, loadAverageEnd, otherLoad, busy } = summary.host;
    rows.push([
      "host",
      `${cpus} cores, load average ${loadAverageStart} → ${loadAverageEnd}, ${otherLoad} of it not the lab's${busy ? " — busy: that work is in these figures" : ""}`,
    ]);
  }
  if (summary.capacity)
    rows.push([
      "capacity",
      summary.capacity.cps === undefined ? "no step passed" : `${summary.capacity.cps} calls/s`,
    ]);
  if (summary.baseline)
    rows.push([
      "baseline",
      `${summary.baseline.runId} (max regression ${summary.baseline.maxRegressionPct} %)`,
    ]);
  for (const problem of outcome?.problems ?? []) rows.push(["problem", problem]);
  return `<section class="${outcome?.passed === false ? "failed" : "passed"}"><h2>Run</h2>${table(["", ""], rows, false)}</section>`;
}

function gatesSection(summary: RunSummary): string {
  const gates = summary.gates ?? [];
  if (gates.length === 0) return "<section><h2>Gates</h2><p>none</p></section>";
  const rows = gates.map((g) => [
    describeGate(g),
    g.source,
    g.actual === undefined ? "not measured" : String(g.actual),
    g.pass
      ? "pass"
      : g.actual === undefined
        ? "FAIL"
        : `FAIL by ${g.excess}${g.excessPercent === undefined ? "" : ` (${g.excessPercent} %)`}`,
  ]);
  return `<section><h2>Gates</h2>${table(["gate", "source", "actual", "result"], rows)}</section>`;
}

function figuresSection(summary: RunSummary): string {
  const m = summary.metrics ?? {};
  const ms = (name: string) => (m[name] === undefined ? "-" : `${m[name]} ms`);
  const n = (name: string) => (m[name] === undefined ? "-" : String(m[name]));
  const rows: Array<[string, string]> = [
    [
      "requests sent / ok / errors / dropped",
      `${n("requests.sent")} / ${n("requests.ok")} / ${n("requests.errors")} / ${n("requests.dropped")}`,
    ],
    ["rate achieved / target", `${n("rate.achieved")} / ${n("rate.target")} per s`],
    [
      "command latency p50 / p95 / p99",
      `${ms("command_latency.p50")} / ${ms("command_latency.p95")} / ${ms("command_latency.p99")}`,
    ],
    [
      "gateway ESL latency p50 / p95 / p99",
      `${ms("esl_command_latency.p50")} / ${ms("esl_command_latency.p95")} / ${ms("esl_command_latency.p99")}`,
    ],
    [
      "publish lag p50 / p95 / p99",
      `${ms("publish_lag.p50")} / ${ms("publish_lag.p95")} / ${ms("publish_lag.p99")}`,
    ],
    ["answer-seizure ratio", n("asr")],
    ["call setup (202 → CHANNEL_ANSWER) p50 / p95", `${ms("call_setup.p50")} / ${ms("call_setup.p95")}`],
    [
      "calls attempted / seized / answered / failed",
      `${n("calls.attempts")} / ${n("calls.seizures")} / ${n("calls.answered")} / ${n("calls.failed")}`,
    ],
    ["traffic / peak concurrent calls", `${n("erlangs")} erlangs / ${n("concurrent.peak")}`],
    ["events lost (lifecycle events never received)", n("events_lost")],
    ["events counted published, not stored by NATS", n("events_unstored")],
    ["gateway RSS max", m["gateway_rss_mb.max"] === undefined ? "-" : `${m["gateway_rss_mb.max"]} MB`],
  ];
  const causes = Object.entries(summary.calls?.failedByCause ?? {}).map(
    ([cause, count]) => `${cause} ${count}`,
  );
  if (causes.length > 0) rows.push(["failed calls by cause", causes.join(", ")]);
  const refused = Object.entries(summary.calls?.refused ?? {}).map(([why, count]) => `${why} ${count}`);
  if (refused.length > 0) rows.push(["originates refused by the gateway", refused.join(", ")]);
  return `<section><h2>Figures</h2>${table(["", ""], rows, false)}</section>`;
}

function phasesSection(summary: RunSummary): string {
  const phases = summary.phases ?? [];
  if (phases.length <= 1 && !summary.capacity) return "";
  const gatewayNames = new Set((summary.topology?.gateways ?? []).map((g) => g.name));
  const rows = phases.map((p) => [
    p.name,
    `${(p.startMs / 1000).toFixed(0)}–${(p.endMs / 1000).toFixed(0)} s`,
    String(p.targetRate),
    `${p.sent} / ${p.ok} / ${p.failed} / ${p.hung}`,
    p.latency.count > 0 ? `${p.latency.p95} ms` : "-",
    p.publishLag && p.publishLag.count > 0 ? `${p.publishLag.p95} ms` : "-",
    (p.processes ?? [])
      .filter((g) => gatewayNames.has(g.name))
      .map((g) => `${(g.cpuMean * 100).toFixed(0)}% / ${g.rssMaxMb.toFixed(0)} MB`)
      .join(", ") || "-",
    p.skipped
      ? "stopped"
      : p.passed === undefined
        ? ""
        : p.passed
          ? "pass"
          : `FAIL: ${(p.gates ?? [])
              .filter((g) => !g.pass)
              .map(describeGate)
              .join(", ")}`,
  ]);
  return `<section><h2>Phases</h2>${table(["phase", "time", "target/s", "sent / ok / failed / hung", "p95", "lag p95", "gateway cpu / rss", "gates"], rows)}</section>`;
}

function faultsSection(summary: RunSummary): string {
  const faults = summary.faults ?? [];
  if (faults.length === 0) return "";
  const t = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(3)} s`);
  const d = (ms: number | undefined) => (ms === undefined ? "-" : `${ms} ms`);
  const rows = faults.map((f) => [
    f.label,
    t(f.injectedAtMs),
    d(f.outage?.detectMs),
    d(f.outage?.reconnectMs),
    d(f.outage?.outageMs),
    f.outage
      ? `${f.outage.commands.sent} / ${f.outage.commands.failed} (≤ ${f.outage.commands.slowestFailureMs} ms) / ${f.outage.commands.hung}`
      : "-",
    f.outage?.eventsLost === undefined ? "-" : String(f.outage.eventsLost),
    f.error ?? (f.outage?.unseen ? "reconnected between two /health polls" : ""),
  ]);
  return `<section><h2>Faults</h2>${table(["fault", "injected", "detected after", "reconnected in", "outage", "commands sent / failed (slowest) / hung", "events lost", "note"], rows)}</section>`;
}

/** The calls pipeline's audit: one row per phase (with `--fault each`, per fault kind), then the total. */
function pipelineSection(summary: RunSummary): string {
  const pipeline = summary.pipeline;
  if (!pipeline) return "";
  const rows = (
    pipeline.segments.length > 1 ? [...pipeline.segments, pipeline.total] : pipeline.segments
  ).map((r) => [
    r.name,
    r.faults.join(", ") || "-",
    String(r.accepted),
    String(r.refused),
    String(r.answered),
    String(r.answeredWithCdr),
    r.cdrCompleteness === undefined ? "-" : `${(r.cdrCompleteness * 100).toFixed(2)} %`,
    String(r.lostCdrs),
    String(r.lateCdrs),
    String(r.unfinished.queued + r.unfinished.ringing + r.unfinished.inProgress),
    String(r.unplaced),
    r.setup.count === 0
      ? "-"
      : `${Math.round(r.setup.p50)} / ${Math.round(r.setup.p95)} / ${Math.round(r.setup.p99)}`,
    r.cdrLag.count === 0
      ? "-"
      : `${Math.round(r.cdrLag.p50)} / ${Math.round(r.cdrLag.p99)} / ${Math.round(r.cdrLag.max)}`,
  ]);
  const settled = pipeline.settled
    ? `every call had ended ${(pipeline.settledAfterMs / 1000).toFixed(1)} s after the drain`
    : `${(pipeline.settledAfterMs / 1000).toFixed(1)} s after the drain some calls had still not ended`;
  return `<section><h2>Calls pipeline: CDRs per fault</h2>
<p class="note">Each call the calls API accepted, read back from the pipeline's database (${escapeHtml(settled)}). Lost: answered without a CDR. Late: a CDR written more than ${pipeline.lateCdrMs / 1000} s after the hangup. Not ended: still queued, ringing or up. Never placed: still queued or dead-lettered.</p>
${table(["phase", "faults", "accepted", "refused", "answered", "with CDR", "completeness", "lost", "late", "not ended", "never placed", "setup ms p50 / p95 / p99", "CDR lag ms p50 / p99 / max"], rows)}</section>`;
}

function sipSection({ sip, faults = [] }: RunSummary): string {
  if (!sip) return "";
  const k = sip.kamailio;
  const c = (name: string) => k.counters[name] ?? 0;
  const slash = (names: readonly string[]) => names.map((n) => String(c(n))).join(" / ");
  const byCode = Object.entries(k.counters)
    .flatMap(([name, n]) => {
      const code = /^sl:(\d{3})_replies$/.exec(name)?.[1];
      return code && n > 0 ? [`${code} ${n}`] : [];
    })
    .join(", ");
  const kamailioRows: Array<[string, string]> = [
    [
      "requests received: all / INVITE / BYE / CANCEL / ACK / OPTIONS",
      slash(["", "_invite", "_bye", "_cancel", "_ack", "_options"].map((m) => `core:rcv_requests${m}`)),
    ],
    ["requests forwarded", String(c("core:fwd_requests"))],
    [
      "replies received 1xx / 2xx / 3xx / 4xx / 5xx / 6xx",
      slash(REPLY_CLASSES.map((r) => `core:rcv_replies_${r}`)),
    ],
    ["replies sent on its own (sl), by code", `${c("sl:sent_replies")}${byCode ? `: ${byCode}` : ""}`],
    [
      "transactions (tm) UAS / UAC; completed 2xx / 3xx / 4xx / 5xx / 6xx",
      `${slash(["tmx:UAS_transactions", "tmx:UAC_transactions"])}; ${slash(["2xx", "3xx", "4xx", "5xx", "6xx"].map((r) => `tmx:${r}_transactions`))}`,
    ],
    ["transactions open at most", String(k.activeTransactionsMax)],
    [
      "dropped / in error (requests and replies)",
      `${c("core:drop_requests") + c("core:drop_replies")} / ${c("core:err_requests") + c("core:err_replies")}`,
    ],
    ["shared memory used at most / total", `${k.shm.usedMaxMb} / ${k.shm.totalMb} MB`],
    [
      "dispatcher at the end (A active, I inactive, P probing)",
      k.dispatcher.destinations.map((d) => `${d.component ?? d.uri} ${d.flags}`).join(", "),
    ],
  ];
  const changes = activityChanges(k.dispatcher.changes);
  const followed = faults.filter((f) => f.dispatcher);
  const ms = (v: number | undefined) => (v === undefined ? "-" : `${v} ms`);
  const sippRows = sip.sipp.map((s) => {
    const reasons = Object.entries(s.calls.failedBy).map(([reason, n]) => `${reason} ${n}`);
    const rt = s.responseTime;
    return [
      `${s.name} (${s.scenario})`,
      String(s.calls.created),
      String(s.calls.successful),
      `${s.calls.failed}${reasons.length ? ` (${reasons.join(", ")})` : ""}`,
      String(s.calls.retransmissions),
      s.responseTimeOf,
      rt.count > 0 ? `${rt.p50} / ${rt.p95} / ${rt.p99} / ${rt.max} ms` : "-",
    ];
  });
  return `<section id="sip"><h2>SIP</h2>
<h3>Kamailio (its statistics over JSON-RPC, the run's increase)</h3>${table(["", ""], kamailioRows, false)}
${
  changes.length > 0
    ? `<h3>Dispatcher changes</h3>${table(
        ["at", "destination", "flags"],
        changes.map((ch) => [`${(ch.atMs / 1000).toFixed(1)} s`, ch.component ?? ch.uri, ch.flags]),
      )}`
    : ""
}
${
  followed.length > 0
    ? table(
        ["fault", "marked inactive after", "active again after the fault was undone"],
        followed.map((f) => [
          f.label,
          ms(f.dispatcher?.inactiveAfterMs),
          ms(f.dispatcher?.activeAgainAfterMs),
        ]),
      )
    : ""
}
<h3>SIPp's own statistics</h3>${table(["SIPp", "calls", "successful", "failed (by reason)", "retransmissions", "response time 1", "p50 / p95 / p99 / max"], sippRows)}
</section>`;
}

function table(headings: readonly string[], rows: ReadonlyArray<readonly string[]>, showHead = true): string {
  const head = showHead
    ? `<thead><tr>${headings.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead>`
    : "";
  const body = rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`)
    .join("");
  return `<table>${head}<tbody>${body}</tbody></table>`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}h3{font-size:14px;margin:16px 0 4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left}
section.failed h2{color:#b00}
.chart{margin:18px 0}.chart svg{max-width:100%;height:auto}
.chart-title{font-weight:600;font-size:13px}.tick{font-size:11px;fill:#555}
.grid{stroke:#eee}.axis{stroke:#888}.phase{stroke:#bbb;stroke-dasharray:2 3}
.fault{stroke:#c00;stroke-width:1.5}.fault-label{font-size:10px;fill:#c00}.outage{fill:#c00;fill-opacity:.08}
.empty{fill:#999}.note{color:#666;font-size:12px}
figcaption{font-size:12px}.legend-item{margin-right:14px;white-space:nowrap}
.swatch{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
footer{margin-top:30px;color:#777;font-size:12px}`;
