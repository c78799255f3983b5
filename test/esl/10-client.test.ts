/**
 * Level 10: EslClient against a scripted mod_event_socket on 127.0.0.1. Each test waits for the client's
 * own events rather than sleeping; where a test must show that something does NOT happen (no retry), it
 * waits many backoff periods.
 */
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test, vi } from "vitest";
import {
  Backoff,
  EslAuthError,
  EslBackpressureError,
  EslClient,
  type EslClientOptions,
  EslConnectionError,
  type EslEvent,
  type EslFrame,
  EslTimeoutError,
  encodeFrame,
} from "../../src/esl/index.ts";
import { type CapturedFrame, capturedBytes, loadCapture } from "./captures.ts";
import { apiResponseFrame, type ReceivedCommand, type Script, ScriptedPeer } from "./scripted-peer.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startPeer(script: Script): Promise<ScriptedPeer> {
  const peer = await ScriptedPeer.start(script);
  cleanups.push(() => peer.close());
  return peer;
}

function startClient(peer: ScriptedPeer, options: Partial<EslClientOptions> = {}): EslClient {
  const client = new EslClient({
    host: "127.0.0.1",
    port: peer.port,
    password: "ClueCon",
    backoff: { initialMs: 10, maxMs: 100, jitter: 0 },
    ...options,
  });
  cleanups.push(() => client.close(200));
  return client;
}

/** Wait for a client event, failing the test instead of hanging if it never comes. */
function next<K extends "ready" | "disconnected" | "reconnecting" | "error" | "event">(
  client: EslClient,
  name: K,
  timeoutMs = 5_000,
) {
  return once(client as never, name, { signal: AbortSignal.timeout(timeoutMs) });
}

function firstFrame(capture: string, match: (frame: CapturedFrame) => boolean): CapturedFrame {
  const frame = loadCapture(capture).frames.find(match);
  if (!frame) throw new Error(`no such frame in ${capture}`);
  return frame;
}

const rudeRejection = encodeFrame([["Content-Type", "text/rude-rejection"]], "Access Denied, go away.\n");

describe("connecting", () => {
  test("authenticates, then reports ready", async () => {
    const peer = await startPeer((connection) => connection.actLikeFreeSwitch());
    const client = startClient(peer);
    const ready = next(client, "ready");
    await client.connect();
    expect(client.state).toBe("ready");
    expect(await ready).toEqual([{ attempt: 1 }]);
    expect(peer.connections[0]?.commands.map((c) => c.line)).toEqual(["auth ClueCon"]);
  });

  test("a wrong password fails with EslAuthError after exactly one connection attempt", async () => {
    const peer = await startPeer((connection) => connection.actLikeFreeSwitch());
    const client = startClient(peer, { password: "WrongPassword" });
    const errors: Error[] = [];
    client.on("error", (error) => errors.push(error));
    await expect(client.connect()).rejects.toThrow(EslAuthError);
    await sleep(300); // thirty initial backoff periods: a retry would have happened by now
    expect(peer.connections).toHaveLength(1);
    expect(client.state).toBe("closed");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe("ESL authentication refused: -ERR invalid");
  });

  test("a rude rejection (ACL) is fatal: EslAuthError, no retry", async () => {
    const peer = await startPeer((connection) => {
      connection.send(rudeRejection);
      connection.socket.end();
    });
    const client = startClient(peer);
    client.on("error", () => {});
    await expect(client.connect()).rejects.toThrow(EslAuthError);
    await sleep(300);
    expect(peer.connections).toHaveLength(1);
    expect(client.state).toBe("closed");
  });

  test("close() before the first session is ready rejects connect()", async () => {
    const peer = await startPeer(() => {}); // accepts, never sends auth/request
    const client = startClient(peer);
    const connecting = client.connect();
    await vi.waitFor(() => expect(client.state).toBe("authenticating"));
    await client.close();
    await expect(connecting).rejects.toThrow(EslConnectionError);
  });
});

