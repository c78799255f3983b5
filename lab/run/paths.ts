import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** Every run's and every lab's folder: summary, metrics, each process's log. LAB_RESULTS_DIR puts them elsewhere. */
export const defaultResultsDir = process.env.LAB_RESULTS_DIR ?? join(repoRoot, "results");

/** Where `lab up` records the running lab; LAB_STATE_FILE points elsewhere (tests, a second lab). */
export function defaultStateFile(): string {
  return process.env.LAB_STATE_FILE ?? join(repoRoot, ".lab", "state.json");
}
