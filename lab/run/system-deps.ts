import { $ } from "zx";

/** A system program the lab runs, and the Debian package that provides it. */
interface SystemDependency {
  binary: string;
  debianPackage: string;
}

export const natsServer: SystemDependency = { binary: "nats-server", debianPackage: "nats-server" };
export const kamailio: SystemDependency = { binary: "kamailio", debianPackage: "kamailio" };
export const sipp: SystemDependency = { binary: "sipp", debianPackage: "sip-tester" };

export class MissingDependencyError extends Error {
  override name = "MissingDependencyError";
}

/** Absolute path of a binary on PATH (plus /usr/sbin, where Debian puts nats-server and kamailio). */
export async function locate(binary: string): Promise<string | undefined> {
  const path = `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin:/sbin`;
  const found = await $({
    quiet: true,
    nothrow: true,
    env: { ...process.env, PATH: path },
  })`command -v ${binary}`;
  const location = found.stdout.trim();
  return found.exitCode === 0 && location ? location : undefined;
}

/**
 * Find each dependency; where one is missing and we are root on a Debian/Ubuntu machine, install it with
 * apt-get (saying so); otherwise stop with the exact command to run. Never a silent fallback.
 */
export async function ensureSystemDependencies(
  deps: readonly SystemDependency[],
  report: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<Record<string, string>> {
  const located: Record<string, string> = {};
  const missing: SystemDependency[] = [];
  for (const dep of deps) {
    const path = await locate(dep.binary);
    if (path) located[dep.binary] = path;
    else missing.push(dep);
  }
  if (missing.length === 0) return located;
  const packages = missing.map((d) => d.debianPackage);
  const command = `apt-get update && apt-get install -y ${packages.join(" ")}`;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = (await locate("apt-get")) !== undefined;
  if (!isRoot || !hasApt) {
    throw new MissingDependencyError(
      `missing ${missing.map((d) => d.binary).join(", ")}. Install with:\n  ${isRoot ? "" : "sudo "}${command}`,
    );
  }
  report(
    `lab: installing ${packages.join(", ")} with apt-get (missing: ${missing.map((d) => d.binary).join(", ")})`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await $({ quiet: true, env })`apt-get update -qq`;
  await $({ quiet: true, env })`apt-get install -y -qq ${packages}`;
  for (const dep of missing) {
    const path = await locate(dep.binary);
    if (!path)
      throw new MissingDependencyError(`${dep.binary} still missing after installing ${dep.debianPackage}`);
    located[dep.binary] = path;
  }
  return located;
}
