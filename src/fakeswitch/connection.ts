import { randomUUID } from "node:crypto";
import type net from "node:net";
import type { ApiCommands } from "./api-commands.ts";
import type { CallModel } from "./call-model.ts";
import { type ClientCommand, CommandParser, header } from "./command-parser.ts";
import { isEventName } from "./event-names.ts";
import { apiResponse, commandReply, GOODBYE } from "./event-serializer.ts";
import type { SwitchEvent } from "./events.ts";
import { OutboundQueue } from "./outbound-queue.ts";
import { Subscriptions } from "./subscriptions.ts";
import type { EventListener, LogListener, SwitchCore } from "./switch-core.ts";
import { GENERIC_CALLING } from "./templates.ts";

export interface ConnectionHost {
  readonly core: SwitchCore;
  readonly api: ApiCommands;
  readonly model: CallModel;
  readonly password: string;
  /** Events a listener may hold before it loses them (mod_event_socket MAX_QUEUE_LEN). */
  readonly eventQueueLength: number;
  /** Lost events past which the listener is killed (mod_event_socket MAX_MISSED). */
  readonly maxLostEvents: number;
  /** Fault injection: the delay before the next command is handled (fixed and load-dependent). */
  replyDelayMs(): number;
  /** A calibrated load model's delay of a command just arrived, counted from its arrival (0: none). */
  calibratedCommandMs(): number;
  /** Fault injection: events written to each client a second at most (0: no cap). */
  readonly eventRatePerSecond: number;
  /** Fault injection: the peer vanished without a FIN: nothing is read or written. */
  readonly halfOpenActive: boolean;
  connectionClosed(connection: EslConnection): void;
}

/**
 * One inbound ESL connection: a listener of mod_event_socket (listener_run / parse_command /
 * read_packet). Commands are answered strictly in order; a blocking `api` (originate) holds both later
 * commands and the listener's events until it returns, as the listener thread of FreeSWITCH does. What
 * the listener receives is its Subscriptions; what it writes goes through its OutboundQueue.
 */
export class EslConnection implements EventListener, LogListener {
  private readonly parser = new CommandParser();
  private authed = false;
  private running = true;
  private readonly subscriptions: Subscriptions;
  private readonly outbound: OutboundQueue;

  private busy = false;
  /** Commands read and not yet handled, each with the time a calibrated load model lets it be handled. */
  private readonly commands: Array<{ command: ClientCommand; readyAt: number }> = [];

  constructor(
    readonly socket: net.Socket,
    private readonly host: ConnectionHost,
  ) {
    this.subscriptions = new Subscriptions(host.core, this);
    this.outbound = new OutboundQueue(socket, host, host.core.stats, {
      holding: () => this.busy,
      running: () => this.running,
      overflow: () => this.kill("killed listener because of lost events\n"),
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.releaseHeld());
    socket.on("error", () => {});
    socket.on("close", () => this.onClose());
    this.write("Content-Type: auth/request\n\n");
  }

  get isAuthed(): boolean {
    return this.authed;
  }
  /** `log <level>`: log/data lines at this level or more severe are sent. */
  get logLevel(): number | undefined {
    return this.subscriptions.logLevel;
  }

  // ---- input ----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.host.halfOpenActive || !this.running) return;
    for (const command of this.parser.push(chunk))
      this.commands.push({ command, readyAt: performance.now() + this.host.calibratedCommandMs() });
    this.pump();
  }

  private pump(): void {
    while (!this.busy && this.running && this.commands.length > 0) {
      const { command, readyAt } = this.commands.shift() as { command: ClientCommand; readyAt: number };
      const delay = this.host.replyDelayMs() + Math.max(0, readyAt - performance.now());
      if (delay > 0) {
        this.busy = true;
        setTimeout(() => {
          this.busy = false;
          if (this.running) this.handle(command);
          this.pump();
        }, delay);
        return;
      }
      this.handle(command);
    }
  }

  private handle(command: ClientCommand): void {
    this.host.core.stats.commands++;
    const reply = this.parseCommand(command);
    if (reply !== undefined) this.reply(reply);
  }

