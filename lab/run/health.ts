import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import pg from "pg";
import { $ } from "zx";
import { EslClient } from "../../src/esl/index.ts";
import { FaultControlClient } from "../faults/fault-control.ts";
import type { Endpoint } from "../faults/fault-proxy.ts";
import { dispatcherTargets } from "../kamailio/kamailio.ts";
import { readSippRows, sippTotals } from "../sipp/stats.ts";
import type { HealthCheck, LabState } from "./state.ts";

export type Health = "ok" | "degraded" | "down";

interface HealthReport {
  health: Health;
  /** What was seen, in a few words: "ESL authenticated, NATS connected", "HTTP 503: ESL reconnecting". */
  detail: string;
}

const probeTimeoutMs = 1_500;

/** Asks a component whether it is working, not only whether its process exists. */
export async function probeHealth(check: HealthCheck, state: LabState): Promise<HealthReport> {
  try {
    switch (check.kind) {
      case "gateway":
        return await probeGateway(check.url);
      case "nats":
        return await probeNats(check.monitorUrl);
      case "esl":
        return await probeEsl(check.endpoint);
      case "freeswitch":
        return await probeFreeswitch(check.endpoint, state.secrets.eslPassword);
      case "fault-proxy": {
        const links = await new FaultControlClient(check.controlUrl, state.secrets.controlToken).links();
        const faulty = links.filter((l) => l.faults.length > 0).map((l) => l.name);
        return {
          health: "ok",
          detail: `${links.length} links${faulty.length ? `, faults on ${faulty.join(", ")}` : ""}`,
        };
      }
      case "container":
        return await probeContainer(state.composeProject ?? "", check.service);
      case "sipp": {
        const rows = existsSync(check.statsFile) ? readSippRows(readFileSync(check.statsFile, "utf8")) : [];
        if (rows.length === 0) return { health: "degraded", detail: "no statistics yet" };
        const calls = sippTotals(rows);
        return {
          health: "ok",
          detail: `${calls.successful} calls ok, ${calls.failed} failed, ${calls.current} up`,
        };
      }
      case "kamailio": {
        const targets = await dispatcherTargets(check.rpc);
        const active = targets.filter((t) => t.active).length;
        return {
          health: active > 0 ? "ok" : "degraded",
          detail: `dispatcher: ${active} of ${targets.length} FreeSWITCH active`,
        };
      }
      case "calls-db":
        return await probeCallsDb(check.url);
      case "calls-api": {
        const response = await get(`${check.url}/health`);
        const body = (await response.json()) as { status?: string; nats?: boolean };
        return response.ok
          ? { health: "ok", detail: "POST /v1/calls, GET /v1/calls/{id}; NATS connected" }
          : {
              health: "down",
              detail: `HTTP ${response.status}: ${body.status ?? "?"}, NATS ${body.nats ? "connected" : "down"}`,
            };
      }
      case "jetstream-consumer":
        return await probeConsumer(check.monitorUrls, check.stream, check.consumer);
    }
  } catch (error) {
    return { health: "down", detail: (error as Error).message };
  }
}

/**
 * A real FreeSWITCH the lab runs, asked over ESL with the lab's password what `fs_cli -x status` and
 * `show channels count` print: whether it is ready, its channels up, sessions since start and its sessions/s.
 */
async function probeFreeswitch(endpoint: Endpoint, password: string): Promise<HealthReport> {
  const client = new EslClient({
    ...endpoint,
    password,
    reconnect: false,
    events: { format: "plain", names: [] },
    commandTimeoutMs: probeTimeoutMs,
  });
  try {
    await client.connect();
    const status = (await client.api("status")).body;
    const channels = /^(\d+) total/m.exec((await client.api("show channels count")).body)?.[1] ?? "?";
    const ready = /is ready/.test(status);
    const since = /^(\d+) session\(s\) since startup/m.exec(status)?.[1] ?? "?";
    const perSecond = /^(\d+) session\(s\) per Sec out of max (\d+)/m.exec(status);
    return {
      health: ready ? "ok" : "degraded",
      detail: `${ready ? "ready" : "not ready"}; ${channels} channels up, ${since} sessions since start, ${perSecond?.[1] ?? "?"}/s of max ${perSecond?.[2] ?? "?"}`,
    };
  } finally {
    await client.close();
  }
}

