/** The typed scenario API: what a scenario file declares (src/harness/run/scenario.ts has the details). */
export type {
  CallsLoad,
  Fault,
  FaultKind,
  FaultStep,
  FreeswitchRole,
  InboundCalls,
  LoadPhase,
  LoadSettings,
  Operation,
  RequestMix,
  Scenario,
} from "../src/harness/run/scenario.ts";
export { FIRST_FREESWITCH } from "../src/harness/run/scenario.ts";
