import { isIP } from "node:net";

/**
 * Whether a host is on this machine's loopback: 127.0.0.0/8, ::1, or the name localhost. Any other name
 * counts as elsewhere without being resolved, so that asking sends no query off the machine either.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || bare === "0:0:0:0:0:0:0:1";
  return false;
}

/**
 * Why a request's Host header does not name the server listening on `listen`, or undefined when it does:
 * the port, and a loopback name or the address listened on. A web page whose DNS name was rebound to
 * 127.0.0.1 still sends its own name, so it is refused (DNS rebinding).
 */
export function foreignHostProblem(
  hostHeader: string | undefined,
  listen: { host: string; port: number },
): string | undefined {
  const expected = `Host must name this server (${listen.host}:${listen.port} or localhost:${listen.port})`;
  // Host is authority alone: no user info, path or whitespace for URL parsing to step over.
  if (!hostHeader || /[\s/@?#\\]/.test(hostHeader)) return expected;
  let url: URL;
  try {
    url = new URL(`http://${hostHeader}`);
  } catch {
    return expected;
  }
  const port = url.port === "" ? 80 : Number(url.port);
  const named = url.hostname.replace(/^\[|\]$/g, "") === listen.host.replace(/^\[|\]$/g, "");
  return port === listen.port && (named || isLoopbackHost(url.hostname)) ? undefined : expected;
}
