/**
 * `npm run bench fakeswitch [-- --seconds 5 --window 200 --channels 10000]`
 *
 * The FreeSWITCH double on the main thread (one core); one ESL client in a worker thread keeps `window`
 * bgapi originates in flight and counts what it receives. Calls answer at once and the far end hangs up at
 * once, so every originate runs the full captured lifecycle (25 channel events + API + BACKGROUND_JOB).
 *
 * Scenarios: the client subscribed to BACKGROUND_JOB only (a gateway tracking jobs), to ALL in plain,
 * json and xml. Prints originates/s, events/s delivered, MB/s, and the double's memory. Then `channels`
 * calls are set up and left parked, and the double's heap and RSS are measured with them all live.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread, Worker } from "node:worker_threads";

interface ClientJob {
  port: number;
  subscription: string;
  seconds: number;
  window: number;
  /** Stop after this many originates instead of after `seconds` (0: by time). */
  count: number;
  /** The originate's {variables}. */
  vars: string;
}
interface ClientResult {
  originates: number;
  failed: number;
  events: number;
  bytes: number;
  seconds: number;
}

/**
 * The client, plain JavaScript run with `eval` in a worker (no TypeScript loader needed there): a minimal
 * ESL frame splitter (header block, Content-Length body) that counts events and BACKGROUND_JOBs.
 */
const CLIENT = `
const { parentPort, workerData: job } = require("node:worker_threads");
const net = require("node:net");
const socket = net.connect(job.port, "127.0.0.1");
socket.setNoDelay(true);
let buf = Buffer.alloc(0), stage = 0, originates = 0, failed = 0, events = 0, bytes = 0;
let started = 0, stopAt = Infinity, inFlight = 0, n = 0;
const more = () => (job.count ? n < job.count : performance.now() < stopAt);
const originate = () => {
  inFlight++; n++;
  socket.write("bgapi originate " + job.vars + "sofia/internal/" + (1000 + (n % 9000)) + "@127.0.0.1:5090 &park()\\n\\n");
};
const onFrame = (head, body) => {
  if (head.startsWith("Content-Type: auth/request")) return socket.write("auth ClueCon\\n\\n");
  if (head.startsWith("Content-Type: command/reply") && stage < 2) {
    stage++;
    if (stage === 1) return socket.write("event " + job.subscription + "\\n\\n");
    started = performance.now(); stopAt = started + job.seconds * 1000;
    for (let i = 0; i < job.window && more(); i++) originate();
    return;
  }
  if (head.indexOf("Content-Type: text/event-") === -1 || !body) return;
  events++;
  const at = body.indexOf("BACKGROUND_JOB");
  if (at === -1 || at > 40) return;
  inFlight--;
  if (body.indexOf("+OK ", body.length - 60) !== -1) originates++; else failed++;
  const now = performance.now();
  if (more()) originate();
  else if (inFlight === 0) {
    parentPort.postMessage({ originates, failed, events, bytes, seconds: (now - started) / 1000 });
    socket.destroy();
  }
};
socket.on("close", () => {
  if (inFlight !== 0 || stage < 2) parentPort.postMessage({ closed: true, originates, failed, events, bytes, inFlight, tail: buf.toString("latin1", 0, 300), seconds: (performance.now() - started) / 1000 });
});
socket.on("data", (chunk) => {
  bytes += chunk.length;
  buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
  let off = 0;
  for (;;) {
    const end = buf.indexOf("\\n\\n", off);
    if (end === -1) break;
    const head = buf.toString("latin1", off, end);
    const m = /Content-Length: (\\d+)/.exec(head);
    const len = m ? Number(m[1]) : 0;
    if (end + 2 + len > buf.length) break;
    const body = len ? buf.toString("latin1", end + 2, end + 2 + len) : "";
    off = end + 2 + len;
    onFrame(head, body);
  }
  buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
});
`;

