/**
 * The dispatcher's placement half: giving a task's one live copy to a calculator, resending its
 * assign, taking it away again (replace, release, dead calculators) and draining the queue into
 * free slots. Split out of core.ts to keep that file under the house limit of ~300 lines; the
 * functions work over an explicit DispatchState owned by DispatcherCore. Sans-IO like the core:
 * time comes in as nowMs, effects go out as DispatcherOutput values.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import type { RetransmitTable } from "../reliable/retransmit-table.js";
import type { RetryPolicy } from "../reliable/retry-policy.js";
import { assert } from "../runtime/assert.js";
import type { CalculatorRegistry } from "./registry.js";
import type { TaskEntry, TaskQueue } from "./task-queue.js";
import type { DispatcherCoreConfig, DispatcherOutput, ReplaceReason } from "./types.js";

/** The task-plane state DispatcherCore shares with the placement and receipt helpers. */
export interface DispatchState {
  readonly config: DispatcherCoreConfig;
  readonly registry: CalculatorRegistry;
  /** BOUNDED: config.tasksMax; every entry ends by result or by its queueTimeoutMs deadline. */
  readonly tasks: Map<TaskId, TaskEntry>;
  /** BOUNDED: config.queueMax for admission; re-queued tasks are already counted in tasks. */
  readonly queue: TaskQueue;
  /** BOUNDED: config.tasksMax; assigns awaiting a done, keyed by task (one live copy per task). */
  readonly assigns: RetransmitTable<TaskId, TaskEntry>;
  readonly assignPolicy: RetryPolicy;
  readonly probePolicy: RetryPolicy;
  /** No live copy times out before this (ms): lowered as copies get timeouts, made exact by onTick. */
  copyTimeoutWakeMs: number;
}

/** Assigns `task` to the best free calculator not in `exclude`; false when none is free. */
export function place(
  state: DispatchState,
  nowMs: number,
  task: TaskEntry,
  outputs: DispatcherOutput[],
  exclude?: ReadonlySet<NodeId>,
): boolean {
  const calculatorId = state.config.placement.pick(state.registry.candidates(nowMs, exclude));
  const calculator = calculatorId === undefined ? undefined : state.registry.get(calculatorId);
  if (calculator === undefined) return false;
  assert(state.registry.freeSlots(calculator) > 0, "placement chose a full calculator");
  task.attempts += 1;
  task.copy = {
    calculatorId: calculator.id,
    attempt: task.attempts,
    timeoutMs: nowMs + state.config.taskTimeoutMs,
    isAcked: false,
  };
  state.copyTimeoutWakeMs = Math.min(state.copyTimeoutWakeMs, task.copy.timeoutMs);
  task.attemptedBy.add(calculator.id);
  calculator.assigned.add(task.taskId);
  calculator.lastAssignedMs = nowMs;
  state.assigns.add(nowMs, task.taskId, task, state.assignPolicy);
  sendAssign(state, task, outputs);
  return true;
}

/** Sends (or resends) the assign for `task`'s live copy to the calculator holding it. */
export function sendAssign(state: DispatchState, task: TaskEntry, outputs: DispatcherOutput[]): void {
  const copy = task.copy;
  const calculator = copy === undefined ? undefined : state.registry.get(copy.calculatorId);
  if (copy === undefined || calculator === undefined) return;
  outputs.push({
    kind: "send",
    to: calculator.endpoint,
    packet: {
      v: PROTOCOL_VERSION,
      type: "task.assign",
      from: state.config.nodeId,
      taskId: task.taskId,
      attempt: copy.attempt,
      input: task.input,
      rounds: task.rounds,
    },
  });
}

/** Takes the live copy away from its calculator (it may still answer) and queues the task first. */
export function replace(
  state: DispatchState,
  nowMs: number,
  task: TaskEntry,
  reason: ReplaceReason,
  outputs: DispatcherOutput[],
): void {
  const copy = task.copy;
  if (copy === undefined) return;
  release(state, task);
  if (reason === "task_timeout") state.registry.recordOutcome(copy.calculatorId, true);
  outputs.push({ kind: "task_replaced", taskId: task.taskId, calculatorId: copy.calculatorId, reason });
  // SPEC 3: a timed-out task goes to *another* free calculator; back to the silent one only if none is.
  const isPlaced =
    (reason === "task_timeout" && place(state, nowMs, task, outputs, new Set([copy.calculatorId]))) ||
    place(state, nowMs, task, outputs);
  if (!isPlaced) state.queue.requeueFirst(task);
}

/** Forgets `task`'s live copy: off its calculator's assigned set and out of the resend table. */
export function release(state: DispatchState, task: TaskEntry): void {
  if (task.copy !== undefined) state.registry.get(task.copy.calculatorId)?.assigned.delete(task.taskId);
  task.copy = undefined;
  state.assigns.settle(task.taskId);
}

/** Places queued tasks, in queue order, while some calculator has a free slot. */
export function drainQueue(state: DispatchState, nowMs: number, outputs: DispatcherOutput[]): void {
  while (state.queue.size > 0 && state.registry.hasFreeSlot()) {
    const task = state.queue.dequeue();
    if (task === undefined || !place(state, nowMs, task, outputs)) {
      if (task !== undefined) state.queue.requeueFirst(task);
      return;
    }
  }
}

/** Declares silent calculators dead (their tasks go elsewhere) and reports evicted ones. */
export function expireCalculators(state: DispatchState, nowMs: number, outputs: DispatcherOutput[]): void {
  const { dead, evicted } = state.registry.expire(nowMs);
  for (const calculator of dead) {
    const taskIds = [...calculator.assigned];
    outputs.push({ kind: "calculator_dead", calculatorId: calculator.id, taskCount: taskIds.length });
    if (taskIds.length > 0) state.registry.recordOutcome(calculator.id, true);
    for (const taskId of taskIds) {
      const task = state.tasks.get(taskId);
      if (task !== undefined) replace(state, nowMs, task, "calculator_dead", outputs);
    }
  }
  for (const calculatorId of evicted) outputs.push({ kind: "calculator_evicted", calculatorId });
}
