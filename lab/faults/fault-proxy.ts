import net from "node:net";
import type { Fault } from "../../src/harness/run/scenario.ts";

export interface Endpoint {
  host: string;
  port: number;
}

/** The faults a link keeps until they are cleared (the scenario's `Fault` says what each carries). */
export const linkFaultKinds = ["latency", "bandwidth", "blackhole", "refuse"] as const;
export type LinkFaultKind = (typeof linkFaultKinds)[number];
export type LinkFault = Extract<Fault, { kind: LinkFaultKind }>;

/** How `cut` closes connections: FIN (an orderly close) or RST (a reset, as a crashed peer or firewall). */
export type CutMode = "fin" | "rst";

export interface ProxyStatus {
  name: string;
  listen: Endpoint;
  target: Endpoint;
  listening: boolean;
  connections: number;
  accepted: number;
  cut: number;
  bytes: { toTarget: number; fromTarget: number };
  faults: LinkFault[];
}

/** Checks a fault that arrived as JSON (control API) or was built from flags; the message says what is wrong. */
export function parseLinkFault(input: unknown): LinkFault {
  const fault = (typeof input === "object" && input !== null ? input : {}) as Record<string, unknown>;
  const number = (key: string, min: number): number => {
    const value = fault[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < min)
      throw new Error(`${String(fault.kind)}: ${key} must be a number >= ${min}`);
    return value;
  };
  switch (fault.kind) {
    case "latency":
      return {
        kind: "latency",
        ms: number("ms", 0),
        jitterMs: fault.jitterMs === undefined ? 0 : number("jitterMs", 0),
      };
    case "bandwidth":
      return { kind: "bandwidth", bytesPerSec: number("bytesPerSec", 1) };
    case "blackhole":
    case "refuse":
      return { kind: fault.kind };
    default:
      throw new Error(
        `unknown link fault ${JSON.stringify(fault.kind)}; known: ${linkFaultKinds.join(", ")}`,
      );
  }
}

interface FaultState {
  latency?: { ms: number; jitterMs: number };
  bandwidth?: { bytesPerSec: number };
  blackhole: boolean;
  refuse: boolean;
}

/** Above this many bytes held in one direction the sender is paused, as a full socket buffer would. */
const highWaterBytes = 256 * 1024;
/** With a bandwidth cap, bytes go out in slices of this share of a second, so the rate is smooth. */
const sliceSeconds = 0.02;
/** A FIN-cut connection whose peer never closes its side is destroyed after this long. */
const finGraceMs = 1_000;

/**
 * A TCP proxy for one link of the lab (gateway → FreeSWITCH ESL, gateway → NATS) whose faults can be
 * switched at run time: latency with jitter, a bandwidth cap, a blackhole (half-open: bytes are held, not
 * forwarded), refusing new connections, and cutting every connection with FIN or RST. Listens on loopback.
 */
export class FaultProxy {
  private server: net.Server | undefined;
  private readonly connections = new Set<ProxiedConnection>();
  private readonly faults: FaultState = { blackhole: false, refuse: false };
  private accepted = 0;
  private cutCount = 0;
  private readonly bytes = { toTarget: 0, fromTarget: 0 };
  private boundPort: number;

  constructor(
    readonly name: string,
    private readonly listenOn: Endpoint,
    readonly target: Endpoint,
  ) {
    this.boundPort = listenOn.port;
  }

  get listen(): Endpoint {
    return { host: this.listenOn.host, port: this.boundPort };
  }

  async start(): Promise<Endpoint> {
    await this.openListener();
    return this.listen;
  }

  set(fault: LinkFault): void {
    switch (fault.kind) {
      case "latency":
        this.faults.latency = { ms: fault.ms, jitterMs: fault.jitterMs ?? 0 };
        break;
      case "bandwidth":
        this.faults.bandwidth = { bytesPerSec: fault.bytesPerSec };
        break;
      case "blackhole":
        this.faults.blackhole = true;
        break;
      case "refuse":
        this.faults.refuse = true;
        this.closeListener();
        break;
    }
    this.faultsChanged();
  }

