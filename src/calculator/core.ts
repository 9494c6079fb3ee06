/**
 * A calculator as a deterministic state machine: accepts assigns up to its capacity, emulates a
 * long computation, answers with `task.done` (which doubles as the assign's acknowledgement),
 * repeats a cached result for a repeated assign, heartbeats, and emulates outages (silent, then
 * back with the same identity) and wrong results. Time and randomness are injected.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { TaskAssign, TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import { type Rng, randomBetween } from "../runtime/rng.js";
import type { Endpoint } from "../transport/transport.js";
import type { CalculatorCoreConfig, CalculatorOutput } from "./types.js";

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
  /** BOUNDED: config.resultsCacheMax entries for config.resultsCacheTtlMs. */
  readonly #results: BoundedMap<TaskId, CachedResult>;
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
    this.#results = new BoundedMap(config.resultsCacheMax, config.resultsCacheTtlMs);
    this.#nextHeartbeatMs = startMs;
    this.#nextFailureCheckMs = startMs + config.failure.checkIntervalMs;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  get completedCount(): number {
    return this.#completedCount;
  }

  get isInOutage(): boolean {
    return this.#outageUntilMs !== undefined;
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
    return outputs;
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
    for (const [taskId, task] of this.#running) {
      if (task.result !== undefined && task.readyMs <= nowMs) this.#finish(nowMs, taskId, task, outputs);
      else if (task.ackDueMs !== undefined && task.ackDueMs <= nowMs) {
        task.ackDueMs = undefined;
        outputs.push(this.#ack(task.replyTo, taskId, "running"));
      }
    }
    this.#results.prune(nowMs);
    return outputs;
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
    if (this.#running.size >= this.#config.capacity) return [this.#ack(from, assign.taskId, "busy")];
    const computeMs = Math.round(randomBetween(this.#rng, this.#config.computeMs.min, this.#config.computeMs.max));
    this.#running.set(assign.taskId, {
      attempt: assign.attempt,
      replyTo: from,
      readyMs: nowMs + computeMs,
      result: undefined,
      isCorrupt: false,
      ackDueMs: nowMs + this.#config.ackDelayMs,
    });
    return [
      { kind: "task_started", taskId: assign.taskId, computeMs },
      { kind: "compute", taskId: assign.taskId, input: assign.input, rounds: assign.rounds },
    ];
  }

  #finish(nowMs: number, taskId: TaskId, task: RunningTask, outputs: CalculatorOutput[]): void {
    assert(task.result !== undefined, "finishing a task without a result");
    this.#running.delete(taskId);
    this.#results.set(nowMs, taskId, { attempt: task.attempt, result: task.result });
    this.#completedCount += 1;
    outputs.push({ kind: "task_finished", taskId, isCorrupt: task.isCorrupt });
    outputs.push(this.#done(task.replyTo, taskId, task.attempt, task.result));
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
        capacity: this.#config.capacity,
        running: this.#running.size,
      },
    };
  }

  #ack(to: Endpoint, taskId: TaskId, state: "running" | "busy"): CalculatorOutput {
    return {
      kind: "send",
      to,
      packet: { v: PROTOCOL_VERSION, type: "task.ack", from: this.#config.nodeId, taskId, state },
    };
  }

  #done(to: Endpoint, taskId: TaskId, attempt: number, result: string): CalculatorOutput {
    return {
      kind: "send",
      to,
      packet: { v: PROTOCOL_VERSION, type: "task.done", from: this.#config.nodeId, taskId, attempt, result },
    };
  }
}
