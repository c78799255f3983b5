import { accessSync, constants } from "node:fs";
import { resolve } from "node:path";
import { question } from "zx";
import { isLoopbackHost } from "../../src/net/loopback.ts";
import type { ExternalFreeswitch, GatewayChoice } from "../plan/embedded.ts";
import { topologyNames } from "../plan/topology.ts";
import { Lab } from "../run/lab.ts";
import { type LabMode, labModes } from "../run/state.ts";
import { type Command, intOption, parseCommandArgs, UsageError } from "./command.ts";
import { onInterrupt } from "./interrupt.ts";
import { formatStatus } from "./status.ts";

export const up: Command = {
  name: "up",
  // The topologies are whatever lab/topologies/ ships, so a new one is never missing from the help.
  summary: `start a lab in the background: --topology ${topologyNames().join("|")}, --mode ${labModes.join("|")}`,
  help: `usage: npm run lab -- up [--topology <name|file>] [--mode embedded|external|compose]
                         [--gateway-cmd "<command>" | --gateway-url <url>]
                         [--esl-host <host> --esl-port <port> --esl-password-file <file> [--yes-i-mean-it]]
                         [--carrier-hold-ms <ms>] [--gateway-env NAME=VALUE]...

Starts a lab and returns once every component answers; the processes keep running after this command
exits (each in its own process group, logging to results/<lab-id>/<component>.log). A topology with a
calls: section (single has one) also runs the calls pipeline: on PGlite in results/<lab-id>/calls-db/, or
on the PostgreSQL server in DATABASE_URL when it is set. The lab is recorded in
.lab/state.json (mode 0600: it holds the lab's secrets), so status, logs, fault, env and down work from any
shell. Prints the start-up time and the status table. Ctrl-C while starting stops what was started.

  --topology <name|file>    ${topologyNames().join(", ")} (lab/topologies/<name>.yaml; default single), or a file
  --mode <mode>             embedded (default): nats-server, FreeSWITCH doubles, fault proxies, gateways as
                              local processes on free loopback ports
                            external: as embedded, but the gateway is pointed at an existing FreeSWITCH
                              (--esl-host, --esl-port, --esl-password-file) instead of a double
                            compose: compose/compose.yaml on a Docker engine (a real FreeSWITCH; single only)
  --gateway-cmd <command>   run this instead of our gateway (through sh -c), with the lab's FS_ESL_*,
                              NATS_URL, JWT_SECRET and HTTP_HOST/HTTP_PORT in its environment
  --gateway-url <url>       a gateway you run yourself; \`npm run lab -- env\` prints the environment to start
                              it with (up does not wait for it)
  --esl-host <host>         external mode: FreeSWITCH's event socket address
  --esl-port <port>         external mode: its port (default 8021)
  --esl-password-file <f>   external mode: the file holding the ESL password; only the gateway reads it
  --carrier-hold-ms <ms>    how long the SIPp carrier holds each call before its BYE (default the topology's
                              sip.carrier.hold_ms, 500): the hold of a real FreeSWITCH's calls, which
                              call-control needs at 10000 (calls up 10 s, for its play, transfer, hangup)
  --gateway-env NAME=VALUE  over every gateway's environment (repeatable): the settings a scenario needs, for
                              a lab that stays up (reconnect: --gateway-env ESL_IDLE_TIMEOUT_MS=2000, e.g.
                              in external mode, where run cannot start a lab of its own)
  --yes-i-mean-it           allow an external FreeSWITCH or gateway that is not on loopback (otherwise
                              asked interactively, or refused without a terminal)

examples:
  npm run lab -- up
  npm run lab -- up --topology nats-cluster
  npm run lab -- up --mode external --esl-host 127.0.0.1 --esl-port 8021 --esl-password-file ~/.esl-pw
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      topology: { type: "string" },
      mode: { type: "string" },
      "gateway-cmd": { type: "string" },
      "gateway-url": { type: "string" },
      "esl-host": { type: "string" },
      "esl-port": { type: "string" },
      "esl-password-file": { type: "string" },
      "yes-i-mean-it": { type: "boolean" },
      "carrier-hold-ms": { type: "string" },
      "gateway-env": { type: "string", multiple: true },
    });
    if (positionals.length > 0) throw new UsageError(`up takes options only, got ${positionals.join(" ")}`);
    const mode = (values.mode ?? (values["esl-host"] ? "external" : "embedded")) as LabMode;
    if (!labModes.includes(mode)) throw new UsageError(`--mode must be one of ${labModes.join(", ")}`);
    const confirmed = values["yes-i-mean-it"] === true;
    const gateway = await gatewayChoice(values["gateway-cmd"], values["gateway-url"], confirmed);
    const external = mode === "external" ? await externalFreeswitch(values, confirmed) : undefined;
    if (mode !== "external" && (values["esl-host"] || values["esl-port"] || values["esl-password-file"]))
      throw new UsageError("--esl-host, --esl-port and --esl-password-file are for --mode external");

    const controller = new AbortController();
    const removeHandlers = onInterrupt(() => controller.abort());
    let lab: Lab;
    try {
      lab = await Lab.up({
        topology: values.topology,
        mode,
        gateway,
        external,
        carrierHoldMs: intOption(values["carrier-hold-ms"], "--carrier-hold-ms", 0, 3_600_000),
        gatewayEnv: gatewayEnvironment(values["gateway-env"] ?? []),
        callsDatabaseUrl: process.env.DATABASE_URL || undefined,
        signal: controller.signal,
      });
    } catch (error) {
      if (!controller.signal.aborted) throw error;
      process.stderr.write("lab up: interrupted; what had started is stopped again\n");
      return 130;
    } finally {
      removeHandlers();
    }
    const report = await lab.status();
    process.stdout.write(
      `lab ${lab.state.labId} is up in ${lab.state.startupMs} ms (${lab.state.topology.name}, ${lab.state.mode})\n\n${formatStatus(report)}\n\n`,
    );
    const hint =
      gateway.kind === "url"
        ? `start your gateway with the lab's environment: eval "$(npm run -s lab -- env)"`
        : `TOKEN=$(npm run -s lab -- status --json | jq -r .token)\n  curl -H "Authorization: Bearer $TOKEN" ${lab.gatewayUrl()}/api/v1/fs/channels`;
    const link = lab.state.links[0]?.name;
    const calls = lab.state.calls
      ? `  curl -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"to":"+14155550100","from":"+15105550100"}' ${lab.state.calls.apiUrl}/v1/calls\n`
      : "";
    process.stdout.write(
      `next:\n  ${hint}\n${calls}${link ? `  npm run lab -- fault ${link} cut\n` : ""}  npm run lab -- logs gateway\n  npm run lab -- down\n`,
    );
    return 0;
  },
};

