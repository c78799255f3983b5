import type { Fault } from "../../src/harness/run/scenario.ts";
import { linkFaultKinds } from "../faults/fault-proxy.ts";
import { Lab } from "../run/lab.ts";
import { type Command, intOption, parseCommandArgs, UsageError } from "./command.ts";

export const fault: Command = {
  name: "fault",
  summary:
    "inject a fault into a link (esl, nats, ...) or a component (fakeswitch, nats-1, ...), or turn it off",
  help: `usage: npm run lab -- fault <target> <kind> [options] [--off]

A link is a TCP connection that runs through a fault proxy (see the LINK table of \`status\`: esl, esl-2,
nats, nats-1...). A component is a process of the lab (fakeswitch, gateway, nats, nats-2...). A name can be
both (in nats-cluster, link nats-2 leads to node nats-2): the kind says which is meant.

link faults (stay on until --off):
  latency --ms <n> [--jitter <n>]   every chunk each way n ms late (± jitter), in order
  bandwidth --kbps <n>              each direction capped at n kbit/s
  blackhole                         connections stay open, new ones are accepted, nothing is forwarded
                                    (a half-open link; bytes are held, and delivered once it is off)
  refuse                            new connections are refused; open ones carry on
  clear                             every fault of the link off
link actions (once):
  cut [--mode rst|fin]              close every open connection of the link now, both sides (default rst)

component faults (local processes: signals; compose: docker compose):
  stop | kill | start | restart     SIGTERM (graceful) | SIGKILL | start again | stop and start
  pause | resume                    SIGSTOP | SIGCONT: hung, with its sockets open
FreeSWITCH double faults (its control API):
  delay-replies --ms <n>            answer every command n ms late (--off: at once again)
  event-burst [--count <n>] [--event <NAME>]   fire n events at once (default 1000 HEARTBEAT)

examples:
  npm run lab -- fault esl cut
  npm run lab -- fault esl latency --ms 200 --jitter 50
  npm run lab -- fault esl latency --off
  npm run lab -- fault nats-2 kill
  npm run lab -- fault fakeswitch restart
`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      ms: { type: "string" },
      jitter: { type: "string" },
      kbps: { type: "string" },
      mode: { type: "string" },
      count: { type: "string" },
      event: { type: "string" },
      off: { type: "boolean" },
    });
    const [target, kind, ...rest] = positionals;
    if (!target || !kind || rest.length > 0)
      throw new UsageError("give a target and a kind: fault <target> <kind>");
    const lab = await Lab.attach();
    const offKind = values.off ? linkFaultKinds.find((k) => k === kind) : undefined;
    const message = offKind
      ? await lab.clearFault(target, offKind)
      : await lab.fault(target, faultFrom(kind, values));
    process.stdout.write(`${message}\n`);
    return 0;
  },
};

function faultFrom(
  kind: string,
  values: {
    ms?: string;
    jitter?: string;
    kbps?: string;
    mode?: string;
    count?: string;
    event?: string;
    off?: boolean;
  },
): Fault {
  const ms = (name: string, value: string | undefined) => intOption(value, name, 0, 3_600_000);
  const required = (name: string, value: number | undefined) => {
    if (value === undefined) throw new UsageError(`${kind} needs ${name}`);
    return value;
  };
  if (values.off) {
    if (kind === "delay-replies") return { kind, ms: 0 };
    throw new UsageError(
      `--off turns off a link fault (latency, bandwidth, blackhole, refuse) or delay-replies; ${kind} is undone by ${undoHint(kind)}`,
    );
  }
  switch (kind) {
    case "latency":
      return {
        kind,
        ms: required("--ms", ms("--ms", values.ms)),
        jitterMs: ms("--jitter", values.jitter) ?? 0,
      };
    case "bandwidth": {
      const kbps = required("--kbps", intOption(values.kbps, "--kbps", 1, 100_000_000));
      return { kind, bytesPerSec: (kbps * 1000) / 8 };
    }
    case "cut": {
      const mode = values.mode ?? "rst";
      if (mode !== "rst" && mode !== "fin") throw new UsageError("--mode must be rst or fin");
      return { kind, mode };
    }
    case "blackhole":
    case "refuse":
    case "clear":
    case "stop":
    case "kill":
    case "start":
    case "restart":
    case "pause":
    case "resume":
      return { kind };
    case "delay-replies":
      return { kind, ms: required("--ms", ms("--ms", values.ms)) };
    case "event-burst":
      return {
        kind,
        count: intOption(values.count, "--count", 1, 1_000_000) ?? 1000,
        ...(values.event ? { event: values.event } : {}),
      };
    default:
      throw new UsageError(`unknown fault kind ${JSON.stringify(kind)}; see npm run lab -- fault --help`);
  }
}

function undoHint(kind: string): string {
  const undo: Record<string, string> = {
    stop: "start",
    kill: "start",
    pause: "resume",
    cut: "itself (it is over at once)",
  };
  return undo[kind] ?? "itself";
}