  /** parse_command (mod_event_socket.c), in its order of checks: the Reply-Text, if the command has one. */
  private parseCommand(command: ClientCommand): string | undefined {
    const cmd = command.line;
    const lower = cmd.toLowerCase();

    if (lower.startsWith("exit") || lower.startsWith("...")) {
      this.reply("+OK bye");
      this.close(GOODBYE);
      return undefined;
    }

    if (!this.authed) {
      if (lower.startsWith("auth ")) {
        if (cmd.slice(5) === this.host.password) {
          this.authed = true;
          return "+OK accepted";
        }
        this.reply("-ERR invalid");
        this.close(GOODBYE);
        return undefined;
      }
      if (lower.startsWith("userauth ")) {
        this.reply("-ERR invalid");
        this.close(GOODBYE);
        return undefined;
      }
      return "-ERR command not found";
    }

    const subscriptions = this.subscriptions;
    if (lower.startsWith("filter ")) return subscriptions.filter(cmd.slice(7));
    if (lower.startsWith("myevents")) return subscriptions.myeventsCommand(cmd);
    if (lower.startsWith("divert_events")) return subscriptions.divertEvents(cmd);
    if (lower.startsWith("sendmsg")) return this.sendmsg(command);
    if (lower.startsWith("sendevent")) return this.sendevent(command);
    if (lower.startsWith("api ")) {
      this.api(cmd.slice(4));
      return undefined;
    }
    if (lower.startsWith("bgapi ")) {
      this.bgapi(cmd.slice(6), command);
      return undefined;
    }
    if (lower.startsWith("log")) return subscriptions.log(cmd);
    if (lower.startsWith("linger")) return subscriptions.lingerCommand(cmd);
    if (lower.startsWith("nolinger")) return subscriptions.nolinger();
    if (lower.startsWith("nolog")) return subscriptions.nolog();
    if (lower.startsWith("event")) return subscriptions.event(cmd);
    if (lower.startsWith("nixevent")) return subscriptions.nixevent(cmd);
    if (lower.startsWith("noevents")) {
      this.outbound.dropHeld();
      return subscriptions.noevents();
    }
    return "-ERR command not found";
  }

  // ---- commands -------------------------------------------------------------------------------

  /** `api <cmd> [arg]`: api_exec with bg = 0; the listener is blocked until the command returns. */
  private api(text: string): void {
    const core = this.host.core;
    core.stats.apiCommands++;
    const space = text.indexOf(" ");
    const cmd = space === -1 ? text : text.slice(0, space);
    const arg = space === -1 ? undefined : text.slice(space + 1);
    this.busy = true;
    let sync = true;
    this.host.api.execute(cmd, arg ?? "", (outcome) => {
      let body = outcome.found ? outcome.body : `-ERR ${cmd} Command not found!\n`;
      if (body.length === 0) body = "-ERR no reply\n";
      if (this.running) this.write(apiResponse(body));
      this.busy = false;
      if (outcome.found) this.fireApiEvent(cmd, arg);
      this.releaseHeld();
      if (!sync) this.pump();
    });
    sync = false;
  }

  /** `bgapi <cmd> [arg]`: reply at once with the Job-UUID, run the command, then BACKGROUND_JOB. */
  private bgapi(text: string, command: ClientCommand): void {
    const core = this.host.core;
    core.stats.bgapiCommands++;
    const space = text.indexOf(" ");
    const cmd = space === -1 ? text : text.slice(0, space);
    const arg = space === -1 ? undefined : text.slice(space + 1);
    const jobUuid = header(command, "job-uuid") || randomUUID();
    this.write(commandReply(`+OK Job-UUID: ${jobUuid}`, `Job-UUID: ${jobUuid}\n`));
    this.host.api.execute(cmd, arg ?? "", (outcome) => {
      const body = outcome.found
        ? outcome.body || "Command returned no output!"
        : `-ERR ${cmd} Command not found!\n`;
      if (outcome.found) this.fireApiEvent(cmd, arg);
      core.fireHeaders(
        "BACKGROUND_JOB",
        GENERIC_CALLING.BACKGROUND_JOB,
        () => {
          const headers: Array<[string, string]> = [
            ["Job-UUID", jobUuid],
            ["Job-Command", cmd],
          ];
          if (arg !== undefined) headers.push(["Job-Command-Arg", arg]);
          return headers;
        },
        body,
      );
    });
  }

  private fireApiEvent(cmd: string, arg: string | undefined): void {
    this.host.core.fireHeaders("API", GENERIC_CALLING.API, () =>
      arg === undefined
        ? [["API-Command", cmd]]
        : [
            ["API-Command", cmd],
            ["API-Command-Argument", arg],
          ],
    );
  }

