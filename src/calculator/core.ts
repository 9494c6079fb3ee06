/**
 * A calculator as a deterministic state machine: accepts assigns up to its capacity, emulates a
 * long computation, answers with `task.done` (which doubles as the assign's acknowledgement),
 * repeats a cached result for a repeated assign, heartbeats, and emulates outages (silent, then
 * back with the same identity) and wrong results. Time and randomness are injected.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { MovedTask } from "../protocol/overlay-packets.js";
import type { Packet } from "../protocol/packet.js";
import type { TaskAssign, TaskCancel, TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import { type Rng, randomBetween } from "../runtime/rng.js";
import { SteadyMap } from "../runtime/steady-map.js";
import type { Endpoint } from "../transport/transport.js";
import { PendingArrivals } from "./arrivals.js";
import {
  acceptIncoming,
  type CalculatorState,
  commitMoved,
  confirmArrived,
  isQueued,
  isQueueFull,
  type RunningTask,
  releaseReserved,
  resendArrivals,
  reserveQueued,
  start,
  startQueued,
} from "./local-queue.js";
import { ackOutput, doneOutput } from "./replies.js";
import type { CalculatorCoreConfig, CalculatorOutput, QueuedTask } from "./types.js";

/**
 * Makes a wrong but well-formed digest, wrong "in its own way" for each calculator: the first 8 hex
 * digits are XORed with a non-zero FNV-1a hash of `nodeId`. Two corrupt calculators therefore never
 * agree on a wrong result (barring a 32-bit hash collision), as a quorum test needs (SPEC 9).
 */
export function corruptDigest(digest: string, nodeId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < nodeId.length; i += 1) hash = Math.imul(hash ^ nodeId.charCodeAt(i), 0x01000193) >>> 0;
  const mask = hash === 0 ? 1 : hash;
  const head = (Number.parseInt(digest.slice(0, 8), 16) ^ mask) >>> 0;
  return `${head.toString(16).padStart(8, "0")}${digest.slice(8)}`;
}

/** Deterministic calculator state machine. */
export class CalculatorCore {
  readonly #config: CalculatorCoreConfig;
  readonly #rng: Rng;
  /** Running, queued, reserved and moved tasks, the results cache and the running wake (local-queue.ts). */
  readonly #s: CalculatorState;
  /**
   * Copies the dispatcher cancelled, by task: the highest attempt cancelled (Infinity: every attempt), so
   * a delayed assign of a cancelled copy does not start it again while a later copy still can.
   * BOUNDED: resultsCacheMax for resultsCacheTtlMs.
   */
  readonly #cancelled: BoundedMap<TaskId, number>;
  #seq = 0;
  #nextHeartbeatMs: number;
  #nextFailureCheckMs: number;
  #outageUntilMs: number | undefined;
  #completedCount = 0;

