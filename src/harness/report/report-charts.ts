import type { RunSummary } from "./summary.ts";
import type { ChartMarker, ChartSeries, LineChart } from "./svg-chart.ts";

// The HTML report's time series, as chart data: load, latency, lag, gateways, processes, SIP, faults marked.

/** The charts of a report, as data (tests check that each one has something to draw). */
export function reportCharts(summary: RunSummary): LineChart[] {
  const markers = faultMarkers(summary);
  const gridX = (summary.phases ?? []).slice(1).map((p) => p.startMs / 1000);
  const load = summary.load?.series ?? [];
  const lag = summary.lag?.series ?? [];
  const calls = summary.calls?.series ?? [];
  const gateways = summary.gateways ?? [];
  const processes = summary.processes ?? [];
  const pipeline = summary.pipeline?.series ?? [];
  const pipelineCharts: LineChart[] = summary.pipeline
    ? [
        {
          id: "chart-pipeline-cdrs",
          title:
            "Calls pipeline: answered calls without a CDR, late CDRs, calls never ended (by second sent)",
          yLabel: "calls",
          series: [
            line("answered, no CDR (lost)", pipeline, (r) => r.lostCdrs),
            line(`CDR later than ${summary.pipeline.lateCdrMs / 1000} s`, pipeline, (r) => r.lateCdrs),
            line("not ended (queued, ringing, up)", pipeline, (r) => r.unfinished, true),
          ],
          markers,
          gridX,
        },
        {
          id: "chart-pipeline-setup",
          title: "Calls pipeline: setup latency, API accept → answer (ms, by second sent)",
          yLabel: "ms",
          series: [
            line("p50", pipeline, (r) => whenCounted(r.setup, r.setup.p50)),
            line("p95", pipeline, (r) => whenCounted(r.setup, r.setup.p95)),
            line("max", pipeline, (r) => whenCounted(r.setup, r.setup.max), true),
          ],
          markers,
          gridX,
        },
      ]
    : [];
  return [
    {
      id: "chart-rate",
      title: "Request and event rate (per second)",
      yLabel: "per second",
      series: [
        line("sent", load, (r) => r.sent),
        line("ok", load, (r) => r.ok),
        line("errors", load, (r) => r.errors),
        line("dropped (harness at maxInFlight)", load, (r) => r.dropped),
        line("events received on NATS", lag, (r) => r.received, true),
      ],
      markers,
      gridX,
    },
    {
      id: "chart-latency",
      title: "Command latency from intended send time (ms)",
      yLabel: "ms",
      series: [
        line("p50", load, (r) => whenCounted(r.latency, r.latency.p50)),
        line("p95", load, (r) => whenCounted(r.latency, r.latency.p95)),
        line("p99", load, (r) => whenCounted(r.latency, r.latency.p99)),
        ...gateways.map((g) => line(`ESL p95 (${g.name} /metrics)`, g.series, (r) => r.eslLatency.p95, true)),
      ],
      markers,
      gridX,
    },
    {
      id: "chart-lag",
      title: "Event publish lag: gateway → NATS subscriber (ms)",
      yLabel: "ms",
      series: [
        line("p50", lag, (r) => whenCounted(r.publishLag, r.publishLag.p50)),
        line("p95", lag, (r) => whenCounted(r.publishLag, r.publishLag.p95)),
        line("p99", lag, (r) => whenCounted(r.publishLag, r.publishLag.p99)),
        ...gateways.map((g) =>
          line(`p95 inside ${g.name} (/metrics)`, g.series, (r) => r.publishLag.p95, true),
        ),
      ],
      markers,
      gridX,
    },
    {
      id: "chart-gateway",
      title: "Inside the gateway (/metrics): commands in flight, event queue, refusals",
      yLabel: "count",
      series: gateways.flatMap((g) => [
        line(`${g.name} commands in flight`, g.series, (r) => r.inFlight),
        line(`${g.name} event queue depth`, g.series, (r) => r.queueDepth),
        line(`${g.name} refused/s (429, 503)`, g.series, (r) => r.rejections, true),
        line(`${g.name} events dropped/s`, g.series, (r) => r.eventsDropped, true),
      ]),
      markers,
      gridX,
    },
    {
      id: "chart-calls",
      title: "Calls up (answered, not yet hung up)",
      yLabel: "calls",
      series: [
        line("concurrent (end of second)", calls, (r) => r.concurrent),
        line("erlangs (mean in second)", calls, (r) => r.erlangs, true),
        line("answered/s", calls, (r) => r.answered),
        line("failed/s", calls, (r) => r.failed),
      ],
      markers,
      gridX,
    },
    ...pipelineCharts,
    ...sipCharts(summary, markers, gridX),
    {
      id: "chart-cpu",
      title: "CPU per process (% of one core)",
      yLabel: "% of a core",
      series: processes.map((p) => line(p.name, p.series, (r) => Math.round(r.cpu * 1000) / 10)),
      markers,
      gridX,
    },
    {
      id: "chart-memory",
      title: "Resident memory per process (MB)",
      yLabel: "MB",
      series: processes.map((p) => line(p.name, p.series, (r) => r.rssMb)),
      markers,
      gridX,
    },
  ];
}