  /** `sendmsg [uuid]` with call-command execute / hangup (switch_ivr_parse_event). */
  private sendmsg(command: ClientCommand): string {
    let uuid = command.line.slice(7).trim();
    if (!uuid) uuid = header(command, "session-id") ?? this.subscriptions.controlledSession ?? "";
    const channel = uuid ? this.host.core.channels.get(uuid) : undefined;
    if (!channel) return `-ERR invalid session id [${uuid}]`;
    const callCommand = (header(command, "call-command") ?? "").toLowerCase();
    const model = this.host.model;
    if (callCommand === "hangup") {
      const cause = (header(command, "hangup-cause") ?? "NORMAL_CLEARING").toUpperCase();
      setImmediate(() => model.hangup(channel, cause));
    } else if (callCommand === "execute") {
      const app = (header(command, "execute-app-name") ?? "").toLowerCase();
      const arg = header(command, "execute-app-arg") ?? command.body ?? "";
      setImmediate(() => {
        if (app === "playback") model.playback(channel, arg, false);
        else if (app === "answer") model.answer(channel);
        else if (app === "hangup") model.hangup(channel, arg.trim().toUpperCase() || "NORMAL_CLEARING");
        else if (app === "transfer")
          model.transfer(channel, arg.split(" ")[0] ?? "", arg.split(" ")[2] ?? "default");
      });
    }
    return "+OK";
  }

  /** `sendevent <NAME>` with headers (and an optional body): fired to every listener. */
  private sendevent(command: ClientCommand): string {
    const name = command.line.slice(9).trim().split(" ")[0]?.toUpperCase() || "CUSTOM";
    const eventUuid = randomUUID();
    const subclass = header(command, "event-subclass");
    const own = command.headers.filter(([k]) => k.toLowerCase() !== "content-length");
    this.host.core.fireHeaders(
      isEventName(name) ?? "CUSTOM",
      ["mod_event_socket.c", "parse_command", "1"],
      () => [...own, ["Event-UUID", eventUuid]],
      command.body,
      subclass,
    );
    return `+OK ${eventUuid}`;
  }

  // ---- events ---------------------------------------------------------------------------------

  wants(name: string): boolean {
    return this.running && this.subscriptions.wants(name);
  }

  /** event_handler (mod_event_socket.c): what the subscriptions accept, through the bounded queue. */
  offer(event: SwitchEvent): void {
    if (!this.running || !this.subscriptions.accepts(event)) return;
    this.outbound.enqueue(event.frame(this.subscriptions.format));
    if (this.subscriptions.endsSession(event)) this.sessionDown();
  }

  /** A log/data frame: through the same queue as events (mod_event_socket keeps a log queue beside it). */
  offerLog(frame: Buffer): void {
    if (this.running) this.outbound.enqueue(frame);
  }

  /** Write held events while the socket, the command in progress and the rate cap let them out. */
  releaseHeld(): void {
    this.outbound.releaseHeld();
  }

  /** The myevents channel went down: without linger the listener closes (read_packet). */
  private sessionDown(): void {
    const linger = this.subscriptions.lingerSeconds;
    if (linger === undefined) {
      setImmediate(() => this.close(GOODBYE));
      return;
    }
    const uuid = this.subscriptions.controlledSession ?? "";
    this.write(
      `Content-Type: text/disconnect-notice\nController-Session-UUID: ${uuid}\nContent-Disposition: linger\nChannel-Name: \nLinger-Time: ${linger}\nContent-Length: 0\n\n`,
    );
    if (linger >= 0) setTimeout(() => this.close(GOODBYE), linger * 1000).unref();
  }

  // ---- output ---------------------------------------------------------------------------------

  private reply(text: string): void {
    this.write(commandReply(text));
  }

  write(data: string | Buffer): void {
    this.outbound.write(data);
  }

  /** Send a disconnect notice (optional) and close, as listener_run's exit path does. */
  close(notice?: string): void {
    if (!this.running) return;
    this.running = false;
    this.outbound.finish(notice);
    this.host.core.removeListener(this);
    this.host.core.removeLogListener(this);
    this.socket.end();
    // A peer that never reads must not keep the socket forever; 5 s is ample to drain a notice.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** kill_listener: the notice, then shutdown(RDWR) of the socket. */
  kill(message: string): void {
    this.close(message);
  }

  /** Abort without a notice: a FIN (`end`) or an RST (`resetAndDestroy`). */
  drop(how: "fin" | "rst"): void {
    this.running = false;
    this.outbound.discard();
    this.host.core.removeListener(this);
    this.host.core.removeLogListener(this);
    if (how === "rst") this.socket.resetAndDestroy();
    else this.socket.end();
  }

  private onClose(): void {
    this.running = false;
    this.outbound.stop();
    this.host.core.removeListener(this);
    this.host.core.removeLogListener(this);
    this.host.connectionClosed(this);
  }
}