/** `NAME=VALUE` pairs, each NAME an environment variable's. */
export function gatewayEnvironment(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      if (at === -1 || !/^[A-Z_][A-Z0-9_]*$/.test(name))
        throw new UsageError(`--gateway-env must be NAME=VALUE, got ${JSON.stringify(pair)}`);
      return [name, pair.slice(at + 1)];
    }),
  );
}

async function gatewayChoice(
  command: string | undefined,
  url: string | undefined,
  confirmed: boolean,
): Promise<GatewayChoice> {
  if (command && url) throw new UsageError("give --gateway-cmd or --gateway-url, not both");
  if (command) return { kind: "command", command };
  if (!url) return { kind: "ours" };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--gateway-url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "http:" || !parsed.port)
    throw new UsageError("--gateway-url must be http://<host>:<port> (the gateway's base URL)");
  await confirmRemote(`a gateway at ${parsed.host}`, parsed.hostname, confirmed);
  return { kind: "url", url: parsed.origin };
}

async function externalFreeswitch(
  values: { "esl-host"?: string; "esl-port"?: string; "esl-password-file"?: string },
  confirmed: boolean,
): Promise<ExternalFreeswitch> {
  const host = values["esl-host"];
  const passwordFile = values["esl-password-file"];
  if (!host || !passwordFile)
    throw new UsageError("--mode external needs --esl-host and --esl-password-file");
  const port = intOption(values["esl-port"], "--esl-port", 1, 65535) ?? 8021;
  const file = resolve(passwordFile);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new UsageError(`--esl-password-file ${file} cannot be read`);
  }
  await confirmRemote(`FreeSWITCH at ${host}:${port}`, host, confirmed);
  return { host, port, passwordFile: file };
}

/**
 * The lab sends its traffic (health probes, load, fault tests) to whatever it is pointed at: off this
 * machine only when someone says so, on the command line or at a terminal prompt.
 */
async function confirmRemote(what: string, host: string, confirmed: boolean): Promise<void> {
  if (isLoopbackHost(host) || confirmed) return;
  if (!process.stdin.isTTY)
    throw new UsageError(
      `${what} is not on loopback; the lab sends it traffic. Add --yes-i-mean-it if you mean it`,
    );
  const answer = await question(
    `${what} is not on loopback; the lab will send it traffic. Type "yes" to go on: `,
  );
  if (answer.trim() !== "yes") throw new UsageError("not confirmed; nothing was started");
}
