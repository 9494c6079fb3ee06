/**
 * The online checker's calculator side: every execution was started by a dispatcher, a cancelled copy
 * stops, one answer per request, and (with no random loss) a result lost to a fault is fetched again
 * once the link is back. Fed by the simulation with what each calculator core receives and produces.
 */
import type { CalculatorOutput } from "../calculator/types.js";
import type { Packet } from "../protocol/packet.js";
import type { CheckContext } from "./checker-context.js";

/** Checks on the calculators' packets and outputs; see the file comment. */
export class CalculatorChecks {
  readonly #c: CheckContext;

  constructor(context: CheckContext) {
    this.#c = context;
  }

  /** A packet is about to reach calculator `index` (incarnation as counted by the simulation). */
  calculatorIn(nowMs: number, index: number, packet: Packet): void {
    if (packet.type !== "task.assign" && packet.type !== "task.cancel") return;
    const run = this.#c.tasks.run(index, this.#c.calcs[index]?.incarnation ?? 0, packet.taskId);
    run.requestsIn += 1;
    if (packet.type === "task.cancel" && run.cancelledMs === undefined) {
      run.cancelledMs = nowMs;
      this.#c.count("cancelled_copy_stops");
    }
  }

  /** Calculator `index` produced outputs. */
  calculatorOut(nowMs: number, index: number, outputs: readonly CalculatorOutput[]): void {
    const c = this.#c;
    const calculatorId = c.settings.calculatorIds[index] ?? "";
    const incarnation = c.calcs[index]?.incarnation ?? 0;
    for (const output of outputs) {
      if (output.kind === "compute") {
        const run = c.tasks.run(index, incarnation, output.taskId);
        run.executions += 1;
        run.startedMs = nowMs;
        const started = c.tasks.copiesEver(output.taskId, calculatorId);
        c.count("executions_started_by_dispatcher");
        if (run.executions > started)
          c.fail(
            nowMs,
            "executions_started_by_dispatcher",
            `${output.taskId}: run ${run.executions} on ${calculatorId}, ${started} copies started there`,
          );
      } else if (output.kind === "task_finished") {
        this.#checkFinished(nowMs, index, output.taskId);
      } else if (output.kind === "send" && output.packet.type === "task.done") {
        this.#sentDone(nowMs, index, output.packet.taskId);
      }
      if (output.kind === "send" && (output.packet.type === "task.done" || output.packet.type === "task.ack")) {
        const run = c.tasks.run(index, incarnation, output.packet.taskId);
        run.responsesOut += 1;
        c.count("calculator_packets_per_request");
        // One answer per assign or cancel, plus one owed receipt per execution it started.
        if (run.responsesOut > run.requestsIn + run.executions)
          c.fail(
            nowMs,
            "calculator_packets_per_request",
            `${output.packet.taskId}: ${calculatorId} sent ${run.responsesOut} answers to ${run.requestsIn} requests`,
          );
      }
    }
  }

  /** A copy cancelled before it (last) started must not finish. */
  #checkFinished(nowMs: number, index: number, taskId: string): void {
    const c = this.#c;
    const calculatorId = c.settings.calculatorIds[index] ?? "";
    const run = c.tasks.run(index, c.calcs[index]?.incarnation ?? 0, taskId);
    const cancelledMs = run.cancelledMs;
    if (cancelledMs === undefined) return;
    const restartedMs = c.tasks.lastCopyEverMs(taskId, calculatorId);
    if ((run.startedMs ?? 0) <= cancelledMs && restartedMs <= cancelledMs)
      c.fail(nowMs, "cancelled_copy_stops", `${taskId}: ${calculatorId} finished after its cancel at ${cancelledMs}`);
  }

  /** With no random loss, a result lost to a fault must be fetched again once the link is back. */
  #sentDone(nowMs: number, index: number, taskId: string): void {
    const c = this.#c;
    if (!c.settings.isLossFree) return;
    const incarnation = c.calcs[index]?.incarnation;
    const dispatcherIncarnation = c.incarnation;
    const bound = c.recoveryBoundMs;
    c.count("lost_result_recovered");
    c.at(nowMs + bound, (atMs) => {
      const calc = c.calcs[index];
      if (calc === undefined || calc.incarnation !== incarnation || c.incarnation !== dispatcherIncarnation)
        return undefined;
      if (!c.holds(taskId, index)) return undefined;
      if (calc.upSinceMs === undefined) return atMs + bound;
      if (atMs - calc.upSinceMs < bound) return calc.upSinceMs + bound;
      c.fail(
        atMs,
        "lost_result_recovered",
        `${taskId}: result of calc-${index} at ${nowMs} not fetched, link up since ${calc.upSinceMs}`,
      );
      return undefined;
    });
  }
}
