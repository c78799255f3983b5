/**
 * `npm run fakeswitch -- --port 8021 --password ClueCon --answer-delay 50 --hold 1000 --control-port 0`
 *
 * Prints one JSON line `{"listening":{"host":…,"port":…},"coreUuid":…,"control":{"host":…,"port":…}}` on
 * stdout when ready (`control` only with --control-port). SIGTERM or
 * SIGINT shuts down as FreeSWITCH does: SHUTDOWN, every call hung up SYSTEM_SHUTDOWN, the
 * `The system is being shut down.` notice to every client, then exit 0.
 */
import { parseArgs } from "node:util";
import { startControlApi } from "./control-api.ts";
import { startFakeSwitch } from "./index.ts";
import { startReplay } from "./replay.ts";
import type { LoadLatency } from "./reply-latency.ts";

const HELP = `fakeswitch: a FreeSWITCH 1.10 Event Socket double (inbound ESL server + call model)

usage: npm run fakeswitch -- [options]

  --host <addr>            listen address (default 127.0.0.1)
  --port <n>               listen port; 0 picks a free one (default 8021)
  --password <pw>          ESL password (default: $FAKESWITCH_PASSWORD, else ClueCon)
  --answer-delay <ms|a-b>  INVITE to answer, or a uniform range (default 300)
  --hold <ms|a-b>          answer to far-end hangup NORMAL_CLEARING; "inf" parks until killed (default inf)
  --busy <share>           share of calls refused 486 USER_BUSY (0..1, default 0)
  --no-answer <share>      share of calls never answered (NO_ANSWER at originate_timeout)
  --fail <share>           share of calls failed 503 NORMAL_TEMPORARY_FAILURE
  --early-media <share>    share of calls answered 183 with SDP (early media) before the 200
  --max-sessions <n>       max-sessions (default 1000)
  --sps <n>                sessions-per-second (default 30)
  --heartbeat <ms>         HEARTBEAT period (default 20000)
  --hostname <name>        FreeSWITCH-Hostname in events (default fakeswitch)
  --control-port <n>       serve the fault-injection control API on 127.0.0.1:<n> (0: a free port);
                           $FAKESWITCH_CONTROL_TOKEN, if set, is required as a Bearer token
  --load-latency <k=v,…>   reply delay under load: baseMs, perChannelMs, perOriginatePerSecondMs,
                           saturationChannels, maxMs (e.g. perChannelMs=0.05,saturationChannels=5000)
  --event-rate <n>         write at most n events a second to each client (default: no cap)
  --sip-port <n>           a SIP side on UDP 127.0.0.1:<n> (0: a free port): legs of its sofia profile
                           become real INVITEs, INVITEs from outside inbound calls, OPTIONS answered 200
  --sip-profile <name>     the sofia profile the SIP side is (default external): sofia/<name>/ legs go
                           over SIP, other sofia/ legs are answered by the double's own profile
  --sip-proxy <host:port>  the outbound proxy every SIP INVITE goes through (the lab's Kamailio)
  --replay <file>          instead of the double, replay a capture transcript (.txt) to every client
  --speed <x|max>          replay time scale: 1 recorded timing (default), 10 ten times faster, max no waits
  --no-wait                replay on time alone, without waiting for (and comparing) the client's writes
  -h, --help               this text

Per call, originate variables override the profile: fakeswitch_outcome=answer|busy|noanswer|fail|reject,
fakeswitch_answer_delay_ms, fakeswitch_hold_ms, fakeswitch_hangup_cause (with outcome fail),
fakeswitch_early_media=true|false (ignore_early_media=true makes the originate wait for the 200).
`;

function range(text: string | undefined, fallback: number | [number, number]): number | [number, number] {
  if (text === undefined) return fallback;
  if (/^inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(text);
  if (m) return [Number(m[1]), Number(m[2])];
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a duration: ${text}`);
  return n;
}

function share(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!(n >= 0 && n <= 1)) throw new Error(`not a share between 0 and 1: ${text}`);
  return n;
}

function int(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a whole number: ${text}`);
  return n;
}

const LOAD_KEYS = [
  "baseMs",
  "perChannelMs",
  "perOriginatePerSecondMs",
  "saturationChannels",
  "maxMs",
] as const;

