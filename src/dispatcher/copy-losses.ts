/**
 * Copies lost and found: taking a live copy back from its calculator (timeout, death, restart,
 * refusal) and planning the task again, declaring silent calculators dead and forgetting evicted
 * ones, reviving the copies of a calculator that comes back, forgetting those of one that restarted.
 * Works over the DispatchContext like placement.ts. Sans-IO: time comes in as nowMs.
 */
import type { NodeId } from "../protocol/packets.js";
import { type DispatchContext, isReplicated, reconcile, sendAssign } from "./placement.js";
import type { TaskEntry } from "./task-table.js";
import type { DispatcherOutput, ReplaceReason } from "./types.js";

/**
 * A calculator declared dead is back with the same identity: the lost copies of replicated tasks it
 * still holds are live again (their assigns resent, answered from its results cache if it finished),
 * so a result lost while it was away is fetched, not waited for until the task's deadline.
 */
export function reviveCopies(
  ctx: DispatchContext,
  nowMs: number,
  calculatorId: NodeId,
  outputs: DispatcherOutput[],
): void {
  for (const task of ctx.table.values()) {
    if (task.copies.get(calculatorId)?.state === "lost" && isReplicated(task)) {
      reviveOne(ctx, nowMs, task, calculatorId, outputs);
    }
  }
}

/** Revives one lost copy if its calculator is alive and has room in our books; the assign is resent. */
function reviveOne(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  calculatorId: NodeId,
  outputs: DispatcherOutput[],
): void {
  const calculator = ctx.registry.get(calculatorId);
  if (calculator === undefined || !calculator.isAlive || calculator.assigned.size >= calculator.capacity) return;
  const revived = ctx.table.reviveCopy(nowMs, task, calculator);
  if (revived !== undefined) sendAssign(ctx, task, revived, outputs);
}

/**
 * A calculator restarted: copies it had lost (timed out, or held when it was declared dead) died with
 * its old process. They are forgotten (it may get the task again) and their tasks plan again.
 */
export function forgetLostCopies(
  ctx: DispatchContext,
  nowMs: number,
  calculatorId: NodeId,
  outputs: DispatcherOutput[],
): void {
  for (const task of ctx.table.values()) {
    if (task.copies.get(calculatorId)?.state !== "lost") continue;
    task.copies.delete(calculatorId);
    if (ctx.table.get(task.taskId) === task) reconcile(ctx, nowMs, task, "replacement", outputs);
  }
}

/**
 * Takes a live copy back from its calculator (a timed-out or dead one may still answer and vote; a
 * `busy` one never had it) and starts what the task needs instead.
 */
export function loseCopy(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  calculatorId: NodeId,
  reason: ReplaceReason,
  outputs: DispatcherOutput[],
): void {
  // A busy calculator never had the copy, a restarted one lost it with its memory, and one that moved
  // it to a dead node gave it away: none can still vote with it, so they are forgotten (and may get
  // the task again). Dead or silent ones may still answer.
  const forget = reason === "busy" || reason === "calculator_restarted" || reason === "moved_to_dead";
  const copy = ctx.table.endCopy(task, calculatorId, "lost", forget);
  if (copy === undefined) return;
  if (reason === "task_timeout") ctx.registry.recordFailure(nowMs, calculatorId, "timeout");
  outputs.push({ kind: "task_replaced", taskId: task.taskId, calculatorId, reason });
  ctx.survived.replacedCount += 1;
  // A task moved to a dead node may still be claimed by it (declared dead while cut off, back in the
  // same life): it waits for that claim like a restarted node's tasks.
  if (reason === "calculator_restarted" || reason === "moved_to_dead") holdForClaims(ctx, nowMs, task, calculatorId);
  if (task.factor < ctx.replication.factor) {
    // The trusted copy is gone: the task is replicated in full again, as if trust had not applied.
    task.factor = ctx.replication.factor;
    task.quorum = ctx.replication.quorum;
  }
  reconcile(ctx, nowMs, task, "replacement", outputs);
}

