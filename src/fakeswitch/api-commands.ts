import type { CallModel } from "./call-model.ts";
import type { Channel } from "./channel.ts";
import { eventDate, localStamp, nowUs, uptimeText } from "./clock.ts";
import { renderTemplate } from "./event-serializer.ts";
import type { OriginateAdmission } from "./reply-latency.ts";
import type { SwitchCore } from "./switch-core.ts";
import { isCause } from "./teardown.ts";
import { type Format, T } from "./template-tokens.ts";
import { CAPTURED } from "./templates.ts";

/** `api version` as captured from FreeSWITCH 1.10.12 (02-api-commands). */
const VERSION_LINE =
  "FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)\n";
const VERSION_SHORT = "1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit";

interface ApiHooks {
  /** `fsctl shutdown`: the server takes it from here. */
  shutdown(): void;
  /** When an originate may start, or that it fails, under a calibrated load model (reply-latency.ts). */
  admitOriginate(): OriginateAdmission;
}

/** An api command's output; `found: false` makes mod_event_socket answer `-ERR <cmd> Command not found!`. */
type ApiOutcome = { found: true; body: string } | { found: false };

type Handler = (arg: string, done: (body: string) => void) => void;

const NO_CHANNEL = "-ERR No such channel!\n";

/**
 * The api commands the double implements (mod_commands.c, mod_dptools.c), answering with the texts
 * FreeSWITCH 1.10 sends. `execute` calls `done` synchronously except for originate, which completes
 * when the call is answered or fails.
 */
export class ApiCommands {
  private readonly handlers = new Map<string, Handler>();

  constructor(
    private readonly core: SwitchCore,
    private readonly model: CallModel,
    private readonly hooks: ApiHooks,
  ) {
    const sync =
      (fn: (arg: string) => string): Handler =>
      (arg, done) =>
        done(fn(arg));
    const immediate: Record<string, (arg: string) => string> = {
      version: () => VERSION_LINE,
      status: () => this.status(),
      uptime: () => `${Math.floor(this.core.uptimeUs() / 1_000_000)}\n`,
      hostname: () => this.core.hostname,
      echo: (arg) => arg,
      show: (arg) => this.show(arg),
      uuid_kill: (arg) => this.uuidKill(arg),
      uuid_exists: (arg) => (this.channel(arg.trim()) ? "true" : "false"),
      uuid_getvar: (arg) => this.uuidGetvar(arg),
      uuid_setvar: (arg) => this.uuidSetvar(arg),
      uuid_answer: (arg) => this.uuidAnswer(arg),
      uuid_broadcast: (arg) => this.uuidBroadcast(arg),
      uuid_bridge: (arg) => this.uuidBridge(arg),
      uuid_transfer: (arg) => this.uuidTransfer(arg),
      uuid_dump: (arg) => this.uuidDump(arg),
      hupall: (arg) => this.hupall(arg),
      fsctl: (arg) => this.fsctl(arg),
    };
    for (const [name, fn] of Object.entries(immediate)) this.handlers.set(name, sync(fn));
    // originate answers when the call does (api) or at once with a job (bgapi): it completes by callback.
    this.handlers.set("originate", (arg, done) => {
      const admission = this.hooks.admitOriginate();
      if ("cause" in admission) setTimeout(() => done(`-ERR ${admission.cause}\n`), admission.failAfterMs);
      else if (admission.delayMs > 0)
        setTimeout(() => this.model.originate(arg, { done }), admission.delayMs);
      else this.model.originate(arg, { done });
    });
  }

  has(command: string): boolean {
    return this.handlers.has(command);
  }

  execute(command: string, arg: string, done: (outcome: ApiOutcome) => void): void {
    const handler = this.handlers.get(command);
    if (!handler) {
      done({ found: false });
      return;
    }
    handler(arg, (body) => done({ found: true, body }));
  }

  private channel(uuid: string | undefined): Channel | undefined {
    return uuid ? this.core.channels.get(uuid) : undefined;
  }

