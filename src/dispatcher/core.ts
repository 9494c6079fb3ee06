/**
 * The dispatcher as a deterministic state machine: registry, task table, queue, placement, resends
 * and the recent-results cache. No sockets, no timers, no clock reads: the shell passes nowMs and
 * packets in and performs the outputs. Every task gets exactly one final answer: a result, or a
 * failure with a reason (`timeout`, `overloaded`); a duplicate submit is answered from the cache.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { CalcHeartbeat, NodeId, TaskAck, TaskDone, TaskId, TaskSubmit } from "../protocol/packets.js";
import { RetransmitTable } from "../reliable/retransmit-table.js";
import { retryPolicy } from "../reliable/retry-policy.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import type { Endpoint } from "../transport/transport.js";
import { AdminRelay } from "./admin-relay.js";
import { CalculatorRegistry } from "./registry.js";
import { type TaskEntry, TaskQueue } from "./task-queue.js";
import type { DispatcherCoreConfig, DispatcherOutput, ReplaceReason, TaskCounts, TaskFailureReason } from "./types.js";

type FinalPacket = Extract<Packet, { type: "task.result" | "task.failed" }>;

/** Deterministic dispatcher state machine. */
export class DispatcherCore {
  readonly #config: DispatcherCoreConfig;
  readonly registry: CalculatorRegistry;
  /** BOUNDED: config.tasksMax; every entry ends by result or by its queueTimeoutMs deadline. */
  readonly #tasks = new Map<TaskId, TaskEntry>();
  /** BOUNDED: config.queueMax for admission; re-queued tasks are already counted in #tasks. */
  readonly #queue = new TaskQueue();
  /** BOUNDED: config.tasksMax; assigns awaiting a done, keyed by task (one live copy per task). */
  readonly #assigns: RetransmitTable<TaskId, TaskEntry>;
  /** BOUNDED: config.resultsCacheMax entries for config.resultsCacheTtlMs. */
  readonly #finals: BoundedMap<TaskId, FinalPacket>;
  /** BOUNDED: config.tasksMax; tasks owed a delayed receipt, in due order (one delay for all). */
  readonly #acksDue = new Map<TaskId, number>();
  readonly #adminRelay: AdminRelay;
  readonly #assignPolicy;
  readonly #probePolicy;
  /** No live copy times out before this (ms): lowered as copies get timeouts, made exact by onTick. */
  #copyTimeoutWakeMs = Number.POSITIVE_INFINITY;
  /** No calculator expires before this (ms): lowered on (re)registration, made exact by onTick. */
  #registryWakeMs = Number.POSITIVE_INFINITY;

  constructor(config: DispatcherCoreConfig) {
    assert(config.taskTimeoutMs > 0 && config.queueTimeoutMs > 0, "timeouts must be positive");
    assert(config.queueMax > 0 && config.tasksMax >= config.queueMax, "need 0 < queueMax <= tasksMax");
    this.#config = config;
    this.registry = new CalculatorRegistry(config);
    this.#assigns = new RetransmitTable(config.tasksMax);
    this.#finals = new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs);
    this.#adminRelay = new AdminRelay(config.nodeId);
    this.#assignPolicy = retryPolicy(config.assignRetryMs);
    this.#probePolicy = retryPolicy([config.probeIntervalMs]);
  }

