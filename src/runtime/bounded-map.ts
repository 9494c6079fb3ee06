/**
 * An insertion-ordered map with a hard size limit and a time-to-live: the building block for every
 * dedup and recent-results cache. Full means the oldest entry is evicted (and counted), never growth.
 */
import { assert } from "./assert.js";

interface Entry<V> {
  readonly value: V;
  readonly storedMs: number;
}

/** A cache of at most `entriesMax` entries, each dropped `ttlMs` after it was stored. */
export class BoundedMap<K, V> {
  /** BOUNDED: entriesMax; the oldest entry is evicted on overflow and entries expire after ttlMs. */
  readonly #entries = new Map<K, Entry<V>>();
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
      const oldest = this.#entries.keys().next();
      if (!oldest.done) {
        this.#entries.delete(oldest.value);
        this.#evictedCount += 1;
      }
    }
    this.#entries.set(key, { value, storedMs: nowMs });
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
    for (const [key, entry] of this.#entries) {
      if (nowMs - entry.storedMs < this.#ttlMs) break;
      this.#entries.delete(key);
    }
  }
}