  // ---- core -----------------------------------------------------------------------------------

  /** status_function (mod_commands.c). */
  private status(): string {
    const core = this.core;
    const count = core.channels.size;
    return (
      `UP ${uptimeText(core.uptimeUs())}\n` +
      `FreeSWITCH (Version ${VERSION_SHORT}) is ${core.shuttingDown ? "not ready" : "ready"}\n` +
      `${core.sessionsSinceStartup} session(s) since startup\n` +
      `${count} session(s) - peak ${core.peakSessions}, last 5min ${core.peakSessions} \n` +
      `${core.spsLast} session(s) per Sec out of max ${core.sessionsPerSecond}, peak ${core.spsPeak}, last 5min ${core.spsPeak} \n` +
      `${core.maxSessions} session(s) max\n` +
      "min idle cpu 0.00/99.00\n" +
      "Current Stack Size/Max 240K/8192K\n"
    );
  }

  /** ctl_function (mod_commands.c): the subcommands that matter to a load test. */
  private fsctl(arg: string): string {
    const [sub = "", value] = arg.trim().split(/\s+/);
    const core = this.core;
    switch (sub.toLowerCase()) {
      case "max_sessions": {
        const n = Number.parseInt(value ?? "", 10);
        if (n > 0) core.maxSessions = n;
        return `+OK max sessions: ${core.maxSessions}\n`;
      }
      case "sps": {
        const n = Number.parseInt(value ?? "", 10);
        // switch_core_session_ctl refuses every command while shutting down and leaves the argument as
        // given: a real FreeSWITCH then answers `fsctl sps` with 0.
        if (core.shuttingDown) return `+OK sessions per second: ${Math.max(n, 0) || 0}\n`;
        if (n > 0) {
          core.sessionsPerSecond = n;
          core.spsRemaining = n;
        }
        return `+OK sessions per second: ${core.sessionsPerSecond}\n`;
      }
      case "last_sps":
        return `+OK last sessions per second: ${core.spsLast}\n`;
      case "pause":
      case "resume": {
        const on = sub.toLowerCase() === "pause";
        const which = (value ?? "").toLowerCase();
        if (which !== "outbound") core.pausedInbound = on;
        if (which !== "inbound") core.pausedOutbound = on;
        return "+OK\n";
      }
      case "hupall":
        this.model.hupall("MANAGER_REQUEST");
        return "+OK\n";
      case "shutdown":
        setImmediate(() => this.hooks.shutdown());
        return "+OK\n";
      default:
        return "-ERR INVALID COMMAND\n";
    }
  }

  // ---- show -----------------------------------------------------------------------------------

  /** show_function (mod_commands.c) for `channels` and `calls`: CSV, `count`, `as json`. */
  private show(arg: string): string {
    const words = arg.trim().split(/\s+/);
    const what = (words[0] ?? "").toLowerCase();
    if (what !== "channels" && what !== "calls") return "-USAGE: show <channels|calls> [count] [as json]\n";
    const rows = [...this.core.channels.values()];
    if ((words[1] ?? "").toLowerCase() === "count") return `\n${rows.length} total.\n`;
    const asJson = words.length >= 3 && words.at(-2)?.toLowerCase() === "as" && words.at(-1) === "json";
    const columns = what === "channels" ? CHANNEL_COLUMNS : CALL_COLUMNS;
    const records = rows.map((ch) => this.showRow(ch, columns));
    if (asJson) {
      if (records.length === 0) return '{"row_count": 0}\n';
      const json = records.map(
        (r) => `{${columns.map((c, i) => `${JSON.stringify(c)}:${JSON.stringify(r[i] ?? "")}`).join(",")}}`,
      );
      return `{"row_count":${records.length},"rows":[${json.join(",")}]}`;
    }
    if (records.length === 0) return "\n0 total.\n";
    return `${columns.join(",")}\n${records.map((r) => `${r.join(",")}\n`).join("")}\n${records.length} total.\n`;
  }

