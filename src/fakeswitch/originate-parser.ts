/**
 * The argument string of `originate` (mod_commands originate_function + switch_ivr_originate's dial
 * string grammar): `{global vars}[leg vars]leg1,leg2|leg3 <exten>|&app(args) [dialplan] [context]
 * [cid_name] [cid_num] [timeout_sec]`. `,` rings legs at once, `|` tries the next group when one fails.
 */
type VarPairs = Array<[string, string]>;

export interface OriginateLeg {
  dialString: string;
  /** Global then per-leg variables, in the order given (later ones override earlier ones). */
  vars: VarPairs;
}

type OriginateTarget =
  | { kind: "app"; app: string; args: string }
  | { kind: "extension"; extension: string; dialplan: string; context: string };

export interface OriginateRequest {
  /** Sequential groups (`|`) of simultaneous legs (`,`). */
  groups: OriginateLeg[][];
  target: OriginateTarget;
  cidName?: string;
  cidNum?: string;
  timeoutSec?: number;
}

export const ORIGINATE_USAGE =
  "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n";

export function parseOriginate(arg: string): OriginateRequest | undefined {
  const text = arg.trim();
  if (!text) return undefined;
  const urlEnd = scanUntilSpace(text, 0);
  const callUrl = text.slice(0, urlEnd);
  const rest = text.slice(urlEnd).trim();
  if (!rest) return undefined;

  let target: OriginateTarget;
  let tail: string[];
  if (rest.startsWith("&")) {
    const open = rest.indexOf("(");
    let app: string;
    let args = "";
    let after: string;
    if (open === -1) {
      const sp = rest.indexOf(" ");
      app = rest.slice(1, sp === -1 ? undefined : sp);
      after = sp === -1 ? "" : rest.slice(sp + 1);
    } else {
      app = rest.slice(1, open);
      const close = rest.lastIndexOf(")");
      args = rest.slice(open + 1, close === -1 ? undefined : close);
      after = close === -1 ? "" : rest.slice(close + 1);
    }
    target = { kind: "app", app, args };
    tail = after.trim() ? after.trim().split(/\s+/) : [];
    // After an &app the optional dialplan/context positions are still counted.
    tail = tail.slice(2);
  } else {
    const words = rest.split(/\s+/);
    target = {
      kind: "extension",
      extension: words[0] ?? "",
      dialplan: words[1] || "XML",
      context: words[2] || "default",
    };
    tail = words.slice(3);
  }
  const request: OriginateRequest = { groups: parseCallUrl(callUrl), target };
  if (tail[0] && tail[0] !== "undef") request.cidName = tail[0];
  if (tail[1] && tail[1] !== "undef") request.cidNum = tail[1];
  if (tail[2] && /^\d+$/.test(tail[2])) request.timeoutSec = Number(tail[2]);
  if (request.groups.length === 0 || request.groups.some((g) => g.length === 0)) return undefined;
  return request;
}

/** Index of the first space outside `{}`, `[]`, `<>` and single quotes. */
function scanUntilSpace(text: string, from: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === "{" || c === "[" || c === "<") depth++;
    else if (c === "}" || c === "]" || c === ">") depth = Math.max(0, depth - 1);
    else if (c === " " && depth === 0) return i;
  }
  return text.length;
}

/** Split at `sep` outside brackets and quotes. */
function splitTop(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === "{" || c === "[" || c === "<") depth++;
    else if (c === "}" || c === "]" || c === ">") depth = Math.max(0, depth - 1);
    else if (c === sep && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function parseVars(body: string): VarPairs {
  const vars: VarPairs = [];
  for (const item of splitTop(body, ",")) {
    const eq = item.indexOf("=");
    if (eq <= 0) continue;
    let value = item.slice(eq + 1);
    if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    vars.push([item.slice(0, eq).trim(), value]);
  }
  return vars;
}

/** Leading `{...}` / `[...]` / `<...>` blocks of a dial string. */
function takeVarBlock(text: string, open: string, close: string): [VarPairs, string] {
  if (!text.startsWith(open)) return [[], text];
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return [parseVars(text.slice(1, i)), text.slice(i + 1)];
  }
  return [parseVars(text.slice(1)), ""];
}

/** A call URL's groups of legs (also the argument of the bridge application). */
export function parseCallUrl(callUrl: string): OriginateLeg[][] {
  const [globals, rest] = takeVarBlock(callUrl.trim(), "{", "}");
  const groups: OriginateLeg[][] = [];
  for (const group of splitTop(rest, "|")) {
    const legs: OriginateLeg[] = [];
    for (const legText of splitTop(group, ",")) {
      let text = legText.trim();
      let local: VarPairs = [];
      let angle: VarPairs = [];
      [angle, text] = takeVarBlock(text, "<", ">");
      [local, text] = takeVarBlock(text, "[", "]");
      if (!text) continue;
      legs.push({ dialString: text, vars: [...globals, ...angle, ...local] });
    }
    if (legs.length > 0) groups.push(legs);
  }
  return groups;
}

/** The last value of a variable in a list (later settings win, as in switch_event_add_header). */
export function lastVar(
  vars: VarPairs | ReadonlyArray<readonly [string, string]>,
  name: string,
): string | undefined {
  let found: string | undefined;
  for (const [k, v] of vars) if (k === name) found = v;
  return found;
}

/**
 * A leg's channel variables: its own and the global ones, duplicates removed, and the originate's
 * positional cid_name / cid_num added as origination_caller_id_name / _number when those are not set
 * (switch_ivr_originate: the variables win; the arguments are added to var_event at the bottom).
 */
export function legVariables(leg: OriginateLeg, request: OriginateRequest): VarPairs {
  const vars = dedupeVars(leg.vars);
  if (request.cidName !== undefined && lastVar(vars, "origination_caller_id_name") === undefined)
    vars.push(["origination_caller_id_name", request.cidName]);
  if (request.cidNum !== undefined && lastVar(vars, "origination_caller_id_number") === undefined)
    vars.push(["origination_caller_id_number", request.cidNum]);
  return vars;
}

/** Variables with duplicates removed (the last value kept in the position of the first). */
function dedupeVars(vars: VarPairs): VarPairs {
  const index = new Map<string, number>();
  const out: VarPairs = [];
  for (const [k, v] of vars) {
    const at = index.get(k);
    if (at === undefined) {
      index.set(k, out.length);
      out.push([k, v]);
    } else out[at] = [k, v];
  }
  return out;
}
