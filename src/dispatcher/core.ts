/**
 * The dispatcher as a deterministic state machine: registry, task table (tasks, copies, votes,
 * deadlines), placement, resends, cancels, hedges and the recent-results cache. No sockets, no timers,
 * no clock reads: the shell passes nowMs and packets in and performs the outputs. Every task gets
 * exactly one final answer: a result agreed by `quorum` copies, or a failure with a reason (`timeout`,
 * `deadline`, `overloaded`, `cancelled`, `no_quorum`); a duplicate submit or cancel is answered from the cache.
 * See docs/REPLICATION.md for the vote, cancellation, re-placement, adaptive trust and hedging.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { CalcHeartbeat, NodeId, TaskCancel, TaskId, TaskSubmit } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { SteadyMap } from "../runtime/steady-map.js";
import { type Endpoint, sameEndpoint } from "../transport/transport.js";
import { AdminRelay } from "./admin-relay.js";
import { onCalculatorAck } from "./calculator-acks.js";
import { expireCalculators, expireCopies, releaseClaimHolds } from "./copy-losses.js";
import { newDispatchContext } from "./dispatch-context.js";
import { onHeartbeat } from "./heartbeats.js";
import { scanHedges } from "./hedger.js";
import { answerQuery, answerStatus } from "./operator-queries.js";
import { type DispatchContext, drainQueue, reconcile, sendAssign } from "./placement.js";
import { CalculatorRegistry } from "./registry.js";
import { type FinalPacket, MemoryResultStore, type ResultStore } from "./result-store.js";
import { onResult } from "./results.js";
import { SpreadBatches } from "./spread-batches.js";
import { calculatorStatuses, type DispatcherStatus } from "./status.js";
import { newTaskEntry, type TaskEntry } from "./task-table.js";
import type { CopyKind, DispatcherCoreConfig, DispatcherOutput, TaskCounts, TaskFailureReason } from "./types.js";

/** A task read back from the journal (see restoreTask). */
export interface RestoredTask {
  readonly taskId: TaskId;
  readonly client: Endpoint;
  /** The submitter's node id (the task's owner); absent: anyone may cancel it. */
  readonly clientId?: string;
  readonly input: string;
  readonly rounds: number;
  readonly priority: number;
  /** Its own bound to the final answer (ms after arrival), if the submit gave one. */
  readonly deadlineMs?: number;
  /** How long ago (ms) it arrived, by the wall clock. */
  readonly ageMs: number;
  /** A spread batch's task: answered to nobody, fetched by id (`cluster result`). */
  readonly isSilent?: boolean;
}

export type { FinalPacket } from "./result-store.js";

/** Deterministic dispatcher state machine. */
export class DispatcherCore {
  readonly #config: DispatcherCoreConfig;
  readonly registry: CalculatorRegistry;
  readonly #ctx: DispatchContext;
  /** Final answers given (SPEC 3 `results`). BOUNDED: config.resultsMax answers for config.resultsTtlMs. */
  readonly #finals: ResultStore;
  /** BOUNDED: config.tasksMax; tasks owed a delayed receipt, in due order (one delay for all). */
  readonly #acksDue = new SteadyMap<TaskId, number>();
  readonly #adminRelay: AdminRelay;
  /** Finn spread batches (`cluster spread`). */
  readonly #spread: SpreadBatches;
  /** No calculator expires before this (ms): lowered on (re)registration, made exact by onTick. */
  #registryWakeMs = Number.POSITIVE_INFINITY;
  /** Final answers sent since start, by kind (each task once), for status(). */
  #succeededCount = 0;
  #failedCount = 0;