if (!isMainThread) {
  throw new Error("bench/fakeswitch.ts runs its client as an eval'd worker");
} else {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string" },
      window: { type: "string" },
      channels: { type: "string" },
      only: { type: "string" },
    },
    strict: false,
  });
  const seconds = Number(values.seconds ?? 5);
  const window = Number(values.window ?? 200);
  const channels = Number(values.channels ?? 10_000);
  const { startFakeSwitch } = await import("../src/fakeswitch/index.ts");
  // A heap figure means something only after a full collection.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const MB = (bytes: number) => (bytes / 1e6).toFixed(0);

  const startDouble = (holdMs: number) =>
    startFakeSwitch({
      password: "ClueCon",
      profile: { answerDelayMs: 0, holdMs },
      maxSessions: 1_000_000,
      sessionsPerSecond: 1_000_000,
    });

  const runClient = (job: ClientJob) =>
    new Promise<ClientResult>((resolve, reject) => {
      const worker = new Worker(CLIENT, { eval: true, workerData: job });
      worker.once("message", (m: ClientResult) => {
        resolve(m);
        void worker.terminate();
      });
      worker.once("error", reject);
    });

  /** Calls that answer and hang up at once, for `seconds`: originates/s and events/s. */
  const throughput = async (label: string, subscription: string) => {
    const fs = await startDouble(0);
    const elu0 = performance.eventLoopUtilization();
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const job = { port: fs.port, subscription, seconds, window, count: 0, vars: "{fakeswitch_hold_ms=0}" };
    const result = await runClient(job);
    clearInterval(sampler);
    const elu = performance.eventLoopUtilization(elu0);
    const stats = fs.stats;
    await fs.close();
    console.log(
      `${label.padEnd(26)} ${(result.originates / result.seconds).toFixed(0).padStart(7)} originates/s  ` +
        `${(result.events / result.seconds).toFixed(0).padStart(8)} events/s  ` +
        `${(result.bytes / result.seconds / 1e6).toFixed(1).padStart(6)} MB/s  ` +
        `double's event loop busy ${(elu.utilization * 100).toFixed(0)}%  ` +
        `peak RSS ${MB(peakRss)} MB  ` +
        `(failed ${result.failed}, lost ${stats.eventsLost}, fired ${stats.eventsFired})`,
    );
  };

  /** `channels` calls set up and left parked: the double's memory with all of them live. */
  const parked = async () => {
    const fs = await startDouble(Number.POSITIVE_INFINITY);
    gc();
    const before = process.memoryUsage();
    const job = {
      port: fs.port,
      subscription: "plain BACKGROUND_JOB",
      seconds,
      window,
      count: channels,
      vars: "",
    };
    const result = await runClient(job);
    gc();
    const after = process.memoryUsage();
    const live = fs.channelCount;
    await fs.close();
    const heap = after.heapUsed - before.heapUsed;
    console.log(
      `${`${live} parked channels`.padEnd(26)} ${(result.originates / result.seconds).toFixed(0).padStart(7)} originates/s  ` +
        `heap ${MB(before.heapUsed)} → ${MB(after.heapUsed)} MB (${(heap / live / 1024).toFixed(1)} KiB a channel), ` +
        `RSS ${MB(before.rss)} → ${MB(after.rss)} MB  (failed ${result.failed})`,
    );
  };

  console.log(
    `fakeswitch bench: ${seconds} s per scenario, ${window} originates in flight, node ${process.version}`,
  );
  if (!values.only || values.only === "bg") await throughput("BACKGROUND_JOB only", "plain BACKGROUND_JOB");
  if (!values.only || values.only === "plain") await throughput("ALL plain", "plain ALL");
  if (!values.only || values.only === "json") await throughput("ALL json", "json ALL");
  if (!values.only || values.only === "xml") await throughput("ALL xml", "xml ALL");
  if (!values.only || values.only === "parked") await parked();
}
