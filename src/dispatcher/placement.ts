/**
 * The dispatcher's copy placement: how many copies a task needs now (votes.ts decides), which
 * calculators get them (the placement policy chooses among those allowed), taking copies back when
 * they are lost (timeout, death, restart, refusal) and draining the queue into free slots. Works over
 * a DispatchContext of classes that each own their invariants (TaskTable, CalculatorRegistry,
 * TrustBook, HedgeBudget). Sans-IO: time comes in as nowMs, effects go out as DispatcherOutput values.
 */

import type { CalculatorView } from "../placement/placement.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import type { CancelSender } from "./cancels.js";
import type { HedgeBudget, LatencySample } from "./hedging.js";
import type { CalculatorRegistry } from "./registry.js";
import type { TaskCopy, TaskEntry, TaskTable } from "./task-table.js";
import type { TrustBook } from "./trust.js";
import type { CopyKind, DispatcherCoreConfig, DispatcherOutput, HedgingConfig, TaskFailureReason } from "./types.js";
import { planCopies } from "./votes.js";

/** Replication settings with every default filled in. */
export interface ReplicationSettings {
  readonly factor: number;
  readonly quorum: number;
  readonly maxCopies: number;
  readonly adaptive: boolean;
  readonly trustRunMin: number;
}

/** The collaborators the placement functions work over; DispatcherCore owns them. */
export interface DispatchContext {
  readonly config: DispatcherCoreConfig;
  readonly registry: CalculatorRegistry;
  readonly table: TaskTable;
  readonly replication: ReplicationSettings;
  readonly hedging: HedgingConfig | undefined;
  readonly trust: TrustBook;
  readonly budget: HedgeBudget;
  readonly latencies: LatencySample;
  readonly cancels: CancelSender;
  /** Copies started so far, by kind (metrics: task_copies_started_total{kind}). */
  readonly copiesStarted: Record<CopyKind, number>;
  /** What the cluster survived since start (SPEC 4; admin.status.result): outages seen and copies re-placed. */
  readonly survived: { outageCount: number; replacedCount: number };
  /** Ends a task with a final failure (the core sends the answer and cancels its copies). */
  readonly fail: (nowMs: number, task: TaskEntry, reason: TaskFailureReason, outputs: DispatcherOutput[]) => void;
  /** Lowered when a copy starts, so hedging's scan runs in time (ms). */
  hedgeWakeMs: number;
  /** When an idle task's lost copies may be asked again (ms); see reviveIfIdle. */
  probeWakeMs: number;
  /**
   * Plain tasks lost when an overlay node restarted, not placed again before the time given (ms)
   * unless a claimant speaks first (see holdForClaims). BOUNDED: tasksMax (entries are table tasks).
   */
  readonly claimHolds: Map<TaskId, number>;
}

/** A task votes (k > 1 or q > 1): every copy on a calculator that never had it, at most maxCopies. */
export function isReplicated(task: TaskEntry): boolean {
  return task.factor > 1 || task.quorum > 1;
}

/**
 * Starts the copies `task` needs now (the first is its primary), queues it while some cannot be placed,
 * and fails it with `no_quorum` when agreement is no longer possible. `kind` names copies beyond the
 * first k (replica after a disagreement, replacement after a loss).
 */
