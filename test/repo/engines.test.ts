import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

/** The part of semver used here (it ships no types; its package is a devDependency). */
const semver = createRequire(import.meta.url)("semver") as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

interface LockedPackage {
  version?: string;
  engines?: { node?: string };
}
const root = new URL("../../", import.meta.url);
const declared = (
  JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { engines: { node: string } }
).engines.node;
const locked = (
  JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8")) as {
    packages: Record<string, LockedPackage>;
  }
).packages;

/** Locked packages whose engines.node range does not admit `version`, as `path@version (range)`. */
function refusing(version: string): string[] {
  return Object.entries(locked)
    .filter(([path, pkg]) => path !== "" && pkg.engines?.node && !semver.satisfies(version, pkg.engines.node))
    .map(([path, pkg]) => `${path}@${pkg.version} (node ${pkg.engines?.node})`);
}

describe("package.json engines", () => {
  const minimum = semver.minVersion(declared)?.version as string;

  it("declares Node.js >= 20.19.0 (as README says), which the running Node satisfies", () => {
    expect(minimum).toBe("20.19.0");
    expect(semver.satisfies(process.version, declared)).toBe(true);
  });

  it("is no lower than any locked package's engines.node range", () => {
    expect(Object.values(locked).filter((pkg) => pkg.engines?.node).length).toBeGreaterThan(0);
    expect(refusing(minimum)).toEqual([]);
  });

  it("runs on a Node.js every locked package accepts", () => {
    expect(refusing(process.version)).toEqual([]);
  });
});
