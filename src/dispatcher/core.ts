/**
 * The dispatcher as a deterministic state machine: registry, task table, queue, placement, resends
 * and the recent-results cache. No sockets, no timers, no clock reads: the shell passes nowMs and
 * packets in and performs the outputs. Every task gets exactly one final answer: a result, or a
 * failure with a reason (`timeout`, `overloaded`); a duplicate submit is answered from the cache.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { CalcHeartbeat, NodeId, TaskDone, TaskId, TaskSubmit } from "../protocol/packets.js";
import { RetransmitTable } from "../reliable/retransmit-table.js";
import { retryPolicy } from "../reliable/retry-policy.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import { SteadyMap } from "../runtime/steady-map.js";
import type { Endpoint } from "../transport/transport.js";
import { AdminRelay } from "./admin-relay.js";
import { onCalculatorAck } from "./calculator-acks.js";
import { type DispatchState, drainQueue, expireCalculators, place, release, replace, sendAssign } from "./placement.js";
import { CalculatorRegistry } from "./registry.js";
import { type TaskEntry, TaskQueue } from "./task-queue.js";
import type { DispatcherCoreConfig, DispatcherOutput, TaskCounts, TaskFailureReason } from "./types.js";

type FinalPacket = Extract<Packet, { type: "task.result" | "task.failed" }>;

/** Deterministic dispatcher state machine. */
export class DispatcherCore {
  readonly #config: DispatcherCoreConfig;
  readonly registry: CalculatorRegistry;
  /** Tasks, queue, assigns and the copy-timeout wake, shared with placement.ts and calculator-acks.ts. */
  readonly #state: DispatchState;
  /** BOUNDED: config.resultsCacheMax entries for config.resultsCacheTtlMs. */
  readonly #finals: BoundedMap<TaskId, FinalPacket>;
  /** BOUNDED: config.tasksMax; tasks owed a delayed receipt, in due order (one delay for all). */
  readonly #acksDue = new SteadyMap<TaskId, number>();
  readonly #adminRelay: AdminRelay;
  /** No calculator expires before this (ms): lowered on (re)registration, made exact by onTick. */
  #registryWakeMs = Number.POSITIVE_INFINITY;

  constructor(config: DispatcherCoreConfig) {
    assert(config.taskTimeoutMs > 0 && config.queueTimeoutMs > 0, "timeouts must be positive");
    assert(config.queueMax > 0 && config.tasksMax >= config.queueMax, "need 0 < queueMax <= tasksMax");
    this.#config = config;
    this.registry = new CalculatorRegistry(config);
    this.#finals = new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs);
    this.#adminRelay = new AdminRelay(config.nodeId);
    this.#state = {
      config,
      registry: this.registry,
      tasks: new SteadyMap(),
      queue: new TaskQueue(),
      assigns: new RetransmitTable(config.tasksMax),
      assignPolicy: retryPolicy(config.assignRetryMs),
      probePolicy: retryPolicy([config.probeIntervalMs]),
      copyTimeoutWakeMs: Number.POSITIVE_INFINITY,
    };
  }

  /** Tasks by state, for status pages and gauges. */
  counts(): TaskCounts {
    return {
      queued: this.#state.queue.size,
      running: this.#state.tasks.size - this.#state.queue.size,
      cachedResults: this.#finals.size,
    };
  }

  /** Final answers evicted from the recent-results cache before their time (cache too small). */
  get resultsEvictedCount(): number {
    return this.#finals.evictedCount;
  }

  /** Resends of assigns so far. */
  get assignResentCount(): number {
    return this.#state.assigns.resentCount;
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
        return onCalculatorAck(this.#state, nowMs, from, packet);
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
    let dueMs = Math.min(this.#state.copyTimeoutWakeMs, this.#registryWakeMs);
    const assignMs = this.#state.assigns.nextDueMs();
    if (assignMs !== undefined && assignMs < dueMs) dueMs = assignMs;
    // Both maps are in due order: every task gets the same queueTimeoutMs, every receipt ackDelayMs.
    for (const task of this.#state.tasks.values()) {
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
    expireCalculators(this.#state, nowMs, outputs);
    this.#registryWakeMs = this.registry.nextExpiryMs();
    // Iterating the live map is safe: entries are only deleted (the current one) while it runs.
    let copyTimeoutWakeMs = Number.POSITIVE_INFINITY;
    for (const task of this.#state.tasks.values()) {
      if (task.deadlineMs <= nowMs) this.#fail(nowMs, task, "timeout", outputs);
      else if (task.copy !== undefined && task.copy.timeoutMs <= nowMs) {
        replace(this.#state, nowMs, task, "task_timeout", outputs);
      }
      if (task.copy !== undefined && task.copy.timeoutMs < copyTimeoutWakeMs) copyTimeoutWakeMs = task.copy.timeoutMs;
    }
    this.#state.copyTimeoutWakeMs = copyTimeoutWakeMs;
    for (const { value: task } of this.#state.assigns.due(nowMs)) sendAssign(this.#state, task, outputs);
    for (const [taskId, dueMs] of this.#acksDue) {
      if (dueMs > nowMs) break;
      this.#acksDue.delete(taskId);
      const task = this.#state.tasks.get(taskId);
      if (task !== undefined) outputs.push(this.#receipt(task));
    }
    drainQueue(this.#state, nowMs, outputs);
    this.#finals.prune(nowMs);
    return outputs;
  }

  #onSubmit(nowMs: number, from: Endpoint, submit: TaskSubmit): DispatcherOutput[] {
    const final = this.#finals.get(nowMs, submit.taskId);
    if (final !== undefined) return [{ kind: "send", to: from, packet: final }];
    const known = this.#state.tasks.get(submit.taskId);
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
    const isFull = this.#state.tasks.size >= this.#config.tasksMax;
    if (isFull || (!this.registry.hasFreeSlot() && this.#state.queue.size >= this.#config.queueMax)) {
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
    this.#state.tasks.set(task.taskId, task);
    this.#acksDue.set(task.taskId, nowMs + this.#config.ackDelayMs);
    if (!place(this.#state, nowMs, task, outputs)) this.#state.queue.enqueue(task);
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
          const task = this.#state.tasks.get(taskId);
          if (task !== undefined) replace(this.#state, nowMs, task, "calculator_restarted", outputs);
        }
        break;
      case "refreshed":
        break;
    }
    drainQueue(this.#state, nowMs, outputs);
    return outputs;
  }

  #onDone(nowMs: number, from: Endpoint, done: TaskDone): DispatcherOutput[] {
    const calculator = this.registry.touch(nowMs, done.from, from);
    if (calculator === undefined) return [{ kind: "packet_dropped", reason: "unknown_calculator", type: done.type }];
    const task = this.#state.tasks.get(done.taskId);
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
    drainQueue(this.#state, nowMs, outputs);
    return outputs;
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
    release(this.#state, task);
    this.#state.queue.remove(task.taskId);
    this.#state.tasks.delete(task.taskId);
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
    const task = this.#state.tasks.get(taskId);
    if (task !== undefined) return task.copy === undefined ? "queued" : "running";
    return this.#finals.has(nowMs, taskId) ? "done" : "unknown";
  }

  /** Calculator ids that hold a task's live copy (diagnostics). */
  holderOf(taskId: TaskId): NodeId | undefined {
    return this.#state.tasks.get(taskId)?.copy?.calculatorId;
  }
}
