import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** The services the lab runs, as production runs them: bundled JavaScript, not TypeScript through a loader. */
export const entryPoints = {
  gateway: "src/gateway/main.ts",
  fakeswitch: "src/fakeswitch/cli.ts",
  "fault-proxies": "lab/fault-proxies.ts",
} as const;

export type BuiltService = keyof typeof entryPoints;

export const distDir = join(repoRoot, "dist");

/**
 * Bundles each service into dist/<name>.mjs (dependencies stay in node_modules). Takes ~50 ms, so the lab
 * rebuilds on every start and never runs stale code. Running through tsx instead would cost the gateway
 * ~30 MB of RSS for the loader's worker thread, which would count against its memory target.
 */
export async function buildServices(): Promise<Record<BuiltService, string>> {
  const outputs = {} as Record<BuiltService, string>;
  mkdirSync(distDir, { recursive: true });
  await Promise.all(
    Object.entries(entryPoints).map(async ([name, entry]) => {
      const outfile = join(distDir, `${name}.mjs`);
      const result = await build({
        entryPoints: [join(repoRoot, entry)],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        packages: "external",
        sourcemap: "linked",
        logLevel: "warning",
        write: false,
      });
      // Written aside and renamed: another lab starting at the same moment (tests run in parallel) must
      // never load a half-written bundle.
      for (const output of result.outputFiles) {
        const temporary = `${output.path}.${process.pid}.tmp`;
        writeFileSync(temporary, output.contents);
        renameSync(temporary, output.path);
      }
      outputs[name as BuiltService] = outfile;
    }),
  );
  return outputs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outputs = await buildServices();
  for (const [name, file] of Object.entries(outputs)) console.log(`built ${name}: ${file}`);
}
