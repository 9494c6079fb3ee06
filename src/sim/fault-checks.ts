/**
 * The online checker's ground truth: the simulation reports every fault it injects, and the checker
 * keeps which calculator is really down and since when (the cores never see this). From it follow
 * the time-bound checks: a calculator silent for good, or restarted, loses its copies within the
 * death bound.
 */
import type { CheckContext } from "./checker-context.js";

/** Ground truth and the checks that follow from faults; see the file comment. */
export class FaultChecks {
  readonly #c: CheckContext;

  constructor(context: CheckContext) {
    this.#c = context;
  }

  /** The simulation injected a fault on calculator `index` (see faults.ts for the kinds). */
  fault(nowMs: number, kind: string, index: number): void {
    const calc = this.#c.calcs[index];
    if (calc === undefined) return;
    switch (kind) {
      case "crash":
        calc.crashed = true;
        break;
      case "restart":
        calc.crashed = false;
        calc.incarnation += 1;
        calc.restarts += 1;
        this.#afterRestart(nowMs, index);
        break;
      case "freeze":
      case "thaw":
        calc.frozen = kind === "freeze";
        break;
      case "cut_up":
      case "cut_down":
      case "cut_both":
        calc.cutUp = kind !== "cut_down";
        calc.cutDown = kind !== "cut_up";
        break;
      case "heal":
        calc.cutUp = false;
        calc.cutDown = false;
        break;
      case "isolate":
      case "rejoin":
        calc.isolated = kind === "isolate";
        break;
    }
    const isHeard = !calc.crashed && !calc.frozen && !calc.cutUp && !calc.isolated;
    if (!isHeard && calc.downSinceMs === undefined) {
      calc.downSinceMs = nowMs;
      this.#afterDeath(nowMs, index);
    } else if (isHeard) calc.downSinceMs = undefined;
    const isUp = isHeard && !calc.cutDown;
    if (!isUp) calc.upSinceMs = undefined;
    else if (calc.upSinceMs === undefined) calc.upSinceMs = nowMs;
  }

  /** A calculator silent for good must lose every copy within the death bound. */
  #afterDeath(nowMs: number, index: number): void {
    const c = this.#c;
    const incarnation = c.incarnation;
    c.at(nowMs + c.deathBoundMs, (atMs) => {
      if (c.incarnation !== incarnation || c.calcs[index]?.downSinceMs !== nowMs) return undefined;
      c.count("dead_calculator_copies_replaced");
      for (const taskId of c.tasks.open())
        if (c.holds(taskId, index))
          c.fail(
            atMs,
            "dead_calculator_copies_replaced",
            `${taskId}: calc-${index} silent since ${nowMs}, copy still live`,
          );
      return undefined;
    });
  }

  /** A calculator that restarted must lose its older copies within the death bound (a restart is a death). */
  #afterRestart(nowMs: number, index: number): void {
    const c = this.#c;
    const incarnation = c.incarnation;
    const calculatorId = c.settings.calculatorIds[index] ?? "";
    const calcIncarnation = c.calcs[index]?.incarnation;
    c.at(nowMs + c.deathBoundMs, (atMs) => {
      if (c.incarnation !== incarnation) return undefined;
      // Down again before it was surely heard: the death check of that fault covers its copies.
      const calc = c.calcs[index];
      if (calc?.incarnation !== calcIncarnation || calc?.downSinceMs !== undefined) return undefined;
      c.count("restarted_calculator_copies_replaced");
      for (const taskId of c.tasks.open()) {
        const startedMs = c.tasks.get(taskId).lastCopyStartMs.get(calculatorId);
        if (startedMs !== undefined && startedMs < nowMs && c.holds(taskId, index))
          c.fail(
            atMs,
            "restarted_calculator_copies_replaced",
            `${taskId}: calc-${index} restarted at ${nowMs}, copy from ${startedMs} still live`,
          );
      }
      return undefined;
    });
  }
}
