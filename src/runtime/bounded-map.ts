/**
 * An insertion-ordered map with a hard size limit and a time-to-live: the building block for every
 * dedup and recent-results cache. Full means the oldest entry is evicted (and counted), never growth.
 */
import { assert } from "./assert.js";

interface Entry<K, V> {
  readonly key: K;
  readonly value: V;
  readonly storedMs: number;
}

/** Consumed slots at the front of the order queue before it is compacted (amortised O(1)). */
const ORDER_HEAD_COMPACT_MIN = 1_024;

/** A cache of at most `entriesMax` entries, each dropped `ttlMs` after it was stored. */
export class BoundedMap<K, V> {
  /** BOUNDED: entriesMax; the oldest entry is evicted on overflow and entries expire after ttlMs. */
  readonly #entries = new Map<K, Entry<K, V>>();
  /**
   * Entries in store order, oldest from #orderHead on; slots whose entry was since deleted or
   * replaced are skipped. Finding the oldest through the Map's own iterator instead costs a walk over
   * every slot deleted since V8 last rehashed it: measured 35 µs per set() at 20 000 entries.
   * BOUNDED: compacted to the live entries (at most entriesMax) once it holds 2 * entriesMax + 1 024 slots.
   */
  #order: Entry<K, V>[] = [];
  #orderHead = 0;
  readonly #entriesMax: number;
  readonly #ttlMs: number;
  #evictedCount = 0;

  constructor(entriesMax: number, ttlMs: number) {
    assert(Number.isInteger(entriesMax) && entriesMax > 0, "entriesMax must be a positive integer");
    assert(ttlMs > 0, "ttlMs must be positive");
    this.#entriesMax = entriesMax;
    this.#ttlMs = ttlMs;
  }

  /** Entries evicted early because the map was full (a sign that entriesMax is too small). */
  get evictedCount(): number {
    return this.#evictedCount;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Stores `value` (replacing and refreshing any entry for `key`), evicting the oldest when full. */
  set(nowMs: number, key: K, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#entriesMax) {
      const oldest = this.#oldest();
      if (oldest !== undefined) {
        this.#entries.delete(oldest.key);
        this.#orderHead += 1;
        this.#evictedCount += 1;
      }
    }
    const entry: Entry<K, V> = { key, value, storedMs: nowMs };
    this.#entries.set(key, entry);
    this.#order.push(entry);
    this.#compactOrder();
  }

  /** The live entry stored longest ago (at #order[#orderHead]), skipping stale slots. */
  #oldest(): Entry<K, V> | undefined {
    while (this.#orderHead < this.#order.length) {
      const entry = this.#order[this.#orderHead] as Entry<K, V>;
      if (this.#entries.get(entry.key) === entry) return entry;
      this.#orderHead += 1;
    }
    return undefined;
  }

  #compactOrder(): void {
    const order = this.#order;
    if (order.length > 2 * this.#entriesMax + ORDER_HEAD_COMPACT_MIN) {
      this.#order = order.filter((entry) => this.#entries.get(entry.key) === entry);
      this.#orderHead = 0;
    } else if (this.#orderHead >= ORDER_HEAD_COMPACT_MIN && this.#orderHead * 2 >= order.length) {
      this.#order = order.slice(this.#orderHead);
      this.#orderHead = 0;
    }
  }

  /** The live value for `key`, or undefined when absent or expired. */
  get(nowMs: number, key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs - entry.storedMs >= this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(nowMs: number, key: K): boolean {
    return this.get(nowMs, key) !== undefined;
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  /** Drops expired entries; entries are in store order, so this stops at the first live one. */
  prune(nowMs: number): void {
    for (let entry = this.#oldest(); entry !== undefined; entry = this.#oldest()) {
      if (nowMs - entry.storedMs < this.#ttlMs) break;
      this.#entries.delete(entry.key);
      this.#orderHead += 1;
    }
    this.#compactOrder();
  }
}
