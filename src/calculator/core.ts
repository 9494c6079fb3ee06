/**
 * A calculator as a deterministic state machine: accepts assigns up to its capacity, emulates a
 * long computation, answers with `task.done` (which doubles as the assign's acknowledgement),
 * repeats a cached result for a repeated assign, heartbeats, and emulates outages (silent, then
 * back with the same identity) and wrong results. Time and randomness are injected.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { MovedTask } from "../protocol/overlay-packets.js";
import type { Packet } from "../protocol/packet.js";
import type { TaskAssign, TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import { type Rng, randomBetween } from "../runtime/rng.js";
import type { Endpoint } from "../transport/transport.js";
import type { CalculatorCoreConfig, CalculatorOutput, QueuedTask } from "./types.js";

interface RunningTask {
  readonly attempt: number;
  replyTo: Endpoint;
  /** The emulated computation ends at this time (ms). */
  readonly readyMs: number;
  /** The digest once the shell has computed it. */
  result: string | undefined;
  isCorrupt: boolean;
  /** When a `running` receipt is owed, unless the result is sent first. */
  ackDueMs: number | undefined;
}

interface CachedResult {
  readonly attempt: number;
  readonly result: string;
}

/** Makes a wrong but well-formed digest: the first hex digit changed. */
export function corruptDigest(digest: string): string {
  const first = digest[0] === "0" ? "1" : "0";
  return `${first}${digest.slice(1)}`;
}

/** Deterministic calculator state machine. */
export class CalculatorCore {
  readonly #config: CalculatorCoreConfig;
  readonly #rng: Rng;
  /** BOUNDED: config.capacity; assigns beyond it are refused with a `busy` ack. */
  readonly #running = new Map<TaskId, RunningTask>();
  /** BOUNDED: config.queueMax (with #reserved); assigns beyond capacity + queueMax are refused with `busy`. */
  readonly #queued: QueuedTask[] = [];
  /** BOUNDED: taken from #queued, so queued + reserved never exceed config.queueMax. */
  readonly #reserved = new Map<TaskId, QueuedTask>();
  /** BOUNDED: config.resultsCacheMax entries for config.resultsCacheTtlMs. */
  readonly #results: BoundedMap<TaskId, CachedResult>;
  /** Tasks the overlay moved away, and to whom. BOUNDED: resultsCacheMax for resultsCacheTtlMs. */
  readonly #movedTo: BoundedMap<TaskId, string>;
  #seq = 0;
  #nextHeartbeatMs: number;
  #nextFailureCheckMs: number;
  #outageUntilMs: number | undefined;
  #completedCount = 0;
  /** No running task needs a tick before this (ms): lowered as deadlines are set, made exact by onTick. */
  #runningWakeMs = Number.POSITIVE_INFINITY;

