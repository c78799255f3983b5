/**
 * `npm run bench gateway [-- --rates 200,500,1000 --duration 60]`: open-loop originate load through the
 * gateway's HTTP API on the embedded lab (a fresh lab per rate), with every call's events published to
 * NATS. Prints, per rate, the achieved calls/s, command latency percentiles, p95 publish lag, errors, and
 * the gateway's RSS and CPU; then the highest rate at which every target held.
 */
import { parseArgs } from "node:util";
import { runScenario } from "../lab/lib/run.ts";
import { smoke } from "../scenarios/smoke.ts";

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "200,500,1000,1500" },
    duration: { type: "string", default: "60" },
    warmup: { type: "string", default: "5" },
    "p95-ms": { type: "string", default: "10" },
    "lag-p95-ms": { type: "string", default: "5" },
    "rss-mb": { type: "string", default: "150" },
  },
});
const rates = values.rates.split(",").map(Number);
const durationMs = Number(values.duration) * 1000;
const warmupMs = Number(values.warmup) * 1000;
const limits = {
  p95Ms: Number(values["p95-ms"]),
  lagP95Ms: Number(values["lag-p95-ms"]),
  rssMb: Number(values["rss-mb"]),
};
if (rates.some((r) => !(r > 0)) || !(durationMs > 0))
  throw new Error("--rates and --duration must be positive");

interface Row {
  rate: number;
  achieved: number;
  sent: number;
  errors: number;
  dropped: number;
  p50: number;
  p95: number;
  p99: number;
  lagP95: number;
  complete: string;
  rssMb: number;
  cpu: number;
  fakeswitchCpu: number;
  pass: boolean;
}

const rows: Row[] = [];
for (const rate of rates) {
  const run = await runScenario(
    {
      ...smoke,
      name: `bench-gateway-${rate}`,
      description: `${rate} originates/s for ${durationMs / 1000} s`,
      load: {
        ...smoke.load,
        schedule: { executor: "constant-arrival-rate", rate, durationMs },
        connections: 64,
        maxInFlight: 5_000,
        warmupMs: warmupMs,
      },
      gatewayEnv: { LOG_LEVEL: "warn" },
    },
    { log: () => {} },
  );
  const { load, lag, lab } = run.summary;
  const gateway = lab.processes.find((p) => p.name === "gateway");
  const fakeswitch = lab.processes.find((p) => p.name === "fakeswitch");
  if (!load || !lag || !gateway || !fakeswitch) throw new Error("incomplete run summary");
  const row: Row = {
    rate,
    achieved: load.rate.achieved,
    sent: load.counts.sent,
    errors: load.counts.errors,
    dropped: load.counts.dropped,
    p50: load.latency.p50,
    p95: load.latency.p95,
    p99: load.latency.p99,
    lagP95: lag.publishLag.p95,
    complete: `${lag.calls.complete}/${lag.calls.calls}`,
    rssMb: gateway.rssMaxMb,
    cpu: gateway.cpuMean,
    fakeswitchCpu: fakeswitch.cpuMean,
    pass: false,
  };
  row.pass =
    row.errors === 0 &&
    row.dropped === 0 &&
    row.p95 <= limits.p95Ms &&
    row.lagP95 <= limits.lagP95Ms &&
    row.rssMb <= limits.rssMb &&
    lag.calls.incomplete === 0;
  rows.push(row);
  process.stderr.write(`rate ${rate}: done (${run.summaryPath})\n`);
}

const header = [
  "rate/s",
  "achieved",
  "errors",
  "dropped",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "lag p95",
  "calls complete",
  "gw rss MB",
  "gw cpu",
  "fs cpu",
  "pass",
];
const table = rows.map((r) => [
  String(r.rate),
  r.achieved.toFixed(1),
  String(r.errors),
  String(r.dropped),
  r.p50.toFixed(2),
  r.p95.toFixed(2),
  r.p99.toFixed(2),
  r.lagP95.toFixed(2),
  r.complete,
  r.rssMb.toFixed(0),
  `${(r.cpu * 100).toFixed(0)}%`,
  `${(r.fakeswitchCpu * 100).toFixed(0)}%`,
  r.pass ? "yes" : "no",
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? "").length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join("  ");
console.log(
  `gateway bench: ${durationMs / 1000} s per rate; targets p95 <= ${limits.p95Ms} ms, lag p95 <= ${limits.lagP95Ms} ms, RSS <= ${limits.rssMb} MB, 0 errors`,
);
console.log(line(header));
for (const row of table) console.log(line(row));
const passing = rows.filter((r) => r.pass).map((r) => r.rate);
console.log(
  `highest rate where every target held: ${passing.length ? Math.max(...passing) : "none"} calls/s`,
);