describe("commands", () => {
  test("replies are matched FIFO under pipelining, with replies split across chunks", async () => {
    const peer = await startPeer((connection) => {
      connection.actLikeFreeSwitch();
      const freeswitch = connection.onCommand;
      const held: ReceivedCommand[] = [];
      connection.onCommand = (command) => {
        if (!command.line.startsWith("api ")) return freeswitch(command);
        held.push(command);
        if (held.length < 12) return;
        // All twelve answers in one stream, cut every 37 bytes: headers and bodies straddle chunks.
        const replies = Buffer.concat(held.map((c) => apiResponseFrame(`reply to ${c.line.slice(4)}\n`)));
        void connection.sendInPieces(replies, 37);
      };
    });
    const client = startClient(peer);
    await client.connect();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => client.api(`echo ${i}`)));
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 12 }, (_, i) => `reply to echo ${i}\n`));
    expect(client.outstanding).toBe(0);
  });

  test("a timed-out command rejects with EslTimeoutError; its late reply is not handed to the next caller", async () => {
    const peer = await startPeer((connection) => {
      connection.actLikeFreeSwitch();
      const freeswitch = connection.onCommand;
      connection.onCommand = (command) => {
        if (command.line === "api slow") return; // answered late, below
        if (command.line !== "api next") return freeswitch(command);
        connection.send(apiResponseFrame("late reply to slow\n"));
        connection.send(apiResponseFrame("reply to next\n"));
      };
    });
    const client = startClient(peer, { commandTimeoutMs: 150 });
    await client.connect();
    await expect(client.api("slow")).rejects.toThrow(EslTimeoutError);
    expect(client.outstanding).toBe(1); // its place in the FIFO is kept for the late reply
    const answer = await client.api("next");
    expect(answer.body).toBe("reply to next\n");
    expect(client.outstanding).toBe(0);
  });

  test("bgapi resolves on acceptance, then completes when BACKGROUND_JOB echoes its Job-UUID", async () => {
    const captured = firstFrame("03-lifecycle-event-plain", (f) => f.event_body !== undefined);
    let jobHeader: string | undefined;
    const peer = await startPeer((connection) => {
      connection.actLikeFreeSwitch();
      const freeswitch = connection.onCommand;
      connection.onCommand = (command) => {
        if (!command.line.startsWith("bgapi ")) return freeswitch(command);
        const jobUuid = command.headers["Job-UUID"] ?? "";
        jobHeader = jobUuid;
        connection.commandReply(`+OK Job-UUID: ${jobUuid}`);
        // The captured BACKGROUND_JOB, re-addressed to this job.
        const headers = (captured.event_headers_raw ?? []).map(([name, value]) =>
          name === "Job-UUID" ? ([name, jobUuid] as const) : ([name, decodeURIComponent(value)] as const),
        );
        setTimeout(() => connection.event(headers, captured.event_body), 20);
      };
    });
    const client = startClient(peer, { events: { format: "plain", names: ["CHANNEL_CREATE"] } });
    await client.connect();
    expect(peer.connections[0]?.commands[1]?.line).toBe("event plain CHANNEL_CREATE BACKGROUND_JOB");
    const job = await client.bgapi("originate {origination_uuid=x}user/1000 &park()");
    expect(job.jobUuid).toBe(jobHeader);
    expect(client.pendingJobs).toBe(1);
    const result = await job.completion;
    expect(result).toMatchObject({ jobUuid: jobHeader, ok: true, body: captured.event_body });
    expect(result.event.name).toBe("BACKGROUND_JOB");
    expect(client.pendingJobs).toBe(0);
  });

  test("a job whose BACKGROUND_JOB never comes rejects with EslTimeoutError", async () => {
    const peer = await startPeer((connection) => {
      connection.actLikeFreeSwitch();
      const freeswitch = connection.onCommand;
      connection.onCommand = (command) =>
        command.line.startsWith("bgapi ")
          ? connection.commandReply(`+OK Job-UUID: ${command.headers["Job-UUID"]}`)
          : freeswitch(command);
    });
    const client = startClient(peer, { events: { format: "plain", names: [] }, jobTimeoutMs: 150 });
    await client.connect();
    const job = await client.bgapi("status");
    await expect(job.completion).rejects.toThrow(EslTimeoutError);
    expect(client.pendingJobs).toBe(0);
  });

  test("a connection lost mid-body rejects every outstanding command and job with EslConnectionError", async () => {
    const peer = await startPeer((connection, index) => {
      connection.actLikeFreeSwitch();
      if (index > 0) return;
      const freeswitch = connection.onCommand;
      connection.onCommand = (command) => {
        if (command.line.startsWith("bgapi ")) connection.commandReply("+OK Job-UUID: j");
        else if (command.line === "api third") {
          connection.send("Content-Type: api/response\nContent-Length: 100\n\nonly part of the body\n");
          setTimeout(() => connection.socket.destroy(), 20);
        } else if (!command.line.startsWith("api ")) freeswitch(command);
      };
    });
    const client = startClient(peer, { events: { format: "plain", names: [] } });
    await client.connect();
    const job = await client.bgapi("status");
    const outstanding = ["first", "second", "third"].map((c) => client.api(c).catch((e: Error) => e));
    const disconnected = next(client, "disconnected");
    for (const failure of await Promise.all(outstanding)) expect(failure).toBeInstanceOf(EslConnectionError);
    await expect(job.completion).rejects.toThrow(EslConnectionError);
    await disconnected;
    expect(client.outstanding).toBe(0);
  });
});

