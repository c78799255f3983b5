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
