/** k6 mirror of scenarios/smoke.ts: `k6 run scenarios/k6/smoke.ts` (README: "k6"). */
import type { Options } from "k6/options";
import { smokeOptions } from "./options.ts";

export { cutEsl, originate as default } from "./lib.ts";

export const options: Options = smokeOptions;
