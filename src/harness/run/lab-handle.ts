import type { SampledProcess } from "../measure/process-sampler.ts";
import type { SipHandle } from "../measure/sip-numbers.ts";
import type { Fault } from "./scenario.ts";

/**
 * Dial strings that reach a far end that answers. The double answers `sofia/internal/…` itself, off SIP
 * (its profile's answer delay and hold); a lab's real FreeSWITCH sends `sofia/external/…` through Kamailio
 * (its outbound proxy) to the SIPp carrier, which answers after 20 ms and hangs up after 500 ms. The host is
 * an address, not a name: FreeSWITCH resolves a name with gethostbyname, one lookup at a time under glibc's
 * lock, through the machine's resolver (off the machine), and at 50–80 calls/s here the originates queued
 * behind it (docs/calibration.md).
 */
export const farEnds = {
  double: "sofia/internal/1000@127.0.0.1:5090",
  freeswitch: "sofia/external/1000@127.0.0.1",
} as const;

/**
 * A scenario this lab cannot run as written (a fault its FreeSWITCH cannot take, originates with nowhere to
 * go), refused before the run; the message says what to change.
 */
export class LabMismatchError extends Error {
  override name = "LabMismatchError";
}

/** A gateway's FreeSWITCH as the lab knows it. */
export interface LabFreeswitch {
  /** Its component name, the target of the faults aimed at it (`fakeswitch`, `freeswitch`...). */
  name: string;
  /** The FreeSWITCH double: it alone reads `fakeswitch_*` variables and takes delay-replies and event-burst. */
  double: boolean;
  /** The lab runs it (a double, or a real one it launched): it can stop, restart or pause it. */
  runByLab: boolean;
}

/**
 * A running lab, as the scenario runner sees it: where to send load, where to listen for events, what to
 * sample, and how to inject a fault. The lab (embedded, external, compose; any topology) builds one and
 * hands it in; the runner knows nothing else of how the lab is run.
 */
export interface LabHandle {
  /** The topology's name, recorded in the summary (`single`, `sharded-2`…). */
  topology: string;
  /** How the lab runs (`embedded`, `external`, `compose`), recorded in the summary. */
  mode: string;
  /**
   * Gateways' base URLs on loopback: originates go to each in turn, a mid-call command to the gateway that
   * made its call; every one is scraped and, while faults run, watched.
   */
  gateways: ReadonlyArray<{
    name: string;
    url: string;
    /**
     * A dial string that reaches a far end that answers, from this gateway's FreeSWITCH (`farEnds`); unset
     * when the lab does not know one (an external FreeSWITCH: the run must be given `--destination`).
     */
    destination?: string;
    /** The FreeSWITCH it is connected to, for resolving fault roles and refusing faults it cannot take. */
    freeswitch: LabFreeswitch;
  }>;
  /**
   * The calls pipeline, when the lab runs one: its API (the load of a scenario with `load.calls`), and its
   * database, where the run checks each call it placed for its status and its CDR.
   */
  calls?: { apiUrl: string; databaseUrl: string };
  /** NATS client URLs; the harness subscribes through them. */
  natsUrls: readonly string[];
  /** The HS256 secret the gateways verify tokens with. */
  jwtSecret: string;
  /** The lab's processes by name, asked again every second (a restart changes a pid). */
  processes(): ReadonlyArray<SampledProcess>;
  /** Applies a fault to a link or a component; rejects when the target or the fault is unknown to this lab. */
  fault(target: string, fault: Fault): Promise<void>;
  /** Its SIP side (Kamailio, the SIPp carrier, inbound callers), when it has one. */
  sip?: SipHandle;
}
