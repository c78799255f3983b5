/** k6 mirror of scenarios/originate-ramp.ts: `k6 run scenarios/k6/originate-ramp.ts` (README: "k6"). */
import type { Options } from "k6/options";
import { originateRampOptions } from "./options.ts";

export { originate as default } from "./lib.ts";

export const options: Options = originateRampOptions;