  private showRow(ch: Channel, columns: readonly string[]): string[] {
    const t = ch.tokens;
    const answered = ch.answeredUs > 0;
    const cid = t.get(T.CID_NUM);
    const dest = t.get(T.DEST);
    const values: Record<string, string> = {
      uuid: ch.uuid,
      direction: ch.direction,
      created: localStamp(ch.createdUs / 1000),
      created_epoch: String(Math.floor(ch.createdUs / 1_000_000)),
      name: ch.destination.channelName,
      state: ch.state,
      // switch_channel_flip_cid swaps caller and callee at answer.
      cid_name: answered ? "Outbound Call" : ch.callerIdName,
      cid_num: answered ? dest : cid,
      dest: t.get(T.CALLER_DEST),
      application: ch.application,
      application_data: ch.applicationData,
      context: t.get(T.CONTEXT),
      read_codec: "PCMU",
      read_rate: "8000",
      read_bit_rate: "64000",
      write_codec: "PCMU",
      write_rate: "8000",
      write_bit_rate: "64000",
      hostname: this.core.hostname,
      callstate: ch.callState,
      callee_name: answered ? ch.callerIdName : "Outbound Call",
      callee_num: answered ? cid : dest,
      callee_direction: ch.parked && ch.answered ? "RECV" : "",
      call_uuid: ch.uuid,
      initial_cid_name: ch.callerIdName,
      initial_cid_num: cid,
      initial_dest: dest,
      initial_context: t.get(T.CONTEXT),
    };
    return columns.map((c) => values[c] ?? "");
  }

  // ---- uuid_* ---------------------------------------------------------------------------------

  /** kill_function: `uuid_kill <uuid> [cause]`. */
  private uuidKill(arg: string): string {
    const [uuid, causeArg] = arg.trim().split(/\s+/);
    if (!uuid) return "-USAGE: <uuid> [cause]\n";
    const ch = this.channel(uuid);
    if (!ch?.alive) return NO_CHANNEL;
    const cause = causeArg && isCause(causeArg.toUpperCase()) ? causeArg.toUpperCase() : "NORMAL_CLEARING";
    this.model.hangup(ch, cause);
    return "+OK\n";
  }

  /** uuid_getvar_function: the value, `_undef_` when unset, no trailing newline. */
  private uuidGetvar(arg: string): string {
    const [uuid, name] = arg.trim().split(/\s+/);
    if (!uuid || !name) return "-USAGE: <uuid> <var>\n";
    const ch = this.channel(uuid);
    if (!ch) return NO_CHANNEL;
    return ch.variable(name) ?? "_undef_";
  }

  /** uuid_setvar_function: `uuid_setvar <uuid> <var> [value]` (no value unsets). */
  private uuidSetvar(arg: string): string {
    const text = arg.trim();
    const [uuid, name] = text.split(/\s+/, 2);
    if (!uuid || !name) return "-USAGE: <uuid> <var> [value]\n";
    const ch = this.channel(uuid);
    if (!ch) return NO_CHANNEL;
    const rest = text.slice(text.indexOf(name) + name.length).trim();
    ch.setVariable(name, rest === "" || rest === "_undef_" ? undefined : rest);
    return "+OK\n";
  }

  private uuidAnswer(arg: string): string {
    const ch = this.channel(arg.trim().split(/\s+/)[0]);
    // uuid_answer_function's own text for a uuid it cannot locate (not the usual "No such channel!").
    if (!ch?.alive) return "-ERROR\n";
    setImmediate(() => this.model.answer(ch));
    return "+OK\n";
  }

