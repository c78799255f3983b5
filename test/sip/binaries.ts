import { execFileSync } from "node:child_process";

/** Whether a program is on PATH (or in /usr/sbin, where Debian puts kamailio). */
export function haveBinary(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], {
      env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
      stdio: "ignore",
    });
    return true;
  } catch {
    return false;
  }
}

/** A reason to skip, printed once, when a test needs a program that is missing. */
export function missing(...names: string[]): string | undefined {
  const gone = names.filter((n) => !haveBinary(n));
  if (gone.length === 0) return undefined;
  const message = `skipped: ${gone.join(", ")} not installed (apt-get install -y kamailio sip-tester; .ci/run does)`;
  console.warn(message);
  return message;
}