export function reconcile(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  kind: CopyKind,
  outputs: DispatcherOutput[],
): void {
  const holdUntilMs = ctx.claimHolds.get(task.taskId);
  if (holdUntilMs !== undefined) {
    // A node may hold it through a move its dead giver never confirmed: wait for its claim a moment.
    if (task.liveCount === 0 && task.claimant === undefined && nowMs < holdUntilMs) return;
    ctx.claimHolds.delete(task.taskId);
  }
  if (task.attempts === 0) {
    if (!placeOne(ctx, nowMs, task, "primary", outputs)) {
      requeue(ctx, task);
      return;
    }
    applyTrust(ctx, task);
  }
  const replicated = isReplicated(task);
  const plan = planCopies({
    factor: task.factor,
    quorum: task.quorum,
    votedCount: task.votes.votedCount,
    leadingCount: task.votes.leading?.count ?? 0,
    liveCount: task.liveCount,
    outstandingCount: outstandingCount(ctx, task),
    startedCount: task.attempts,
    copiesMax: replicated ? ctx.replication.maxCopies : Number.POSITIVE_INFINITY,
    eligibleCount: replicated && task.votes.votedCount > 0 ? eligibleCount(ctx, task) : Number.POSITIVE_INFINITY,
  });
  if (plan.kind === "final") return; // the vote handler answers it
  if (plan.kind === "no_quorum") {
    ctx.fail(nowMs, task, "no_quorum", outputs);
    return;
  }
  const copyKind = task.attempts < task.factor ? "replica" : kind;
  for (let placed = 0; placed < plan.count; placed += 1) {
    if (!placeOne(ctx, nowMs, task, copyKind, outputs)) {
      requeue(ctx, task);
      reviveIfIdle(ctx, nowMs, task, outputs);
      return;
    }
  }
  ctx.table.queue.remove(task.taskId);
  reviveIfIdle(ctx, nowMs, task, outputs);
}

/**
 * A replicated task with no live copy that waits on lost ones (a slow calculator's timed-out copy)
 * asks them again, at most every probeIntervalMs: their result may have been lost on the way, and
 * nothing else would fetch it. The calculator answers from its results cache; the copy stays lost.
 */
function reviveIfIdle(ctx: DispatchContext, nowMs: number, task: TaskEntry, outputs: DispatcherOutput[]): void {
  if (task.liveCount > 0 || !isReplicated(task) || ctx.table.get(task.taskId) !== task) return;
  for (const copy of task.copies.values()) {
    const calculator = ctx.registry.get(copy.calculatorId);
    if (copy.state !== "lost" || calculator?.isAlive !== true) continue;
    if (nowMs - copy.probedMs >= ctx.config.probeIntervalMs) {
      copy.probedMs = nowMs;
      outputs.push({ kind: "send", to: calculator.endpoint, packet: assignPacket(ctx, task, copy, calculator.boot) });
    }
    ctx.probeWakeMs = Math.min(ctx.probeWakeMs, copy.probedMs + ctx.config.probeIntervalMs);
  }
}

/** A task whose primary landed on a trusted calculator runs as one copy (adaptive replication). */
function applyTrust(ctx: DispatchContext, task: TaskEntry): void {
  if (!ctx.replication.adaptive || task.factor === 1) return;
  const [primary] = task.copies.keys();
  if (primary !== undefined && ctx.trust.mayRunSingle(primary)) {
    task.factor = 1;
    task.quorum = 1;
  }
}

/** Queues `task` (a queued one keeps its place): by priority, then arrival, so one that had copies comes early. */
function requeue(ctx: DispatchContext, task: TaskEntry): void {
  ctx.table.queue.enqueue(task);
}

/**
 * Copies that may still vote: live ones, and lost ones (timed out, or on a calculator declared dead)
 * while their calculator is still registered: a frozen calculator comes back with the same identity
 * and finishes what it held. Only eviction (calculatorEvictAfterMs of silence) gives up on them.
 */
function outstandingCount(ctx: DispatchContext, task: TaskEntry): number {
  if (task.copies.size === task.liveCount) return task.liveCount;
  let count = 0;
  for (const copy of task.copies.values()) {
    if (copy.state === "live") count += 1;
    else if (copy.state === "lost" && ctx.registry.get(copy.calculatorId) !== undefined) count += 1;
  }
  return count;
}

/** Calculators (alive or not, still registered) that never had a copy of `task`. */
function eligibleCount(ctx: DispatchContext, task: TaskEntry): number {
  let count = 0;
  for (const entry of ctx.registry.values()) if (!task.copies.has(entry.id)) count += 1;
  return count;
}

/**
 * Starts one copy on the best free calculator that never had this task (`choose` decides, the
 * placement policy by default); a plain (q = 1) task falls back to any free calculator without a
 * live copy of it. False when none is free.
 */
