/**
 * The lab's fault-proxy process: one FaultProxy per proxied link plus their control API, all in one process
 * so that `lab up` can leave them running and `lab fault` can reach them from another shell.
 *
 * Environment (the lab sets it; compose/compose.yaml too):
 *   FAULT_PROXY_LINKS          JSON [{"name","listen":{"host","port"},"target":{"host","port"}}]
 *   FAULT_CONTROL_PORT         control API port
 *   FAULT_CONTROL_HOST         control API address (default 127.0.0.1), or
 *   FAULT_CONTROL_INTERFACE    an interface whose IPv4 address to use (in a container: its eth0)
 *   FAULT_CONTROL_TOKEN[_FILE] bearer token the control API requires
 *
 * Prints one JSON line `{"ready":{"control":…,"links":{name:port}}}` when listening.
 */
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { startFaultControl } from "./fault-control.ts";
import { type Endpoint, FaultProxy } from "./fault-proxy.ts";

interface LinkSpec {
  name: string;
  listen: Endpoint;
  target: Endpoint;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function controlToken(): string {
  const file = process.env.FAULT_CONTROL_TOKEN_FILE;
  return file ? readFileSync(file, "utf8").trim() : required("FAULT_CONTROL_TOKEN");
}

function controlHost(): string {
  const iface = process.env.FAULT_CONTROL_INTERFACE;
  if (!iface) return process.env.FAULT_CONTROL_HOST ?? "127.0.0.1";
  const address = networkInterfaces()[iface]?.find((a) => a.family === "IPv4")?.address;
  if (!address) throw new Error(`FAULT_CONTROL_INTERFACE ${iface} has no IPv4 address`);
  return address;
}

async function main(): Promise<void> {
  const links = JSON.parse(required("FAULT_PROXY_LINKS")) as LinkSpec[];
  const proxies = new Map<string, FaultProxy>();
  for (const link of links) {
    const proxy = new FaultProxy(link.name, link.listen, link.target);
    await proxy.start();
    proxies.set(link.name, proxy);
  }
  const host = controlHost();
  const control = await startFaultControl(proxies, {
    host,
    port: Number(required("FAULT_CONTROL_PORT")),
    token: controlToken(),
  });
  const address = control.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const ports = Object.fromEntries([...proxies].map(([name, proxy]) => [name, proxy.listen.port]));
  process.stdout.write(`${JSON.stringify({ ready: { control: `http://${host}:${port}`, links: ports } })}\n`);

  const stop = async () => {
    control.close();
    await Promise.all([...proxies.values()].map((p) => p.close()));
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`fault-proxies: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
