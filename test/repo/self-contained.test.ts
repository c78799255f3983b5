import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * A clone is all a user has: no tracked file may point at a folder beside the repository (the `shared`
 * folder CI happens to have) or at a path of the machine it was written on.
 */
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" })
  .split("\0")
  .filter(Boolean);

// Spelled in pieces so this file does not match itself.
const outsideReferences = [
  { what: "the shared folder beside the clone", pattern: new RegExp(["\\.\\.", "shared"].join("/")) },
  { what: "an absolute /work path", pattern: new RegExp(`(^|[^\\w.~-])/${"work"}/`) },
];

/**
 * CI's entry point runs, by definition, on a clone with the shared folder beside it, and installs the real
 * FreeSWITCH build from there when it is present; a user's clone never runs it (README's two commands don't).
 */
const ciOnly = new Set([".ci/run"]);

describe("the repository is self-contained", () => {
  it("lists its tracked files", () => {
    expect(tracked).toContain("package.json");
  });

  it("has no tracked file that references a path outside the clone", () => {
    const found: string[] = [];
    for (const file of tracked.filter((f) => !ciOnly.has(f))) {
      const text = readFileSync(join(repoRoot, file), "latin1");
      text.split("\n").forEach((line, index) => {
        for (const { what, pattern } of outsideReferences)
          if (pattern.test(line)) found.push(`${file}:${index + 1}: ${what}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(found).toEqual([]);
  });
});
