import { randomUUID } from "node:crypto";
import type { CallTracker } from "../measure/telecom.ts";
import {
  OPERATIONS,
  type Operation,
  type OriginateApplication,
  type RequestMix,
  type TransferTarget,
} from "../run/scenario.ts";
import type { HttpRequestSpec } from "./http-load.ts";

/** One request of the mix: which command, on which call, and whether it stood in for another. */
export interface MixedRequest {
  operation: Operation;
  callUuid: string;
  /** The gateway it goes to. */
  origin: string;
  /** A mid-call command was drawn but no call was up: this originate was sent instead. */
  fallback: boolean;
  spec: HttpRequestSpec;
}

/** Defaults that any FreeSWITCH with the lab's dialplan (lab/freeswitch/freeswitch.xml) and the double take. */
const DEFAULT_APPLICATION: OriginateApplication = { name: "park" };
const DEFAULT_PLAY = "tone_stream://%(100,0,440)";
const DEFAULT_TRANSFER: TransferTarget = { extension: "9999" };

/** Where a mix's originates go, per gateway (by its base URL). */
export interface MixGateway {
  /** The dial string of its originates. */
  destination: string;
  /** Its FreeSWITCH is the double: only it is sent the per-call hold (`fakeswitch_hold_ms`). */
  double: boolean;
}

/** A mix whose destinations are known, one per gateway (by its base URL). */
export type ResolvedRequestMix = Omit<RequestMix, "destination"> & {
  gateways: Readonly<Record<string, MixGateway>>;
};

/**
 * Draws the commands of a request mix by weight. Originates carry a fresh call uuid (so their events can be
 * followed) and, when the mix says so and the gateway's FreeSWITCH is the double, a hold time for it, and go to the gateways in
 * turn; play, transfer and hangup go to a random answered call that is still up, through the gateway that
 * made it (the one whose FreeSWITCH has the channel).
 */
export class RequestMixer {
  private readonly cumulative: Array<{ operation: Operation; upTo: number }> = [];
  private readonly total: number;
  private originates = 0;

  constructor(
    private readonly mix: ResolvedRequestMix,
    private readonly token: string,
    private readonly calls: CallTracker,
    /** Gateways' base URLs; originates go to each in turn. */
    private readonly origins: readonly string[],
    private readonly random: () => number = Math.random,
  ) {
    if (origins.length === 0) throw new RangeError("a request mix needs a gateway");
    const unplaced = origins.filter((origin) => !mix.gateways[origin]);
    if (unplaced.length > 0)
      throw new RangeError(
        `a request mix needs a destination for every gateway, not for ${unplaced.join(", ")}`,
      );
    let sum = 0;
    for (const operation of OPERATIONS) {
      const weight = mix.weights[operation] ?? 0;
      if (!(weight >= 0) || !Number.isFinite(weight))
        throw new RangeError(`mix weight of ${operation} must be >= 0`);
      if (weight === 0) continue;
      sum += weight;
      this.cumulative.push({ operation, upTo: sum });
    }
    if (!(sum > 0)) throw new RangeError("a request mix needs at least one positive weight");
    this.total = sum;
    const [min, max] = mix.holdMs ?? [0, 0];
    if (mix.holdMs && !(min >= 0 && max >= min))
      throw new RangeError("holdMs must be [min, max] with 0 <= min <= max");
  }

  next(): MixedRequest {
    const drawn = this.draw();
    if (drawn === "originate") return this.originate(false);
    const callUuid = this.calls.pickLive(this.random);
    if (callUuid === undefined) return this.originate(true);
    const origin = this.calls.originOf(callUuid) ?? this.origins[0]!;
    const request = (body: unknown): MixedRequest => ({
      operation: drawn,
      callUuid,
      origin,
      fallback: false,
      spec: {
        method: "POST",
        path: `/api/v1/fs/${drawn}/${encodeURIComponent(callUuid)}`,
        headers: this.headers(),
        body,
        origin,
      },
    });
    switch (drawn) {
      case "play":
        return request({ file: this.mix.playFile ?? DEFAULT_PLAY });
      case "transfer":
        return request(this.mix.transfer ?? DEFAULT_TRANSFER);
      case "hangup":
        this.calls.release(callUuid); // not offered again while its hangup is on the way
        return request({ cause: "NORMAL_CLEARING" });
    }
  }

  private originate(fallback: boolean): MixedRequest {
    const callUuid = randomUUID();
    const origin = this.origins[this.originates++ % this.origins.length]!;
    const gateway = this.mix.gateways[origin]!;
    const variables =
      this.mix.holdMs && gateway.double ? { fakeswitch_hold_ms: Math.round(this.holdMs()) } : undefined;
    return {
      operation: "originate",
      callUuid,
      origin,
      fallback,
      spec: {
        method: "POST",
        path: "/api/v1/fs/originate",
        origin,
        headers: this.headers(),
        body: {
          destination: gateway.destination,
          application: this.mix.application ?? DEFAULT_APPLICATION,
          call_uuid: callUuid,
          ...(variables ? { variables } : {}),
        },
      },
    };
  }

  private holdMs(): number {
    const [min, max] = this.mix.holdMs ?? [0, 0];
    return min + (max - min) * this.random();
  }

  private draw(): Operation {
    const at = this.random() * this.total;
    return (this.cumulative.find((entry) => at < entry.upTo) ?? this.cumulative.at(-1)!).operation;
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }
}
