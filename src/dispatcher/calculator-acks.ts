/**
 * The dispatcher's handling of a calculator's task.ack for one of a task's copies: a receipt (queued,
 * running), a refusal (busy), an overlay move (moved), which the dispatcher follows without resending
 * the task, or the answer to a cancel (cancelled). Sans-IO: time comes in as nowMs, effects go out as
 * DispatcherOutput values.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { TaskAck } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";
import { loseCopy } from "./copy-losses.js";
import { type DispatchContext, drainQueue, isReplicated, noteClaim, reconcile, sendAssign } from "./placement.js";
import type { TaskEntry } from "./task-table.js";
import type { DispatcherOutput } from "./types.js";

/** Handles a calculator's task.ack for a copy it holds (or an overlay move that claims one). */
export function onCalculatorAck(ctx: DispatchContext, nowMs: number, from: Endpoint, ack: TaskAck): DispatcherOutput[] {
  const calculator = ctx.registry.touch(nowMs, ack.from, from);
  if (calculator === undefined) return [{ kind: "packet_dropped", reason: "unknown_calculator", type: ack.type }];
  if (ack.state === "cancelled") {
    if (ctx.cancels.onCancelled(ack.taskId, ack.from)) return [];
    const task = ctx.table.get(ack.taskId);
    const live = task?.copies.get(ack.from);
    if (task === undefined || live?.state !== "live")
      return [{ kind: "packet_dropped", reason: "unknown_task", type: ack.type }];
    // The answer to a cancel of an earlier copy there (late or repeated): it says nothing about this one.
    if (ack.attempt !== undefined && ack.attempt < live.attempt)
      return [{ kind: "packet_dropped", reason: "late_result", type: ack.type }];
    // It says it will not run a copy we count on (it cancelled that task before): replace the copy.
    const outputs: DispatcherOutput[] = [];
    loseCopy(ctx, nowMs, task, ack.from, "busy", outputs);
    return outputs;
  }
  const task = ctx.table.get(ack.taskId);
  const copy = task?.copies.get(ack.from);
  if (task !== undefined && copy?.state === "lost" && ack.state === "busy") {
    // Asked again for a lost copy, the calculator would have to start it anew: it no longer has it.
    // Forget it (it can no longer vote) and let the task plan without it.
    task.copies.delete(ack.from);
    calculator.reportedRunning = calculator.capacity; // full until its next heartbeat says otherwise
    const outputs: DispatcherOutput[] = [];
    reconcile(ctx, nowMs, task, "replacement", outputs);
    return outputs;
  }
  if (task !== undefined && task.liveCount === 0 && copy === undefined && ctx.claimHolds.has(task.taskId)) {
    // Held for a claim (its holder restarted; see holdForClaims): a node saying it holds it gets it.
    const isClaim =
      ack.state === "running" || ack.state === "queued" || (ack.state === "moved" && ack.holder === ack.from);
    if (!isClaim) return [{ kind: "packet_dropped", reason: "unknown_task", type: ack.type }];
    noteClaim(task, ack.from, true);
    const outputs: DispatcherOutput[] = [];
    reconcile(ctx, nowMs, task, "replacement", outputs);
    return outputs;
  }
  if (ack.state === "moved" && ack.holder === ack.from) return onArrival(ctx, nowMs, task, ack);
  if (task === undefined || task.liveCount === 0) {
    return [{ kind: "packet_dropped", reason: "unknown_task", type: ack.type }];
  }
  const outputs: DispatcherOutput[] = [];
  if (copy?.state === "lost" && !isReplicated(task)) {
    // A copy given up on (its holder was declared dead or timed out, and the task was placed again)
    // speaks again: its holder recovered. The dispatcher alone says where a task is: revoke that copy,
    // never follow it. (A replicated task's lost copies may still vote: see copy-losses.ts.)
    revokeCopy(ctx, nowMs, task, ack.from, outputs);
    return [{ kind: "packet_dropped", reason: "revoked_copy", type: ack.type }, ...outputs];
  }
  if (copy?.state !== "live") {
    // A receipt from a node that never had a copy: it holds the task through a move we have not heard
    // of. Not followed (a stale running/queued receipt from an abandoned copy never pulls the task
    // back), but remembered as a claim (see noteClaim).
    if (copy === undefined && (ack.state === "running" || ack.state === "queued")) noteClaim(task, ack.from);
    return [{ kind: "packet_dropped", reason: "not_assigned", type: ack.type }];
  }
  switch (ack.state) {
    case "busy":
      calculator.reportedRunning = calculator.capacity; // full until its next heartbeat says otherwise
      loseCopy(ctx, nowMs, task, ack.from, "busy", outputs);
      drainQueue(ctx, nowMs, outputs);
      break;
    case "moved":
      if (ack.holder !== undefined && ack.holder !== ack.from)
        moveCopy(ctx, nowMs, task, ack.from, ack.holder, outputs);
      break;
    case "queued":
      // Waiting in its holder's queue is an answer: the task timeout counts from when it runs.
      ctx.table.markAcked(nowMs, task, copy, true);
      break;
    case "running":
      ctx.table.markAcked(nowMs, task, copy, false);
      break;
  }
  return outputs;
}