  async clear(kind?: LinkFaultKind): Promise<void> {
    const kinds = kind ? [kind] : linkFaultKinds;
    for (const k of kinds) {
      if (k === "latency") this.faults.latency = undefined;
      else if (k === "bandwidth") this.faults.bandwidth = undefined;
      else this.faults[k] = false;
    }
    if (!this.faults.refuse && !this.server) await this.openListener();
    this.faultsChanged();
  }

  /** Closes every open connection now, both sides, with FIN or RST; returns how many. */
  cut(mode: CutMode): number {
    const count = this.connections.size;
    for (const connection of this.connections) connection.cut(mode);
    this.cutCount += count;
    return count;
  }

  status(): ProxyStatus {
    const faults: LinkFault[] = [];
    if (this.faults.latency) faults.push({ kind: "latency", ...this.faults.latency });
    if (this.faults.bandwidth) faults.push({ kind: "bandwidth", ...this.faults.bandwidth });
    if (this.faults.blackhole) faults.push({ kind: "blackhole" });
    if (this.faults.refuse) faults.push({ kind: "refuse" });
    return {
      name: this.name,
      listen: this.listen,
      target: this.target,
      listening: this.server !== undefined,
      connections: this.connections.size,
      accepted: this.accepted,
      cut: this.cutCount,
      bytes: { ...this.bytes },
      faults,
    };
  }

  async close(): Promise<void> {
    this.closeListener();
    this.cut("fin");
  }

  private faultsChanged(): void {
    for (const connection of this.connections) connection.faultsChanged();
  }

  /** A new server each time: a refused link stops listening altogether, so connects get ECONNREFUSED. */
  private openListener(): Promise<void> {
    // noDelay on both sides: Nagle's algorithm would hold small writes (ESL commands) for a delayed ACK, adding
    // tens of milliseconds that are the proxy's, not the link's.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) =>
      this.accept(client),
    );
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: this.listenOn.host, port: this.boundPort, exclusive: true }, () => {
        server.off("error", reject);
        const address = server.address();
        if (typeof address === "object" && address) this.boundPort = address.port;
        this.server = server;
        resolve();
      });
    });
  }

  private closeListener(): void {
    this.server?.close();
    this.server = undefined;
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const connection = new ProxiedConnection(client, this.target, this.faults, this.bytes, () =>
      this.connections.delete(connection),
    );
    this.connections.add(connection);
  }
}

/** One client connection and its upstream twin. The upstream is dialled once the link is not blackholed. */
class ProxiedConnection {
  private upstream: net.Socket | undefined;
  private readonly directions: Direction[] = [];
  private closed = false;

  constructor(
    private readonly client: net.Socket,
    private readonly target: Endpoint,
    private readonly faults: FaultState,
    private readonly bytes: ProxyStatus["bytes"],
    private readonly onClosed: () => void,
  ) {
    client.on("error", () => this.abort());
    client.on("close", () => this.sideClosed());
    if (!faults.blackhole) this.dial();
  }

  faultsChanged(): void {
    if (!this.upstream && !this.faults.blackhole && !this.closed) this.dial();
    for (const direction of this.directions) direction.pump();
  }