  /** uuid_broadcast_function: `uuid_broadcast <uuid> <path> [aleg|bleg|both]`. */
  private uuidBroadcast(arg: string): string {
    const [uuid, path] = arg.trim().split(/\s+/);
    if (!uuid || !path) return "-USAGE: <uuid> <path> [aleg|bleg|both]\n";
    const ch = this.channel(uuid);
    if (!ch?.alive) return "-ERR invalid uuid\n";
    // switch_ivr_broadcast queues the playback to the session thread: it runs after the api returns.
    setImmediate(() => this.model.playback(ch, path, true));
    return "+OK Message sent\n";
  }

  /** uuid_bridge_function: `uuid_bridge <uuid> <other_uuid> [<fallback_uuid>]`; answers the uuid bridged to. */
  private uuidBridge(arg: string): string {
    const [uuid, other, fallback] = arg.trim().split(/\s+/).filter(Boolean);
    if (!uuid || !other) return "-USAGE: <uuid> <other_uuid>\n";
    const a = this.channel(uuid);
    for (const who of [other, fallback]) {
      const b = this.channel(who);
      if (a && b && this.model.uuidBridge(a, b)) return `+OK ${who}\n`;
    }
    return "-ERR Invalid uuid\n";
  }

  /** transfer_function: `uuid_transfer <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]`. */
  private uuidTransfer(arg: string): string {
    const words = arg.trim().split(/\s+/).filter(Boolean);
    const uuid = words.shift();
    if (words[0]?.startsWith("-")) words.shift();
    const [extension, , context] = words;
    if (!uuid || !extension) return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n";
    const ch = this.channel(uuid);
    if (!ch?.alive) return NO_CHANNEL;
    setImmediate(() => this.model.transfer(ch, extension, context ?? "default"));
    return "+OK\n";
  }

  /** uuid_dump_function: the channel's headers as a CHANNEL_DATA event, plain (default), json or xml. */
  private uuidDump(arg: string): string {
    const [uuid, fmt] = arg.trim().split(/\s+/);
    const ch = this.channel(uuid);
    if (!ch?.lastTemplate) return NO_CHANNEL;
    const format: Format = fmt === "json" ? "json" : fmt === "xml" ? "xml" : "plain";
    const t = ch.tokens;
    const us = nowUs();
    const date = eventDate(us);
    const seq = String(this.core.nextSequence);
    t.setEncoded(T.SEQ, seq, seq, seq);
    t.setEncoded(T.DATE_LOCAL, date.local, date.localUrl, date.local);
    t.setEncoded(T.DATE_GMT, date.gmt, date.gmtUrl, date.gmt);
    t.setEncoded(T.EVENT_TS, String(us), String(us), String(us));
    const body = renderTemplate(ch.lastTemplate, t, format);
    const name = ch.lastTemplate.event;
    const calling = ["mod_commands.c", "uuid_dump_function", "6468"];
    if (format === "json") {
      return body
        .replace(`"Event-Name":"${name}"`, '"Event-Name":"CHANNEL_DATA"')
        .replace(/"Event-Calling-File":"[^"]*"/, `"Event-Calling-File":"${calling[0]}"`)
        .replace(/"Event-Calling-Function":"[^"]*"/, `"Event-Calling-Function":"${calling[1]}"`)
        .replace(/"Event-Calling-Line-Number":"[^"]*"/, `"Event-Calling-Line-Number":"${calling[2]}"`);
    }
    if (format === "xml") {
      return body
        .replace(`<Event-Name>${name}<`, "<Event-Name>CHANNEL_DATA<")
        .replace(/<Event-Calling-File>[^<]*</, `<Event-Calling-File>${calling[0]}<`)
        .replace(/<Event-Calling-Function>[^<]*</, `<Event-Calling-Function>${calling[1]}<`)
        .replace(/<Event-Calling-Line-Number>[^<]*</, `<Event-Calling-Line-Number>${calling[2]}<`);
    }
    return body
      .replace(`Event-Name: ${name}\n`, "Event-Name: CHANNEL_DATA\n")
      .replace(/Event-Calling-File: [^\n]*\n/, `Event-Calling-File: ${calling[0]}\n`)
      .replace(/Event-Calling-Function: [^\n]*\n/, `Event-Calling-Function: ${calling[1]}\n`)
      .replace(/Event-Calling-Line-Number: [^\n]*\n/, `Event-Calling-Line-Number: ${calling[2]}\n`);
  }

