import type { CallProfile } from "./call-model.ts";
import type { InboundCall } from "./inbound-calls.ts";
import type { LoadLatency } from "./reply-latency.ts";
import type { FakeSwitchStats } from "./server.ts";

/** The profile as the control API shows it: JSON has no Infinity, so an endless hold is `"inf"`. */
export type ProfileJson = {
  [K in keyof CallProfile]: CallProfile[K] extends number ? number : CallProfile[K] | "inf";
};

/**
 * A client of the double's control API (control-api.ts), for tests, scenarios and the lab when the
 * double runs in another process. Each method is the FakeSwitch method of the same name.
 */
export class FakeSwitchControl {
  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  stats(): Promise<FakeSwitchStats & { coreUuid: string; port: number }> {
    return this.request("GET", "/stats");
  }
  profile(): Promise<ProfileJson> {
    return this.request("GET", "/profile");
  }
  setProfile(profile: Partial<ProfileJson>): Promise<ProfileJson> {
    return this.request("PATCH", "/profile", profile);
  }
  dropConnections(how: "fin" | "rst"): Promise<void> {
    return this.request("POST", "/drop-connections", { how });
  }
  /** Answers at once; connects are refused for `ms` from then on. */
  refuseConnections(ms: number): Promise<void> {
    return this.request("POST", "/refuse-connections", { ms });
  }
  halfOpen(on: boolean): Promise<void> {
    return this.request("POST", "/half-open", { on });
  }
  delayReplies(ms: number): Promise<void> {
    return this.request("POST", "/delay-replies", { ms });
  }
  setLoadLatency(latency: LoadLatency | undefined): Promise<void> {
    return this.request("POST", "/load-latency", latency ?? {});
  }
  capEventRate(perSecond: number): Promise<void> {
    return this.request("POST", "/event-rate", { perSecond });
  }
  pauseEvents(): Promise<void> {
    return this.request("POST", "/pause-events");
  }
  resumeEvents(): Promise<void> {
    return this.request("POST", "/resume-events");
  }
  eventBurst(n: number, event?: string): Promise<void> {
    return this.request("POST", "/event-burst", { n, event });
  }
  sendMalformedFrame(): Promise<void> {
    return this.request("POST", "/malformed-frame");
  }
  /** Rejects with the cause (503) when the switch refuses the call. */
  inboundCall(call: InboundCall): Promise<{ uuid: string }> {
    return this.request("POST", "/inbound", call);
  }
  shutdown(opts: { notice?: boolean; lingerMs?: number } = {}): Promise<void> {
    return this.request("POST", "/shutdown", opts);
  }
  restart(): Promise<{ coreUuid: string; port: number }> {
    return this.request("POST", "/restart");
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(10_000),
    });
    const parsed = (await response.json()) as T & { error?: string };
    if (!response.ok)
      throw new Error(`fakeswitch control ${method} ${path}: ${parsed.error ?? response.status}`);
    return parsed;
  }
}
