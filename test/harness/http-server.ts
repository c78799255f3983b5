import http from "node:http";
import type { AddressInfo } from "node:net";

export interface TestHttpServer {
  origin: string;
  close(): Promise<void>;
}

/** A node:http server on a free loopback port; `close()` also ends kept-alive and held connections. */
export async function startHttpServer(handler: http.RequestListener): Promise<TestHttpServer> {
  const server = http.createServer({ keepAliveTimeout: 10_000 }, handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
