import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";

/** A nats-server started for one test file, on a free loopback port. */
export interface TestNatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** SIGTERM, SIGKILL if it is still there after a grace period; resolves once the process is gone. */
  stop(): Promise<void>;
}

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
const READY_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 3_000;
const ATTEMPTS = 3;

/**
 * Starts nats-server on 127.0.0.1 and a port that was free a moment ago; resolves once it answers with its
 * INFO line. Another process may take the port in between: then nats-server exits and the next attempt
 * picks a new port. `port` restarts a server on the address of an earlier one; `jetStreamDir` enables
 * JetStream with its store there (give the same directory to a restart to keep the streams).
 */
export async function startNatsServer(
  options: { port?: number; jetStreamDir?: string } = {},
): Promise<TestNatsServer> {
  let lastError: Error | undefined;
  // A given port (a restart on the same address) gets one attempt: there is no other port to try.
  for (let attempt = 0; attempt < (options.port ? 1 : ATTEMPTS); attempt++) {
    const port = options.port ?? (await freeLoopbackPort());
    const jetStream = options.jetStreamDir ? ["-js", "-sd", options.jetStreamDir] : [];
    const child = spawn(NATS_SERVER, ["-a", "127.0.0.1", "-p", String(port), ...jetStream], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    const stop = async () => {
      await stopProcess(child, exited);
      process.off("exit", killOnExit);
    };
    let log = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-2000);
    });
    const failed = new Promise<never>((_, reject) => {
      exited.then(() => reject(new Error(`nats-server exited before it was ready:\n${log}`)));
      child.once("error", reject);
    });
    failed.catch(() => {}); // settles after a successful start too, when the server is stopped
    try {
      await Promise.race([
        waitForInfo(port, () => child.exitCode === null && child.signalCode === null),
        failed,
      ]);
      return { url: `nats://127.0.0.1:${port}`, port, stop };
    } catch (error) {
      lastError = error as Error;
      await stop();
    }
  }
  throw lastError ?? new Error("nats-server did not start");
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(killer);
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Connects until the server sends its `INFO {...}` greeting, within READY_TIMEOUT_MS, while it runs. */
async function waitForInfo(port: number, running: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (await greets(port)) return;
    if (!running()) throw new Error("nats-server is not running");
    if (Date.now() > deadline)
      throw new Error(`nats-server on port ${port} not ready in ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("data", (chunk) => done(chunk.toString("latin1").startsWith("INFO ")));
  });
}