describe("reconnecting", () => {
  test("Backoff: delays grow by the factor per attempt, stop at the cap, jitter stays in its band", () => {
    const options = { initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0.5, resetAfterMs: 30_000 };
    const delays = (random: () => number) => {
      const backoff = new Backoff(options, random);
      return Array.from({ length: 7 }, () => backoff.next());
    };
    expect(delays(() => 1)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(delays(() => 0)).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(delays(() => 0.5)).toEqual([75, 150, 300, 600, 750, 750, 750]);
  });

  test("Backoff: a connection that lasted resetAfterMs earns a fresh start; a short one does not", () => {
    const backoff = new Backoff({ initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0, resetAfterMs: 5_000 });
    backoff.next();
    backoff.next();
    backoff.connectionLasted(4_999);
    expect(backoff.next()).toBe(400);
    backoff.connectionLasted(5_000);
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  test("Backoff: refuses options that cannot describe a backoff", () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 50 })).toThrow(RangeError);
    expect(() => new Backoff({ jitter: 1.5 })).toThrow(RangeError);
  });

  test("the client waits longer after each failed attempt, up to the cap", async () => {
    const peer = await startPeer((connection) => connection.socket.destroy());
    const client = startClient(peer, { backoff: { initialMs: 10, factor: 2, maxMs: 80, jitter: 0 } });
    const scheduled: Array<{ delayMs: number; attempt: number }> = [];
    const sixth = new Promise<void>((resolve) =>
      client.on("reconnecting", (info) => {
        if (scheduled.push(info) === 6) resolve();
      }),
    );
    void client.connect();
    await sixth;
    await client.close();
    expect(scheduled).toEqual([10, 20, 40, 80, 80, 80].map((delayMs, i) => ({ delayMs, attempt: i + 1 })));
    // The peer saw the waits: each new connection came at least the scheduled delay after the last one closed.
    for (let i = 1; i < 6; i++) {
      const gap = (peer.connections[i]?.connectedAt ?? 0) - (peer.connections[i - 1]?.closedAt ?? 0);
      expect(gap).toBeGreaterThanOrEqual((scheduled[i - 1]?.delayMs ?? 0) - 2);
    }
  });

  test("after a reconnect, the same event subscription and filters are sent again", async () => {
    const peer = await startPeer((connection) => connection.actLikeFreeSwitch());
    const client = startClient(peer, {
      events: { format: "plain", names: ["CHANNEL_CREATE", "CHANNEL_ANSWER"] },
      filters: [["Event-Name", "CHANNEL_CREATE"]],
    });
    await client.connect();
    await client.subscribe("plain", ["DTMF"]);
    await client.filter("Unique-ID", "abc");
    const readyAgain = next(client, "ready");
    peer.connections[0]?.socket.destroy();
    expect(await readyAgain).toEqual([{ attempt: 2 }]);
    const lines = (i: number) => peer.connections[i]?.commands.map((c) => c.line);
    expect(lines(0)).toEqual([
      "auth ClueCon",
      "event plain CHANNEL_CREATE CHANNEL_ANSWER BACKGROUND_JOB",
      "filter Event-Name CHANNEL_CREATE",
      "event plain CHANNEL_CREATE CHANNEL_ANSWER BACKGROUND_JOB DTMF",
      "filter Unique-ID abc",
    ]);
    expect(lines(1)).toEqual([
      "auth ClueCon",
      "event plain CHANNEL_CREATE CHANNEL_ANSWER BACKGROUND_JOB DTMF",
      "filter Event-Name CHANNEL_CREATE",
      "filter Unique-ID abc",
    ]);
  });

  test("half-open: a peer that stops answering is dropped after idleTimeoutMs, and the client reconnects", async () => {
    const peer = await startPeer((connection, index) => {
      connection.actLikeFreeSwitch();
      if (index > 0) return;
      const freeswitch = connection.onCommand;
      connection.onCommand = (command) => {
        // Answers the handshake, then goes silent with the socket still open.
        if (command.line.startsWith("auth ")) freeswitch(command);
      };
    });
    const client = startClient(peer, { liveness: { idleTimeoutMs: 300, probeIntervalMs: 100 } });
    await client.connect();
    const readyAt = Date.now();
    const [reason] = (await next(client, "disconnected")) as [Error];
    const detectedAfter = Date.now() - readyAt;
    expect(reason.message).toMatch(/half-open/);
    expect(peer.connections[0]?.commands.map((c) => c.line)).toContain("api uptime"); // the probe
    expect(detectedAfter).toBeGreaterThanOrEqual(300);
    expect(detectedAfter).toBeLessThan(3_000);
    expect(await next(client, "ready")).toEqual([{ attempt: 2 }]);
  });

  test("a command sent after a quiet spell gets its full idleTimeoutMs (not counted from the last byte)", async () => {
    const peer = await startPeer((connection) => {
      connection.actLikeFreeSwitch();
      const freeswitch = connection.onCommand;
      connection.onCommand = (command) =>
        command.line === "api slow"
          ? setTimeout(() => connection.apiResponse("done\n"), 100)
          : freeswitch(command);
    });
    const client = startClient(peer, { liveness: { idleTimeoutMs: 400, probeIntervalMs: 0 } });
    await client.connect();
    await sleep(800); // nothing on the wire for twice idleTimeoutMs
    const answer = await client.api("slow");
    expect(answer.body).toBe("done\n");
    expect(peer.connections).toHaveLength(1);
  });
});