/** Declares silent calculators dead (their copies are replaced) and forgets evicted ones. */
export function expireCalculators(ctx: DispatchContext, nowMs: number, outputs: DispatcherOutput[]): void {
  const { dead, evicted } = ctx.registry.expire(nowMs);
  for (const calculator of dead) {
    const taskIds = [...calculator.assigned];
    outputs.push({ kind: "calculator_dead", calculatorId: calculator.id, taskCount: taskIds.length });
    ctx.survived.outageCount += 1;
    if (taskIds.length > 0) ctx.registry.recordFailure(nowMs, calculator.id, "death");
    for (const taskId of taskIds) {
      const task = ctx.table.get(taskId);
      if (task !== undefined) loseCopy(ctx, nowMs, task, calculator.id, "calculator_dead", outputs);
    }
  }
  for (const calculatorId of evicted) {
    ctx.trust.forget(calculatorId);
    outputs.push({ kind: "calculator_evicted", calculatorId });
    // Its lost copies can no longer vote: tasks counting on them plan again (more copies, or no_quorum).
    for (const task of ctx.table.values()) {
      if (task.copies.get(calculatorId)?.state === "lost") reconcile(ctx, nowMs, task, "replacement", outputs);
    }
  }
}

/** Replaces the task's timed-out copies; returns when (ms) its next live copy times out. */
export function expireCopies(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  outputs: DispatcherOutput[],
): number {
  const { table } = ctx;
  const timedOut: NodeId[] = [];
  for (const copy of table.liveCopies(task)) if (copy.timeoutMs <= nowMs) timedOut.push(copy.calculatorId);
  for (const calculatorId of timedOut) {
    if (table.get(task.taskId) !== task) return Number.POSITIVE_INFINITY; // answered (no_quorum) meanwhile
    loseCopy(ctx, nowMs, task, calculatorId, "task_timeout", outputs);
  }
  let wakeMs = Number.POSITIVE_INFINITY;
  if (table.get(task.taskId) === task)
    for (const copy of table.liveCopies(task)) wakeMs = Math.min(wakeMs, copy.timeoutMs);
  return wakeMs;
}

/**
 * A restarted overlay node's plain task waits CLAIM_HOLD_SHARE of heartbeatTimeoutMs before it is
 * placed again, unless a node claims it first: the node may have moved it on just before it died, and
 * the receiver's claim (its resent arrival announcement) may not have reached us yet, for instance
 * because the receiver's first heartbeat, which registers it, is still on its way. Placed at once, the
 * task would run on a third node as well (overlay fault seed 3529 of an earlier plan).
 */
function holdForClaims(ctx: DispatchContext, nowMs: number, task: TaskEntry, calculatorId: NodeId): void {
  if (isReplicated(task) || ctx.registry.get(calculatorId)?.overlayRole === undefined) return;
  ctx.claimHolds.set(task.taskId, nowMs + ctx.config.heartbeatTimeoutMs * CLAIM_HOLD_SHARE);
}

/** Share of heartbeatTimeoutMs a restarted overlay node's tasks wait for a claim (see holdForClaims). */
export const CLAIM_HOLD_SHARE = 0.5;

/** Places the held tasks whose wait for a claim is over; returns when (ms) the next one is due. */
export function releaseClaimHolds(ctx: DispatchContext, nowMs: number, outputs: DispatcherOutput[]): number {
  let wakeMs = Number.POSITIVE_INFINITY;
  for (const [taskId, untilMs] of ctx.claimHolds) {
    const task = ctx.table.get(taskId);
    if (task === undefined) ctx.claimHolds.delete(taskId);
    else if (untilMs <= nowMs)
      reconcile(ctx, nowMs, task, "replacement", outputs); // deletes the hold
    else wakeMs = Math.min(wakeMs, untilMs);
  }
  return wakeMs;
}
