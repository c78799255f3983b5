import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** The services the lab runs, as production runs them: bundled JavaScript, not TypeScript through a loader. */
const entryPoints = {
  gateway: "src/gateway/main.ts",
  fakeswitch: "src/fakeswitch/cli.ts",
  "fault-proxies": "lab/faults/fault-proxies.ts",
  /** The calls pipeline's processes (CALLS_ROLES says which), and its embedded database server. */
  calls: "src/calls/main.ts",
  "calls-db": "src/calls/pglite-main.ts",
  /** The one-shot process that makes calls-db's migrated template (lab/plan/calls-pipeline.ts). */
  "calls-db-template": "lab/calls-db-template.ts",
} as const;

type BuiltService = keyof typeof entryPoints;

/**
 * Built together with code splitting, into dist/calls/: a pipeline process imports only its roles' code
 * (src/calls/pipeline.ts), so the lab's four pipeline processes start in about half the CPU time. The
 * template maker is with them: it migrates from the same copied migrations.
 */
const splitServices: readonly BuiltService[] = ["calls", "calls-db", "calls-db-template"];

export const distDir = join(repoRoot, "dist");

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  logLevel: "warning",
  write: false,
} as const;

/**
 * Bundles each service into dist/<name>.mjs (dependencies stay in node_modules), the calls pipeline's into
 * dist/calls/ with its chunks. Takes ~50 ms, so the lab rebuilds on every start and never runs stale code.
 * Running through tsx instead would cost the gateway ~30 MB of RSS for the loader's worker thread, which
 * would count against its memory target, and each calls pipeline process half a second of start-up. The
 * pipeline reads its SQL migrations beside its module (src/calls/migrate.ts), the FreeSWITCH double its
 * event templates (src/fakeswitch/templates.ts): they are copied along.
 */
export async function buildServices(): Promise<Record<BuiltService, string>> {
  const outputs = {} as Record<BuiltService, string>;
  mkdirSync(distDir, { recursive: true });
  const single = (Object.keys(entryPoints) as BuiltService[]).filter((name) => !splitServices.includes(name));
  const splitDir = join(distDir, "calls");
  await Promise.all([
    ...single.map(async (name) => {
      const outfile = join(distDir, `${name}.mjs`);
      const result = await build({ ...common, entryPoints: [join(repoRoot, entryPoints[name])], outfile });
      for (const output of result.outputFiles) replaceFile(output.path, output.contents);
      outputs[name] = outfile;
    }),
    (async () => {
      const result = await build({
        ...common,
        entryPoints: Object.fromEntries(
          splitServices.map((name) => [name, join(repoRoot, entryPoints[name])]),
        ),
        outdir: splitDir,
        splitting: true,
        // Chunks are named by their content: a process still starting never finds one changed under it.
        chunkNames: "chunk-[hash]",
        outExtension: { ".js": ".mjs" },
      });
      mkdirSync(splitDir, { recursive: true });
      for (const output of result.outputFiles) replaceFile(output.path, output.contents);
      for (const name of splitServices) outputs[name] = join(splitDir, `${name}.mjs`);
    })(),
  ]);
  copyFolder(join(repoRoot, "src/calls/migrations"), join(splitDir, "migrations"));
  copyFolder(join(repoRoot, "src/fakeswitch/event-templates"), join(distDir, "event-templates"));
  return outputs;
}

function copyFolder(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from)) replaceFile(join(to, file), readFileSync(join(from, file)));
}

/**
 * Written aside and renamed: another lab starting at the same moment (tests run in parallel) must never
 * load a half-written file.
 */
function replaceFile(path: string, contents: Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outputs = await buildServices();
  for (const [name, file] of Object.entries(outputs)) console.log(`built ${name}: ${file}`);
}
