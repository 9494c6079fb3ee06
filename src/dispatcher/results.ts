/**
 * A calculator's result (`task.done`) as a vote (SPEC 9): one vote per calculator per task, counted
 * only from a calculator that was given a copy and not told to cancel it. When `quorum` identical
 * results are in, the result is final at once: the voters who agreed earn trust, the others are
 * outvoted (their trust resets and their failure estimate rises). Otherwise the task gets the copies it
 * now needs, or fails `no_quorum`. Results after the final answer are counted and ignored. Sans-IO.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { TaskDone, TaskId } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";
import { type DispatchContext, drainQueue, noteClaim, reconcile } from "./placement.js";
import type { FinalPacket, ResultStore } from "./result-store.js";
import type { TaskEntry } from "./task-table.js";
import type { DispatcherOutput } from "./types.js";

/** Sends a final answer for `task` (then `event`) and forgets the task: DispatcherCore's #answer. */
export type Answer = (
  task: TaskEntry,
  packet: FinalPacket,
  outputs: DispatcherOutput[],
  event?: DispatcherOutput,
) => void;

/** Handles a calculator's `task.done`. */
export function onResult(
  ctx: DispatchContext,
  finals: ResultStore,
  nowMs: number,
  from: Endpoint,
  done: TaskDone,
  answer: Answer,
): DispatcherOutput[] {
  const calculator = ctx.registry.touch(nowMs, done.from, from);
  if (calculator === undefined) return [drop("unknown_calculator")];
  const task = ctx.table.get(done.taskId);
  if (task === undefined) {
    const final = finals.get(nowMs, done.taskId);
    if (final === undefined) return [drop("unknown_task")];
    const outputs = [drop("late_result")];
    // Only a result decided by a vote outvotes a late one (with q = 1 the late one may be the right one).
    const isVoted = ctx.replication.quorum > 1 && final.type === "task.result";
    if (isVoted && final.result !== done.result) outvote(ctx, nowMs, done.taskId, done.from, outputs);
    return outputs;
  }
  const copy = task.copies.get(done.from);
  if (copy === undefined) {
    // An overlay node that got the task in a move we have not heard of. If the task waits for such a
    // claim (its holder restarted), it goes there now and the result is fetched from its cache.
    const isHeld = ctx.claimHolds.has(task.taskId);
    noteClaim(task, done.from, isHeld);
    const outputs = [drop("not_assigned")];
    if (isHeld && task.liveCount === 0) reconcile(ctx, nowMs, task, "replacement", outputs);
    return outputs;
  }
  if (task.votes.hasVoted(done.from)) return [drop("duplicate_vote")];
  const outputs: DispatcherOutput[] = [];
  // A voting copy's result is a success only if the vote agrees with it (settleVotes); an outvoted
  // one is a failure and nothing else, so a calculator that is always outvoted reads as failing.
  ctx.registry.recordResult(nowMs, done.from, nowMs - copy.startedMs, task.quorum === 1);
  calculator.reportedRunning = Math.max(0, calculator.reportedRunning - 1);
  if (copy.state === "live") ctx.table.endCopy(task, done.from, "voted");
  else copy.state = "voted";
  if (ctx.hedging?.enabled === true) {
    ctx.latencies.record(nowMs - copy.startedMs, done.from);
    ctx.hedgeWakeMs = nowMs; // the quantile moved: rescan soon
  }
  const vote = task.votes.record(done.from, done.result);
  const agreeingCount = vote.kind === "counted" ? vote.agreeingCount : 0;
  const voted: DispatcherOutput = {
    kind: "vote_recorded",
    taskId: task.taskId,
    calculatorId: done.from,
    agreeingCount,
  };
  if (agreeingCount >= task.quorum) {
    const packet = {
      v: PROTOCOL_VERSION,
      type: "task.result",
      from: ctx.config.nodeId,
      taskId: task.taskId,
      result: done.result,
      attempts: task.attempts,
    } as const;
    answer(task, packet, outputs, {
      kind: "task_completed",
      taskId: task.taskId,
      calculatorId: done.from,
      latencyMs: nowMs - task.arrivedMs,
      attempts: task.attempts,
    });
    outputs.push(voted);
    settleVotes(ctx, nowMs, task, done.result, outputs);
  } else {
    outputs.push(voted);
    reconcile(ctx, nowMs, task, "replica", outputs);
  }
  drainQueue(ctx, nowMs, outputs);
  return outputs;
}

/** Quorum reached on `result`: agreeing voters earn trust (when the task voted), the others are outvoted. */
function settleVotes(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  result: string,
  outputs: DispatcherOutput[],
): void {
  const hasVoted = task.quorum > 1;
  for (const [calculatorId, vote] of task.votes.entries()) {
    if (vote !== result) outvote(ctx, nowMs, task.taskId, calculatorId, outputs);
    else if (hasVoted) {
      ctx.trust.recordAgreed(calculatorId);
      ctx.registry.recordAgreed(nowMs, calculatorId);
    }
  }
}

function outvote(
  ctx: DispatchContext,
  nowMs: number,
  taskId: TaskId,
  calculatorId: string,
  outputs: DispatcherOutput[],
): void {
  ctx.trust.recordOutvoted(calculatorId);
  ctx.registry.recordFailure(nowMs, calculatorId, "outvoted");
  outputs.push({ kind: "copy_outvoted", taskId, calculatorId });
}

function drop(
  reason: "unknown_calculator" | "unknown_task" | "late_result" | "not_assigned" | "duplicate_vote",
): DispatcherOutput {
  return { kind: "packet_dropped", reason, type: "task.done" };
}
