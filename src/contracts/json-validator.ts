import { Ajv, type Options } from "ajv";
import addFormats from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";

/**
 * JSON schema validation for the HTTP APIs. Bodies are JSON and are taken exactly as typed: no coercion,
 * so `"10"` or `true` is not an integer and a number is never turned into a string (`1e400` would reach
 * FreeSWITCH as `Infinity`). Path and query parameters are text by nature and are coerced to their
 * declared types. Unknown fields are refused, not stripped.
 */
export function jsonValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };
  const body = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
  const text = addFormats.default(new Ajv({ ...common, coerceTypes: "array" }));
  return ({ schema, httpPart }) => (httpPart === "body" ? body : text).compile(schema as object);
}
