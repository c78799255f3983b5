import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";

const schema = JSON.parse(readFileSync(new URL("../../docs/summary.schema.json", import.meta.url), "utf8"));
// Formats (date-time) document the fields; the structure is what is checked here.
const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
const validate = ajv.compile(schema);

/** The problems of `summary` against docs/summary.schema.json, one line each; empty when it conforms. */
export function summarySchemaErrors(summary: unknown): string[] {
  if (validate(summary)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
}