  constructor(config: CalculatorCoreConfig, rng: Rng, startMs: number) {
    assert(config.capacity >= 1, "capacity must be at least 1");
    assert(config.computeMs.min >= 0 && config.computeMs.min <= config.computeMs.max, "bad computeMs range");
    assert(config.heartbeatIntervalMs > 0 && config.failure.checkIntervalMs > 0, "intervals must be positive");
    this.#config = config;
    this.#rng = rng;
    assert(config.queueMax >= 0, "queueMax must not be negative");
    this.#s = {
      config,
      rng,
      running: new SteadyMap(),
      queued: [],
      reserved: new Map(),
      arrived: new Map(),
      results: new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs),
      movedTo: new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs),
      arrivals: new PendingArrivals(config.capacity + Math.max(1, config.queueMax)),
      runningWakeMs: Number.POSITIVE_INFINITY,
    };
    this.#cancelled = new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs);
    this.#nextHeartbeatMs = startMs;
    this.#nextFailureCheckMs = startMs + config.failure.checkIntervalMs;
  }

  /** True while `taskId` occupies a slot here (false once finished or cancelled). */
  isRunning(taskId: TaskId): boolean {
    return this.#s.running.has(taskId);
  }

  get runningCount(): number {
    return this.#s.running.size;
  }

  /** Tasks run in parallel (capacity; an overlay node's slots). */
  get slots(): number {
    return this.#config.capacity;
  }

  get queuedCount(): number {
    return this.#s.queued.length;
  }

  /** Ids of the tasks waiting in the local queue, oldest first (for overlay load reports). */
  queuedTaskIds(): TaskId[] {
    return this.#s.queued.map((task) => task.taskId);
  }

  /** Tasks reserved for a move in flight: never started, still answered for as queued. */
  get reservedCount(): number {
    return this.#s.reserved.size;
  }

  /**
   * Reserves up to `countMax` queued (never running) tasks for a move, newest first so the oldest
   * keep their place here. Fewer, even none, when tasks started meanwhile: the move adapts.
   */
  reserveQueued(countMax: number): MovedTask[] {
    return reserveQueued(this.#s, countMax);
  }

  /** The receiver `holder` accepted these reserved tasks: they are its now; probes are pointed there. */
  commitMoved(nowMs: number, taskIds: readonly TaskId[], holder: string): void {
    commitMoved(this.#s, nowMs, taskIds, holder);
  }

  /** The receiver refused these reserved tasks: back to the queue (started at once if a slot is free). */
  releaseReserved(nowMs: number, taskIds: readonly TaskId[]): CalculatorOutput[] {
    return releaseReserved(this.#s, nowMs, taskIds);
  }

  /**
   * Accepts tasks moved here by the overlay from `giver`, idempotently by id (a task already held counts
   * as accepted). Each accepted task is held unstarted and the dispatcher is told this node holds it
   * now (`task.ack` moved, holder = this node, `giver`) until it confirms the move with an assign (the
   * task is then queued or started) or refuses it with a cancel. Beyond the queue's room: refused.
   */
  acceptIncoming(
    nowMs: number,
    tasks: readonly MovedTask[],
    giver: string,
  ): { accepted: TaskId[]; refused: TaskId[]; outputs: CalculatorOutput[] } {
    return acceptIncoming(this.#s, nowMs, tasks, giver);
  }

  /** Tasks moved here that the dispatcher has not confirmed yet (held, never started). */
  get arrivedCount(): number {
    return this.#s.arrived.size;
  }

  /** When (ms) the oldest task still held unconfirmed arrived here; undefined when none is. */
  oldestArrivedMs(): number | undefined {
    return this.#s.arrived.values().next().value?.sinceMs;
  }

  get completedCount(): number {
    return this.#completedCount;
  }

  get isInOutage(): boolean {
    return this.#outageUntilMs !== undefined;
  }

  onPacket(nowMs: number, from: Endpoint, packet: Packet): CalculatorOutput[] {
    if (this.#outageUntilMs !== undefined) return [{ kind: "packet_dropped", reason: "outage", type: packet.type }];
    if (packet.type === "task.cancel") return this.#onCancel(nowMs, from, packet);
    if (packet.type !== "task.assign")
      return [{ kind: "packet_dropped", reason: "unexpected_type", type: packet.type }];
    return this.#onAssign(nowMs, from, packet);
  }

  /**
   * The dispatcher no longer needs this copy (quorum reached elsewhere, or the client cancelled): drop
   * it from the queue or abandon it mid-computation, remember it so a late assign does not start it
   * again, and answer `cancelled` (also when there was nothing to stop: the answer is idempotent).
   */
  #onCancel(nowMs: number, from: Endpoint, cancel: TaskCancel): CalculatorOutput[] {
    const outputs: CalculatorOutput[] = [];
    this.#s.arrivals.confirm(cancel.taskId); // the dispatcher knows of this copy: no more announcements
    // Only copies up to the cancel's attempt: a copy placed here later is not stopped by a late cancel.
    const bound = cancel.attempt ?? Number.POSITIVE_INFINITY;
    const running = this.#s.running.get(cancel.taskId);
    const wasRunning = running !== undefined && running.attempt <= bound && this.#s.running.delete(cancel.taskId);
    const queuedIndex = this.#s.queued.findIndex((task) => task.taskId === cancel.taskId && task.attempt <= bound);
    if (queuedIndex >= 0) this.#s.queued.splice(queuedIndex, 1);
    // A moved task not confirmed yet: the dispatcher refuses the move (stale, or the task is done).
    this.#s.arrived.delete(cancel.taskId);
    // Remembered even when nothing ran here yet: the cancel may have overtaken its assign.
    this.#cancelled.set(nowMs, cancel.taskId, Math.max(bound, this.#cancelled.get(nowMs, cancel.taskId) ?? 0));
    if (wasRunning || queuedIndex >= 0) outputs.push({ kind: "task_cancelled", taskId: cancel.taskId, wasRunning });
    outputs.push(ackOutput(this.#config.nodeId, from, cancel.taskId, "cancelled", undefined, cancel.attempt));
    if (wasRunning) startQueued(this.#s, nowMs, outputs);
    return outputs;
  }

  /** The shell computed the digest of `taskId`; it is sent once the emulated computation time is over. */
  onComputed(nowMs: number, taskId: TaskId, digest: string): CalculatorOutput[] {
    const task = this.#s.running.get(taskId);
    if (task === undefined || task.result !== undefined) return [];
    task.isCorrupt = this.#rng() < this.#config.corruption.probability;
    task.result = task.isCorrupt ? corruptDigest(digest, this.#config.nodeId) : digest;
    const outputs: CalculatorOutput[] = [];
    if (task.readyMs <= nowMs && this.#outageUntilMs === undefined) this.#finish(nowMs, taskId, task, outputs);
    else this.#s.runningWakeMs = Math.min(this.#s.runningWakeMs, task.readyMs);
    return outputs;
  }

  /**
   * The earliest time (ms) onTick has something to do: a heartbeat, a failure check, the end of an
   * outage, a computed task whose emulated time is over, an owed receipt. It may be early (onTick then
   * does nothing and the next call is exact), never late.
   */
  nextDeadlineMs(): number {
    if (this.#outageUntilMs !== undefined) return Math.min(this.#outageUntilMs, this.#nextFailureCheckMs);
    return Math.min(this.#nextHeartbeatMs, this.#nextFailureCheckMs, this.#s.runningWakeMs, this.#s.arrivals.wakeMs);
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
    for (const [taskId, task] of this.#s.running) {
      if (task.result !== undefined && task.readyMs <= nowMs) {
        this.#finish(nowMs, taskId, task, outputs);
        continue;
      }
      if (task.ackDueMs !== undefined && task.ackDueMs <= nowMs) {
        task.ackDueMs = undefined;
        outputs.push(ackOutput(this.#config.nodeId, task.replyTo, taskId, "running"));
      }
      runningWakeMs = Math.min(runningWakeMs, this.#wakeOf(task));
    }
    this.#s.runningWakeMs = runningWakeMs;
    resendArrivals(this.#s, nowMs, outputs);
    this.#s.results.prune(nowMs);
    this.#cancelled.prune(nowMs);
    return outputs;
  }

  /** When a running task next needs a tick: its owed receipt, or its end once the digest is known. */
  #wakeOf(task: RunningTask): number {
    const readyMs = task.result === undefined ? Number.POSITIVE_INFINITY : task.readyMs;
    return Math.min(readyMs, task.ackDueMs ?? Number.POSITIVE_INFINITY);
  }

  #onAssign(nowMs: number, from: Endpoint, assign: TaskAssign): CalculatorOutput[] {
    // Meant for an earlier life of this calculator (a probe in flight across a restart): never start it.
    if (assign.toBoot !== undefined && assign.toBoot !== this.#config.boot)
      return [{ kind: "packet_dropped", reason: "stale_incarnation", type: assign.type }];
    this.#s.arrivals.confirm(assign.taskId); // the dispatcher follows a move here: no more announcements
    const cancelledUpTo = this.#cancelled.get(nowMs, assign.taskId);
    if (cancelledUpTo !== undefined && assign.attempt <= cancelledUpTo)
      return [ackOutput(this.#config.nodeId, from, assign.taskId, "cancelled")];
    const cached = this.#s.results.get(nowMs, assign.taskId);
    if (cached !== undefined)
      return [doneOutput(this.#config.nodeId, from, assign.taskId, cached.attempt, cached.result)];
    const running = this.#s.running.get(assign.taskId);
    if (running !== undefined) {
      running.replyTo = from;
      running.ackDueMs = undefined;
      return [ackOutput(this.#config.nodeId, from, assign.taskId, "running")];
    }
    const holder = this.#s.movedTo.get(nowMs, assign.taskId);
    if (holder !== undefined) return [ackOutput(this.#config.nodeId, from, assign.taskId, "moved", holder)];
    if (isQueued(this.#s, assign.taskId)) {
      return [ackOutput(this.#config.nodeId, from, assign.taskId, "queued")];
    }
    // A moved task held until now: the dispatcher follows the move, so it is queued or started below.
    confirmArrived(this.#s, assign.taskId);
    const task: QueuedTask = {
      taskId: assign.taskId,
      attempt: assign.attempt,
      input: assign.input,
      rounds: assign.rounds,
      replyTo: from,
    };
    if (this.#s.running.size < this.#config.capacity) return start(this.#s, nowMs, task);
    if (isQueueFull(this.#s)) return [ackOutput(this.#config.nodeId, from, assign.taskId, "busy")];
    this.#s.queued.push(task);
    return [
      { kind: "task_queued", taskId: task.taskId, queuedCount: this.#s.queued.length },
      ackOutput(this.#config.nodeId, from, assign.taskId, "queued"),
    ];
  }

  #finish(nowMs: number, taskId: TaskId, task: RunningTask, outputs: CalculatorOutput[]): void {
    assert(task.result !== undefined, "finishing a task without a result");
    this.#s.running.delete(taskId);
    if (this.#s.running.size === 0) this.#s.runningWakeMs = Number.POSITIVE_INFINITY; // nothing left to wait for
    this.#s.results.set(nowMs, taskId, { attempt: task.attempt, result: task.result });
    this.#completedCount += 1;
    outputs.push({ kind: "task_finished", taskId, isCorrupt: task.isCorrupt });
    outputs.push(doneOutput(this.#config.nodeId, task.replyTo, taskId, task.attempt, task.result));
    startQueued(this.#s, nowMs, outputs);
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
        running: this.#s.running.size + this.#s.queued.length + this.#s.reserved.size + this.#s.arrived.size,
        ...(this.#config.overlayRole === undefined
          ? {}
          : {
              overlayRole: this.#config.overlayRole,
              overlaySlots: this.#config.capacity,
              overlayParents: [...(this.#config.overlayParents ?? [])],
            }),
      },
    };
  }
}
