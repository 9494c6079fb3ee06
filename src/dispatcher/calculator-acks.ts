/**
 * The dispatcher's handling of a calculator's task.ack: a receipt (queued, running), a refusal
 * (busy) or an overlay move (moved), which the dispatcher follows without resending the task.
 * Split out of core.ts to keep that file under the house limit of ~300 lines; works over the
 * DispatchState owned by DispatcherCore. Sans-IO: time comes in as nowMs, effects go out as
 * DispatcherOutput values.
 */

import type { NodeId, TaskAck } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";
import { type DispatchState, drainQueue, replace } from "./placement.js";
import type { TaskEntry } from "./task-queue.js";
import type { DispatcherOutput } from "./types.js";

/** Handles a calculator's task.ack for a task's live copy (or an overlay move that claims it). */
export function onCalculatorAck(state: DispatchState, nowMs: number, from: Endpoint, ack: TaskAck): DispatcherOutput[] {
  const calculator = state.registry.touch(nowMs, ack.from, from);
  if (calculator === undefined) return [{ kind: "packet_dropped", reason: "unknown_calculator", type: ack.type }];
  const task = state.tasks.get(ack.taskId);
  if (task?.copy === undefined) return [{ kind: "packet_dropped", reason: "unknown_task", type: ack.type }];
  const outputs: DispatcherOutput[] = [];
  const isHolder = task.copy.calculatorId === ack.from;
  if (!isHolder) {
    // Overlay mode: only an explicit arrival announcement ("moved", holder = itself) claims a task.
    // A stale running/queued receipt from an abandoned copy must not pull the task back. A stale
    // announcement is harmless: the node it points at answers probes with "moved" to the holder.
    if (ack.state !== "moved" || ack.holder !== ack.from) {
      return [{ kind: "packet_dropped", reason: "not_assigned", type: ack.type }];
    }
    moveCopy(state, nowMs, task, ack.from, outputs);
    return outputs;
  }
  switch (ack.state) {
    case "busy":
      calculator.reportedRunning = calculator.capacity; // full until its next heartbeat says otherwise
      replace(state, nowMs, task, "busy", outputs);
      drainQueue(state, nowMs, outputs);
      break;
    case "moved":
      if (ack.holder !== undefined && ack.holder !== ack.from && state.registry.get(ack.holder) !== undefined) {
        moveCopy(state, nowMs, task, ack.holder, outputs);
      }
      break;
    case "queued":
      // Waiting in its holder's queue is an answer: the task timeout counts from when it runs.
      task.copy = { ...task.copy, timeoutMs: nowMs + state.config.taskTimeoutMs };
      state.copyTimeoutWakeMs = Math.min(state.copyTimeoutWakeMs, task.copy.timeoutMs);
      markAcked(state, nowMs, task);
      break;
    case "running":
      markAcked(state, nowMs, task);
      break;
  }
  return outputs;
}

function markAcked(state: DispatchState, nowMs: number, task: TaskEntry): void {
  if (task.copy === undefined || task.copy.isAcked) return;
  task.copy.isAcked = true;
  state.assigns.reschedule(nowMs, task.taskId, state.probePolicy);
}

/** The overlay moved a task from its holder to `holderId`: follow it, without resending it. */
function moveCopy(
  state: DispatchState,
  nowMs: number,
  task: TaskEntry,
  holderId: NodeId,
  outputs: DispatcherOutput[],
): void {
  const copy = task.copy;
  const holder = state.registry.get(holderId);
  if (copy === undefined || holder === undefined || copy.calculatorId === holderId) return;
  state.registry.get(copy.calculatorId)?.assigned.delete(task.taskId);
  holder.assigned.add(task.taskId);
  task.attemptedBy.add(holderId);
  task.copy = {
    calculatorId: holderId,
    attempt: copy.attempt,
    timeoutMs: nowMs + state.config.taskTimeoutMs,
    isAcked: true,
  };
  state.copyTimeoutWakeMs = Math.min(state.copyTimeoutWakeMs, task.copy.timeoutMs);
  state.assigns.reschedule(nowMs, task.taskId, state.probePolicy);
  outputs.push({
    kind: "task_moved",
    taskId: task.taskId,
    fromCalculatorId: copy.calculatorId,
    toCalculatorId: holderId,
  });
}
