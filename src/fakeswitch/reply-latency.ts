import type { LoadModel } from "./load-profile.ts";
import { ServiceQueue } from "./service-queue.ts";

/**
 * How long the double waits before handling each command: a fixed delay (`delayReplies`) plus, when set,
 * a load-dependent one that models FreeSWITCH under CPU pressure, where the listener threads compete with
 * the media and state-machine threads of every live channel and with call setup: either the hand-set
 * `LoadLatency`, or a calibrated `LoadModel` (load-profile.ts): a queue that originates load and commands
 * wait behind.
 */
/** The fields of a LoadLatency, as the CLI (`--load-latency k=v,...`) and the control API take them. */
export const loadLatencyKeys = [
  "baseMs",
  "perChannelMs",
  "perOriginatePerSecondMs",
  "saturationChannels",
  "maxMs",
] as const satisfies ReadonlyArray<keyof LoadLatency>;

export interface LoadLatency {
  /** Added to every reply while the load model is on. */
  baseMs?: number;
  /** Per live channel. */
  perChannelMs?: number;
  /** Per originate a second (the recent originate rate, ~1 s decay). */
  perOriginatePerSecondMs?: number;
  /**
   * Live channels at which the switch saturates: the delay is multiplied by 1 / (1 − channels/saturation),
   * as a queue's waiting time grows near full utilisation, so it climbs slowly, then steeply.
   */
  saturationChannels?: number;
  /** Upper bound of the load-dependent delay (default 30000). */
  maxMs?: number;
}

export interface LoadInputs {
  channels: number;
  originatesPerSecond: number;
}

/** What becomes of an originate under a calibrated model: it starts after `delayMs`, or fails with `cause`. */
export type OriginateAdmission = { delayMs: number } | { failAfterMs: number; cause: string };

export class ReplyLatency {
  fixedMs = 0;
  load: LoadLatency | undefined;
  private calibrated: { model: LoadModel; queue: ServiceQueue } | undefined;

  constructor(private readonly inputs: () => LoadInputs) {}

  /** Turns the calibrated model on (a fresh, empty queue) or, with undefined, off. */
  calibrate(model: LoadModel | undefined, queue = new ServiceQueue()): void {
    this.calibrated = model && { model, queue };
  }

  /**
   * An originate's call set-up joins the queue: it starts when served (plus the model's fixed job latency).
   * One that would wait longer than the model's job timeout fails after that timeout instead, and its work
   * never joins the queue: a saturated FreeSWITCH gives such calls up (its SIP timers, its session
   * refusals) before their set-up is done.
   */
  admitOriginate(): OriginateAdmission {
    const calibrated = this.calibrated;
    if (!calibrated) return { delayMs: 0 };
    const { model, queue } = calibrated;
    if (queue.backlogMs() > model.jobTimeoutMs)
      return { failAfterMs: model.jobTimeoutMs, cause: model.timeoutCause };
    return { delayMs: model.jobBaseMs + queue.admit(model.originateServiceMs) };
  }

  /**
   * Under a calibrated model, how long after its arrival a command is handled, ms (0 without one): it adds
   * no work of its own but waits behind a share of the originates' backlog. Counted from arrival, so that
   * the delays of pipelined commands overlap rather than add up: added up, past the knee they would throttle
   * the connection itself to a few commands a second, which the real switch did not show.
   */
  calibratedCommandMs(): number {
    const calibrated = this.calibrated;
    if (!calibrated) return 0;
    const { model, queue } = calibrated;
    return (
      model.commandBaseMs +
      model.commandQueueShare * Math.max(0, queue.backlogMs() - model.originateServiceMs)
    );
  }

  /** The delay before the next command is handled, in ms (0: handle it at once). */
  currentMs(): number {
    const load = this.load;
    if (!load) return this.fixedMs;
    const { channels, originatesPerSecond } = this.inputs();
    let ms =
      (load.baseMs ?? 0) +
      (load.perChannelMs ?? 0) * channels +
      (load.perOriginatePerSecondMs ?? 0) * originatesPerSecond;
    const saturation = load.saturationChannels;
    const maxMs = load.maxMs ?? 30_000;
    if (saturation !== undefined && saturation > 0) {
      const utilisation = channels / saturation;
      ms = utilisation >= 1 ? maxMs : ms / (1 - utilisation);
    }
    return this.fixedMs + Math.min(maxMs, Math.max(0, ms));
  }
}
