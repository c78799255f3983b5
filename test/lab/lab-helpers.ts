import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { expect } from "vitest";
import { portIsFree } from "../../lab/plan/ports.ts";
import type { Lab } from "../../lab/run/lab.ts";
import type { LabState } from "../../lab/run/state.ts";
import { groupMembers } from "../../src/procfs/proc-stats.ts";

/** A scratch folder for one test file's results and state file. */
export function scratchDir(): { dir: string; stateFile: string; resultsDir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "lab-test-"));
  return {
    dir,
    stateFile: join(dir, "state.json"),
    resultsDir: join(dir, "results"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Watches a gateway's /health every few ms and keeps the sequence of status codes it went through. */
export function watchHealth(gatewayUrl: string) {
  const seen: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const status = await fetch(`${gatewayUrl}/health`, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (seen.at(-1) !== status) seen.push(status);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    seen,
    /**
     * Resolves once the codes seen so far end with `sequence` (e.g. [503, 200]), or throws after `timeoutMs`.
     * Generous: after a long refusal the gateway's ESL backoff may wait up to its 5 s cap (+ jitter) before
     * the next attempt, and a loaded machine (tests run two files at once) stretches everything.
     */
    async until(sequence: number[], timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      const matches = () => {
        let at = 0;
        for (const status of seen) if (status === sequence[at]) at++;
        return at === sequence.length && seen.at(-1) === sequence.at(-1);
      };
      while (!matches()) {
        if (Date.now() > deadline)
          throw new Error(`gateway /health went ${seen.join(" → ")}, not through ${sequence.join(" → ")}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop(): Promise<void> {
      stopped = true;
      await loop;
    },
  };
}

/**
 * Originates one call through a gateway; resolves with its call uuid once accepted (202). The default
 * destination is answered by the double itself; `sofia/external/…` goes out over SIP to the lab's carrier.
 */
export async function originate(
  lab: Lab,
  gatewayUrl = lab.gatewayUrl(),
  destination = "sofia/internal/1000@127.0.0.1:5090",
): Promise<string> {
  const callUuid = randomUUID();
  const response = await fetch(`${gatewayUrl}/api/v1/fs/originate`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await lab.token(["fs:originate"])}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      destination,
      application: { name: "park" },
      call_uuid: callUuid,
    }),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return callUuid;
}

export interface FsEvent {
  event_type: string;
  call_uuid: string | null;
  source_host: string;
}

/** A NATS subscriber on fs.events, connected straight to one server (not through a fault proxy). */
export async function subscribeEvents(natsUrl: string) {
  const nc: NatsConnection = await connect({ servers: natsUrl, reconnect: false });
  const events: FsEvent[] = [];
  const subscription = nc.subscribe("fs.events");
  void (async () => {
    for await (const message of subscription) events.push(message.json<FsEvent>());
  })();
  await nc.flush();
  return {
    events,
    async waitFor(predicate: (event: FsEvent) => boolean, timeoutMs = 8_000): Promise<FsEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`no such event within ${timeoutMs} ms; saw ${events.length} events`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => nc.close(),
  };
}

/** Tears the lab down and proves it: no process of any component's group and no port left. */
export async function downAndCheckNothingLeft(lab: Lab): Promise<void> {
  const state: LabState = structuredClone(lab.state);
  const report = await lab.down();
  expect(report).toEqual({ leftovers: [], busyPorts: [] });
  expect(processesUsing(state.runDir), "processes still holding the lab's logs").toEqual([]);
  for (const component of state.components) {
    if (component.process)
      expect(groupMembers(component.process.pid), `${component.name} processes left`).toEqual([]);
    for (const port of component.ports)
      expect(await portIsFree("127.0.0.1", port), `${component.name} port ${port} still open`).toBe(true);
  }
}

/** Processes holding a file under `dir` open: every lab process holds its log, so none may be left. */
export function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    const using = fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir);
      } catch {
        return false;
      }
    });
    if (using) pids.push(Number(pid));
  }
  return pids;
}
