/** The typed scenario API: what a scenario file declares (src/harness/scenario.ts has the details). */
export type {
  Fault,
  FaultStep,
  InboundCalls,
  LoadPhase,
  LoadSettings,
  Operation,
  RequestMix,
  Scenario,
} from "../src/harness/scenario.ts";
