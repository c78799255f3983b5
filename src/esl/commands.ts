import { EslArgumentError } from "./errors.ts";
import type { EventFormat } from "./event.ts";

/**
 * Encoding of the commands a client writes to mod_event_socket, and of the argument strings of the api
 * commands built from caller input. Every builder validates its inputs against what would change the
 * command's meaning on the wire: a line break ends the command (or smuggles a second one), and in an
 * originate string `{ } [ ] , | '` and spaces delimit variables, legs and arguments. Such input is refused
 * with an EslArgumentError naming the field; nothing is ever sent.
 */

const LINE_BREAK = /[\r\n]/;
const CONTROL = /[\x00-\x1f\x7f]/;

/** One command: its line, optional extra header lines (sendmsg, bgapi Job-UUID), optional body, then `\n\n`. */
export function encodeCommand(
  line: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
  body?: string,
): string {
  requireSingleLine("command", line);
  let out = line;
  for (const [name, value] of headers) {
    requireSingleLine("header name", name);
    requireSingleLine(`header ${name}`, value);
    out += `\n${name}: ${value}`;
  }
  if (body !== undefined && body.length > 0) {
    out += `\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`;
    return out;
  }
  return `${out}\n\n`;
}

export const Commands = {
  auth: (password: string) => {
    // Never echo the password: the error names the rule, not the value.
    if (!/^\S+$/.test(password))
      throw new EslArgumentError("password must be non-empty with no whitespace", "password");
    return encodeCommand(`auth ${password}`);
  },
  api: (command: string) => encodeCommand(`api ${command}`),
  /** A caller-chosen Job-UUID (mod_event_socket honours the header) lets the job be tracked before the reply. */
  bgapi: (command: string, jobUuid?: string) =>
    encodeCommand(`bgapi ${command}`, jobUuid ? [["Job-UUID", requireToken("job uuid", jobUuid, UUID)]] : []),
  event: (format: EventFormat, names: readonly string[]) =>
    encodeCommand(`event ${format} ${names.map((n) => requireToken("event name", n, EVENT_NAME)).join(" ")}`),
  nixevent: (names: readonly string[]) =>
    encodeCommand(`nixevent ${names.map((n) => requireToken("event name", n, EVENT_NAME)).join(" ")}`),
  noevents: () => encodeCommand("noevents"),
  filter: (header: string, value: string) =>
    encodeCommand(
      `filter ${requireToken("filter header", header, HEADER_NAME)} ${requireSingleLine("filter value", value)}`,
    ),
  filterDelete: (header: string, value?: string) =>
    encodeCommand(
      `filter delete ${requireToken("filter header", header, HEADER_NAME)}${value === undefined ? "" : ` ${requireSingleLine("filter value", value)}`}`,
    ),
  myevents: (uuid: string) => encodeCommand(`myevents ${requireToken("uuid", uuid, UUID)}`),
  linger: (seconds?: number) =>
    encodeCommand(seconds === undefined ? "linger" : `linger ${requireInteger("linger seconds", seconds)}`),
  nolinger: () => encodeCommand("nolinger"),
  log: (level: number | string) =>
    encodeCommand(`log ${requireToken("log level", String(level), /^[A-Za-z0-9]+$/)}`),
  nolog: () => encodeCommand("nolog"),
  exit: () => encodeCommand("exit"),
  /** sendmsg <uuid> with `call-command: execute` (or hangup): how an inbound client runs an app on a channel. */
  sendmsg: (uuid: string, message: SendMessage) => {
    const headers: Array<[string, string]> = [["call-command", message.callCommand]];
    if (message.callCommand === "execute") {
      headers.push(["execute-app-name", requireToken("application", message.application, APP_NAME)]);
      if (message.args !== undefined)
        headers.push(["execute-app-arg", requireSingleLine("application args", message.args)]);
      if (message.loops !== undefined) headers.push(["loops", requireInteger("loops", message.loops)]);
      if (message.eventLock) headers.push(["event-lock", "true"]);
    } else {
      headers.push([
        "hangup-cause",
        requireToken("hangup cause", message.cause ?? "NORMAL_CLEARING", HANGUP_CAUSE),
      ]);
    }
    return encodeCommand(`sendmsg ${requireToken("uuid", uuid, UUID)}`, headers);
  },
};

export type SendMessage =
  | { callCommand: "execute"; application: string; args?: string; loops?: number; eventLock?: boolean }
  | { callCommand: "hangup"; cause?: string };