  /** Tasks by state, for status pages and gauges. */
  counts(): TaskCounts {
    return { queued: this.#queue.size, running: this.#tasks.size - this.#queue.size, cachedResults: this.#finals.size };
  }

  /** Final answers evicted from the recent-results cache before their time (cache too small). */
  get resultsEvictedCount(): number {
    return this.#finals.evictedCount;
  }

  /** Resends of assigns so far. */
  get assignResentCount(): number {
    return this.#assigns.resentCount;
  }

  onPacket(nowMs: number, from: Endpoint, packet: Packet): DispatcherOutput[] {
    switch (packet.type) {
      case "task.submit":
        return this.#onSubmit(nowMs, from, packet);
      case "calc.heartbeat":
        return this.#onHeartbeat(nowMs, from, packet);
      case "task.done":
        return this.#onDone(nowMs, from, packet);
      case "task.ack":
        return this.#onCalculatorAck(nowMs, from, packet);
      case "admin.rebalance":
        return this.#adminRelay.onRequest(nowMs, from, packet, this.registry);
      case "admin.rebalance.result":
        return this.#adminRelay.onResult(nowMs, from, packet, this.registry);
      default:
        return [{ kind: "packet_dropped", reason: "unexpected_type", type: packet.type }];
    }
  }

  /**
   * The earliest time (ms) onTick has something to do: a task or copy timeout, an assign resend or
   * probe, a delayed receipt, a calculator going silent. It may be early (then onTick does nothing
   * and the next call is exact), never late. Undefined when nothing is pending.
   */
  nextDeadlineMs(): number | undefined {
    let dueMs = Math.min(this.#copyTimeoutWakeMs, this.#registryWakeMs);
    const assignMs = this.#assigns.nextDueMs();
    if (assignMs !== undefined && assignMs < dueMs) dueMs = assignMs;
    // Both maps are in due order: every task gets the same queueTimeoutMs, every receipt ackDelayMs.
    for (const task of this.#tasks.values()) {
      if (task.deadlineMs < dueMs) dueMs = task.deadlineMs;
      break;
    }
    for (const ackDueMs of this.#acksDue.values()) {
      if (ackDueMs < dueMs) dueMs = ackDueMs;
      break;
    }
    return dueMs === Number.POSITIVE_INFINITY ? undefined : dueMs;
  }

  /** Declares silent calculators dead, expires tasks, resends assigns, sends due receipts, places queued tasks. */
  onTick(nowMs: number): DispatcherOutput[] {
    const outputs: DispatcherOutput[] = [];
    this.#expireCalculators(nowMs, outputs);
    this.#registryWakeMs = this.registry.nextExpiryMs();
    // Iterating the live map is safe: entries are only deleted (the current one) while it runs.
    let copyTimeoutWakeMs = Number.POSITIVE_INFINITY;
    for (const task of this.#tasks.values()) {
      if (task.deadlineMs <= nowMs) this.#fail(nowMs, task, "timeout", outputs);
      else if (task.copy !== undefined && task.copy.timeoutMs <= nowMs) {
        this.#replace(nowMs, task, "task_timeout", outputs);
      }
      if (task.copy !== undefined && task.copy.timeoutMs < copyTimeoutWakeMs) copyTimeoutWakeMs = task.copy.timeoutMs;
    }
    this.#copyTimeoutWakeMs = copyTimeoutWakeMs;
    for (const { value: task } of this.#assigns.due(nowMs)) this.#sendAssign(task, outputs);
    for (const [taskId, dueMs] of this.#acksDue) {
      if (dueMs > nowMs) break;
      this.#acksDue.delete(taskId);
      const task = this.#tasks.get(taskId);
      if (task !== undefined) outputs.push(this.#receipt(task));
    }
    this.#drainQueue(nowMs, outputs);
    this.#finals.prune(nowMs);
    return outputs;
  }

  #onSubmit(nowMs: number, from: Endpoint, submit: TaskSubmit): DispatcherOutput[] {
    const final = this.#finals.get(nowMs, submit.taskId);
    if (final !== undefined) return [{ kind: "send", to: from, packet: final }];
    const known = this.#tasks.get(submit.taskId);
    if (known !== undefined) {
      known.client = from; // the client may have moved (NAT rebinding); answer where it is now
      this.#acksDue.delete(known.taskId);
      return [this.#receipt(known)];
    }
    const outputs: DispatcherOutput[] = [];
    const task: TaskEntry = {
      taskId: submit.taskId,
      client: from,
      input: submit.input,
      rounds: submit.rounds,
      priority: submit.priority ?? 0,
      arrivedMs: nowMs,
      deadlineMs: nowMs + this.#config.queueTimeoutMs,
      attempts: 0,
      copy: undefined,
      attemptedBy: new Set(),
    };
    const isFull = this.#tasks.size >= this.#config.tasksMax;
    if (isFull || (!this.registry.hasFreeSlot() && this.#queue.size >= this.#config.queueMax)) {
      this.#answer(
        nowMs,
        task,
        {
          v: PROTOCOL_VERSION,
          type: "task.failed",
          from: this.#config.nodeId,
          taskId: task.taskId,
          reason: "overloaded",
        },
        outputs,
      );
      outputs.push({ kind: "task_failed", taskId: task.taskId, reason: "overloaded" });
      return outputs;
    }
    this.#tasks.set(task.taskId, task);
    this.#acksDue.set(task.taskId, nowMs + this.#config.ackDelayMs);
    if (!this.#place(nowMs, task, outputs)) this.#queue.enqueue(task);
    return outputs;
  }

  #onHeartbeat(nowMs: number, from: Endpoint, heartbeat: CalcHeartbeat): DispatcherOutput[] {
    const outcome = this.registry.onHeartbeat(nowMs, from, heartbeat);
    const outputs: DispatcherOutput[] = [];
    const calculatorId = heartbeat.from;
    switch (outcome.kind) {
      case "stale":
        return [{ kind: "packet_dropped", reason: "stale_heartbeat", type: heartbeat.type }];
      case "full":
        return [{ kind: "packet_dropped", reason: "registry_full", type: heartbeat.type }];
      case "registered":
        outputs.push({ kind: "calculator_registered", calculatorId, endpoint: from });
        this.#registryWakeMs = Math.min(this.#registryWakeMs, nowMs + this.#config.heartbeatTimeoutMs);
        break;
      case "recovered":
        outputs.push({ kind: "calculator_recovered", calculatorId });
        this.#registryWakeMs = Math.min(this.#registryWakeMs, nowMs + this.#config.heartbeatTimeoutMs);
        break;
      case "restarted":
        outputs.push({ kind: "calculator_restarted", calculatorId });
        this.#registryWakeMs = Math.min(this.#registryWakeMs, nowMs + this.#config.heartbeatTimeoutMs);
        for (const taskId of outcome.lostTasks) {
          const task = this.#tasks.get(taskId);
          if (task !== undefined) this.#replace(nowMs, task, "calculator_restarted", outputs);
        }
        break;
      case "refreshed":
        break;
    }
    this.#drainQueue(nowMs, outputs);
    return outputs;
  }

  #onDone(nowMs: number, from: Endpoint, done: TaskDone): DispatcherOutput[] {
    const calculator = this.registry.touch(nowMs, done.from, from);
    if (calculator === undefined) return [{ kind: "packet_dropped", reason: "unknown_calculator", type: done.type }];
    const task = this.#tasks.get(done.taskId);
    if (task === undefined) {
      const reason = this.#finals.has(nowMs, done.taskId) ? "late_result" : "unknown_task";
      return [{ kind: "packet_dropped", reason, type: done.type }];
    }
    if (!task.attemptedBy.has(done.from)) return [{ kind: "packet_dropped", reason: "not_assigned", type: done.type }];
    const outputs: DispatcherOutput[] = [];
    this.registry.recordOutcome(done.from, false);
    calculator.reportedRunning = Math.max(0, calculator.reportedRunning - 1);
    const packet = {
      v: PROTOCOL_VERSION,
      type: "task.result",
      from: this.#config.nodeId,
      taskId: task.taskId,
      result: done.result,
      attempts: task.attempts,
    } as const;
    this.#answer(nowMs, task, packet, outputs);
    outputs.push({
      kind: "task_completed",
      taskId: task.taskId,
      calculatorId: done.from,
      latencyMs: nowMs - task.arrivedMs,
      attempts: task.attempts,
    });
    this.#drainQueue(nowMs, outputs);
    return outputs;
  }

  #onCalculatorAck(nowMs: number, from: Endpoint, ack: TaskAck): DispatcherOutput[] {
    const calculator = this.registry.touch(nowMs, ack.from, from);
    if (calculator === undefined) return [{ kind: "packet_dropped", reason: "unknown_calculator", type: ack.type }];
    const task = this.#tasks.get(ack.taskId);
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
      this.#moveCopy(nowMs, task, ack.from, outputs);
      return outputs;
    }
    switch (ack.state) {
      case "busy":
        calculator.reportedRunning = calculator.capacity; // full until its next heartbeat says otherwise
        this.#replace(nowMs, task, "busy", outputs);
        this.#drainQueue(nowMs, outputs);
        break;
      case "moved":
        if (ack.holder !== undefined && ack.holder !== ack.from && this.registry.get(ack.holder) !== undefined) {
          this.#moveCopy(nowMs, task, ack.holder, outputs);
        }
        break;
      case "queued":
        // Waiting in its holder's queue is an answer: the task timeout counts from when it runs.
        task.copy = { ...task.copy, timeoutMs: nowMs + this.#config.taskTimeoutMs };
        this.#copyTimeoutWakeMs = Math.min(this.#copyTimeoutWakeMs, task.copy.timeoutMs);
        this.#markAcked(nowMs, task);
        break;
      case "running":
        this.#markAcked(nowMs, task);
        break;
    }
    return outputs;
  }

  #markAcked(nowMs: number, task: TaskEntry): void {
    if (task.copy === undefined || task.copy.isAcked) return;
    task.copy.isAcked = true;
    this.#assigns.reschedule(nowMs, task.taskId, this.#probePolicy);
  }

  /** The overlay moved a task from its holder to `holderId`: follow it, without resending it. */
  #moveCopy(nowMs: number, task: TaskEntry, holderId: NodeId, outputs: DispatcherOutput[]): void {
    const copy = task.copy;
    const holder = this.registry.get(holderId);
    if (copy === undefined || holder === undefined || copy.calculatorId === holderId) return;
    this.registry.get(copy.calculatorId)?.assigned.delete(task.taskId);
    holder.assigned.add(task.taskId);
    task.attemptedBy.add(holderId);
    task.copy = {
      calculatorId: holderId,
      attempt: copy.attempt,
      timeoutMs: nowMs + this.#config.taskTimeoutMs,
      isAcked: true,
    };
    this.#copyTimeoutWakeMs = Math.min(this.#copyTimeoutWakeMs, task.copy.timeoutMs);
    this.#assigns.reschedule(nowMs, task.taskId, this.#probePolicy);
    outputs.push({
      kind: "task_moved",
      taskId: task.taskId,
      fromCalculatorId: copy.calculatorId,
      toCalculatorId: holderId,
    });
  }