  cut(mode: CutMode): void {
    if (this.closed) return;
    this.closed = true;
    for (const direction of this.directions) direction.discard();
    for (const socket of [this.client, this.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (mode === "rst") socket.resetAndDestroy();
      else {
        socket.end();
        setTimeout(() => socket.destroy(), finGraceMs).unref();
      }
    }
    this.onClosed();
  }

  private dial(): void {
    const upstream = net.connect({
      host: this.target.host,
      port: this.target.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.upstream = upstream;
    upstream.pause();
    upstream.once("connect", () => {
      if (this.closed || this.client.destroyed) {
        upstream.destroy();
        return;
      }
      this.directions.push(
        new Direction(this.client, upstream, this.faults, (n) => {
          this.bytes.toTarget += n;
        }),
        new Direction(upstream, this.client, this.faults, (n) => {
          this.bytes.fromTarget += n;
        }),
      );
    });
    // A target that refuses or resets: the client sees a reset, the nearest a proxy can come to the same.
    upstream.on("error", () => this.abort());
    upstream.on("close", () => this.sideClosed());
  }

  /** A socket error on either side: reset the other side too. */
  private abort(): void {
    this.cut("rst");
  }

  /**
   * A side closed. Its FIN reaches the other side through its Direction once the held bytes are through;
   * a client that left before the upstream was even connected takes the upstream with it.
   */
  private sideClosed(): void {
    if (this.closed) return;
    const upstreamGone = !this.upstream || this.upstream.destroyed;
    if (this.client.destroyed && upstreamGone) {
      this.closed = true;
      this.onClosed();
    } else if (this.client.destroyed && this.directions.length === 0) this.upstream?.destroy();
  }
}

/** One direction of a connection: reads `from`, holds, delays and throttles per the link's faults, writes `to`. */
class Direction {
  private readonly queue: Buffer[] = [];
  private readonly dueAt: number[] = [];
  private queuedBytes = 0;
  /** Keeps chunks in order when jitter would reorder them. */
  private lastDueAt = 0;
  /** When the link finishes sending the previous slice at the bandwidth cap. */
  private linkFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private ended = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly faults: FaultState,
    private readonly count: (bytes: number) => void,
  ) {
    from.on("data", (chunk: Buffer) => this.push(chunk));
    from.on("end", () => {
      this.ended = true;
      this.pump();
    });
    to.on("drain", () => {
      this.waitingForDrain = false;
      this.pump();
    });
    this.pump();
  }

  discard(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
    this.dueAt.length = 0;
    this.queuedBytes = 0;
  }

  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.faults.blackhole && !this.waitingForDrain) this.deliverDue();
    this.updateReading();
    if (this.ended && this.queue.length === 0 && !this.to.destroyed && !this.to.writableEnded) this.to.end();
  }

  private push(chunk: Buffer): void {
    const now = performance.now();
    const latency = this.faults.latency;
    const delay = latency ? Math.max(0, latency.ms + (Math.random() * 2 - 1) * latency.jitterMs) : 0;
    const dueAt = Math.max(now + delay, this.lastDueAt);
    this.lastDueAt = dueAt;
    this.queue.push(chunk);
    this.dueAt.push(dueAt);
    this.queuedBytes += chunk.length;
    this.pump();
  }

  private deliverDue(): void {
    while (this.queue.length > 0) {
      const now = performance.now();
      const bandwidth = this.faults.bandwidth;
      let chunk = this.queue[0]!;
      if (bandwidth) {
        const slice = Math.max(1, Math.floor(bandwidth.bytesPerSec * sliceSeconds));
        if (chunk.length > slice) chunk = chunk.subarray(0, slice);
      }
      const sendAt = Math.max(this.dueAt[0]!, bandwidth ? this.linkFreeAt : 0);
      const deliverAt = sendAt + (bandwidth ? (chunk.length * 1000) / bandwidth.bytesPerSec : 0);
      if (deliverAt > now + 1) {
        this.timer = setTimeout(() => this.pump(), deliverAt - now);
        return;
      }
      this.linkFreeAt = Math.max(deliverAt, now);
      if (chunk.length === this.queue[0]!.length) {
        this.queue.shift();
        this.dueAt.shift();
      } else this.queue[0] = this.queue[0]!.subarray(chunk.length);
      this.queuedBytes -= chunk.length;
      this.count(chunk.length);
      if (this.to.destroyed) continue;
      if (!this.to.write(chunk)) {
        this.waitingForDrain = true;
        return;
      }
    }
  }

  /** Read while the link forwards and the held bytes fit; otherwise leave them in the sender's socket. */
  private updateReading(): void {
    const read = !this.faults.blackhole && !this.waitingForDrain && this.queuedBytes < highWaterBytes;
    if (read) this.from.resume();
    else this.from.pause();
  }
}
