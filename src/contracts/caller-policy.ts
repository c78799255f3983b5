import { DIAL_STRING, EXTENSION, HANGUP_CAUSE } from "../esl/index.ts";

/**
 * What a caller of the REST APIs may ask FreeSWITCH to do (docs/security.md). FreeSWITCH runs applications,
 * executes some channel variables (`api_on_answer`, `execute_on_*`, `*_hook`...), expands `${...}` (and
 * `${system(...)}` runs a shell command) and plays `app::args` given as a file to `uuid_broadcast`. So every
 * caller string is checked here before a command is built: applications and variable names against
 * allowlists, variables that execute against a denylist that configuration cannot re-open, values against
 * expansion, and media against configured prefixes. A refusal names the field and a stable code (400).
 */

export type PolicyCode =
  | "application_not_allowed"
  | "variable_not_allowed"
  | "media_not_allowed"
  | "dialplan_not_allowed"
  | "unsafe_value";

export class PolicyViolation extends Error {
  override name = "PolicyViolation";
  constructor(
    readonly code: PolicyCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CallerPolicySettings {
  /** Applications an originate may run on answer (`&name(args)`). */
  applications: readonly string[];
  /** Channel variable names a caller may set; `*` matches any run of characters; case-insensitive. */
  variables: readonly string[];
  /** Where played media may come from: `tone_stream://`, `silence_stream://`, or absolute folders ending in `/`. */
  mediaPrefixes: readonly string[];
  /** Dialplans a transfer or an originate to an extension may name. */
  dialplans: readonly string[];
}

export const defaultCallerPolicy: CallerPolicySettings = {
  applications: ["answer", "park", "playback", "bridge", "transfer", "hangup", "echo", "sleep", "ring_ready"],
  variables: [
    "origination_caller_id_name",
    "origination_caller_id_number",
    "effective_caller_id_name",
    "effective_caller_id_number",
    "sip_h_X-*",
    "originate_timeout",
    "call_timeout",
    "leg_timeout",
    "leg_progress_timeout",
    "absolute_codec_string",
    "codec_string",
    "hangup_after_bridge",
    "ignore_early_media",
  ],
  mediaPrefixes: [
    "tone_stream://",
    "silence_stream://",
    "/usr/share/freeswitch/sounds/",
    "/usr/local/freeswitch/sounds/",
  ],
  dialplans: ["XML"],
};

/**
 * The policy settings from the environment (the gateway's, and the calls API's, which refuses early what
 * the gateway would refuse): ALLOWED_APPLICATIONS, ALLOWED_VARIABLES, MEDIA_PREFIXES and ALLOWED_DIALPLANS,
 * each a comma- or space-separated list that replaces the default (the denylists stay whatever they say).
 */
export function callerPolicyFromEnv(env: Record<string, string | undefined>): CallerPolicySettings {
  const list = (name: string, fallback: readonly string[]) => {
    const items = (env[name] ?? "").split(/[\s,]+/).filter(Boolean);
    return items.length > 0 ? items : [...fallback];
  };
  return {
    applications: list("ALLOWED_APPLICATIONS", defaultCallerPolicy.applications),
    variables: list("ALLOWED_VARIABLES", defaultCallerPolicy.variables),
    mediaPrefixes: list("MEDIA_PREFIXES", defaultCallerPolicy.mediaPrefixes),
    dialplans: list("ALLOWED_DIALPLANS", defaultCallerPolicy.dialplans),
  };
}

/**
 * Applications that run code or set variables (and so could set an executing one): refused even when
 * configuration lists them.
 */
const DENIED_APPLICATIONS = new Set([
  "system",
  "bgsystem",
  "lua",
  "luarun",
  "perl",
  "perlrun",
  "python",
  "javascript",
  "jsrun",
  "eval",
  "set",
  "set_global",
  "set_profile_var",
  "multiset",
  "export",
  "bridge_export",
  "push",
  "unshift",
  "unset",
  "execute_extension",
  "socket",
  "bgapi",
  "api",
]);

/**
 * A variable name is split on `_`; a part naming execution (`api_on_answer`, `execute_on_ring`,
 * `api_hangup_hook`, `exec_after_bridge_app`, `bridge_pre_execute_aleg_app`, `session_in_hangup_hook`...)
 * or a part that makes other variables travel (`export_vars`, `nolocal`) refuses the name whatever the
 * allowlist says. `_on_` covers every `*_on_*` hook, including harmless ones such as `continue_on_fail`.
 */
const EXECUTING_NAME_PARTS = new Set([
  "api",
  "exec",
  "execute",
  "hook",
  "app",
  "on",
  "script",
  "system",
  "lua",
  "perl",
  "python",
  "javascript",
  "export",
  "nolocal",
]);
/** The gateway sets these itself: a caller must not move the UUID it is given. */
const GATEWAY_OWNED_VARIABLES = new Set(["origination_uuid"]);
/** A dialplan that runs `app:args` given as the extension. */
const DENIED_DIALPLANS = new Set(["inline"]);

/** `${var}`, `$${global}`, `${api(...)}`, `api:` and `system` are never a caller's to send. */
const EXPANSION = /\$\{|api:|\bsystem\b/i;
const CONTROL = /[\x00-\x1f\x7f]/;
/** Half of a UTF-16 pair: not encodable as UTF-8, so FreeSWITCH (and PostgreSQL) would get something else. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TONE_SPEC = /^[A-Za-z0-9%(),;=.+-]+$/;
const SILENCE_SPEC = /^[0-9]{1,7}(,[0-9]{1,5})?$/;
/** A path below a media folder: plain segments, no `..`, no `:` (a format prefix or `app::args`). */
const MEDIA_PATH = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*(\/[A-Za-z0-9_+-][A-Za-z0-9_.+-]*)*$/;
const DIGITS = /^[0-9]{1,7}$/;

type ArgumentRule = (policy: CallerPolicy, args: string) => void;

/** The arguments each default application accepts; an application added by configuration gets the generic check. */
const APPLICATION_ARGUMENTS: Record<string, ArgumentRule> = {
  answer: noArguments,
  park: noArguments,
  echo: noArguments,
  ring_ready: noArguments,
  sleep: (_, args) => matches("application.args", args, DIGITS, "milliseconds"),
  hangup: (_, args) => args === "" || matches("application.args", args, HANGUP_CAUSE, "a hangup cause"),
  playback: (policy, args) => policy.media("application.args", args),
  transfer: (_, args) => matches("application.args", args, EXTENSION, "an extension"),
  bridge: (_, args) => matches("application.args", args, DIAL_STRING, "one dial string"),
};

export class CallerPolicy {
  private readonly applications: ReadonlySet<string>;
  private readonly variablePatterns: readonly RegExp[];
  private readonly dialplans: ReadonlySet<string>;

  constructor(readonly settings: CallerPolicySettings = defaultCallerPolicy) {
    this.applications = new Set(settings.applications.map((name) => name.toLowerCase()));
    this.variablePatterns = settings.variables.map(globPattern);
    this.dialplans = new Set(settings.dialplans);
  }

  /** Any caller string that reaches FreeSWITCH: well-formed text, no control characters, no expansion. */
  value(field: string, text: string): string {
    if (LONE_SURROGATE.test(text))
      throw new PolicyViolation("unsafe_value", field, `${field} is not valid Unicode`);
    if (CONTROL.test(text))
      throw new PolicyViolation("unsafe_value", field, `${field} must not contain control characters`);
    if (EXPANSION.test(text)) {
      throw new PolicyViolation(
        "unsafe_value",
        field,
        `${field} must not contain \${...} expansions, api: or system (FreeSWITCH would execute them)`,
      );
    }
    return text;
  }

  application(name: string, args = ""): void {
    const lower = name.toLowerCase();
    if (DENIED_APPLICATIONS.has(lower) || !this.applications.has(lower)) {
      throw new PolicyViolation(
        "application_not_allowed",
        "application.name",
        `application ${quote(name)} is not allowed (allowed: ${[...this.applications].join(", ")})`,
      );
    }
    this.value("application.args", args);
    APPLICATION_ARGUMENTS[lower]?.(this, args);
  }

  variable(name: string, value: unknown): void {
    const field = `variables.${name}`;
    this.value("variable name", name);
    const lower = name.toLowerCase();
    const executes = lower.split("_").some((part) => EXECUTING_NAME_PARTS.has(part));
    if (executes || GATEWAY_OWNED_VARIABLES.has(lower) || !this.variablePatterns.some((p) => p.test(name))) {
      throw new PolicyViolation(
        "variable_not_allowed",
        field,
        executes
          ? `variable ${quote(name)} is never allowed: FreeSWITCH executes it`
          : `variable ${quote(name)} is not allowed (allowed: ${this.settings.variables.join(", ")})`,
      );
    }
    if (typeof value === "number") {
      if (!Number.isFinite(value))
        throw new PolicyViolation("unsafe_value", field, `${field} must be a finite number`);
      return;
    }
    if (typeof value === "boolean") return;
    if (typeof value !== "string")
      throw new PolicyViolation("unsafe_value", field, `${field} must be a string, number or boolean`);
    this.value(field, value);
  }

  /** A file or tone for playback / uuid_broadcast, under one of the configured prefixes. */
  media(field: string, path: string): string {
    this.value(field, path);
    const prefix = this.settings.mediaPrefixes.find((p) => path.startsWith(p));
    const rest = prefix === undefined ? "" : path.slice(prefix.length);
    const ok =
      prefix === "tone_stream://"
        ? TONE_SPEC.test(rest)
        : prefix === "silence_stream://"
          ? SILENCE_SPEC.test(rest)
          : prefix !== undefined && MEDIA_PATH.test(rest) && !rest.split("/").includes("..");
    if (!ok) {
      throw new PolicyViolation(
        "media_not_allowed",
        field,
        `${field} ${quote(path)} is not under an allowed media prefix (${this.settings.mediaPrefixes.join(", ")}) or is malformed`,
      );
    }
    return path;
  }

  dialplan(field: string, name: string): string {
    if (DENIED_DIALPLANS.has(name.toLowerCase()) || !this.dialplans.has(name)) {
      throw new PolicyViolation(
        "dialplan_not_allowed",
        field,
        `dialplan ${quote(name)} is not allowed (allowed: ${[...this.dialplans].join(", ")})`,
      );
    }
    return name;
  }
}

function noArguments(_: CallerPolicy, args: string): void {
  if (args !== "")
    throw new PolicyViolation("unsafe_value", "application.args", "this application takes no arguments");
}

function matches(field: string, value: string, grammar: RegExp, what: string): void {
  if (!grammar.test(value)) throw new PolicyViolation("unsafe_value", field, `${field} must be ${what}`);
}

function globPattern(glob: string): RegExp {
  const source = glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, "i");
}

function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