  #expireCalculators(nowMs: number, outputs: DispatcherOutput[]): void {
    const { dead, evicted } = this.registry.expire(nowMs);
    for (const calculator of dead) {
      const taskIds = [...calculator.assigned];
      outputs.push({ kind: "calculator_dead", calculatorId: calculator.id, taskCount: taskIds.length });
      if (taskIds.length > 0) this.registry.recordOutcome(calculator.id, true);
      for (const taskId of taskIds) {
        const task = this.#tasks.get(taskId);
        if (task !== undefined) this.#replace(nowMs, task, "calculator_dead", outputs);
      }
    }
    for (const calculatorId of evicted) outputs.push({ kind: "calculator_evicted", calculatorId });
  }

  /** Assigns `task` to the best free calculator not in `exclude`; false when none is free. */
  #place(nowMs: number, task: TaskEntry, outputs: DispatcherOutput[], exclude?: ReadonlySet<NodeId>): boolean {
    const calculatorId = this.#config.placement.pick(this.registry.candidates(nowMs, exclude));
    const calculator = calculatorId === undefined ? undefined : this.registry.get(calculatorId);
    if (calculator === undefined) return false;
    assert(this.registry.freeSlots(calculator) > 0, "placement chose a full calculator");
    task.attempts += 1;
    task.copy = {
      calculatorId: calculator.id,
      attempt: task.attempts,
      timeoutMs: nowMs + this.#config.taskTimeoutMs,
      isAcked: false,
    };
    this.#copyTimeoutWakeMs = Math.min(this.#copyTimeoutWakeMs, task.copy.timeoutMs);
    task.attemptedBy.add(calculator.id);
    calculator.assigned.add(task.taskId);
    calculator.lastAssignedMs = nowMs;
    this.#assigns.add(nowMs, task.taskId, task, this.#assignPolicy);
    this.#sendAssign(task, outputs);
    return true;
  }

  #sendAssign(task: TaskEntry, outputs: DispatcherOutput[]): void {
    const copy = task.copy;
    const calculator = copy === undefined ? undefined : this.registry.get(copy.calculatorId);
    if (copy === undefined || calculator === undefined) return;
    outputs.push({
      kind: "send",
      to: calculator.endpoint,
      packet: {
        v: PROTOCOL_VERSION,
        type: "task.assign",
        from: this.#config.nodeId,
        taskId: task.taskId,
        attempt: copy.attempt,
        input: task.input,
        rounds: task.rounds,
      },
    });
  }

  /** Takes the live copy away from its calculator (it may still answer) and queues the task first. */
  #replace(nowMs: number, task: TaskEntry, reason: ReplaceReason, outputs: DispatcherOutput[]): void {
    const copy = task.copy;
    if (copy === undefined) return;
    this.#release(task);
    if (reason === "task_timeout") this.registry.recordOutcome(copy.calculatorId, true);
    outputs.push({ kind: "task_replaced", taskId: task.taskId, calculatorId: copy.calculatorId, reason });
    // SPEC 3: a timed-out task goes to *another* free calculator; back to the silent one only if none is.
    const isPlaced =
      (reason === "task_timeout" && this.#place(nowMs, task, outputs, new Set([copy.calculatorId]))) ||
      this.#place(nowMs, task, outputs);
    if (!isPlaced) this.#queue.requeueFirst(task);
  }

  #release(task: TaskEntry): void {
    if (task.copy !== undefined) this.registry.get(task.copy.calculatorId)?.assigned.delete(task.taskId);
    task.copy = undefined;
    this.#assigns.settle(task.taskId);
  }

  #drainQueue(nowMs: number, outputs: DispatcherOutput[]): void {
    while (this.#queue.size > 0 && this.registry.hasFreeSlot()) {
      const task = this.#queue.dequeue();
      if (task === undefined || !this.#place(nowMs, task, outputs)) {
        if (task !== undefined) this.#queue.requeueFirst(task);
        return;
      }
    }
  }

  #fail(nowMs: number, task: TaskEntry, reason: TaskFailureReason, outputs: DispatcherOutput[]): void {
    const packet = {
      v: PROTOCOL_VERSION,
      type: "task.failed",
      from: this.#config.nodeId,
      taskId: task.taskId,
      reason,
    } as const;
    this.#answer(nowMs, task, packet, outputs);
    outputs.push({ kind: "task_failed", taskId: task.taskId, reason });
  }

  /** Sends the one final answer, caches it for duplicate submits and forgets the task. */
  #answer(nowMs: number, task: TaskEntry, packet: FinalPacket, outputs: DispatcherOutput[]): void {
    this.#release(task);
    this.#queue.remove(task.taskId);
    this.#tasks.delete(task.taskId);
    this.#acksDue.delete(task.taskId);
    this.#finals.set(nowMs, task.taskId, packet);
    outputs.push({ kind: "send", to: task.client, packet });
  }

  #receipt(task: TaskEntry): DispatcherOutput {
    const state = task.copy === undefined ? "queued" : "running";
    return {
      kind: "send",
      to: task.client,
      packet: { v: PROTOCOL_VERSION, type: "task.ack", from: this.#config.nodeId, taskId: task.taskId, state },
    };
  }

  /** A task's current state, for the operator CLI and tests. */
  taskState(nowMs: number, taskId: TaskId): "queued" | "running" | "done" | "unknown" {
    const task = this.#tasks.get(taskId);
    if (task !== undefined) return task.copy === undefined ? "queued" : "running";
    return this.#finals.has(nowMs, taskId) ? "done" : "unknown";
  }

  /** Calculator ids that hold a task's live copy (diagnostics). */
  holderOf(taskId: TaskId): NodeId | undefined {
    return this.#tasks.get(taskId)?.copy?.calculatorId;
  }
}
