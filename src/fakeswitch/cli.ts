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
import { flagValue, profileFlagOptions, wholeNumber } from "./profile-flags.ts";
import { startReplay } from "./replay.ts";

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
  --load-profile <file>    answer as slowly, and fail as soon, as the real FreeSWITCH a load profile was
                           measured on (npm run lab -- calibrate; e.g. lab/profiles/freeswitch-1.10-2core.json)
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

function port(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : wholeNumber(text);
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
      ...profileFlagOptions,
      hostname: { type: "string" },
      "control-port": { type: "string" },
      "sip-port": { type: "string" },
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
    await replay(values.replay, values.speed, port(values.port, 8021), !values["no-wait"]);
    return;
  }
  const fs = await startFakeSwitch({
    host: values.host ?? "127.0.0.1",
    port: port(values.port, 8021),
    // FAKESWITCH_PASSWORD keeps the password out of process listings (the lab passes it that way).
    password: values.password ?? process.env.FAKESWITCH_PASSWORD ?? "ClueCon",
    maxSessions: flagValue("max-sessions", values["max-sessions"], 1000),
    sessionsPerSecond: flagValue("sps", values.sps, 30),
    heartbeatIntervalMs: flagValue("heartbeat", values.heartbeat, 20_000),
    hostname: values.hostname ?? "fakeswitch",
    loadLatency: flagValue("load-latency", values["load-latency"], undefined),
    loadModel: flagValue("load-profile", values["load-profile"], undefined),
    eventRatePerSecond: flagValue("event-rate", values["event-rate"], 0),
    ...(values["sip-port"] !== undefined && {
      sip: {
        port: port(values["sip-port"], 0),
        ...(values["sip-profile"] && { profile: flagValue("sip-profile", values["sip-profile"], "") }),
        ...(values["sip-proxy"] && { outboundProxy: peer(values["sip-proxy"]) }),
      },
    }),
    profile: {
      answerDelayMs: flagValue("answer-delay", values["answer-delay"], 300),
      holdMs: flagValue("hold", values.hold, Number.POSITIVE_INFINITY),
      busyShare: flagValue("busy", values.busy, 0),
      noAnswerShare: flagValue("no-answer", values["no-answer"], 0),
      failShare: flagValue("fail", values.fail, 0),
      earlyMediaShare: flagValue("early-media", values["early-media"], 0),
    },
  });
  const controlPort = values["control-port"];
  const control =
    controlPort === undefined
      ? undefined
      : await startControlApi(fs, {
          port: port(controlPort, 0),
          token: process.env.FAKESWITCH_CONTROL_TOKEN,
        });
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
