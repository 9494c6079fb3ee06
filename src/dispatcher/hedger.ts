/**
 * Hedged copies (SPEC 9): a live copy that has run longer than the configured quantile of recent copy
 * latencies, and at least minDelayMs, gets one backup copy on a calculator that never had the task,
 * while the shared budget has a token. Only copies the task still needs are hedged (a task with spare
 * copies out waits for them), and a hedge is never hedged itself. Sans-IO: time comes in as nowMs.
 */
import { type DispatchContext, isReplicated, placeOne } from "./placement.js";
import type { TaskCopy, TaskEntry } from "./task-table.js";
import type { DispatcherOutput } from "./types.js";

/** How long (ms) a copy runs before it is hedged now, or undefined while hedging is off or unsure. */
export function hedgeDelayMs(ctx: DispatchContext): number | undefined {
  const hedging = ctx.hedging;
  if (hedging?.enabled !== true) return undefined;
  const quantileMs = ctx.latencies.quantileMs(hedging.quantile);
  return quantileMs === undefined ? undefined : Math.max(hedging.minDelayMs, quantileMs);
}

/** Starts the hedges that are due and sets ctx.hedgeWakeMs to the next time one may be. */
export function scanHedges(ctx: DispatchContext, nowMs: number, outputs: DispatcherOutput[]): void {
  ctx.hedgeWakeMs = Number.POSITIVE_INFINITY;
  const delayMs = hedgeDelayMs(ctx);
  if (delayMs === undefined) return;
  for (const task of ctx.table.values()) {
    if (task.liveCount === 0 || task.liveCount > neededCount(task)) continue;
    for (const copy of ctx.table.liveCopies(task)) {
      if (copy.isHedged || copy.kind === "hedge") continue;
      const dueMs = copy.startedMs + delayMs;
      if (dueMs > nowMs) {
        ctx.hedgeWakeMs = Math.min(ctx.hedgeWakeMs, dueMs);
        continue;
      }
      if (!tryHedge(ctx, nowMs, task, copy, outputs)) ctx.hedgeWakeMs = Math.min(ctx.hedgeWakeMs, nowMs + delayMs);
      break; // one hedge per task per scan: the task's plan changes with it
    }
  }
}

/** Copies the task still needs out: as in planCopies, without the spare ones. */
function neededCount(task: TaskEntry): number {
  return Math.max(task.factor - task.votes.votedCount, task.quorum - (task.votes.leading?.count ?? 0));
}

function tryHedge(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  copy: TaskCopy,
  outputs: DispatcherOutput[],
): boolean {
  if (isReplicated(task) && task.attempts >= ctx.replication.maxCopies) return false; // maxCopies counts hedges too
  if (ctx.registry.candidates(nowMs, ctx.table.excludedFor(task)).length === 0) return false;
  if (!ctx.budget.tryHedge()) {
    if (!copy.isHedgeDenied) outputs.push({ kind: "hedge_skipped", taskId: task.taskId, reason: "budget" });
    copy.isHedgeDenied = true;
    return false;
  }
  copy.isHedged = true;
  return placeOne(ctx, nowMs, task, "hedge", outputs);
}
