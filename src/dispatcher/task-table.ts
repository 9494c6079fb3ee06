/**
 * The dispatcher's task table: every task it owes an answer, each with its copies (one per calculator
 * it was given to), its votes, its deadlines, and the queue of tasks waiting for copies to be placed.
 * It owns the invariants that tie them together: a copy is `live` exactly while its task id is in its
 * calculator's `assigned` set and its assign is in the resend table; a calculator holds at most one
 * copy of a task; a task is in the queue only while it is in the table. Sans-IO: time comes in as nowMs.
 * What to place where is decided elsewhere (placement.ts); this class only keeps the books.
 */
import type { NodeId, TaskId } from "../protocol/packets.js";
import { RetransmitTable } from "../reliable/retransmit-table.js";
import { type RetryPolicy, retryPolicy } from "../reliable/retry-policy.js";
import { assert } from "../runtime/assert.js";
import { DeadlineHeap } from "../runtime/deadline-heap.js";
import { SteadyMap } from "../runtime/steady-map.js";
import type { Endpoint } from "../transport/transport.js";
import type { CalculatorEntry, CalculatorRegistry } from "./registry.js";
import { TaskQueue } from "./task-queue.js";
import type { CopyKind } from "./types.js";
import { VoteBox } from "./votes.js";

/** Where a copy stands: running or queued on its calculator, taken back, voted, or cancelled. */
export type CopyState = "live" | "lost" | "voted" | "cancelled";

/** One copy of a task on one calculator. */
export interface TaskCopy {
  readonly calculatorId: NodeId;
  /** The task's copy counter when this copy started (the assign's `attempt`). */
  readonly attempt: number;
  readonly kind: CopyKind;
  readonly startedMs: number;
  /** When a live copy is given up on and replaced (taskTimeoutMs after its start or its `queued` receipt). */
  timeoutMs: number;
  isAcked: boolean;
  state: CopyState;
  /** When a lost copy was last asked again for its result (ms); see placement.ts reviveIfIdle. */
  probedMs: number;
  /** A backup copy was started for this one (hedging gives each copy one at most). */
  isHedged: boolean;
  /** A hedge for this copy was refused for lack of budget (reported once). */
  isHedgeDenied: boolean;
}

/** One task the dispatcher owns until its final answer. */
export interface TaskEntry {
  readonly taskId: TaskId;
  /** The submitting client's id (`from`): only it may resubmit (move the answer) or cancel the task. */
  readonly clientId?: NodeId;
  client: Endpoint;
  /** No final answer is sent to `client` (a spread task: the operator polls for it; no amplification). */
  readonly isSilent?: boolean;
  readonly input: string;
  readonly rounds: number;
  readonly priority: number;
  readonly arrivedMs: number;
  /**
   * When (ms) the task is failed with `expiryReason` if it has no final answer: arrivedMs plus its own
   * `deadlineMs` from the submit, capped at queueTimeoutMs (SPEC 8).
   */
  readonly deadlineMs: number;
  /** `deadline` when the submitter's own bound set deadlineMs, else `timeout` (queueTimeoutMs). */
  readonly expiryReason: "timeout" | "deadline";
  /** Copies started so far (every kind); the next copy's attempt number is this plus one. */
  attempts: number;
  /** Copies wanted (k) and identical results needed (q) for this task; adaptive trust may lower both. */
  factor: number;
  quorum: number;
  /** Copies by calculator. BOUNDED: one per calculator the task was given to (maxCopies when replicated). */
  readonly copies: Map<NodeId, TaskCopy>;
  readonly votes: VoteBox;
  liveCount: number;
  /**
   * Overlay mode: the calculator that last announced it received this task in a move (`task.ack`
   * moved, holder = itself) while the dispatcher still counted on another holder. If that holder is
   * lost before confirming the move, the task is placed on the claimant first: it holds the task (or
   * its result), so the task is not computed a second time elsewhere.
   */
  claimant?: NodeId | undefined;
}

/** Settings of the task table (times in ms). */
export interface TaskTableConfig {
  readonly tasksMax: number;
  readonly taskTimeoutMs: number;
  readonly assignRetryMs: readonly number[];
  readonly probeIntervalMs: number;
}

/** A live copy whose assign is due for a resend. */
export interface DueAssign {
  readonly task: TaskEntry;
  readonly copy: TaskCopy;
}