/**
 * An overlay node announces a task moved to it from `ack.giver` (`task.ack` moved, holder = itself).
 * It holds the task unstarted until we answer, and we remain the one authority on where the task is:
 *  - its copy there is live (we followed the move): the assign confirms it, and the task starts there;
 *  - the giver's copy is live: probe the giver, whose `moved` answer naming this node moves the copy
 *    and sends the confirming assign (moveCopy); the announcement is remembered as a claim, so the
 *    task goes there first if the giver is lost before answering;
 *  - otherwise the move is stale or the task is done: the task was answered (unknown here), or placed
 *    elsewhere since (its giver was declared dead or timed out, perhaps cut off while it sent the
 *    offer, and resent it when it came back in the same life). A cancel refuses it; started, it would
 *    run twice.
 * A node with no giver (an older calculator) is followed as before: the single holder is probed.
 */
function onArrival(ctx: DispatchContext, nowMs: number, task: TaskEntry | undefined, ack: TaskAck): DispatcherOutput[] {
  const outputs: DispatcherOutput[] = [];
  if (task === undefined) {
    refuseUnknown(ctx, ack, outputs);
    return outputs;
  }
  const mine = task.copies.get(ack.from);
  if (mine?.state === "live") {
    sendAssign(ctx, task, mine, outputs);
    return outputs;
  }
  const giverCopy =
    ack.giver === undefined
      ? task.liveCount === 1
        ? ctx.table.liveCopies(task).next().value
        : undefined
      : task.copies.get(ack.giver);
  if (giverCopy?.state === "live" && giverCopy.calculatorId !== ack.from) {
    sendAssign(ctx, task, giverCopy, outputs);
    noteClaim(task, ack.from);
    return outputs;
  }
  if (ack.giver === undefined) return [{ kind: "packet_dropped", reason: "not_assigned", type: ack.type }];
  // Bounded by the copy counter: a copy placed there later (a higher attempt) is not refused.
  ctx.cancels.cancel(nowMs, ctx.registry, task.taskId, ack.from, task.attempts, outputs);
  outputs.push({ kind: "arrival_refused", taskId: task.taskId, calculatorId: ack.from, reason: "stale" });
  return outputs;
}

/** Refuses an arrival of a task we no longer know (answered, or never ours): a cancel of every copy. */
function refuseUnknown(ctx: DispatchContext, ack: TaskAck, outputs: DispatcherOutput[]): void {
  const calculator = ctx.registry.get(ack.from);
  if (calculator === undefined) return;
  // Not tracked for resends: the node resends its announcement until answered, and each gets this.
  const packet = { v: PROTOCOL_VERSION, type: "task.cancel", from: ctx.config.nodeId, taskId: ack.taskId } as const;
  outputs.push({ kind: "send", to: calculator.endpoint, packet });
  outputs.push({ kind: "arrival_refused", taskId: ack.taskId, calculatorId: ack.from, reason: "unknown" });
}

/**
 * The overlay moved a task's copy from `fromId` to `toId` (its holder's word): follow it, without
 * resending the task, and confirm it to the new holder at once (it holds the task unstarted until
 * then). A new holder that is dead (or unknown) cannot run it: the copy is lost, like a dead holder's.
 */
function moveCopy(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  fromId: string,
  toId: string,
  outputs: DispatcherOutput[],
): void {
  const to = ctx.registry.get(toId);
  if (to === undefined || !to.isAlive) {
    if (to === undefined || task.copies.get(toId)?.state === "live") return;
    // Hold for a claim as after a restart, then place again (loseCopy with a dead holder's reason).
    loseCopy(ctx, nowMs, task, fromId, "moved_to_dead", outputs);
    return;
  }
  if (!ctx.table.moveCopy(nowMs, task, fromId, to)) return;
  outputs.push({ kind: "task_moved", taskId: task.taskId, fromCalculatorId: fromId, toCalculatorId: toId });
  const moved = task.copies.get(toId);
  if (moved !== undefined) sendAssign(ctx, task, moved, outputs);
}

/** Sends `calculatorId` a cancel for its abandoned copy of `taskId` (resent until answered). */
function revokeCopy(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  calculatorId: string,
  outputs: DispatcherOutput[],
): void {
  // Bounded by the task's copy counter now: if the task is placed on that calculator again later, the
  // new copy's higher attempt is not refused there because of this revocation.
  ctx.cancels.cancel(nowMs, ctx.registry, task.taskId, calculatorId, task.attempts, outputs);
  outputs.push({ kind: "copy_revoked", taskId: task.taskId, calculatorId });
}

/**
 * A calculator declared dead is heard from again (same incarnation: it froze or was cut off, so it may
 * still hold and run the copies that were placed elsewhere meanwhile): revoke every copy it lost whose
 * task runs elsewhere now. A lost copy whose task has no live copy is not revoked: placement probes it
 * (or places the task there again), so its result, perhaps computed while it was away, is fetched
 * instead of computed a second time. Walks the task table once (BOUNDED: tasksMax); a recovery is rare.
 */
export function revokeAbandoned(
  ctx: DispatchContext,
  nowMs: number,
  calculatorId: string,
  outputs: DispatcherOutput[],
): void {
  for (const task of ctx.table.values()) {
    if (task.copies.get(calculatorId)?.state === "lost" && !isReplicated(task) && task.liveCount > 0)
      revokeCopy(ctx, nowMs, task, calculatorId, outputs);
  }
}