  constructor(config: CalculatorCoreConfig, rng: Rng, startMs: number) {
    assert(config.capacity >= 1, "capacity must be at least 1");
    assert(config.computeMs.min >= 0 && config.computeMs.min <= config.computeMs.max, "bad computeMs range");
    assert(config.heartbeatIntervalMs > 0 && config.failure.checkIntervalMs > 0, "intervals must be positive");
    this.#config = config;
    this.#rng = rng;
    assert(config.queueMax >= 0, "queueMax must not be negative");
    this.#results = new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs);
    this.#movedTo = new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs);
    this.#nextHeartbeatMs = startMs;
    this.#nextFailureCheckMs = startMs + config.failure.checkIntervalMs;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  /** Tasks run in parallel (capacity; an overlay node's slots). */
  get slots(): number {
    return this.#config.capacity;
  }

  get queuedCount(): number {
    return this.#queued.length;
  }

  /** Ids of the tasks waiting in the local queue, oldest first (for overlay load reports). */
  queuedTaskIds(): TaskId[] {
    return this.#queued.map((task) => task.taskId);
  }

  /** Tasks reserved for a move in flight: never started, still answered for as queued. */
  get reservedCount(): number {
    return this.#reserved.size;
  }

  /**
   * Reserves up to `countMax` queued (never running) tasks for a move, newest first so the oldest
   * keep their place here. Fewer, even none, when tasks started meanwhile: the move adapts.
   */
  reserveQueued(countMax: number): MovedTask[] {
    assert(countMax >= 0, "cannot reserve a negative number of tasks");
    const taken = this.#queued.splice(Math.max(0, this.#queued.length - countMax), countMax);
    for (const task of taken) this.#reserved.set(task.taskId, task);
    return taken.map(({ taskId, input, rounds }) => ({ taskId, input, rounds }));
  }

  /** The receiver `holder` accepted these reserved tasks: they are its now; probes are pointed there. */
  commitMoved(nowMs: number, taskIds: readonly TaskId[], holder: string): void {
    for (const taskId of taskIds) {
      if (this.#reserved.delete(taskId)) this.#movedTo.set(nowMs, taskId, holder);
    }
  }

  /** The receiver refused these reserved tasks: back to the queue (started at once if a slot is free). */
  releaseReserved(nowMs: number, taskIds: readonly TaskId[]): CalculatorOutput[] {
    for (const taskId of taskIds) {
      const task = this.#reserved.get(taskId);
      if (task === undefined) continue;
      this.#reserved.delete(taskId);
      this.#queued.push(task);
    }
    const outputs: CalculatorOutput[] = [];
    this.#startQueued(nowMs, outputs);
    return outputs;
  }

  /**
   * Accepts tasks moved here by the overlay, idempotently by id (a task already held counts as
   * accepted). Each accepted task is queued (or started when a slot is free) and the dispatcher is
   * told this node holds it now (`task.ack` moved, holder = this node). Beyond the queue's room: refused.
   */
  acceptIncoming(
    nowMs: number,
    tasks: readonly MovedTask[],
  ): { accepted: TaskId[]; refused: TaskId[]; outputs: CalculatorOutput[] } {
    const outputs: CalculatorOutput[] = [];
    const accepted: TaskId[] = [];
    const refused: TaskId[] = [];
    for (const task of tasks) {
      if (this.#holds(nowMs, task.taskId)) {
        accepted.push(task.taskId);
        continue;
      }
      if (this.#queued.length + this.#reserved.size >= this.#config.queueMax) {
        refused.push(task.taskId);
        continue;
      }
      this.#movedTo.delete(task.taskId);
      this.#queued.push({ ...task, attempt: 1, replyTo: this.#config.dispatcher });
      accepted.push(task.taskId);
      outputs.push(this.#ack(this.#config.dispatcher, task.taskId, "moved", this.#config.nodeId));
    }
    this.#startQueued(nowMs, outputs);
    return { accepted, refused, outputs };
  }

  get completedCount(): number {
    return this.#completedCount;
  }

  get isInOutage(): boolean {
    return this.#outageUntilMs !== undefined;
  }

  #holds(nowMs: number, taskId: TaskId): boolean {
    return (
      this.#running.has(taskId) ||
      this.#reserved.has(taskId) ||
      this.#queued.some((task) => task.taskId === taskId) ||
      this.#results.has(nowMs, taskId)
    );
  }

  onPacket(nowMs: number, from: Endpoint, packet: Packet): CalculatorOutput[] {
    if (this.#outageUntilMs !== undefined) return [{ kind: "packet_dropped", reason: "outage", type: packet.type }];
    if (packet.type !== "task.assign")
      return [{ kind: "packet_dropped", reason: "unexpected_type", type: packet.type }];
    return this.#onAssign(nowMs, from, packet);
  }

  /** The shell computed the digest of `taskId`; it is sent once the emulated computation time is over. */
  onComputed(nowMs: number, taskId: TaskId, digest: string): CalculatorOutput[] {
    const task = this.#running.get(taskId);
    if (task === undefined || task.result !== undefined) return [];
    task.isCorrupt = this.#rng() < this.#config.corruption.probability;
    task.result = task.isCorrupt ? corruptDigest(digest) : digest;
    const outputs: CalculatorOutput[] = [];
    if (task.readyMs <= nowMs && this.#outageUntilMs === undefined) this.#finish(nowMs, taskId, task, outputs);
    else this.#runningWakeMs = Math.min(this.#runningWakeMs, task.readyMs);
    return outputs;
  }

  /**
   * The earliest time (ms) onTick has something to do: a heartbeat, a failure check, the end of an
   * outage, a computed task whose emulated time is over, an owed receipt. It may be early (onTick then
   * does nothing and the next call is exact), never late.
   */
  nextDeadlineMs(): number {
    if (this.#outageUntilMs !== undefined) return Math.min(this.#outageUntilMs, this.#nextFailureCheckMs);
    return Math.min(this.#nextHeartbeatMs, this.#nextFailureCheckMs, this.#runningWakeMs);
  }

  /** Heartbeats, outage start and end, finished computations and owed receipts. */
  onTick(nowMs: number): CalculatorOutput[] {
    const outputs: CalculatorOutput[] = [];
    this.#checkFailure(nowMs, outputs);
    if (this.#outageUntilMs !== undefined) return outputs;
    if (nowMs >= this.#nextHeartbeatMs) {
      outputs.push(this.#heartbeat());
      this.#nextHeartbeatMs = nowMs + this.#config.heartbeatIntervalMs;
    }
    // Tasks started by #finish below run to the end of this map's iteration and are counted there.
    let runningWakeMs = Number.POSITIVE_INFINITY;
    for (const [taskId, task] of this.#running) {
      if (task.result !== undefined && task.readyMs <= nowMs) {
        this.#finish(nowMs, taskId, task, outputs);
        continue;
      }
      if (task.ackDueMs !== undefined && task.ackDueMs <= nowMs) {
        task.ackDueMs = undefined;
        outputs.push(this.#ack(task.replyTo, taskId, "running"));
      }
      runningWakeMs = Math.min(runningWakeMs, this.#wakeOf(task));
    }
    this.#runningWakeMs = runningWakeMs;
    this.#results.prune(nowMs);
    return outputs;
  }

  /** When a running task next needs a tick: its owed receipt, or its end once the digest is known. */
  #wakeOf(task: RunningTask): number {
    const readyMs = task.result === undefined ? Number.POSITIVE_INFINITY : task.readyMs;
    return Math.min(readyMs, task.ackDueMs ?? Number.POSITIVE_INFINITY);
  }

  #onAssign(nowMs: number, from: Endpoint, assign: TaskAssign): CalculatorOutput[] {
    const cached = this.#results.get(nowMs, assign.taskId);
    if (cached !== undefined) return [this.#done(from, assign.taskId, cached.attempt, cached.result)];
    const running = this.#running.get(assign.taskId);
    if (running !== undefined) {
      running.replyTo = from;
      running.ackDueMs = undefined;
      return [this.#ack(from, assign.taskId, "running")];
    }
    const holder = this.#movedTo.get(nowMs, assign.taskId);
    if (holder !== undefined) return [this.#ack(from, assign.taskId, "moved", holder)];
    if (this.#reserved.has(assign.taskId) || this.#queued.some((task) => task.taskId === assign.taskId)) {
      return [this.#ack(from, assign.taskId, "queued")];
    }
    const task: QueuedTask = {
      taskId: assign.taskId,
      attempt: assign.attempt,
      input: assign.input,
      rounds: assign.rounds,
      replyTo: from,
    };
    if (this.#running.size < this.#config.capacity) return this.#start(nowMs, task);
    if (this.#queued.length + this.#reserved.size >= this.#config.queueMax)
      return [this.#ack(from, assign.taskId, "busy")];
    this.#queued.push(task);
    return [
      { kind: "task_queued", taskId: task.taskId, queuedCount: this.#queued.length },
      this.#ack(from, assign.taskId, "queued"),
    ];
  }

  #start(nowMs: number, task: QueuedTask): CalculatorOutput[] {
    const computeMs = Math.round(randomBetween(this.#rng, this.#config.computeMs.min, this.#config.computeMs.max));
    const ackDueMs = nowMs + this.#config.ackDelayMs;
    this.#running.set(task.taskId, {
      attempt: task.attempt,
      replyTo: task.replyTo,
      readyMs: nowMs + computeMs,
      result: undefined,
      isCorrupt: false,
      ackDueMs,
    });
    this.#runningWakeMs = Math.min(this.#runningWakeMs, ackDueMs);
    return [
      { kind: "task_started", taskId: task.taskId, computeMs },
      { kind: "compute", taskId: task.taskId, input: task.input, rounds: task.rounds },
    ];
  }

  /** Starts queued tasks while slots are free (oldest first). */
  #startQueued(nowMs: number, outputs: CalculatorOutput[]): void {
    while (this.#running.size < this.#config.capacity && this.#queued.length > 0) {
      outputs.push(...this.#start(nowMs, this.#queued.shift() as QueuedTask));
    }
  }

  #finish(nowMs: number, taskId: TaskId, task: RunningTask, outputs: CalculatorOutput[]): void {
    assert(task.result !== undefined, "finishing a task without a result");
    this.#running.delete(taskId);
    if (this.#running.size === 0) this.#runningWakeMs = Number.POSITIVE_INFINITY; // nothing left to wait for
    this.#results.set(nowMs, taskId, { attempt: task.attempt, result: task.result });
    this.#completedCount += 1;
    outputs.push({ kind: "task_finished", taskId, isCorrupt: task.isCorrupt });
    outputs.push(this.#done(task.replyTo, taskId, task.attempt, task.result));
    this.#startQueued(nowMs, outputs);
  }

  #checkFailure(nowMs: number, outputs: CalculatorOutput[]): void {
    if (this.#outageUntilMs !== undefined && nowMs >= this.#outageUntilMs) {
      this.#outageUntilMs = undefined;
      this.#nextHeartbeatMs = nowMs; // announce the return at once
      outputs.push({ kind: "outage_ended" });
    }
    if (nowMs < this.#nextFailureCheckMs) return;
    this.#nextFailureCheckMs = nowMs + this.#config.failure.checkIntervalMs;
    if (this.#outageUntilMs !== undefined || this.#rng() >= this.#config.failure.probability) return;
    const { min, max } = this.#config.failure.durationMs;
    const durationMs = Math.round(randomBetween(this.#rng, min, max));
    this.#outageUntilMs = nowMs + durationMs;
    outputs.push({ kind: "outage_started", durationMs });
  }

  /** Starts an outage now (tests and operator drills); the calculator returns after `durationMs`. */
  startOutage(nowMs: number, durationMs: number): void {
    assert(durationMs > 0, "outage duration must be positive");
    this.#outageUntilMs = nowMs + durationMs;
  }

  #heartbeat(): CalculatorOutput {
    this.#seq += 1;
    return {
      kind: "send",
      to: this.#config.dispatcher,
      packet: {
        v: PROTOCOL_VERSION,
        type: "calc.heartbeat",
        from: this.#config.nodeId,
        boot: this.#config.boot,
        seq: this.#seq,
        capacity: this.#config.capacity + this.#config.queueMax,
        running: this.#running.size + this.#queued.length + this.#reserved.size,
        ...(this.#config.overlayRole === undefined ? {} : { overlayRole: this.#config.overlayRole }),
      },
    };
  }

  #ack(
    to: Endpoint,
    taskId: TaskId,
    state: "running" | "busy" | "queued" | "moved",
    holder?: string,
  ): CalculatorOutput {
    const packet = { v: PROTOCOL_VERSION, type: "task.ack", from: this.#config.nodeId, taskId, state } as const;
    return { kind: "send", to, packet: holder === undefined ? packet : { ...packet, holder } };
  }

  #done(to: Endpoint, taskId: TaskId, attempt: number, result: string): CalculatorOutput {
    return {
      kind: "send",
      to,
      packet: { v: PROTOCOL_VERSION, type: "task.done", from: this.#config.nodeId, taskId, attempt, result },
    };
  }
}
