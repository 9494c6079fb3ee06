/**
 * Where the dispatcher keeps final answers after it gave them (SPEC 3 `results`, SPEC 8 `result ID`):
 * a duplicate submit or cancel gets the same answer, and the operator can fetch it by task id, for
 * `results.ttlMs` after it was given and among the newest `results.max` (then the oldest go first).
 * The core talks to the {@link ResultStore} interface only, so a store that survives restarts, or one
 * shared by several dispatchers, is one new class; today the journal (src/journal/) makes answers
 * durable and puts them back into this in-memory store at start. Sans-IO: time comes in as nowMs.
 */
import type { Packet } from "../protocol/packet.js";
import type { TaskId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";

/** A final answer to a client. */
export type FinalPacket = Extract<Packet, { type: "task.result" | "task.failed" }>;

/** Final answers by task id, kept for a time and up to a count. */
export interface ResultStore {
  /** The answer for `taskId` while it is kept; undefined when never stored, expired or evicted. */
  get(nowMs: number, taskId: TaskId): FinalPacket | undefined;
  /**
   * Keeps `packet` as the answer for `taskId` (replacing one kept already). `ageMs` (default 0): how
   * long ago it was given, for answers read back after a restart, so they expire on time.
   */
  put(nowMs: number, taskId: TaskId, packet: FinalPacket, ageMs?: number): void;
  /** Drops the answers older than the time to live (the dispatcher calls this every tick). */
  expire(nowMs: number): void;
  /** Answers kept now (expired ones may count until the next expire). */
  readonly size: number;
  /** Answers dropped before their time because the store was full (a sign that `max` is too small). */
  readonly evictedCount: number;
}

/** Settings of a result store: SPEC 3's `results.ttlMs` and `results.max`. */
export interface ResultStoreConfig {
  readonly ttlMs: number;
  readonly max: number;
}

/** The in-memory store: a {@link BoundedMap}, so at most `max` answers, each for `ttlMs`. */
export class MemoryResultStore implements ResultStore {
  /** BOUNDED: config.max answers, each for config.ttlMs (the oldest is evicted when full). */
  readonly #answers: BoundedMap<TaskId, FinalPacket>;

  constructor(config: ResultStoreConfig) {
    assert(Number.isInteger(config.max) && config.max > 0, "results.max must be a positive integer");
    assert(config.ttlMs > 0, "results.ttlMs must be positive");
    this.#answers = new BoundedMap(config.max, config.ttlMs);
  }

  get(nowMs: number, taskId: TaskId): FinalPacket | undefined {
    return this.#answers.get(nowMs, taskId);
  }

  put(nowMs: number, taskId: TaskId, packet: FinalPacket, ageMs = 0): void {
    assert(packet.taskId === taskId, "an answer is stored under its own task id");
    assert(ageMs >= 0, "an answer's age is not negative");
    this.#answers.set(nowMs - ageMs, taskId, packet);
  }

  expire(nowMs: number): void {
    this.#answers.prune(nowMs);
  }

  get size(): number {
    return this.#answers.size;
  }

  get evictedCount(): number {
    return this.#answers.evictedCount;
  }
}
