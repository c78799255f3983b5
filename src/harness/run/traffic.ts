import type { CallsApiRequests } from "../load/calls-api-load.ts";
import type { HttpRequestSpec, RequestOutcome } from "../load/http-load.ts";
import type { MixedRequest, RequestMixer, ResolvedRequestMix } from "../load/request-mix.ts";
import type { LagMonitor } from "../measure/lag.ts";
import type { OutcomeLog } from "../measure/outcome-log.ts";
import type { CallTracker } from "../measure/telecom.ts";
import { type LabHandle, LabMismatchError } from "./lab-handle.ts";
import type { RequestMix } from "./scenario.ts";

/**
 * What the measured load sends, and what it does with each outcome: the gateway's commands (a request mix,
 * each call followed by its uuid from the originate on), or new calls on the calls API, which names them
 * itself: those are audited in the pipeline's database afterwards instead.
 */
export interface Traffic {
  request(index: number): HttpRequestSpec;
  onOutcome(outcome: RequestOutcome): void;
  /** Requests the mix sent as another operation, having no call to send them on (always 0 on the calls API). */
  mixFallbacks(): number;
}

/** New calls on the calls API. */
export function callsApiTraffic(requests: CallsApiRequests, outcomes: OutcomeLog): Traffic {
  return {
    request: () => requests.request(),
    onOutcome: (outcome) => {
      outcomes.add(outcome);
      requests.outcome(outcome);
    },
    mixFallbacks: () => 0,
  };
}

/** The gateway's commands, mixed; each originated call followed by the tracker and the lag meter. */
export function gatewayMixTraffic(
  mixer: RequestMixer,
  tracker: CallTracker,
  monitor: Pick<LagMonitor, "expectCall" | "withdrawCall">,
  outcomes: OutcomeLog,
): Traffic {
  const inFlight = new Map<number, MixedRequest>();
  let fallbacks = 0;
  return {
    request: (index) => {
      const request = mixer.next();
      inFlight.set(index, request);
      if (request.fallback) fallbacks++;
      if (request.operation === "originate") {
        tracker.attempt(request.callUuid, request.origin);
        monitor.expectCall(request.callUuid, undefined, performance.now());
      }
      return request.spec;
    },
    onOutcome: (outcome) => {
      const request = inFlight.get(outcome.index);
      if (!request) return;
      inFlight.delete(outcome.index);
      outcomes.add(outcome, request.operation);
      if (request.operation !== "originate") return;
      if (outcome.status === 202) {
        tracker.accepted(request.callUuid, outcome.endedAt);
        return;
      }
      tracker.notAccepted(
        request.callUuid,
        outcome.status === undefined ? (outcome.error ?? "other") : String(outcome.status),
      );
      // Only accepted calls are followed for completeness; a call an unanswered originate made after all
      // shows up in its events and is followed from there.
      monitor.withdrawCall(request.callUuid);
    },
    mixFallbacks: () => fallbacks,
  };
}

/**
 * A request mix with each gateway's destination: the mix's own, else the far end the gateway's FreeSWITCH
 * reaches. Refuses a gateway whose far end the lab does not know (an external FreeSWITCH).
 */
export function mixOf(mix: RequestMix, lab: Pick<LabHandle, "gateways">): ResolvedRequestMix {
  const { destination, ...settings } = mix;
  const unknown = lab.gateways.filter((g) => (destination ?? g.destination) === undefined);
  if (unknown.length > 0)
    throw new LabMismatchError(
      `the lab knows no dial string that answers from the FreeSWITCH of ${unknown.map((g) => g.name).join(", ")} (${unknown.map((g) => g.freeswitch.name).join(", ")}, not one the lab runs): give one, e.g. --destination sofia/gateway/<gateway>/<number>, or --destination loopback/<extension>/<context> for an extension of its dialplan that answers`,
    );
  return {
    ...settings,
    gateways: Object.fromEntries(
      lab.gateways.map((g) => [
        g.url,
        { destination: (destination ?? g.destination) as string, double: g.freeswitch.double },
      ]),
    ),
  };
}
