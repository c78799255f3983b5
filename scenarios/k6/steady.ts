/** k6 mirror of scenarios/steady.ts: `k6 run scenarios/k6/steady.ts` (README: "k6"). */
import type { Options } from "k6/options";
import { steadyOptions } from "./options.ts";

export { originate as default } from "./lib.ts";

export const options: Options = steadyOptions;
