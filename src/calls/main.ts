/**
 * Calls pipeline entry point: `CALLS_ROLES=api|orchestrator|cdr-writer` (comma-separated, default all three)
 * in one process, configured by the environment (src/calls/config.ts). Prints one JSON `ready` line on
 * stdout, drains on SIGTERM/SIGINT.
 */
import pino from "pino";
import { CallsConfigError, loadCallsConfig } from "./config.ts";
import { startCallsPipeline } from "./pipeline.ts";

let config: ReturnType<typeof loadCallsConfig>;
try {
  config = loadCallsConfig();
} catch (error) {
  if (error instanceof CallsConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const log = pino({
  level: config.logLevel,
  base: { service: "calls", roles: config.roles.join(",") },
  redact: {
    paths: ["secret", "*.secret", "jwtSecret", "*.jwtSecret", "headers.authorization"],
    censor: "[redacted]",
  },
});
if (config.database.kind === "pglite" && !config.database.dir) {
  log.warn("PGLITE_DIR unset: calls are stored in memory and lost when this process exits");
}
const pipeline = await startCallsPipeline(config, log);
process.stdout.write(
  `${JSON.stringify({ ready: { roles: config.roles, pid: process.pid, ...(pipeline.apiUrl ? { http: pipeline.apiUrl } : {}) } })}\n`,
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "shutting down");
    pipeline.stop().then(
      () => process.exit(0),
      (error: Error) => {
        log.error({ err: error.message }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
