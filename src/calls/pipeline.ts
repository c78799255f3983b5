import { connect, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { CallStore } from "./call-store.ts";
import type { CdrWriter } from "./cdr-writer.ts";
import type { CallsConfig } from "./config.ts";
import { openDatabase } from "./database.ts";
import { ensureCallsStream, jetStreamManager } from "./jetstream.ts";
import { migrate } from "./migrate.ts";
import type { Orchestrator } from "./orchestrator.ts";
import type { SqlClient } from "./sql.ts";

export interface CallsPipeline {
  /** `http://host:port` of the calls API, when this process runs it. */
  apiUrl?: string;
  orchestrator?: Orchestrator;
  cdrWriter?: CdrWriter;
  store: CallStore;
  stop(): Promise<void>;
}

/**
 * Starts the configured roles in this process: the CDR writer first (its stream must exist before the
 * gateway's events are worth keeping), then the orchestrator, then the API that feeds them. `db` hands in
 * an open database (tests share one PGlite); otherwise the configured one is opened and owned. Each role's
 * code (and its libraries: fastify and jose for the API, undici for the orchestrator) is loaded only by a
 * process that runs it: a lab starts four of these processes at once on two cores.
 */
export async function startCallsPipeline(
  config: CallsConfig,
  log: Logger,
  injected: { db?: SqlClient } = {},
): Promise<CallsPipeline> {
  const stops: Array<() => Promise<void>> = [];
  let stopped: Promise<void> | undefined;
  // In the reverse order of starting: the API stops taking calls before the workers behind it stop.
  const stop = () => {
    stopped ??= (async () => {
      for (const step of [...stops].reverse()) {
        await step().catch((error: Error) => log.warn({ err: error.message }, "stop step failed"));
      }
    })();
    return stopped;
  };
  try {
    const db = injected.db ?? (await openDatabase(config.database));
    if (injected.db) await migrate(db);
    else stops.push(() => db.close());
    const store = new CallStore(db);
    const nc: NatsConnection = await connect({
      servers: config.natsServers,
      name: `calls-${config.roles.join("+")}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    stops.push(() => nc.drain().catch(() => nc.close()));
    let natsUp = true;
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect") natsUp = false;
        else if (status.type === "reconnect") natsUp = true;
      }
    })();
    const pipeline: CallsPipeline = { store, stop };

    if (config.roles.includes("cdr-writer")) {
      const { CdrWriter } = await import("./cdr-writer.ts");
      const cdrWriter = new CdrWriter(nc, store, config.cdrWriter, log.child({ role: "cdr-writer" }));
      await cdrWriter.start();
      stops.push(() => cdrWriter.stop());
      pipeline.cdrWriter = cdrWriter;
    }
    if (config.roles.includes("orchestrator")) {
      const [{ GatewayClient }, { Orchestrator }] = await Promise.all([
        import("./gateway-client.ts"),
        import("./orchestrator.ts"),
      ]);
      const gateway = new GatewayClient({ baseUrl: config.gateway.url, ...config.gateway });
      stops.push(() => gateway.close());
      const orchestrator = new Orchestrator(
        nc,
        store,
        gateway,
        { ...config.orchestrator, backoff: { initialMs: 100, maxMs: 5_000, jitter: 0.2 } },
        log.child({ role: "orchestrator" }),
      );
      await orchestrator.start();
      stops.push(() => orchestrator.stop());
      pipeline.orchestrator = orchestrator;
    }
    if (config.roles.includes("api")) {
      const [{ buildCallsApi }, { JwtAuthenticator }, { CallerPolicy }] = await Promise.all([
        import("./api.ts"),
        import("../contracts/bearer-token.ts"),
        import("../contracts/caller-policy.ts"),
      ]);
      await ensureCallsStream(await jetStreamManager(nc));
      const app = await buildCallsApi({
        store,
        auth: new JwtAuthenticator(config.auth),
        policy: new CallerPolicy(config.policy),
        js: nc.jetstream(),
        log: log.child({ role: "api" }),
        natsConnected: () => natsUp && !nc.isClosed(),
        publishTimeoutMs: 2_000,
      });
      await app.listen({ host: config.http.host, port: config.http.port });
      stops.push(() => app.close());
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.http.port;
      pipeline.apiUrl = `http://${config.http.host}:${port}`;
    }
    return pipeline;
  } catch (error) {
    await stop();
    throw error;
  }
}
