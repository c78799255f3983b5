/** fs-esl-gateway entry point: configuration from the environment, SIGTERM/SIGINT drain. */
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger, Gateway } from "./gateway.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const log = createLogger(config.logLevel);
const gateway = new Gateway(config, log);
const address = await gateway.start();
// One machine-readable line for supervisors and the lab, on stdout beside pino's JSON logs.
process.stdout.write(`${JSON.stringify({ ready: { http: `http://${address.host}:${address.port}` } })}\n`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "shutting down");
    gateway.stop().then(
      () => process.exit(0),
      (error: Error) => {
        log.error({ err: error.message }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