/** Tasks, copies, votes and deadlines. */
export class TaskTable {
  /** BOUNDED: config.tasksMax (the core refuses beyond it); in arrival order. */
  readonly #tasks = new SteadyMap<TaskId, TaskEntry>();
  /**
   * Every task's deadline, earliest first. Tasks carry their own deadlines (SPEC 8), so arrival order
   * is no longer due order; the heap keeps the next one O(1) to read and O(log n) to add or remove.
   * BOUNDED: one entry per task in #tasks.
   */
  readonly #deadlines = new DeadlineHeap<TaskId>();
  /** BOUNDED: every queued task is also in #tasks. */
  readonly queue = new TaskQueue<TaskEntry>();
  /** BOUNDED: tasksMax × copies per task; one entry per live copy (key: task id and calculator). */
  readonly #assigns: RetransmitTable<string, DueAssign>;
  readonly #assignPolicy: RetryPolicy;
  readonly #probePolicy: RetryPolicy;
  readonly #registry: CalculatorRegistry;
  readonly #config: TaskTableConfig;
  /** No live copy times out before this (ms): lowered as copies get timeouts, made exact by the core's scan. */
  copyTimeoutWakeMs = Number.POSITIVE_INFINITY;

  constructor(config: TaskTableConfig, registry: CalculatorRegistry, copiesPerTaskMax: number) {
    assert(config.taskTimeoutMs > 0 && config.tasksMax > 0, "need positive taskTimeoutMs and tasksMax");
    assert(copiesPerTaskMax >= 1, "copiesPerTaskMax must be positive");
    this.#config = config;
    this.#registry = registry;
    this.#assigns = new RetransmitTable(config.tasksMax * copiesPerTaskMax);
    this.#assignPolicy = retryPolicy(config.assignRetryMs);
    this.#probePolicy = retryPolicy([config.probeIntervalMs]);
  }

  get size(): number {
    return this.#tasks.size;
  }

  get(taskId: TaskId): TaskEntry | undefined {
    return this.#tasks.get(taskId);
  }

  /** Tasks in arrival order. Safe to delete the current one. */
  values(): IterableIterator<TaskEntry> {
    return this.#tasks.values();
  }

  /** Resends of assigns so far. */
  get assignResentCount(): number {
    return this.#assigns.resentCount;
  }

