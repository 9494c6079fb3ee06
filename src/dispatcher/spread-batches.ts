/**
 * Spread batches (SPEC.md section 7, docs/OVERLAY.md "Finn spread in the daemons"): `cluster spread`
 * asks for N tasks; the dispatcher creates them (held: in the task table, not in the placement queue),
 * asks the overlay root for a Finn wave until it answers, and assigns each node the tasks it claims
 * once it has acted. The dispatcher stays the one authority on where a task runs: a claim only gets
 * tasks that are still held, and only for the claimant's current incarnation (its heartbeat boot).
 * When the wave ends (or the root never answers in SPREAD_END_WAIT_MS) every task still held is
 * placed like any other task ("re-placed"), so a node that died before acting costs time, never a
 * task, and a late claim gets nothing that already runs elsewhere. Sans-IO: time comes in as nowMs.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import {
  type AdminSpread,
  type AdminSpreadResult,
  type SpreadClaim,
  type SpreadEnd,
  spreadTaskId,
  spreadTaskInput,
} from "../protocol/spread-packets.js";
import { assert } from "../runtime/assert.js";
import { SourceLimiter } from "../security/source-limiter.js";
import type { Endpoint } from "../transport/transport.js";
import { type DispatchContext, reconcile, sendAssign } from "./placement.js";
import type { CalculatorEntry } from "./registry.js";
import { answerSpread, type Batch, batchResult, emptyResult, type FinalLookup, newBatch } from "./spread-results.js";
import { newTaskEntry, type TaskEntry } from "./task-table.js";
import type { DispatcherOutput } from "./types.js";

/** Batches remembered at once (finished ones are forgotten first); beyond, new batches are `overloaded`. */
export const SPREAD_BATCHES_MAX = 64;
/** The root is asked again this often until it reports the wave's end (ms). */
export const SPREAD_START_RESEND_MS = 500;
/** Without an end from the root this long after the request, held tasks are placed anyway (ms). */
export const SPREAD_END_WAIT_MS = 15_000;
/** New batches per second (all sources), and the burst: each costs a wave over the whole overlay. */
const NEW_BATCHES_PER_S = 2;
const NEW_BATCHES_BURST = 4;

export type { FinalLookup } from "./spread-results.js";

/** The dispatcher's spread batches. */
export class SpreadBatches {
  readonly #nodeId: string;
  /** BOUNDED: SPREAD_BATCHES_MAX, insertion order (the oldest finished one is evicted first). */
  readonly #batches = new Map<string, Batch>();
  /** BOUNDED: one bucket. */
  readonly #limiter = new SourceLimiter({ ratePerS: NEW_BATCHES_PER_S, burst: NEW_BATCHES_BURST, sourcesMax: 1 });

  constructor(nodeId: string) {
    this.#nodeId = nodeId;
  }

  /** The earliest time (ms) onTick has something to do, or +Infinity. */
  nextDueMs(): number {
    let dueMs = Number.POSITIVE_INFINITY;
    for (const batch of this.#batches.values()) {
      if (batch.status === "spreading")
        dueMs = Math.min(dueMs, batch.nextStartMs, batch.createdMs + SPREAD_END_WAIT_MS);
    }
    return dueMs;
  }