export function placeOne(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  kind: CopyKind,
  outputs: DispatcherOutput[],
  choose: (views: readonly CalculatorView[]) => NodeId | undefined = (views) => ctx.config.placement.pick(views),
): boolean {
  const pick = (exclude: ReadonlySet<NodeId>): NodeId | undefined => choose(ctx.registry.candidates(nowMs, exclude));
  const claimant = claimantOf(ctx, task);
  let calculatorId = claimant ?? pick(ctx.table.excludedFor(task));
  if (calculatorId === undefined && !isReplicated(task) && kind !== "hedge") {
    calculatorId = pick(new Set([...ctx.table.liveCopies(task)].map((copy) => copy.calculatorId)));
  }
  const calculator = calculatorId === undefined ? undefined : ctx.registry.get(calculatorId);
  if (calculator === undefined) return false;
  // A claimant holds the task already (queued or running there): its assign takes no new slot.
  assert(calculatorId === claimant || ctx.registry.freeSlots(calculator) > 0, "placement chose a full calculator");
  const copy = ctx.table.startCopy(nowMs, task, calculator, kind);
  ctx.copiesStarted[kind] += 1;
  if (kind === "primary") ctx.budget.onPrimary();
  if (kind === "replacement" && ctx.hedging?.enabled === true) ctx.budget.onReplacement();
  if (ctx.hedging?.enabled === true) ctx.hedgeWakeMs = Math.min(ctx.hedgeWakeMs, nowMs + ctx.hedging.minDelayMs);
  outputs.push({
    kind: "copy_started",
    taskId: task.taskId,
    calculatorId: calculator.id,
    copyKind: kind,
    attempt: copy.attempt,
  });
  sendAssign(ctx, task, copy, outputs);
  return true;
}

/**
 * `calculatorId` says it holds plain `task`, which the dispatcher believes is elsewhere: remembered, so
 * if that holder is lost before it confirms a move the task is placed on the claimant first (where it,
 * or its result, already is) instead of being computed a second time (placement.ts claimantOf).
 */
export function noteClaim(task: TaskEntry, calculatorId: string, isHeld = false): void {
  if ((task.liveCount === 1 || (isHeld && task.liveCount === 0)) && !isReplicated(task)) task.claimant = calculatorId;
}

/**
 * The overlay node that announced it received `task` in a move (see TaskEntry.claimant), if it is
 * alive and holds no live copy of it: a plain task goes there first, full or not, since the task (or
 * its result) is already there. Used once.
 */
function claimantOf(ctx: DispatchContext, task: TaskEntry): NodeId | undefined {
  const claimant = task.claimant;
  if (claimant === undefined || isReplicated(task)) return undefined;
  task.claimant = undefined;
  if (task.copies.get(claimant)?.state === "live") return undefined;
  return ctx.registry.get(claimant)?.isAlive === true ? claimant : undefined;
}

/** Sends (or resends) the assign of a live copy to its calculator. */
export function sendAssign(ctx: DispatchContext, task: TaskEntry, copy: TaskCopy, outputs: DispatcherOutput[]): void {
  const calculator = ctx.registry.get(copy.calculatorId);
  if (copy.state !== "live" || calculator === undefined) return;
  outputs.push({ kind: "send", to: calculator.endpoint, packet: assignPacket(ctx, task, copy, calculator.boot) });
}

/** The assign of `copy`, meant for calculator incarnation `toBoot` only (see TaskAssign). */
function assignPacket(ctx: DispatchContext, task: TaskEntry, copy: TaskCopy, toBoot: number): Packet {
  return {
    v: PROTOCOL_VERSION,
    type: "task.assign",
    from: ctx.config.nodeId,
    taskId: task.taskId,
    attempt: copy.attempt,
    input: task.input,
    rounds: task.rounds,
    // Meant for this incarnation only: a restarted calculator never takes a probe of its earlier life.
    toBoot,
  };
}

/** Places queued tasks' copies, in queue order, while some calculator has a free slot. */
export function drainQueue(ctx: DispatchContext, nowMs: number, outputs: DispatcherOutput[]): void {
  if (ctx.table.queue.size === 0 || !ctx.registry.hasFreeSlot()) return;
  for (const task of ctx.table.queue.snapshot()) {
    if (!ctx.registry.hasFreeSlot()) return;
    if (ctx.table.get(task.taskId) !== task) continue; // answered meanwhile
    reconcile(ctx, nowMs, task, task.attempts === 0 ? "primary" : "replacement", outputs);
  }
}
