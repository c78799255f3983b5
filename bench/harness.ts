/**
 * `npm run bench harness [-- --rates 1000,2000 --duration 5 --rounds 3]`: how exactly the open-loop
 * generator keeps its schedule on this machine — the runner alone, and HTTP requests to a local server
 * (a trivial node:http handler in a child process, so the server does not share the generator's event
 * loop). Prints the median over rounds of the achieved rate's error and of start lateness.
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { runArrivals } from "../src/harness/load/arrival.ts";
import { HttpLoad } from "../src/harness/load/http-load.ts";

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "1000,2000" },
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
  },
});
const rates = values.rates.split(",").map(Number);
const durationMs = Number(values.duration) * 1000;
const rounds = Number(values.rounds);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const serverSource = `
const http = require("node:http");
const server = http.createServer((req, res) => { req.resume(); req.on("end", () => res.end("{}")); });
server.listen(0, "127.0.0.1", () => process.send(server.address().port));
`;
const server = spawn(process.execPath, ["-e", serverSource], {
  stdio: ["ignore", "ignore", "inherit", "ipc"],
});
const port = await new Promise<number>((resolve) => server.once("message", (p) => resolve(Number(p))));

console.log(`harness bench: ${durationMs / 1000} s per round, ${rounds} rounds, medians`);
console.log("rate/s  runner rate error  runner p99 late  http rate error  http p99 late  http p50 latency");
for (const rate of rates) {
  const runner: { error: number; late: number }[] = [];
  const overHttp: { error: number; late: number; p50: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const r = await runArrivals({
      schedule: { executor: "constant-arrival-rate", rate, durationMs },
      maxInFlight: 1000,
      start: async () => {},
    });
    runner.push({ error: Math.abs(r.achievedRate - rate) / rate, late: r.lateness.p99 });
    const h = await new HttpLoad({
      origin: `http://127.0.0.1:${port}`,
      schedule: { executor: "constant-arrival-rate", rate, durationMs },
      connections: 32,
      maxInFlight: 2000,
      request: () => ({ method: "POST", path: "/", body: { n: 1 } }),
    }).run();
    overHttp.push({
      error: Math.abs(h.rate.achieved - rate) / rate,
      late: h.startLateness.p99,
      p50: h.latency.percentiles().p50,
    });
  }
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  console.log(
    [
      String(rate).padStart(6),
      pct(median(runner.map((r) => r.error))).padStart(17),
      `${median(runner.map((r) => r.late)).toFixed(2)} ms`.padStart(16),
      pct(median(overHttp.map((r) => r.error))).padStart(15),
      `${median(overHttp.map((r) => r.late)).toFixed(2)} ms`.padStart(14),
      `${median(overHttp.map((r) => r.p50)).toFixed(2)} ms`.padStart(16),
    ].join("  "),
  );
}
server.kill();