  /** `cluster spread`: a new batch (tasks created, the root asked), or a repeat answered with progress. */
  onRequest(
    ctx: DispatchContext,
    nowMs: number,
    from: Endpoint,
    request: AdminSpread,
    finalOf: FinalLookup,
  ): DispatcherOutput[] {
    const known = this.#batches.get(request.requestId) ?? this.#adopt(ctx, nowMs, request, finalOf);
    if (known !== undefined) return answerSpread(from, request, batchResult(this.#nodeId, known, finalOf));
    if (!this.#limiter.allow("spread", nowMs))
      return [{ kind: "packet_dropped", reason: "rate_limited", type: request.type }];
    const refusal = this.#refusal(ctx, request);
    if (refusal !== undefined) return answerSpread(from, request, emptyResult(this.#nodeId, request, refusal));
    this.#evictFinished();
    const batch = newBatch(request, nowMs, "spreading", 0);
    for (let i = 0; i < request.count; i += 1) {
      ctx.table.add(
        newTaskEntry({
          taskId: spreadTaskId(request.requestId, i),
          clientId: request.from,
          client: from,
          isSilent: true,
          input: spreadTaskInput(request.requestId, i),
          rounds: request.rounds,
          priority: 0,
          arrivedMs: nowMs,
          deadlineMs: nowMs + ctx.config.queueTimeoutMs,
          factor: ctx.replication.factor,
          quorum: ctx.replication.quorum,
        }),
      );
    }
    this.#batches.set(batch.batchId, batch);
    const outputs: DispatcherOutput[] = [{ kind: "spread_started", batchId: batch.batchId, count: batch.count }];
    outputs.push(...this.#askRoot(ctx, nowMs, batch));
    outputs.push(...answerSpread(from, request, batchResult(this.#nodeId, batch, finalOf)));
    return outputs;
  }

  /** The root reports the wave's end: held tasks are placed by the dispatcher now. */
  onEnd(ctx: DispatchContext, nowMs: number, from: Endpoint, end: SpreadEnd): DispatcherOutput[] {
    const sender = ctx.registry.touch(nowMs, end.from, from);
    if (sender === undefined || sender.overlayRole !== "root")
      return [{ kind: "packet_dropped", reason: "unknown_calculator", type: end.type }];
    const batch = this.#batches.get(end.batchId);
    if (batch === undefined) return [{ kind: "packet_dropped", reason: "unknown_task", type: end.type }];
    if (batch.status !== "spreading") return [];
    batch.end = end;
    return this.#finish(ctx, nowMs, batch, end.status);
  }

  /** A node acted and claims its share: assign it what is still held, to its current incarnation only. */
  onClaim(ctx: DispatchContext, nowMs: number, from: Endpoint, claim: SpreadClaim): DispatcherOutput[] {
    const node = ctx.registry.touch(nowMs, claim.from, from);
    if (node === undefined || !node.isAlive || node.overlayRole === undefined)
      return [{ kind: "packet_dropped", reason: "unknown_calculator", type: claim.type }];
    if (node.boot !== claim.boot) return [{ kind: "packet_dropped", reason: "spread_stale_boot", type: claim.type }];
    const batch = this.#batches.get(claim.batchId);
    if (batch === undefined || claim.first + claim.count > batch.count)
      return [{ kind: "packet_dropped", reason: "unknown_task", type: claim.type }];
    const outputs: DispatcherOutput[] = [];
    let assignedCount = 0;
    for (let i = claim.first; i < claim.first + claim.count; i += 1) {
      if (batch.claimants[i] === node.id) {
        assignedCount += 1; // a repeated claim: already assigned here
        continue;
      }
      const task = ctx.table.get(spreadTaskId(batch.batchId, i));
      if (task === undefined || batch.status !== "spreading" || !isHeld(ctx, task)) continue;
      if (ctx.registry.freeSlots(node) === 0) continue; // left held: placed by the dispatcher at the end
      assignHeld(ctx, nowMs, task, node, outputs);
      batch.claimants[i] = node.id;
      batch.claimedCount += 1;
      batch.claimedBy.set(node.id, (batch.claimedBy.get(node.id) ?? 0) + 1);
      assignedCount += 1;
    }
    const answer: Packet = {
      v: PROTOCOL_VERSION,
      type: "spread.claimed",
      from: this.#nodeId,
      batchId: batch.batchId,
      first: claim.first,
      assignedCount,
    };
    outputs.push({ kind: "send", to: from, packet: answer });
    return outputs;
  }

  /** Asks the root again while a wave runs; places held tasks of a batch whose root never answered. */
  onTick(ctx: DispatchContext, nowMs: number): DispatcherOutput[] {
    const outputs: DispatcherOutput[] = [];
    for (const batch of this.#batches.values()) {
      if (batch.status !== "spreading") continue;
      if (nowMs >= batch.createdMs + SPREAD_END_WAIT_MS) outputs.push(...this.#finish(ctx, nowMs, batch, "timed_out"));
      else if (nowMs >= batch.nextStartMs) outputs.push(...this.#askRoot(ctx, nowMs, batch));
    }
    return outputs;
  }

  /**
   * A repeat of a request this dispatcher does not remember, whose every task it knows (queued,
   * running or answered): a batch from before a restart, its tasks read back from the journal. Its
   * wave is over (the dispatcher placed what was unfinished), so it is remembered as `timed_out` with
   * nothing claimed, and the repeat gets progress again. Undefined when any task is unknown.
   */
  #adopt(ctx: DispatchContext, nowMs: number, request: AdminSpread, finalOf: FinalLookup): Batch | undefined {
    let unfinishedCount = 0;
    for (let i = 0; i < request.count; i += 1) {
      const taskId = spreadTaskId(request.requestId, i);
      if (ctx.table.get(taskId) !== undefined) unfinishedCount += 1;
      else if (finalOf(taskId) === undefined) return undefined;
    }
    this.#evictFinished();
    if (this.#batches.size >= SPREAD_BATCHES_MAX) return undefined;
    const batch = newBatch(request, nowMs, "timed_out", unfinishedCount);
    this.#batches.set(batch.batchId, batch);
    return batch;
  }

  #refusal(ctx: DispatchContext, request: AdminSpread): AdminSpreadResult["status"] | undefined {
    const hasRoot = [...ctx.registry.values()].some((entry) => entry.isAlive && entry.overlayRole === "root");
    if (!hasRoot) return "no_overlay";
    const isFull = [...this.#batches.values()].every((b) => b.status === "spreading");
    if (ctx.table.size + request.count > ctx.config.tasksMax) return "overloaded";
    if (this.#batches.size >= SPREAD_BATCHES_MAX && isFull) return "overloaded";
    // Ids are derived from the batch id: one already known (a reused prefix) would clash.
    for (let i = 0; i < request.count; i += 1)
      if (ctx.table.get(spreadTaskId(request.requestId, i)) !== undefined) return "overloaded";
    return undefined;
  }

  #evictFinished(): void {
    if (this.#batches.size < SPREAD_BATCHES_MAX) return;
    for (const [batchId, batch] of this.#batches) {
      if (batch.status !== "spreading") {
        this.#batches.delete(batchId);
        return;
      }
    }
  }

  #askRoot(ctx: DispatchContext, nowMs: number, batch: Batch): DispatcherOutput[] {
    batch.nextStartMs = nowMs + SPREAD_START_RESEND_MS;
    const root = [...ctx.registry.values()].find((entry) => entry.isAlive && entry.overlayRole === "root");
    if (root === undefined) return [];
    const packet: Packet = {
      v: PROTOCOL_VERSION,
      type: "spread.start",
      from: this.#nodeId,
      batchId: batch.batchId,
      count: batch.count,
    };
    return [{ kind: "send", to: root.endpoint, packet }];
  }

  /** The wave is over: every task nobody claimed is placed like a submitted one. */
  #finish(ctx: DispatchContext, nowMs: number, batch: Batch, status: "done" | "timed_out"): DispatcherOutput[] {
    assert(batch.status === "spreading", "a batch finishes once");
    batch.status = status;
    const outputs: DispatcherOutput[] = [];
    for (let i = 0; i < batch.count; i += 1) {
      const task = ctx.table.get(spreadTaskId(batch.batchId, i));
      if (task === undefined || !isHeld(ctx, task)) continue;
      batch.replacedCount += 1;
      reconcile(ctx, nowMs, task, "primary", outputs);
    }
    outputs.push({
      kind: "spread_ended",
      batchId: batch.batchId,
      status,
      claimedCount: batch.claimedCount,
      replacedCount: batch.replacedCount,
      waveMessages: batch.end?.waveMessages ?? 0,
    });
    return outputs;
  }
}

/** Starts the primary copy of a held task on the node that claimed it (replicated tasks get the rest too). */
function assignHeld(
  ctx: DispatchContext,
  nowMs: number,
  task: TaskEntry,
  node: CalculatorEntry,
  outputs: DispatcherOutput[],
): void {
  const copy = ctx.table.startCopy(nowMs, task, node, "primary");
  ctx.copiesStarted.primary += 1;
  ctx.budget.onPrimary();
  outputs.push({
    kind: "copy_started",
    taskId: task.taskId,
    calculatorId: node.id,
    copyKind: "primary",
    attempt: copy.attempt,
  });
  sendAssign(ctx, task, copy, outputs);
  reconcile(ctx, nowMs, task, "replica", outputs);
}

/** A spread task waiting for a claim: in the table, never placed, not in the placement queue. */
function isHeld(ctx: DispatchContext, task: TaskEntry): boolean {
  return task.attempts === 0 && !ctx.table.queue.has(task.taskId);
}