describe("what FreeSWITCH pushes", () => {
  test("events, log/data and the disconnect-notice reach their listeners", async () => {
    const log = firstFrame("14-log-data", (f) => f.headers["Content-Type"] === "log/data");
    const plain = firstFrame("03-lifecycle-event-plain", (f) => f.event_headers_decoded !== undefined);
    const json = firstFrame("04a-lifecycle-event-json", (f) => f.event_json !== undefined);
    const notice = firstFrame(
      "07a-fsctl-shutdown-midstream",
      (f) => f.headers["Content-Type"] === "text/disconnect-notice",
    );
    const peer = await startPeer((connection, index) => {
      connection.actLikeFreeSwitch();
      if (index > 0) return;
      const freeswitch = connection.onCommand;
      connection.onCommand = (command) => {
        freeswitch(command);
        if (!command.line.startsWith("event ")) return;
        connection.send(Buffer.concat([log, plain, json, notice].map(capturedBytes)));
        connection.socket.end();
      };
    });
    const client = startClient(peer, { events: { format: "plain", names: ["ALL"] } });
    const logs: EslFrame[] = [];
    const events: EslEvent[] = [];
    const notices: string[] = [];
    client.on("log", (frame) => logs.push(frame));
    client.on("event", (event) => events.push(event));
    client.on("disconnectNotice", (text) => notices.push(text));
    const disconnected = next(client, "disconnected");
    await client.connect();
    await disconnected;
    expect(logs.map((f) => [f.header("Log-Level"), f.bodyText()])).toEqual([
      [log.headers["Log-Level"], log.body],
    ]);
    expect(events.map((e) => [e.format, e.name, e.uniqueId])).toEqual([
      ["plain", plain.event_headers_decoded?.["Event-Name"], plain.event_headers_decoded?.["Unique-ID"]],
      ["json", json.event_json?.["Event-Name"], json.event_json?.["Unique-ID"]],
    ]);
    expect(notices).toEqual(["The system is being shut down.\n"]);
    expect(await next(client, "ready")).toEqual([{ attempt: 2 }]);
  });
});

describe("write backpressure", () => {
  test("when the peer stops reading, commands beyond maxPendingWriteBytes are refused until it drains", async () => {
    const peer = await startPeer((connection) => connection.actLikeFreeSwitch());
    const maxPendingWriteBytes = 256 * 1024;
    const client = startClient(peer, { maxPendingWriteBytes, commandTimeoutMs: 60_000 });
    await client.connect();
    peer.connections[0]?.socket.pause();
    const big = `echo ${"x".repeat(64 * 1024)}`;
    const sent: Array<Promise<unknown>> = [];
    // Each api() writes synchronously: fill the kernel buffers, then the client's own outbox.
    while (client.pendingWriteBytes + big.length <= maxPendingWriteBytes && sent.length < 5_000) {
      sent.push(client.api(big));
    }
    expect(sent.length).toBeLessThan(5_000);
    await expect(client.api(big)).rejects.toThrow(EslBackpressureError);
    await sleep(100); // the peer still is not reading: nothing drains
    expect(client.pendingWriteBytes).toBeGreaterThan(0);
    await expect(client.api(big)).rejects.toThrow(EslBackpressureError);

    peer.connections[0]?.socket.resume();
    await Promise.all(sent);
    expect(client.pendingWriteBytes).toBe(0);
    expect((await client.api("status")).body).toBe("+OK\n");
  });
});