// Token grammars for values that are spliced into api command lines.
export const UUID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
export const EVENT_NAME = /^[A-Za-z0-9_:.-]+$/;
export const HEADER_NAME = /^[A-Za-z0-9_-]+$/;
export const APP_NAME = /^[a-z][a-z0-9_]*$/;
export const HANGUP_CAUSE = /^[A-Z][A-Z0-9_]*$/;
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** A dial string of one leg: sofia/internal/1000@127.0.0.1:5090, loopback/7001/default, user/1000, error/user_busy. */
export const DIAL_STRING = /^[A-Za-z0-9][A-Za-z0-9_.@:+=;#*%$~!/-]*$/;
export const EXTENSION = /^[A-Za-z0-9_+*#.-]+$/;
export const DIALPLAN = /^[A-Za-z_]+$/;
export const CONTEXT = /^[A-Za-z0-9_.-]+$/;
/**
 * Characters a variable value may not hold: they delimit variables, legs or arguments of an originate
 * (`^^` sets a custom list delimiter, and switch_separate_string() takes `\\` as an escape).
 */
const VALUE_FORBIDDEN = /[{}[\]',|^\\]/;
const APP_ARGS_FORBIDDEN = /[\s'"]/;

export function requireSingleLine(field: string, value: string): string {
  if (LINE_BREAK.test(value) || value.includes("\0")) {
    throw new EslArgumentError(`${field} must not contain a line break or NUL`, field);
  }
  return value;
}

/** A number spliced into a command: NaN or Infinity would reach FreeSWITCH as words. */
function requireInteger(field: string, value: number): string {
  const integer = Math.trunc(value);
  if (!Number.isSafeInteger(integer)) throw new EslArgumentError(`${field} must be an integer`, field);
  return String(integer);
}

export function requireToken(field: string, value: string, grammar: RegExp): string {
  if (typeof value !== "string" || !grammar.test(value)) {
    throw new EslArgumentError(`${field} is not a valid ${field}: ${describe(value)}`, field);
  }
  return value;
}

/** A channel variable as `name=value`, single-quoting a value with spaces as FreeSWITCH expects. */
export function channelVariable(name: string, value: string | number | boolean): string {
  requireToken("variable name", name, VARIABLE_NAME);
  const text = String(value);
  const field = `variable ${name}`;
  if (CONTROL.test(text)) throw new EslArgumentError(`${field} must not contain control characters`, field);
  if (VALUE_FORBIDDEN.test(text)) {
    throw new EslArgumentError(
      `${field} must not contain any of { } [ ] ' , | ^ \\ (they delimit originate arguments)`,
      field,
    );
  }
  return text.includes(" ") ? `${name}='${text}'` : `${name}=${text}`;
}

export interface OriginateLeg {
  dialString: string;
  /** Per-leg variables, `[k=v]` before the dial string. */
  variables?: Readonly<Record<string, string | number | boolean>>;
}

export interface OriginateRequest {
  /** One or more legs; with several, `mode` says whether they ring at once (`,`) or one after another (`|`). */
  legs: readonly OriginateLeg[];
  mode?: "simultaneous" | "sequential";
  /** Global variables, `{k=v}` before the first leg; order kept. */
  variables?: Readonly<Record<string, string | number | boolean>>;
  /** `&app(args)` on answer, or an extension to route to. Default: `&park()`. */
  target?:
    | { application: string; args?: string }
    | { extension: string; dialplan?: string; context?: string };
}

/** The argument string of `originate`, e.g. `{origination_uuid=…}sofia/internal/1000@127.0.0.1:5090 &park()`. */
export function originateArgs(request: OriginateRequest): string {
  return `${callUrl(request)} ${originateTarget(request.target)}`;
}

/**
 * FreeSWITCH's "call URL": `{globals}[locals]leg,leg`, the first argument of `originate` and the argument
 * of `bridge` (so `&bridge(${callUrl(...)})` builds a bridge target from validated parts).
 */
export function callUrl(request: Pick<OriginateRequest, "legs" | "mode" | "variables">): string {
  if (request.legs.length === 0) throw new EslArgumentError("originate needs at least one leg", "legs");
  const globals = Object.entries(request.variables ?? {}).map(([k, v]) => channelVariable(k, v));
  const separator = request.mode === "sequential" ? "|" : ",";
  const legs = request.legs
    .map((leg, index) => {
      const locals = Object.entries(leg.variables ?? {}).map(([k, v]) => channelVariable(k, v));
      const dial = requireToken(`dial string of leg ${index + 1}`, leg.dialString, DIAL_STRING);
      return locals.length > 0 ? `[${locals.join(",")}]${dial}` : dial;
    })
    .join(separator);
  return globals.length > 0 ? `{${globals.join(",")}}${legs}` : legs;
}

function originateTarget(target: OriginateRequest["target"]): string {
  if (target === undefined) return "&park()";
  if ("application" in target) {
    const app = requireToken("application", target.application, APP_NAME);
    const args = target.args ?? "";
    requireSingleLine("application args", args);
    if (APP_ARGS_FORBIDDEN.test(args) || CONTROL.test(args)) {
      throw new EslArgumentError(
        "application args must not contain whitespace or quotes",
        "application args",
      );
    }
    return `&${app}(${args})`;
  }
  const parts = [requireToken("extension", target.extension, EXTENSION)];
  if (target.dialplan !== undefined || target.context !== undefined) {
    parts.push(requireToken("dialplan", target.dialplan ?? "XML", DIALPLAN));
  }
  if (target.context !== undefined) parts.push(requireToken("context", target.context, CONTEXT));
  return parts.join(" ");
}

function describe(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
