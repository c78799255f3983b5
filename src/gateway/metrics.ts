import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics with ADR-0011's names, plus the queue, drop and rejection figures it implies. */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly commands = new Counter({
    name: "fs_esl_commands_total",
    help: "Commands accepted by the gateway and sent to FreeSWITCH, by command",
    labelNames: ["command"] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "fs_esl_errors_total",
    help: "Command and connection errors, by type",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly commandLatency = new Histogram({
    name: "fs_esl_command_latency_ms",
    help: "Time from sending a command on ESL to its reply (bgapi: to the +OK Job-UUID acceptance), ms",
    labelNames: ["command"] as const,
    buckets: [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 100, 250, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly connectionUptime = new Gauge({
    name: "fs_esl_connection_uptime_seconds",
    help: "Seconds the current ESL connection has been up (0 while down)",
    registers: [this.registry],
  });
  readonly connected = new Gauge({
    name: "fs_esl_connected",
    help: "1 while the ESL connection is authenticated and subscribed",
    registers: [this.registry],
  });
  readonly publishLag = new Histogram({
    name: "fs_esl_event_publish_lag_ms",
    help: "Time from decoding an event off ESL to handing it to NATS, ms",
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000],
    registers: [this.registry],
  });
  readonly readLag = new Gauge({
    name: "fs_esl_event_read_lag_ms",
    help: "How far the gateway reads behind FreeSWITCH: receive time minus Event-Date-Timestamp of the latest event, ms",
    registers: [this.registry],
  });
  readonly reconnects = new Counter({
    name: "fs_esl_reconnects_total",
    help: "ESL reconnect attempts",
    registers: [this.registry],
  });
  readonly connectionFailures = new Counter({
    name: "fs_esl_gateway_connection_failures",
    help: "ESL connections lost or refused (alert when > 0)",
    registers: [this.registry],
  });
  readonly eventsReceived = new Counter({
    name: "fs_esl_events_received_total",
    help: "Events decoded from ESL",
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: "fs_esl_events_published_total",
    help: "Events confirmed by NATS (the PONG after their batch arrived)",
    registers: [this.registry],
  });
  readonly eventsResent = new Counter({
    name: "fs_esl_events_resent_total",
    help: "Events sent again because the NATS connection died before confirming them",
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: "fs_esl_events_dropped_total",
    help: "Events dropped (oldest first) because the publish queue was full",
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "fs_esl_event_queue_depth",
    help: "Events not yet confirmed by NATS: queued, or sent and awaiting confirmation",
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: "fs_esl_rejections_total",
    help: "HTTP commands refused by backpressure, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly freeswitchShuttingDown = new Gauge({
    name: "fs_esl_freeswitch_shutting_down",
    help: "1 from FreeSWITCH's SHUTDOWN until the gateway is connected to a FreeSWITCH that is not shutting down",
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: "fs_esl_commands_in_flight",
    help: "Commands sent to FreeSWITCH and not yet answered",
    registers: [this.registry],
  });
  readonly channels = new Gauge({
    name: "fs_esl_channels",
    help: "Live channels known to the gateway",
    registers: [this.registry],
  });

  constructor() {
    // process_resident_memory_bytes, CPU, event-loop lag, GC.
    collectDefaultMetrics({ register: this.registry });
  }
}