  add(task: TaskEntry): void {
    assert(!this.#tasks.has(task.taskId), "a task is added twice");
    assert(task.copies.size === 0 && task.liveCount === 0, "a new task has no copies");
    this.#tasks.set(task.taskId, task);
    this.#deadlines.set(task.taskId, task.deadlineMs);
  }

  /** The earliest deadline (ms) of any task, or undefined when there is none. */
  nextDeadlineMs(): number | undefined {
    return this.#deadlines.peekMs();
  }

  /** The task whose deadline passed first, if any has passed at `nowMs` (it stays until removed). */
  firstExpired(nowMs: number): TaskEntry | undefined {
    const taskId = this.#deadlines.firstDue(nowMs);
    if (taskId === undefined) return undefined;
    const task = this.#tasks.get(taskId);
    assert(task !== undefined, "a deadline for a task not in the table");
    return task;
  }

  /** Starts a copy of `task` on `calculator` (which has a free slot); the caller sends the assign. */
  startCopy(nowMs: number, task: TaskEntry, calculator: CalculatorEntry, kind: CopyKind): TaskCopy {
    const previous = task.copies.get(calculator.id);
    assert(previous?.state !== "live", "a calculator holds two live copies of one task");
    assert(this.#tasks.get(task.taskId) === task, "a copy of a task not in the table");
    task.attempts += 1;
    const copy: TaskCopy = {
      calculatorId: calculator.id,
      attempt: task.attempts,
      kind,
      startedMs: nowMs,
      timeoutMs: nowMs + this.#config.taskTimeoutMs,
      isAcked: false,
      state: "live",
      probedMs: Number.NEGATIVE_INFINITY,
      isHedged: false,
      isHedgeDenied: false,
    };
    task.copies.set(calculator.id, copy);
    task.liveCount += 1;
    calculator.assigned.add(task.taskId);
    calculator.lastAssignedMs = nowMs;
    this.#assigns.add(nowMs, assignKey(task.taskId, calculator.id), { task, copy }, this.#assignPolicy);
    this.copyTimeoutWakeMs = Math.min(this.copyTimeoutWakeMs, copy.timeoutMs);
    return copy;
  }

  /**
   * Ends a live copy as `state` (lost: taken back but may still answer; voted; cancelled) and frees its
   * slot; `forget` also removes it, as if never given (a `busy` refusal). Undefined when not live.
   */
  endCopy(
    task: TaskEntry,
    calculatorId: NodeId,
    state: Exclude<CopyState, "live">,
    forget = false,
  ): TaskCopy | undefined {
    const copy = task.copies.get(calculatorId);
    if (copy === undefined || copy.state !== "live") return undefined;
    copy.state = state;
    task.liveCount -= 1;
    assert(task.liveCount >= 0, "live copies went negative");
    this.#registry.get(calculatorId)?.assigned.delete(task.taskId);
    this.#assigns.settle(assignKey(task.taskId, calculatorId));
    if (forget) task.copies.delete(calculatorId);
    return copy;
  }

  /** A lost copy whose calculator is back: live again, with its assign resent (no new attempt). */
  reviveCopy(nowMs: number, task: TaskEntry, calculator: CalculatorEntry): TaskCopy | undefined {
    const copy = task.copies.get(calculator.id);
    if (copy?.state !== "lost") return undefined;
    copy.state = "live";
    copy.isAcked = false;
    copy.timeoutMs = nowMs + this.#config.taskTimeoutMs;
    task.liveCount += 1;
    calculator.assigned.add(task.taskId);
    this.#assigns.add(nowMs, assignKey(task.taskId, calculator.id), { task, copy }, this.#assignPolicy);
    this.copyTimeoutWakeMs = Math.min(this.copyTimeoutWakeMs, copy.timeoutMs);
    return copy;
  }

  /** The overlay moved a live copy to another calculator: its books follow it (no new attempt). */
  moveCopy(nowMs: number, task: TaskEntry, fromId: NodeId, to: CalculatorEntry): boolean {
    const copy = task.copies.get(fromId);
    if (copy === undefined || copy.state !== "live" || task.copies.get(to.id)?.state === "live") return false;
    this.endCopy(task, fromId, "lost", true);
    const moved: TaskCopy = { ...copy, calculatorId: to.id, timeoutMs: nowMs + this.#config.taskTimeoutMs };
    moved.state = "live";
    moved.isAcked = true;
    task.copies.set(to.id, moved);
    task.liveCount += 1;
    to.assigned.add(task.taskId);
    this.#assigns.add(nowMs, assignKey(task.taskId, to.id), { task, copy: moved }, this.#probePolicy);
    this.copyTimeoutWakeMs = Math.min(this.copyTimeoutWakeMs, moved.timeoutMs);
    return true;
  }

  /** The calculator acknowledged the copy: resends become slow probes; `queued` restarts its timeout. */
  markAcked(nowMs: number, task: TaskEntry, copy: TaskCopy, isQueuedThere: boolean): void {
    if (copy.state !== "live") return;
    if (isQueuedThere) {
      copy.timeoutMs = nowMs + this.#config.taskTimeoutMs;
      this.copyTimeoutWakeMs = Math.min(this.copyTimeoutWakeMs, copy.timeoutMs);
    }
    if (copy.isAcked) return;
    copy.isAcked = true;
    this.#assigns.reschedule(nowMs, assignKey(task.taskId, copy.calculatorId), this.#probePolicy);
  }

  /** Live copies whose assign is due for a resend or probe now. */
  *dueAssigns(nowMs: number): Generator<DueAssign> {
    for (const { value } of this.#assigns.due(nowMs)) yield value;
  }

  nextAssignDueMs(): number | undefined {
    return this.#assigns.nextDueMs();
  }

  /** Forgets `task`: its live copies are ended as cancelled and returned (the caller tells their calculators). */
  remove(task: TaskEntry): TaskCopy[] {
    const cancelled: TaskCopy[] = [];
    for (const copy of task.copies.values()) {
      if (copy.state === "live" && this.endCopy(task, copy.calculatorId, "cancelled") !== undefined) {
        cancelled.push(copy);
      }
    }
    this.queue.remove(task.taskId);
    this.#tasks.delete(task.taskId);
    this.#deadlines.delete(task.taskId);
    assert(task.liveCount === 0, "a removed task kept a live copy");
    return cancelled;
  }

  /**
   * The tasks that have a live copy now, each once (a snapshot, safe to change the table while
   * walking it): read from the calculators' `assigned` sets, so the cost is the number of live copies
   * (at most the cluster's slots), however long the queue.
   */
  tasksWithLiveCopies(): TaskEntry[] {
    const seen = new Set<TaskId>();
    const tasks: TaskEntry[] = [];
    for (const calculator of this.#registry.values()) {
      for (const taskId of calculator.assigned) {
        if (seen.has(taskId)) continue;
        seen.add(taskId);
        const task = this.#tasks.get(taskId);
        if (task !== undefined && task.liveCount > 0) tasks.push(task);
      }
    }
    return tasks;
  }

  /** Calculators that must not get another copy of `task` (they hold or held one). */
  excludedFor(task: TaskEntry): ReadonlySet<NodeId> {
    return new Set(task.copies.keys());
  }

  /** The live copies of `task`. */
  *liveCopies(task: TaskEntry): Generator<TaskCopy> {
    for (const copy of task.copies.values()) if (copy.state === "live") yield copy;
  }
}

function assignKey(taskId: TaskId, calculatorId: NodeId): string {
  return `${taskId}|${calculatorId}`;
}

/** A new task entry with no copies. */
export function newTaskEntry(
  fields: Omit<TaskEntry, "attempts" | "copies" | "votes" | "liveCount" | "expiryReason"> & {
    readonly expiryReason?: TaskEntry["expiryReason"];
  },
): TaskEntry {
  return { expiryReason: "timeout", ...fields, attempts: 0, copies: new Map(), votes: new VoteBox(), liveCount: 0 };
}