function loadLatency(text: string | undefined): LoadLatency | undefined {
  if (text === undefined) return undefined;
  const latency: LoadLatency = {};
  for (const pair of text.split(",")) {
    const [key, value] = pair.split("=");
    if (!LOAD_KEYS.includes(key as (typeof LOAD_KEYS)[number]))
      throw new Error(`--load-latency: unknown key ${key}; expected ${LOAD_KEYS.join(", ")}`);
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--load-latency: ${key} is not a number ≥ 0`);
    latency[key as (typeof LOAD_KEYS)[number]] = n;
  }
  return latency;
}

function peer(text: string): { host: string; port: number } {
  const [host, port] = text.split(":");
  const n = Number(port);
  if (!host || !Number.isInteger(n) || n <= 0) throw new Error(`--sip-proxy wants host:port, not ${text}`);
  return { host, port: n };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string" },
      port: { type: "string" },
      password: { type: "string" },
      "answer-delay": { type: "string" },
      hold: { type: "string" },
      busy: { type: "string" },
      "no-answer": { type: "string" },
      fail: { type: "string" },
      "early-media": { type: "string" },
      "max-sessions": { type: "string" },
      sps: { type: "string" },
      heartbeat: { type: "string" },
      hostname: { type: "string" },
      "control-port": { type: "string" },
      "load-latency": { type: "string" },
      "event-rate": { type: "string" },
      "sip-port": { type: "string" },
      "sip-profile": { type: "string" },
      "sip-proxy": { type: "string" },
      replay: { type: "string" },
      speed: { type: "string" },
      "no-wait": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.replay !== undefined) {
    await replay(values.replay, values.speed, int(values.port, 8021), !values["no-wait"]);
    return;
  }
  const fs = await startFakeSwitch({
    host: values.host ?? "127.0.0.1",
    port: int(values.port, 8021),
    // FAKESWITCH_PASSWORD keeps the password out of process listings (the lab passes it that way).
    password: values.password ?? process.env.FAKESWITCH_PASSWORD ?? "ClueCon",
    maxSessions: int(values["max-sessions"], 1000),
    sessionsPerSecond: int(values.sps, 30),
    heartbeatIntervalMs: int(values.heartbeat, 20_000),
    hostname: values.hostname ?? "fakeswitch",
    loadLatency: loadLatency(values["load-latency"]),
    eventRatePerSecond: int(values["event-rate"], 0),
    ...(values["sip-port"] !== undefined && {
      sip: {
        port: int(values["sip-port"], 0),
        ...(values["sip-profile"] && { profile: values["sip-profile"] }),
        ...(values["sip-proxy"] && { outboundProxy: peer(values["sip-proxy"]) }),
      },
    }),
    profile: {
      answerDelayMs: range(values["answer-delay"], 300),
      holdMs: range(values.hold, Number.POSITIVE_INFINITY),
      busyShare: share(values.busy),
      noAnswerShare: share(values["no-answer"]),
      failShare: share(values.fail),
      earlyMediaShare: share(values["early-media"]),
    },
  });
  const controlPort = values["control-port"];
  const control =
    controlPort === undefined
      ? undefined
      : await startControlApi(fs, { port: int(controlPort, 0), token: process.env.FAKESWITCH_CONTROL_TOKEN });
  const ready = {
    listening: { host: fs.host, port: fs.port },
    coreUuid: fs.coreUuid,
    ...(fs.sipPort !== undefined && { sip: { host: "127.0.0.1", port: fs.sipPort } }),
    ...(control && { control: { host: control.host, port: control.port } }),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await fs.shutdown();
    await fs.close();
    await control?.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

/**
 * `--replay`: prints `{"listening":…,"replay":file}` when ready, one `{"replayed":report}` line per finished
 * replay, and each client write that differs from the recorded one on stderr as it happens.
 */
async function replay(file: string, speedText: string | undefined, port: number, waitForClient: boolean) {
  const speed = speedText === "max" ? Number.POSITIVE_INFINITY : Number(speedText ?? 1);
  if (!(speed > 0)) throw new Error(`--speed: not a positive number: ${speedText}`);
  const server = await startReplay({
    file,
    speed,
    port,
    waitForClient,
    onMismatch: (m) => process.stderr.write(`${JSON.stringify({ mismatch: m })}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ listening: { host: server.host, port: server.port }, replay: file })}\n`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  for (;;) process.stdout.write(`${JSON.stringify({ replayed: await server.nextReport() })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fakeswitch: ${error instanceof Error ? error.message : String(error)}\n${HELP}`);
  process.exit(2);
});