  /** `results`: where final answers are kept; absent = a {@link MemoryResultStore} of resultsMax for resultsTtlMs. */
  constructor(config: DispatcherCoreConfig, results?: ResultStore) {
    assert(config.taskTimeoutMs > 0 && config.queueTimeoutMs > 0, "timeouts must be positive");
    assert(config.queueMax > 0 && config.tasksMax >= config.queueMax, "need 0 < queueMax <= tasksMax");
    this.#config = config;
    this.registry = new CalculatorRegistry(config);
    this.#finals = results ?? new MemoryResultStore({ max: config.resultsMax, ttlMs: config.resultsTtlMs });
    this.#adminRelay = new AdminRelay(config.nodeId);
    this.#spread = new SpreadBatches(config.nodeId);
    this.#ctx = newDispatchContext(config, this.registry, (nowMs, task, reason, outputs) =>
      this.#fail(nowMs, task, reason, outputs),
    );
  }

  /** Tasks by state, for status pages and gauges. */
  counts(): TaskCounts {
    const { table } = this.#ctx;
    return { queued: table.queue.size, running: table.size - table.queue.size, cachedResults: this.#finals.size };
  }

  /**
   * The cluster as SPEC section 8's `/status` shows it: every registered calculator (id, address,
   * state alive|suspect|parked|dead, capacity, running, failureRate, latencyMs, lastSeenMs; sorted by
   * id, at most calculatorsMax) and task counts (queued and running now, succeeded and failed since
   * start). Pure and cheap (one pass over the registry); see dispatcher/status.ts for each field.
   */
  status(nowMs: number): DispatcherStatus {
    const { table } = this.#ctx;
    return {
      calculators: calculatorStatuses(nowMs, this.registry),
      tasks: {
        queued: table.queue.size,
        running: table.size - table.queue.size,
        succeeded: this.#succeededCount,
        failed: this.#failedCount,
      },
    };
  }

  /** What the cluster survived since start (SPEC 4): calculators declared dead, copies re-placed. */
  survived(): { readonly outageCount: number; readonly replacedCount: number } {
    return { ...this.#ctx.survived };
  }

  /** Copies started so far by kind (task_copies_started_total{kind}). */
  copiesStarted(): Readonly<Record<CopyKind, number>> {
    return { ...this.#ctx.copiesStarted };
  }

  /** Final answers evicted from the result store before their time (results.max too small). */
  get resultsEvictedCount(): number {
    return this.#finals.evictedCount;
  }

  /** Resends of assigns so far. */
  get assignResentCount(): number {
    return this.#ctx.table.assignResentCount;
  }

  /** Cancels sent to calculators so far (first sends and resends). */
  get cancelSentCount(): number {
    return this.#ctx.cancels.sentCount;
  }

  /** Adaptive replication's trust: agreeing results in a row of a calculator. */
  trustRunOf(calculatorId: NodeId): number {
    return this.#ctx.trust.runOf(calculatorId);
  }

  onPacket(nowMs: number, from: Endpoint, packet: Packet): DispatcherOutput[] {
    switch (packet.type) {
      case "task.submit":
        return this.#onSubmit(nowMs, from, packet);
      case "task.cancel":
        return this.#onCancel(nowMs, from, packet);
      case "calc.heartbeat":
        return this.#onHeartbeat(nowMs, from, packet);
      case "task.done":
        return onResult(this.#ctx, this.#finals, nowMs, from, packet, (task, p, o, e) =>
          this.#answer(nowMs, task, p, o, e),
        );
      case "task.ack":
        return onCalculatorAck(this.#ctx, nowMs, from, packet);
      case "task.query":
        return [
          answerQuery(
            this.#config.nodeId,
            from,
            packet,
            this.taskState(nowMs, packet.taskId),
            this.#finals.get(nowMs, packet.taskId),
          ),
        ];
      case "admin.status":
        return [answerStatus(this.#config.nodeId, from, packet, this.status(nowMs), this.survived())];
      case "admin.rebalance":
        return this.#adminRelay.onRequest(nowMs, from, packet, this.registry);
      case "admin.rebalance.result":
        return this.#adminRelay.onResult(nowMs, from, packet, this.registry);
      case "admin.spread":
        return this.#spread.onRequest(this.#ctx, nowMs, from, packet, (taskId) => this.#finalKind(nowMs, taskId));
      case "spread.end":
        return this.#spread.onEnd(this.#ctx, nowMs, from, packet);
      case "spread.claim":
        return this.#spread.onClaim(this.#ctx, nowMs, from, packet);
      default:
        return [{ kind: "packet_dropped", reason: "unexpected_type", type: packet.type }];
    }
  }

  /**
   * The earliest time (ms) onTick has something to do: a task or copy timeout, an assign or cancel
   * resend, a hedge, a delayed receipt, a calculator going silent. It may be early (then onTick does
   * nothing and the next call is exact), never late. Undefined when nothing is pending.
   */
  nextDeadlineMs(): number | undefined {
    const { table, cancels } = this.#ctx;
    let dueMs = Math.min(table.copyTimeoutWakeMs, this.#registryWakeMs, this.#ctx.hedgeWakeMs, this.#ctx.probeWakeMs);
    dueMs = Math.min(dueMs, table.nextAssignDueMs() ?? dueMs, cancels.nextDueMs() ?? dueMs, this.#spread.nextDueMs());
    dueMs = Math.min(dueMs, table.nextDeadlineMs() ?? dueMs);
    for (const holdUntilMs of this.#ctx.claimHolds.values()) dueMs = Math.min(dueMs, holdUntilMs);
    // Receipts are in due order: every one waits the same ackDelayMs.
    for (const ackDueMs of this.#acksDue.values()) {
      dueMs = Math.min(dueMs, ackDueMs);
      break;
    }
    return dueMs === Number.POSITIVE_INFINITY ? undefined : dueMs;
  }

  /**
   * The shell saw its event loop stall: nothing ran between `sinceMs` and `nowMs` (a timer fired late).
   * Heartbeats that arrived meanwhile may wait unread behind the tick that follows, so for a short
   * drain deaths are judged as of sinceMs (CalculatorRegistry.noteStall). Call before that tick.
   */
  noteLoopStall(nowMs: number, sinceMs: number): void {
    this.registry.noteStall(nowMs, sinceMs);
  }

  /** Declares silent calculators dead, expires tasks and copies, resends, hedges, sends receipts, drains the queue. */
  onTick(nowMs: number): DispatcherOutput[] {
    const outputs: DispatcherOutput[] = [];
    const ctx = this.#ctx;
    expireCalculators(ctx, nowMs, outputs);
    this.#registryWakeMs = this.registry.nextExpiryMs();
    // Deadlines from a heap: O(log n) per expired task, nothing for the rest (#fail removes the task).
    for (let task = ctx.table.firstExpired(nowMs); task !== undefined; task = ctx.table.firstExpired(nowMs)) {
      this.#fail(nowMs, task, task.expiryReason, outputs);
    }
    if (ctx.table.copyTimeoutWakeMs <= nowMs) this.#expireCopies(nowMs, outputs);
    for (const { task, copy } of ctx.table.dueAssigns(nowMs)) sendAssign(ctx, task, copy, outputs);
    ctx.cancels.onTick(nowMs, this.registry, outputs);
    for (const [taskId, dueMs] of this.#acksDue) {
      if (dueMs > nowMs) break;
      this.#acksDue.delete(taskId);
      const task = ctx.table.get(taskId);
      if (task !== undefined) outputs.push(this.#receipt(task));
    }
    if (ctx.hedgeWakeMs <= nowMs) scanHedges(ctx, nowMs, outputs);
    if (this.#spread.nextDueMs() <= nowMs) outputs.push(...this.#spread.onTick(ctx, nowMs));
    if (ctx.probeWakeMs <= nowMs) ctx.probeWakeMs = Number.POSITIVE_INFINITY; // drainQueue sets it again
    if (ctx.claimHolds.size > 0) releaseClaimHolds(ctx, nowMs, outputs);
    drainQueue(ctx, nowMs, outputs);
    this.#finals.expire(nowMs);
    return outputs;
  }

  /**
   * Replaces timed-out copies and makes copyTimeoutWakeMs exact. Runs only when that wake has come,
   * and walks only the tasks with live copies (at most the cluster's slots), never the queue.
   */
  #expireCopies(nowMs: number, outputs: DispatcherOutput[]): void {
    const { table } = this.#ctx;
    let copyTimeoutWakeMs = Number.POSITIVE_INFINITY;
    for (const task of table.tasksWithLiveCopies()) {
      if (table.get(task.taskId) !== task || task.liveCount === 0) continue; // answered or lost meanwhile
      copyTimeoutWakeMs = Math.min(copyTimeoutWakeMs, expireCopies(this.#ctx, nowMs, task, outputs));
    }
    table.copyTimeoutWakeMs = copyTimeoutWakeMs;
  }

  /**
   * A task that arrived at `arrivedMs`, with the replication settings and its deadline: by then it must
   * have its final answer (`queueTimeoutMs`, or its own shorter `ownDeadlineMs`), and the failure it
   * gets at that time (`timeout` or `deadline`).
   */
  #newTask(
    arrivedMs: number,
    ownDeadlineMs: number | undefined,
    fields: Pick<TaskEntry, "taskId" | "clientId" | "client" | "input" | "rounds" | "priority" | "isSilent">,
  ): TaskEntry {
    const { queueTimeoutMs } = this.#config;
    const isOwn = ownDeadlineMs !== undefined && ownDeadlineMs <= queueTimeoutMs;
    const { factor, quorum } = this.#ctx.replication;
    return newTaskEntry({
      ...fields,
      arrivedMs,
      deadlineMs: arrivedMs + (isOwn ? ownDeadlineMs : queueTimeoutMs),
      expiryReason: isOwn ? "deadline" : "timeout",
      factor,
      quorum,
    });
  }

  #onSubmit(nowMs: number, from: Endpoint, submit: TaskSubmit): DispatcherOutput[] {
    const final = this.#finals.get(nowMs, submit.taskId);
    if (final !== undefined) return [{ kind: "send", to: from, packet: final }];
    const { table } = this.#ctx;
    const known = table.get(submit.taskId);
    if (known !== undefined) {
      if (known.clientId !== undefined && known.clientId !== submit.from)
        return [{ kind: "packet_dropped", reason: "not_owner", type: submit.type }];
      known.client = from; // the client may have moved (NAT rebinding); answer where it is now
      this.#acksDue.delete(known.taskId);
      return [this.#receipt(known)];
    }
    const outputs: DispatcherOutput[] = [];
    const task = this.#newTask(nowMs, submit.deadlineMs, {
      taskId: submit.taskId,
      clientId: submit.from,
      client: from,
      input: submit.input,
      rounds: submit.rounds,
      priority: submit.priority ?? 0,
    });
    const isFull = table.size >= this.#config.tasksMax;
    if (isFull || (!this.registry.hasFreeSlot() && table.queue.size >= this.#config.queueMax)) {
      this.#finals.put(nowMs, task.taskId, this.#failedPacket(task.taskId, "overloaded"));
      this.#failedCount += 1;
      outputs.push({ kind: "send", to: from, packet: this.#failedPacket(task.taskId, "overloaded") });
      outputs.push({ kind: "task_failed", taskId: task.taskId, reason: "overloaded" });
      return outputs;
    }
    table.add(task);
    this.#acksDue.set(task.taskId, nowMs + this.#config.ackDelayMs);
    reconcile(this.#ctx, nowMs, task, "primary", outputs);
    return outputs;
  }

  /** A client's task.cancel: idempotent; the final answer (here `cancelled`, or the earlier one) answers it. */
  #onCancel(nowMs: number, from: Endpoint, cancel: TaskCancel): DispatcherOutput[] {
    const final = this.#finals.get(nowMs, cancel.taskId);
    if (final !== undefined) return [{ kind: "send", to: from, packet: final }];
    const task = this.#ctx.table.get(cancel.taskId);
    const packet = this.#failedPacket(cancel.taskId, "cancelled");
    if (task === undefined) {
      // Not seen yet (the cancel overtook its submit): remember the answer, so the submit gets it too.
      this.#finals.put(nowMs, cancel.taskId, packet);
      return [{ kind: "send", to: from, packet }];
    }
    if (task.clientId !== undefined && task.clientId !== cancel.from)
      return [{ kind: "packet_dropped", reason: "not_owner", type: cancel.type }];
    const outputs: DispatcherOutput[] = [];
    this.#fail(nowMs, task, "cancelled", outputs);
    if (!sameEndpoint(from, task.client)) outputs.push({ kind: "send", to: from, packet });
    drainQueue(this.#ctx, nowMs, outputs); // its copies' slots are free now, not at the next tick
    return outputs;
  }

  #onHeartbeat(nowMs: number, from: Endpoint, heartbeat: CalcHeartbeat): DispatcherOutput[] {
    const { outputs, isNews } = onHeartbeat(this.#ctx, nowMs, from, heartbeat);
    if (isNews) this.#registryWakeMs = Math.min(this.#registryWakeMs, nowMs + this.#config.heartbeatTimeoutMs);
    return outputs;
  }

  #fail(nowMs: number, task: TaskEntry, reason: TaskFailureReason, outputs: DispatcherOutput[]): void {
    this.#answer(nowMs, task, this.#failedPacket(task.taskId, reason), outputs, {
      kind: "task_failed",
      taskId: task.taskId,
      reason,
    });
  }

  #failedPacket(taskId: TaskId, reason: TaskFailureReason): FinalPacket {
    return { v: PROTOCOL_VERSION, type: "task.failed", from: this.#config.nodeId, taskId, reason };
  }

  /**
   * Sends the one final answer (then `event`), caches it for duplicate submits, forgets the task and
   * cancels its copies still out.
   */
  #answer(
    nowMs: number,
    task: TaskEntry,
    packet: FinalPacket,
    outputs: DispatcherOutput[],
    event?: DispatcherOutput,
  ): void {
    const cancelled = this.#ctx.table.remove(task);
    this.#acksDue.delete(task.taskId);
    this.#finals.put(nowMs, task.taskId, packet);
    if (packet.type === "task.result") this.#succeededCount += 1;
    else this.#failedCount += 1;
    if (task.isSilent !== true) outputs.push({ kind: "send", to: task.client, packet });
    if (event !== undefined) outputs.push(event);
    for (const copy of cancelled) {
      // A copy that needed a hedge and lost the race to it was too slow: like a timeout, it raises its
      // calculator's failure estimate, so placement stops feeding a slow calculator the slots that
      // cancelled hedges free (without this, hedging makes the slow one take ever more tasks).
      if (copy.isHedged && packet.type === "task.result")
        this.registry.recordFailure(nowMs, copy.calculatorId, "hedge_lost");
      outputs.push({ kind: "copy_cancelled", taskId: task.taskId, calculatorId: copy.calculatorId });
      this.#ctx.cancels.cancel(nowMs, this.registry, task.taskId, copy.calculatorId, task.attempts, outputs);
    }
  }

  #receipt(task: TaskEntry): DispatcherOutput {
    const state = task.liveCount === 0 ? "queued" : "running";
    return {
      kind: "send",
      to: task.client,
      packet: { v: PROTOCOL_VERSION, type: "task.ack", from: this.#config.nodeId, taskId: task.taskId, state },
    };
  }

  /**
   * Re-admits a task read back from the journal after a restart (SPEC 5.4): queued again with the
   * time it had left (`ageMs` since it arrived; past its deadline it is answered `timeout`, or
   * `deadline` when its own bound was shorter, at the next tick). Outputs as for a submit; no receipt (the client had one before the restart).
   */
  restoreTask(nowMs: number, restored: RestoredTask): DispatcherOutput[] {
    const { table } = this.#ctx;
    assert(restored.ageMs >= 0, "a restored task's age is not negative");
    if (table.get(restored.taskId) !== undefined || this.#finals.get(nowMs, restored.taskId) !== undefined) return [];
    const outputs: DispatcherOutput[] = [];
    const task = this.#newTask(nowMs - restored.ageMs, restored.deadlineMs, {
      taskId: restored.taskId,
      client: restored.client,
      ...(restored.clientId === undefined ? {} : { clientId: restored.clientId }),
      input: restored.input,
      rounds: restored.rounds,
      priority: restored.priority,
      ...(restored.isSilent === true ? { isSilent: true } : {}),
    });
    if (table.size >= this.#config.tasksMax) {
      this.#answer(nowMs, task, this.#failedPacket(task.taskId, "overloaded"), outputs);
      return outputs;
    }
    table.add(task);
    reconcile(this.#ctx, nowMs, task, "primary", outputs);
    return outputs;
  }

  /** Puts a final answer read back from the journal into the recent-results cache (duplicate submits get it). */
  restoreFinal(nowMs: number, packet: FinalPacket, ageMs = 0): void {
    assert(this.#ctx.table.get(packet.taskId) === undefined, "a restored final belongs to no live task");
    this.#finals.put(nowMs, packet.taskId, packet, ageMs);
  }

  /** A final answer still in the recent-results cache, if any (the operator's `result ID`). */
  finalOf(nowMs: number, taskId: TaskId): FinalPacket | undefined {
    return this.#finals.get(nowMs, taskId);
  }

  /** Whether a final answer for `taskId` is kept, and which kind (spread progress). */
  #finalKind(nowMs: number, taskId: TaskId): "succeeded" | "failed" | undefined {
    const final = this.#finals.get(nowMs, taskId);
    if (final === undefined) return undefined;
    return final.type === "task.result" ? "succeeded" : "failed";
  }

  /** A task's current state, for the operator CLI and tests. */
  taskState(nowMs: number, taskId: TaskId): "queued" | "running" | "done" | "unknown" {
    const task = this.#ctx.table.get(taskId);
    if (task !== undefined) return task.liveCount === 0 ? "queued" : "running";
    return this.#finals.get(nowMs, taskId) !== undefined ? "done" : "unknown";
  }

  /** The calculator holding a task's first live copy (diagnostics). */
  holderOf(taskId: TaskId): NodeId | undefined {
    return this.holdersOf(taskId)[0];
  }

  /** The calculators holding a task's live copies, in start order (diagnostics). */
  holdersOf(taskId: TaskId): NodeId[] {
    const task = this.#ctx.table.get(taskId);
    return task === undefined ? [] : [...this.#ctx.table.liveCopies(task)].map((copy) => copy.calculatorId);
  }
}
