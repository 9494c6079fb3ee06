/**
 * Pending requests awaiting an answer, each with the time of its next resend. No timers: the owner
 * calls due(nowMs) from its tick and resends what it returns. The answer settles an entry (a result
 * doubles as the acknowledgement); an explicit ack can switch an entry to a slower probing policy.
 * Pure: no I/O, no clock reads.
 */
import { assert } from "../runtime/assert.js";
import { SteadyMap } from "../runtime/steady-map.js";
import { nextDelayMs, type RetryPolicy } from "./retry-policy.js";

interface Pending<V> {
  value: V;
  policy: RetryPolicy;
  sendCount: number;
  nextSendMs: number;
}

/** One entry whose resend is due. */
export interface DueEntry<K, V> {
  readonly key: K;
  readonly value: V;
  /** Sends made so far, including the one the caller is about to make. */
  readonly sendCount: number;
}

/** A bounded table of requests awaiting answers. */
export class RetransmitTable<K, V> {
  /** BOUNDED: entriesMax; add() refuses beyond it. */
  readonly #entries = new SteadyMap<K, Pending<V>>();
  readonly #entriesMax: number;
  #resentCount = 0;
  /**
   * No entry is due before this time (ms): lowered whenever an entry's next send is set, made exact
   * by each due() scan. Settling leaves it early, which costs at most one empty due() call.
   */
  #earliestMs = Number.POSITIVE_INFINITY;

  constructor(entriesMax: number) {
    assert(Number.isInteger(entriesMax) && entriesMax > 0, "entriesMax must be a positive integer");
    this.#entriesMax = entriesMax;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Resends handed out by due() so far (a retransmission counter for metrics). */
  get resentCount(): number {
    return this.#resentCount;
  }

  get isFull(): boolean {
    return this.#entries.size >= this.#entriesMax;
  }

  /** Tracks `key` whose first send the caller just made; false when the table is full. */
  add(nowMs: number, key: K, value: V, policy: RetryPolicy): boolean {
    assert(!this.#entries.has(key), "a pending key is added twice");
    if (this.isFull) return false;
    const nextSendMs = nowMs + nextDelayMs(policy, 1);
    this.#entries.set(key, { value, policy, sendCount: 1, nextSendMs });
    if (nextSendMs < this.#earliestMs) this.#earliestMs = nextSendMs;
    return true;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Removes `key` (answered, expired or abandoned) and returns its value. */
  settle(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return entry.value;
  }

  /** Switches `key` to `policy` (e.g. slow probing after an ack), next send one delay from now. */
  reschedule(nowMs: number, key: K, policy: RetryPolicy): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.policy = policy;
    entry.sendCount = 1;
    entry.nextSendMs = nowMs + nextDelayMs(policy, 1);
    if (entry.nextSendMs < this.#earliestMs) this.#earliestMs = entry.nextSendMs;
  }

  /** Makes `key` due at once (e.g. the peer's address changed). */
  expedite(nowMs: number, key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.nextSendMs = nowMs;
    if (nowMs < this.#earliestMs) this.#earliestMs = nowMs;
  }

  /**
   * A time (ms) no entry is due before, for the owner's next wake-up; undefined when empty. It may be
   * early (after settles), never late.
   */
  nextDueMs(): number | undefined {
    return this.#entries.size === 0 ? undefined : this.#earliestMs;
  }

  /** The value added longest ago (insertion order), or undefined when empty. */
  oldest(): V | undefined {
    for (const entry of this.#entries.values()) return entry.value;
    return undefined;
  }

  /** Entries whose resend is due at `nowMs`; each is rescheduled by its policy before returning. */
  due(nowMs: number): DueEntry<K, V>[] {
    const due: DueEntry<K, V>[] = [];
    let earliestMs = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.#entries) {
      if (entry.nextSendMs <= nowMs) {
        entry.sendCount += 1;
        entry.nextSendMs = nowMs + nextDelayMs(entry.policy, entry.sendCount);
        this.#resentCount += 1;
        due.push({ key, value: entry.value, sendCount: entry.sendCount });
      }
      if (entry.nextSendMs < earliestMs) earliestMs = entry.nextSendMs;
    }
    this.#earliestMs = earliestMs;
    return due;
  }

  /** A snapshot of the values (safe to settle entries while iterating it). */
  values(): IterableIterator<V> {
    return [...this.#entries.values()].map((entry) => entry.value).values();
  }
}