async function probeGateway(url: string): Promise<HealthReport> {
  const response = await get(`${url}/health`);
  const body = (await response.json()) as {
    status?: string;
    esl?: { state?: string };
    nats?: { state?: string };
    queue?: { depth?: number };
  };
  const detail = `ESL ${body.esl?.state ?? "?"}, NATS ${body.nats?.state ?? "?"}, queue ${body.queue?.depth ?? "?"}`;
  if (response.status !== 200) return { health: "down", detail: `HTTP ${response.status}: ${detail}` };
  return { health: body.status === "ok" ? "ok" : "degraded", detail };
}

async function probeNats(monitorUrl: string): Promise<HealthReport> {
  const response = await get(`${monitorUrl}/healthz`);
  const body = (await response.json()) as { status?: string; error?: string };
  if (response.ok) return { health: "ok", detail: "healthz ok" };
  return { health: "down", detail: `healthz: ${body.error ?? response.status}` };
}

/** An ESL server greets every connection with `Content-Type: auth/request`; nothing is sent back. */
function probeEsl(endpoint: Endpoint): Promise<HealthReport> {
  return new Promise((resolve) => {
    const socket = net.connect(endpoint);
    let seen = "";
    const done = (report: HealthReport) => {
      socket.destroy();
      resolve(report);
    };
    socket.setTimeout(probeTimeoutMs, () =>
      done({ health: "down", detail: "connected, but no ESL greeting" }),
    );
    socket.on("data", (chunk) => {
      seen += chunk.toString("latin1");
      if (seen.includes("\n\n"))
        done(
          seen.includes("auth/request")
            ? { health: "ok", detail: "ESL greets" }
            : { health: "down", detail: `unexpected greeting ${JSON.stringify(seen.slice(0, 60))}` },
        );
    });
    socket.on("error", (error: NodeJS.ErrnoException) =>
      done({ health: "down", detail: error.code ?? error.message }),
    );
  });
}

/** The calls database answers a query: how many calls and CDRs it holds. */
async function probeCallsDb(url: string): Promise<HealthReport> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: probeTimeoutMs });
  try {
    await client.connect();
    const { rows } = await client.query<{ calls: number; cdrs: number }>(
      "SELECT (SELECT count(*) FROM calls)::int AS calls, (SELECT count(*) FROM cdrs)::int AS cdrs",
    );
    return { health: "ok", detail: `${rows[0]?.calls} calls, ${rows[0]?.cdrs} CDRs` };
  } finally {
    await client.end().catch(() => {});
  }
}

interface JszConsumer {
  name: string;
  num_pending: number;
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting: number;
}

/**
 * A pipeline worker as its shared JetStream consumer shows it (nats-server's /jsz): messages not yet
 * delivered, delivered but not acked, and pull requests waiting (one or more per bound process).
 */
async function probeConsumer(monitorUrls: string[], stream: string, consumer: string): Promise<HealthReport> {
  for (const monitorUrl of monitorUrls) {
    const response = await get(`${monitorUrl}/jsz?consumers=true`).catch(() => undefined);
    if (!response?.ok) continue;
    const body = (await response.json()) as {
      account_details?: Array<{ stream_detail?: Array<{ name: string; consumer_detail?: JszConsumer[] }> }>;
    };
    const found = (body.account_details ?? [])
      .flatMap((account) => account.stream_detail ?? [])
      .filter((s) => s.name === stream)
      .flatMap((s) => s.consumer_detail ?? [])
      .find((c) => c.name === consumer);
    if (found)
      return {
        health: "ok",
        detail: `consumer ${stream}/${consumer}: ${found.num_pending} pending, ${found.num_ack_pending} unacked, ${found.num_redelivered} redelivered, ${found.num_waiting} pulls waiting`,
      };
  }
  return { health: "degraded", detail: `consumer ${stream}/${consumer} not found on any NATS node` };
}

async function probeContainer(project: string, service: string): Promise<HealthReport> {
  const ps = await $({
    quiet: true,
    nothrow: true,
  })`docker compose -p ${project} ps --all --format json ${service}`;
  const line = ps.stdout.trim().split("\n")[0];
  if (ps.exitCode !== 0 || !line) return { health: "down", detail: ps.stderr.trim() || "no container" };
  const container = JSON.parse(line) as { State?: string; Health?: string };
  const health =
    container.State !== "running" ? "down" : container.Health === "unhealthy" ? "degraded" : "ok";
  return { health, detail: [container.State, container.Health].filter(Boolean).join(", ") };
}

async function get(url: string): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(probeTimeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new Error(cause?.code ?? (error as Error).message);
  }
}
