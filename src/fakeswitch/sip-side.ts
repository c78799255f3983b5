import type { TimerValues } from "../sip/timers.ts";
import type { Peer } from "../sip/transport.ts";
import { UserAgent } from "../sip/user-agent.ts";
import type { CallModel, FarEndLeg, FarEndReport, SipFarEnd } from "./call-model.ts";
import type { Channel } from "./channel.ts";
import { causeOfSipStatus } from "./sip-causes.ts";
import { T } from "./template-tokens.ts";

/** The sofia profile a SIP side is unless told otherwise: the one FreeSWITCH's carrier gateways use. */
const DEFAULT_SIP_PROFILE = "external";

export interface SipSideOptions {
  /**
   * The sofia profile this SIP side is (mod_sofia binds one UDP port per profile); default `external`.
   * Legs `sofia/<profile>/…` go out over SIP; legs of other profiles get the double's own far end.
   */
  profile?: string;
  /** The instance's own UDP port on 127.0.0.1 (0: a free one). Kamailio's dispatcher probes it. */
  port?: number;
  /** Every outbound INVITE goes here (sofia's outbound-proxy): the lab's Kamailio. */
  outboundProxy?: Peer;
  timers?: Partial<TimerValues>;
}

/**
 * The double's SIP side, as one mod_sofia profile: `sofia/<profile>/<user>@<host:port>` legs become INVITEs
 * (through the outbound proxy) whose responses drive the channel; INVITEs from outside become inbound
 * channels, parked and ringing until uuid_answer; OPTIONS are answered 200 (sofia's default), so a
 * dispatcher probing this instance sees it alive.
 */
export class SipSide implements SipFarEnd {
  private constructor(
    private readonly ua: UserAgent,
    private readonly proxy: Peer | undefined,
    readonly profile: string,
  ) {}

  static async start(model: CallModel, opts: SipSideOptions): Promise<SipSide> {
    const ua = await UserAgent.start({
      port: opts.port ?? 0,
      name: "FreeSWITCH (fs-esl-lab double)",
      ...(opts.timers && { timers: opts.timers }),
    });
    const side = new SipSide(ua, opts.outboundProxy, opts.profile ?? DEFAULT_SIP_PROFILE);
    ua.onInvite = (call) => {
      const result = model.inbound({ from: call.from || "anonymous", fromName: call.fromName, to: call.to });
      if (typeof result === "string") {
        // switch_core_session_request_uuid refused: sofia answers 503 (sofia_handle_sip_i_invite).
        call.reject(503);
        return;
      }
      const channel = result;
      call.events = {
        cancelled: () => model.hangup(channel, "ORIGINATOR_CANCEL", "recv_cancel"),
        ended: (by) => by === "remote" && model.hangup(channel, "NORMAL_CLEARING", "recv_bye"),
      };
      model.attachFarEnd(channel, { answer: () => call.answer(), hangup: () => call.hangup() });
      call.ringing();
    };
    model.farEnd = side;
    return side;
  }

  get port(): number {
    return this.ua.port;
  }

  get stats() {
    return this.ua.stats;
  }

  /** sofia_outgoing_channel + the INVITE: its 1xx, 2xx or final error reported as channel events. */
  dial(channel: Channel, report: FarEndReport): FarEndLeg {
    const { dest, hostPort } = channel.destination;
    const call = this.ua.invite(
      {
        to: `sip:${dest}@${hostPort}`,
        from: channel.tokens.get(T.CID_NUM),
        ...(this.proxy && { via: this.proxy }),
        headers: [["X-FS-UUID", channel.uuid]],
      },
      {
        progress: (_status, earlyMedia) => report.progress(earlyMedia),
        answered: () => report.answer(),
        failed: (status) => report.hangup(causeOfSipStatus(status), "recv_refuse"),
        ended: (by) => by === "remote" && report.hangup("NORMAL_CLEARING", "recv_bye"),
      },
    );
    return { hangup: () => call.hangup() };
  }

  close(): Promise<void> {
    return this.ua.close();
  }
}
