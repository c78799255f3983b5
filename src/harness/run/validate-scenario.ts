import { joinPhases } from "../load/phases.ts";
import { gatesFromThresholds } from "./gates.ts";
import { type LoadPhase, type Scenario, targetName } from "./scenario.ts";

/** Refuses a scenario that cannot run as written, saying why. */
export function validateScenario(scenario: Scenario): void {
  const problems: string[] = [];
  const firstMeasured = scenario.phases.findIndex((p: LoadPhase) => !p.warmup);
  if (firstMeasured === -1) problems.push("it has no measured phase");
  if (scenario.phases.slice(firstMeasured).some((p) => p.warmup))
    problems.push("warm-up phases must come first");
  if (scenario.phases.some((p) => p.warmup && p.inboundRate !== undefined))
    problems.push("inbound calls run with the measured phases, not the warm-up");
  if (scenario.phases.some((p) => (p.inboundRate ?? 0) < 0 || !Number.isFinite(p.inboundRate ?? 0)))
    problems.push("an inbound rate is a number of calls a second, 0 or more");
  if (!scenario.inbound && scenario.phases.some((p) => (p.inboundRate ?? 0) > 0))
    problems.push(
      "a phase has an inbound rate, and the scenario no inbound caller (inbound: { ringMs, holdMs })",
    );
  const names = scenario.phases.map((p) => p.name);
  if (new Set(names).size !== names.length) problems.push("phase names must be unique");
  if ((scenario.load.mix === undefined) === (scenario.load.calls === undefined))
    problems.push(
      "its load needs either a request mix for the gateway (mix) or calls for the calls API (calls)",
    );
  const kinds = Object.entries(scenario.faultKinds ?? {});
  if (kinds.length > 0 && scenario.phases.filter((p) => !p.warmup).length !== 1)
    problems.push("a scenario with fault kinds has one measured phase (each kind's turn is one phase)");
  let measuredMs = 0;
  if (firstMeasured !== -1)
    measuredMs = joinPhases(scenario.phases.filter((p) => !p.warmup)).placed.at(-1)!.endMs;
  const steps = [
    ...(scenario.faults ?? []).map((step) => ({ step, of: "" })),
    ...kinds.flatMap(([name, kind]) => kind.faults.map((step) => ({ step, of: ` (fault kind ${name})` }))),
  ];
  for (const { step, of } of steps) {
    const end = step.at + (step.durationMs ?? 0);
    if (!(step.at >= 0) || end > measuredMs)
      problems.push(
        `fault on ${targetName(step.target)}${of} at ${step.at} ms (until ${end} ms) is outside the ${measuredMs} ms of measured load`,
      );
  }
  for (const thresholds of [scenario.gates, scenario.capacity?.gates, ...kinds.map(([, k]) => k.gates)]) {
    try {
      if (thresholds) gatesFromThresholds(thresholds);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(`scenario ${scenario.name}: ${problems.join("; ")}`);
}
