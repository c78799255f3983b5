import type { ResolvedFaultStep } from "./fault-targets.ts";
import type { LabHandle } from "./lab-handle.ts";
import { faultLabel, undoFault } from "./scenario.ts";

/** One step as it happened, on the `performance.now()` clock. */
export interface AppliedFault {
  step: ResolvedFaultStep;
  label: string;
  /**
   * When the lab was asked to apply it, and when it was over: asked to undo it, or, for a fault that is
   * over once applied (a cut, a restart), when the lab had applied it: a restarted FreeSWITCH answers again.
   */
  requestedAt?: number;
  clearedAt?: number;
  error?: string;
}

/**
 * Applies a scenario's faults at their times (from `startMs`) through the lab's fault function, and undoes
 * each one that has a duration. A fault the lab refuses is recorded with its error; the run goes on.
 */
export class FaultSchedule {
  readonly applied: AppliedFault[];
  private readonly timers: NodeJS.Timeout[] = [];
  /** Undo steps not yet due, run at once by `stop` so no fault outlives the run. */
  private readonly undos = new Map<AppliedFault, NodeJS.Timeout>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    steps: readonly ResolvedFaultStep[],
    private readonly lab: LabHandle,
    startMs: number,
    private readonly log: (line: string) => void,
  ) {
    this.applied = steps.map((step) => ({ step, label: faultLabel(step) }));
    for (const entry of this.applied) {
      const due = startMs + entry.step.at - performance.now();
      this.timers.push(setTimeout(() => this.track(this.apply(entry)), Math.max(0, due)));
    }
  }

  /** Cancels steps not yet due, undoes faults still on, and waits for what is under way. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    while (this.pending.size > 0) await Promise.all(this.pending);
    for (const [entry, timer] of this.undos) {
      clearTimeout(timer);
      await this.undo(entry);
    }
  }

  private async apply(entry: AppliedFault): Promise<void> {
    const { step } = entry;
    entry.requestedAt = performance.now();
    try {
      await this.lab.fault(step.target, step.fault);
      this.log(`fault: ${entry.label} at ${(step.at / 1000).toFixed(1)} s`);
    } catch (error) {
      entry.error = (error as Error).message;
      this.log(`fault: ${entry.label} FAILED: ${entry.error}`);
      return;
    }
    // A real FreeSWITCH takes seconds to stop and start: the gateway's reconnect is timed from its return.
    if (!undoFault(step.fault)) entry.clearedAt = performance.now();
    if (step.durationMs === undefined || !undoFault(step.fault)) return;
    this.undos.set(
      entry,
      setTimeout(() => this.track(this.undo(entry)), step.durationMs),
    );
  }

  private async undo(entry: AppliedFault): Promise<void> {
    this.undos.delete(entry);
    const undo = undoFault(entry.step.fault);
    if (!undo) return;
    entry.clearedAt = performance.now();
    try {
      await this.lab.fault(entry.step.target, undo);
      this.log(`fault: ${entry.label} undone (${undo.kind})`);
    } catch (error) {
      entry.error = `undo (${undo.kind}) failed: ${(error as Error).message}`;
      this.log(`fault: ${entry.label} ${entry.error}`);
    }
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}
