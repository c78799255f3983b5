import { type LabFreeswitch, type LabHandle, LabMismatchError } from "./lab-handle.ts";
import { componentFaultKinds, type FaultStep, faultLabel, targetName } from "./scenario.ts";

/** A fault step whose target is a name of the lab's (its role resolved). */
export type ResolvedFaultStep = FaultStep & { target: string };

/** Faults only the FreeSWITCH double's control API takes. */
const DOUBLE_ONLY = new Set(["delay-replies", "event-burst"]);
/** Faults on the process: the lab must run it. */
const PROCESS_FAULTS = new Set<string>(componentFaultKinds);

/**
 * The steps with each role resolved to the component that plays it on this lab, less those labelled in
 * `skip`, checked before anything runs: a fault the FreeSWITCH it aims at cannot take is refused here, not
 * half-way through the run. Faults only the double takes refuse a real FreeSWITCH; process faults refuse an
 * external one (the lab cannot restart someone else's FreeSWITCH), naming the `--skip-fault` that runs the
 * scenario without that step.
 */
export function resolveFaultTargets(
  steps: readonly FaultStep[],
  gateways: LabHandle["gateways"],
  skip: readonly string[] = [],
): ResolvedFaultStep[] {
  const problems: string[] = [];
  const resolved = steps.map((step) => {
    const { target } = step;
    const freeswitch: LabFreeswitch | undefined =
      typeof target === "string"
        ? gateways.find((g) => g.freeswitch.name === target)?.freeswitch
        : gateways[target.gateway - 1]?.freeswitch;
    if (typeof target !== "string" && !freeswitch)
      problems.push(
        `${faultLabel(step)}: there is no gateway ${target.gateway}, the lab has ${gateways.length}`,
      );
    const named: ResolvedFaultStep = { ...step, target: freeswitch?.name ?? targetName(target) };
    return { step: named, label: faultLabel(named), freeswitch };
  });
  for (const label of skip)
    if (!resolved.some((r) => r.label === label))
      problems.push(
        `--skip-fault ${JSON.stringify(label)}: no such fault; its faults are ${resolved.map((r) => JSON.stringify(r.label)).join(", ") || "none"}`,
      );
  const kept = resolved.filter((r) => !skip.includes(r.label));
  for (const { step, label, freeswitch } of kept) {
    if (!freeswitch) continue;
    if (DOUBLE_ONLY.has(step.fault.kind) && !freeswitch.double)
      problems.push(
        `"${label}" needs the FreeSWITCH double: ${freeswitch.name} is a real FreeSWITCH (${step.fault.kind} is the double's control API)`,
      );
    else if (PROCESS_FAULTS.has(step.fault.kind) && !freeswitch.runByLab)
      problems.push(
        `"${label}": ${freeswitch.name} is an external FreeSWITCH, and the lab cannot ${step.fault.kind} someone else's FreeSWITCH; run without this step: --skip-fault ${JSON.stringify(label)}`,
      );
  }
  if (problems.length > 0)
    throw new LabMismatchError(
      `this lab cannot apply the scenario's faults:\n  ${[...new Set(problems)].join("\n  ")}`,
    );
  return kept.map((r) => r.step);
}
