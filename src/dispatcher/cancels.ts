/**
 * Cancels the dispatcher sends to calculators for copies no longer needed (quorum reached, task
 * answered or cancelled by its client). A cancel is resent on the assign schedule until the calculator
 * answers `task.ack` `cancelled`, at most CANCEL_SENDS_MAX times: a lost cancel only costs a slot until
 * the copy ends, and its late result is dropped and counted. Sans-IO: time comes in as nowMs.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import { RetransmitTable } from "../reliable/retransmit-table.js";
import { type RetryPolicy, retryPolicy } from "../reliable/retry-policy.js";
import type { CalculatorRegistry } from "./registry.js";
import type { DispatcherOutput } from "./types.js";

/** Sends of one cancel at most (the first included). */
export const CANCEL_SENDS_MAX = 4;

interface PendingCancel {
  readonly taskId: TaskId;
  readonly calculatorId: NodeId;
  /** Copies of this attempt or earlier are cancelled; later ones are not touched. */
  readonly attempt: number;
}

/** Outstanding cancels, keyed by task and calculator. */
export class CancelSender {
  /** BOUNDED: cancelsMax entries; beyond it a cancel is sent once and not tracked. Each ends after CANCEL_SENDS_MAX sends. */
  readonly #pending: RetransmitTable<string, PendingCancel>;
  readonly #policy: RetryPolicy;
  readonly #nodeId: NodeId;
  #sentCount = 0;

  constructor(nodeId: NodeId, cancelsMax: number, retryMs: readonly number[]) {
    this.#nodeId = nodeId;
    this.#pending = new RetransmitTable(cancelsMax);
    this.#policy = retryPolicy(retryMs);
  }

  /** Cancels (first sends and resends) so far. */
  get sentCount(): number {
    return this.#sentCount;
  }

  /**
   * Sends a cancel for the copies of `taskId` up to `attempt` (the task's copy counter now) to
   * `calculatorId` and tracks it for resends. A copy placed there later has a higher attempt, so a
   * late or repeated cancel never stops it.
   */
  cancel(
    nowMs: number,
    registry: CalculatorRegistry,
    taskId: TaskId,
    calculatorId: NodeId,
    attempt: number,
    outputs: DispatcherOutput[],
  ): void {
    const key = `${taskId}|${calculatorId}`;
    if (this.#pending.has(key)) return;
    const cancel = { taskId, calculatorId, attempt };
    if (!this.#send(registry, cancel, outputs)) return;
    this.#pending.add(nowMs, key, cancel, this.#policy);
  }

  /** The calculator answered the cancel. */
  onCancelled(taskId: TaskId, calculatorId: NodeId): boolean {
    return this.#pending.settle(`${taskId}|${calculatorId}`) !== undefined;
  }

  nextDueMs(): number | undefined {
    return this.#pending.nextDueMs();
  }

  /** Resends due cancels; gives up on those sent CANCEL_SENDS_MAX times. */
  onTick(nowMs: number, registry: CalculatorRegistry, outputs: DispatcherOutput[]): void {
    for (const { key, value, sendCount } of this.#pending.due(nowMs)) {
      if (sendCount > CANCEL_SENDS_MAX || !this.#send(registry, value, outputs)) this.#pending.settle(key);
    }
  }

  #send(registry: CalculatorRegistry, cancel: PendingCancel, outputs: DispatcherOutput[]): boolean {
    const calculator = registry.get(cancel.calculatorId);
    if (calculator === undefined || !calculator.isAlive) return false;
    this.#sentCount += 1;
    outputs.push({
      kind: "send",
      to: calculator.endpoint,
      packet: {
        v: PROTOCOL_VERSION,
        type: "task.cancel",
        from: this.#nodeId,
        taskId: cancel.taskId,
        attempt: cancel.attempt,
      },
    });
    return true;
  }
}
