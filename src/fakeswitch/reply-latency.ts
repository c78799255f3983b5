/**
 * How long the double waits before handling each command: a fixed delay (`delayReplies`) plus, when set,
 * a load-dependent one that models FreeSWITCH under CPU pressure, where the listener threads compete with
 * the media and state-machine threads of every live channel and with call setup.
 */
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

export class ReplyLatency {
  fixedMs = 0;
  load: LoadLatency | undefined;

  constructor(private readonly inputs: () => LoadInputs) {}

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
