/**
 * The body of `POST /api/v1/fs/originate`: what the gateway accepts and the calls orchestrator sends. The
 * JSON schema is the one definition (the gateway validates with it, the OpenAPI document shows it); the
 * `OriginateInput` type is inferred from it.
 */
const scalar = {
  anyOf: [{ type: "string", maxLength: 1024 }, { type: "number" }, { type: "boolean" }],
} as const;

export const originateBodySchema = {
  type: "object",
  additionalProperties: false,
  required: ["destination"],
  properties: {
    destination: {
      description: "Dial string of one leg, or several legs (rung per `mode`)",
      anyOf: [
        { type: "array", minItems: 1, maxItems: 32, items: { type: "string", minLength: 1, maxLength: 512 } },
        { type: "string", minLength: 1, maxLength: 512 },
      ],
    },
    mode: { type: "string", enum: ["simultaneous", "sequential"] },
    application: {
      type: "object",
      additionalProperties: false,
      required: ["name"],
      properties: { name: { type: "string", maxLength: 64 }, args: { type: "string", maxLength: 1024 } },
    },
    extension: {
      type: "object",
      additionalProperties: false,
      required: ["number"],
      properties: {
        number: { type: "string", maxLength: 64 },
        dialplan: { type: "string", maxLength: 32 },
        context: { type: "string", maxLength: 64 },
      },
    },
    variables: { type: "object", maxProperties: 64, additionalProperties: scalar },
    caller_id: {
      type: "object",
      additionalProperties: false,
      properties: { name: { type: "string", maxLength: 128 }, number: { type: "string", maxLength: 64 } },
    },
    timeout_sec: { type: "integer", minimum: 1, maximum: 3600 },
    call_uuid: { type: "string", minLength: 1, maxLength: 64 },
    wait: { type: "boolean", description: "Answer only when the originate has a result (BACKGROUND_JOB)" },
  },
} as const;

/** The TypeScript type a JSON schema (the subset the routes use) describes: what validation lets through. */
type FromSchema<S> = S extends { anyOf: readonly (infer U)[] }
  ? FromSchema<U>
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { type: "string" }
      ? string
      : S extends { type: "integer" | "number" }
        ? number
        : S extends { type: "boolean" }
          ? boolean
          : S extends { type: "array"; items: infer I }
            ? FromSchema<I>[]
            : S extends { type: "object"; properties: infer P }
              ? ObjectFromSchema<P, S extends { required: readonly (infer R)[] } ? R : never>
              : S extends { type: "object"; additionalProperties: infer A }
                ? Record<string, FromSchema<A>>
                : unknown;

type ObjectFromSchema<P, Required> = {
  -readonly [K in keyof P as K extends Required ? K : never]: FromSchema<P[K]>;
} & { -readonly [K in keyof P as K extends Required ? never : K]?: FromSchema<P[K]> } extends infer O
  ? { [K in keyof O]: O[K] }
  : never;

export type OriginateInput = FromSchema<typeof originateBodySchema>;
