import { expect, it } from "vitest";
import { findFreeswitch, freeswitchMissingHelp } from "../../lab/freeswitch/freeswitch.ts";
import { runConformance } from "./run.ts";
import { divergenceTable } from "./suite.ts";

/**
 * `npm run conformance` inside `npm test`: the double against a real FreeSWITCH, every divergence either
 * fixed or listed with its reason in docs/fidelity.md. Skipped on a machine without FreeSWITCH.
 */
const binary = await findFreeswitch();

it.skipIf(!binary)(
  binary
    ? `the double answers as ${binary} does, but for docs/fidelity.md's known divergences`
    : `no FreeSWITCH installed: ${freeswitchMissingHelp}`,
  async () => {
    const result = await runConformance();
    expect(result).toBeDefined();
    if (!result) return;
    expect(result.unexpected, divergenceTable(result)).toEqual([]);
  },
  90_000,
);
