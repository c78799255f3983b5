/** Reading the fields of a JSON request body, with a 400-worthy message when one is wrong. */
export class BadRequest extends Error {}

export type JsonBody = Record<string, unknown>;

export function numberField(body: JsonBody, name: string, opts: { min?: number; max?: number } = {}): number {
  const v = body[name];
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
    throw new BadRequest(`${name} must be a number from ${min} to ${max}`);
  return v;
}

export function optionalNumber(
  body: JsonBody,
  name: string,
  opts: { min?: number; max?: number } = {},
): number | undefined {
  return body[name] === undefined ? undefined : numberField(body, name, opts);
}

export function booleanField(body: JsonBody, name: string): boolean {
  const v = body[name];
  if (typeof v !== "boolean") throw new BadRequest(`${name} must be true or false`);
  return v;
}

export function stringField(body: JsonBody, name: string): string {
  const v = body[name];
  if (typeof v !== "string" || v.length === 0) throw new BadRequest(`${name} must be a non-empty string`);
  return v;
}

export function oneOf<T extends string>(body: JsonBody, name: string, values: readonly T[]): T {
  const v = body[name];
  if (!values.includes(v as T)) throw new BadRequest(`${name} must be one of ${values.join(", ")}`);
  return v as T;
}

/** Only the named fields may be present (a typo must not be ignored silently). */
export function onlyFields(body: JsonBody, names: readonly string[]): void {
  for (const key of Object.keys(body))
    if (!names.includes(key)) throw new BadRequest(`unknown field ${key}; expected ${names.join(", ")}`);
}
