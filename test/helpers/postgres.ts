import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPort } from "./nats.ts";

/** A throwaway PostgreSQL cluster for one test file, on a free loopback port. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  stop(): void;
}

/**
 * Debian's PostgreSQL binaries (`apt-get install postgresql`), newest version first; undefined when absent.
 * Decided when a test file is collected, so a missing server skips its tests instead of failing them.
 */
export function findPostgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

export const postgresMissing =
  "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: apt-get install postgresql";

/**
 * initdb into a temp dir and pg_ctl start on 127.0.0.1 (socket in the same dir), without pg_ctlcluster
 * or a system service. initdb refuses root, so as root the cluster runs as the `postgres` user. Durability
 * is off (fsync, synchronous_commit): the cluster is deleted after the tests.
 */
export async function startPostgres(bin: string): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "calls-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(bin, command), ...args]]
      : [join(bin, command), args];
    execFileSync(file, argv, { stdio: "pipe" });
  };
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    chownSync(dir, uid, gid);
  }
  const port = await freeLoopbackPort();
  const stop = () => {
    process.off("exit", stop);
    if (existsSync(join(data, "postmaster.pid"))) {
      const args = ["stop", "-D", data, "-m", "immediate"];
      spawnSync(
        asRoot ? "runuser" : join(bin, "pg_ctl"),
        asRoot ? ["-u", "postgres", "--", join(bin, "pg_ctl"), ...args] : args,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  try {
    run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
    const options = `-k ${dir} -p ${port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    run("pg_ctl", ["start", "-D", data, "-w", "-t", "30", "-l", join(dir, "server.log"), "-o", options]);
  } catch (error) {
    stop();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`could not start PostgreSQL from ${bin}: ${(error as Error).message}\n${stderr}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}
