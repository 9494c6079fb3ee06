/**
 * Hedged copies (SPEC 9): a live copy that has run longer than the configured quantile of recent copy
 * latencies, and at least minDelayMs, gets one backup copy on a calculator that never had the task,
 * while the shared budget has a token. Only copies the task still needs are hedged (a task with spare
 * copies out waits for them), and a hedge is never hedged itself.
 *
 * One slow calculator must not blunt hedging: calculators whose latency estimate is a slow outlier
 * (hedging.ts slowOutliers) are left out of the quantile; their copies, and copies on a failing
 * (parked) calculator, are hedged as soon as minDelayMs allows (they are expected to pass the quantile
 * or be lost anyway); and a hedge goes to the fastest free calculator that is not slow. A slow
 * calculator whose copies always lose to their hedges never reports a latency, but reads failing
 * (hedge_lost), so its rare primaries are still hedged early. Sans-IO: time comes in as nowMs.
 */
import { type CalculatorView, compareIds, FAILING_RATE_MIN, healthyTier, loadPerSlot } from "../placement/placement.js";
import type { NodeId } from "../protocol/packets.js";
import { slowOutliers } from "./hedging.js";
import { type DispatchContext, isReplicated, placeOne } from "./placement.js";
import type { TaskCopy, TaskEntry } from "./task-table.js";
import type { DispatcherOutput } from "./types.js";

/** The alive calculators whose latency estimate is a slow outlier now. */
export function slowCalculators(ctx: DispatchContext, nowMs: number): Set<NodeId> {
  const latenciesMs = new Map<NodeId, number>();
  for (const entry of ctx.registry.values()) {
    const latencyMs = entry.isAlive ? ctx.registry.estimates.view(nowMs, entry.id).latencyMs : undefined;
    if (latencyMs !== undefined) latenciesMs.set(entry.id, latencyMs);
  }
  return slowOutliers(latenciesMs);
}

/**
 * How long (ms) a copy on a calculator that is not slow runs before it is hedged now, or undefined
 * while hedging is off or unsure. The latencies of `slow` calculators are left out of the quantile.
 */
export function hedgeDelayMs(ctx: DispatchContext, slow: ReadonlySet<NodeId> = new Set()): number | undefined {
  const hedging = ctx.hedging;
  if (hedging?.enabled !== true) return undefined;
  const quantileMs = ctx.latencies.quantileMs(hedging.quantile, slow);
  return quantileMs === undefined ? undefined : Math.max(hedging.minDelayMs, quantileMs);
}

/** Starts the hedges that are due and sets ctx.hedgeWakeMs to the next time one may be. */
export function scanHedges(ctx: DispatchContext, nowMs: number, outputs: DispatcherOutput[]): void {
  ctx.hedgeWakeMs = Number.POSITIVE_INFINITY;
  if (ctx.hedging?.enabled !== true || ctx.table.size === 0) return;
  const slow = slowCalculators(ctx, nowMs);
  const delayMs = hedgeDelayMs(ctx, slow);
  if (delayMs === undefined) return;
  const slowDelayMs = Math.min(delayMs, ctx.hedging.minDelayMs);
  const early = new Set(slow);
  for (const entry of ctx.registry.values()) {
    if (entry.isAlive && ctx.registry.failureRate(nowMs, entry.id) >= FAILING_RATE_MIN) early.add(entry.id);
  }
  for (const task of ctx.table.values()) {
    if (task.liveCount === 0 || task.liveCount > neededCount(task)) continue;
    for (const copy of ctx.table.liveCopies(task)) {
      if (copy.isHedged || copy.kind === "hedge") continue;
      const dueMs = copy.startedMs + (early.has(copy.calculatorId) ? slowDelayMs : delayMs);
      if (dueMs > nowMs) {
        ctx.hedgeWakeMs = Math.min(ctx.hedgeWakeMs, dueMs);
        continue;
      }
      if (!tryHedge(ctx, nowMs, task, copy, slow, outputs))
        ctx.hedgeWakeMs = Math.min(ctx.hedgeWakeMs, nowMs + delayMs);
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
  slow: ReadonlySet<NodeId>,
  outputs: DispatcherOutput[],
): boolean {
  if (isReplicated(task) && task.attempts >= ctx.replication.maxCopies) return false; // maxCopies counts hedges too
  // A task that adaptive trust runs as one copy takes the first result (q = 1): a hedge of it on an
  // untrusted calculator would let that one's result be final unchecked, so it goes to a trusted one.
  const isTrustedOnly = ctx.replication.adaptive && task.factor < ctx.replication.factor;
  const allowed = (views: readonly CalculatorView[]): readonly CalculatorView[] =>
    isTrustedOnly ? views.filter((view) => ctx.trust.isTrusted(view.id)) : views;
  if (allowed(ctx.registry.candidates(nowMs, ctx.table.excludedFor(task))).length === 0) return false;
  if (!ctx.budget.tryHedge()) {
    if (!copy.isHedgeDenied) outputs.push({ kind: "hedge_skipped", taskId: task.taskId, reason: "budget" });
    copy.isHedgeDenied = true;
    return false;
  }
  copy.isHedged = true;
  return placeOne(ctx, nowMs, task, "hedge", outputs, (views) => fastestFree(allowed(views), slow));
}

/**
 * Where a hedge goes: among the healthiest free calculators, those that are not slow (when any is),
 * the one with the lowest latency estimate (unknown last), then the least loaded, then by id.
 */
export function fastestFree(views: readonly CalculatorView[], slow: ReadonlySet<NodeId>): NodeId | undefined {
  const tier = healthyTier(views);
  const fast = tier.filter((view) => !slow.has(view.id));
  let best: CalculatorView | undefined;
  for (const view of fast.length > 0 ? fast : tier) {
    if (best === undefined || compareSpeed(view, best) < 0) best = view;
  }
  return best?.id;
}

function compareSpeed(a: CalculatorView, b: CalculatorView): number {
  const latency = (view: CalculatorView): number => view.latencyMs ?? Number.POSITIVE_INFINITY;
  return latency(a) - latency(b) || loadPerSlot(a) - loadPerSlot(b) || compareIds(a.id, b.id);
}
