import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Which part may import which. src/ is what ships: it never reaches into lab/. The calls pipeline and the
 * harness talk to the gateway over its API, so they share only src/contracts with it, never its internals;
 * and the contracts depend on no service, so that every service can depend on them.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Static imports and re-exports (`import ... from`, `export ... from`), side-effect imports and `import()`. */
const specifierPattern =
  /(?:\b(?:import|export)\s[^;]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

function importSpecifiers(source: string): string[] {
  return [...source.matchAll(specifierPattern)].map((match) => match[1] as string);
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".ts"))
    .map((path) => join(folder, path));
}

/** Every relative import of every file under `folder`, as repo-relative paths (`src/gateway/http.ts`). */
function importsUnder(folder: string): { file: string; target: string }[] {
  return sourceFiles(folder).flatMap((file) =>
    importSpecifiers(readFileSync(join(root, file), "utf8"))
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => ({ file, target: relative(root, resolve(root, dirname(file), specifier)) })),
  );
}

const offending = (folder: string, forbidden: RegExp) =>
  importsUnder(folder)
    .filter(({ target }) => forbidden.test(target))
    .map(({ file, target }) => `${file} imports ${target}`);

describe("layers", () => {
  it("reads import specifiers of every form", () => {
    const source = [
      'import { a } from "./a.ts";',
      'import type {\n  B,\n  C,\n} from "../b.ts";',
      'export { d } from "./d.ts";',
      'import "./side-effect.ts";',
      'const e = await import("../../e.ts");',
    ].join("\n");
    expect(importSpecifiers(source)).toEqual([
      "./a.ts",
      "../b.ts",
      "./d.ts",
      "./side-effect.ts",
      "../../e.ts",
    ]);
    expect(importsUnder("src/calls").length).toBeGreaterThan(20);
  });

  it("src/ never imports lab/", () => {
    expect(offending("src", /^lab\//)).toEqual([]);
  });

  it("the calls pipeline and the harness import nothing of the gateway's (what they share is in src/contracts)", () => {
    expect(offending("src/calls", /^src\/gateway\//)).toEqual([]);
    expect(offending("src/harness", /^src\/gateway\//)).toEqual([]);
  });

  it("src/contracts depends on no service", () => {
    expect(offending("src/contracts", /^(src\/(gateway|calls|harness|fakeswitch)|lab)\//)).toEqual([]);
  });
});