  /** hupall_function: `hupall [cause] [var value]`. */
  private hupall(arg: string): string {
    const [causeArg, name, value] = arg.trim().split(/\s+/).filter(Boolean);
    const cause = causeArg && isCause(causeArg.toUpperCase()) ? causeArg.toUpperCase() : "MANAGER_REQUEST";
    if (name && value !== undefined) {
      this.model.hupall(cause, [name, value]);
      return `+OK hangup all channels matching [${name}]=[${value}] with cause: ${cause}\n`;
    }
    this.model.hupall(cause);
    return `+OK hangup all channels with cause ${cause}\n`;
  }
}

const CHANNEL_COLUMNS = [
  "uuid",
  "direction",
  "created",
  "created_epoch",
  "name",
  "state",
  "cid_name",
  "cid_num",
  "ip_addr",
  "dest",
  "application",
  "application_data",
  "dialplan",
  "context",
  "read_codec",
  "read_rate",
  "read_bit_rate",
  "write_codec",
  "write_rate",
  "write_bit_rate",
  "secure",
  "hostname",
  "presence_id",
  "presence_data",
  "accountcode",
  "callstate",
  "callee_name",
  "callee_num",
  "callee_direction",
  "call_uuid",
  "sent_callee_name",
  "sent_callee_num",
  "initial_cid_name",
  "initial_cid_num",
  "initial_ip_addr",
  "initial_dest",
  "initial_dialplan",
  "initial_context",
] as const;

const CALL_COLUMNS = [
  "uuid",
  "direction",
  "created",
  "created_epoch",
  "name",
  "state",
  "cid_name",
  "cid_num",
  "ip_addr",
  "dest",
  "presence_id",
  "presence_data",
  "accountcode",
  "callstate",
  "callee_name",
  "callee_num",
  "callee_direction",
  "call_uuid",
  "hostname",
  "sent_callee_name",
  "sent_callee_num",
  "b_uuid",
  "b_direction",
  "b_created",
  "b_created_epoch",
  "b_name",
  "b_state",
  "b_cid_name",
  "b_cid_num",
  "b_ip_addr",
  "b_dest",
  "b_presence_id",
  "b_presence_data",
  "b_accountcode",
  "b_callstate",
  "b_callee_name",
  "b_callee_num",
  "b_callee_direction",
  "b_sent_callee_name",
  "b_sent_callee_num",
  "call_created_epoch",
] as const;

/** Heartbeat fields (switch_core.c send_heartbeat). */
export function heartbeatHeaders(core: SwitchCore): Array<[string, string]> {
  const up = core.uptimeUs();
  return [
    ["Event-Info", CAPTURED.eventInfo ?? "System Ready"],
    ["Up-Time", uptimeText(up)],
    ["FreeSWITCH-Version", CAPTURED.version ?? "1.10.12-release"],
    ["Uptime-msec", String(Math.floor(up / 1000))],
    ["Session-Count", String(core.channels.size)],
    ["Max-Sessions", String(core.maxSessions)],
    // runtime.sps, the budget left in the current second (not the limit), printed %u: below 0 it wraps.
    ["Session-Per-Sec", String(core.spsRemaining >>> 0)],
    ["Session-Per-Sec-Last", String(core.spsLast)],
    ["Session-Per-Sec-Max", String(core.spsPeak)],
    ["Session-Per-Sec-FiveMin", String(core.spsPeak)],
    ["Session-Since-Startup", String(core.sessionsSinceStartup)],
    ["Session-Peak-Max", String(core.peakSessions)],
    ["Session-Peak-FiveMin", String(core.peakSessions)],
    ["Idle-CPU", "99.000000"],
  ];
}