/** A series of per-second rows: a second's figures belong to its middle. */
function line<T extends { second: number }>(
  name: string,
  rows: readonly T[],
  y: (row: T) => number | undefined,
  dashed = false,
): ChartSeries {
  return { name, points: rows.map((row) => [row.second + 0.5, y(row)] as const), dashed };
}

/** A percentile of a second with samples; none (a gap) otherwise. */
const whenCounted = (p: { count: number }, value: number): number | undefined =>
  p.count > 0 ? value : undefined;

/** SIP beside the HTTP originates (calls, failures, retransmissions, Kamailio's INVITEs), and SIPp's response times. */
function sipCharts(summary: RunSummary, markers: ChartMarker[], gridX: number[]): LineChart[] {
  const { sip } = summary;
  if (!sip) return [];
  const kamailio = sip.kamailio.series;
  return [
    {
      id: "chart-sip",
      title: "SIP beside the originates: calls, failures, retransmissions (per second)",
      yLabel: "per second",
      series: [
        line("originates sent (HTTP)", summary.load?.series ?? [], (r) => r.sent),
        ...sip.sipp.flatMap((s) => [
          line(`${s.name} calls (SIPp)`, s.series, (r) => r.created),
          line(`${s.name} failed`, s.series, (r) => r.failed),
          line(`${s.name} retransmissions`, s.series, (r) => r.retransmissions, true),
        ]),
        line("Kamailio INVITEs received", kamailio, (r) => r.invites, true),
        line("Kamailio dropped", kamailio, (r) => r.dropped),
      ],
      markers,
      gridX,
    },
    {
      id: "chart-sip-response",
      title: "SIP response times (each SIPp's response time 1, ms)",
      yLabel: "ms",
      series: sip.sipp.flatMap((s) => [
        line(`${s.name} p50 (${s.responseTimeOf})`, s.series, (r) =>
          whenCounted(r.responseTime, r.responseTime.p50),
        ),
        line(`${s.name} p95`, s.series, (r) => whenCounted(r.responseTime, r.responseTime.p95), true),
      ]),
      markers,
      gridX,
    },
  ];
}

function faultMarkers(summary: RunSummary): ChartMarker[] {
  return (summary.faults ?? []).flatMap((fault) => {
    if (fault.injectedAtMs === undefined) return [];
    const end = fault.outage?.recoveredAtMs ?? fault.clearedAtMs;
    return [
      { x: fault.injectedAtMs / 1000, ...(end !== undefined ? { toX: end / 1000 } : {}), label: fault.label },
    ];
  });
}
