/**
 * An insertion-ordered map with a hard size limit and a time-to-live: the building block for every
 * dedup and recent-results cache. Full means the oldest entry is evicted (and counted), never growth.
 *
 * Layout: a Map from key to a slot number, and the slots themselves in three parallel arrays (key,
 * value, time stored) used as a ring in store order. There is no object per entry. These caches live
 * for minutes and take a new entry per task, so every entry outlives a young-generation collection
 * and is copied, promoted and later marked by V8: an entry object and its boxed timestamp were two
 * of the four or five heap objects each entry cost, on every hop of every task.
 */
import { assert } from "./assert.js";

/** Marks a slot whose entry was deleted, replaced or expired. */
const DEAD: unique symbol = Symbol("dead slot");

/** Slots in a fresh ring; it doubles (up to twice the live entries) as needed. */
const RING_SLOTS_MIN = 16;

/** A cache of at most `entriesMax` entries, each dropped `ttlMs` after it was stored. */
export class BoundedMap<K, V> {
  /** Live key -> its slot. BOUNDED: entriesMax; the oldest entry is evicted on overflow, entries expire after ttlMs. */
  readonly #slotOf = new Map<K, number>();
  /**
   * The ring: slot `count % capacity` for counts from #head (oldest) to #tail (next free), live or
   * DEAD. BOUNDED: rebuilt with only the live entries (at most entriesMax) when it fills, to a capacity
   * of at least twice those, so the rebuild's cost is spread over as many stores.
   */
  #keys: (K | typeof DEAD)[] = new Array(RING_SLOTS_MIN).fill(DEAD);
  #values: (V | undefined)[] = new Array(RING_SLOTS_MIN).fill(undefined);
  #storedMs = new Float64Array(RING_SLOTS_MIN);
  #head = 0;
  #tail = 0;
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
    return this.#slotOf.size;
  }

  /** Stores `value` (replacing and refreshing any entry for `key`), evicting the oldest when full. */
  set(nowMs: number, key: K, value: V): void {
    this.delete(key);
    if (this.#slotOf.size >= this.#entriesMax) {
      const oldest = this.#oldestSlot();
      if (oldest >= 0) {
        this.#drop(oldest);
        this.#evictedCount += 1;
      }
    }
    if (this.#tail - this.#head === this.#keys.length) this.#rebuild();
    const slot = this.#tail % this.#keys.length;
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#storedMs[slot] = nowMs;
    this.#slotOf.set(key, slot);
    this.#tail += 1;
  }

  /** The live value for `key`, or undefined when absent or expired. */
  get(nowMs: number, key: K): V | undefined {
    const slot = this.#slotOf.get(key);
    if (slot === undefined) return undefined;
    if (nowMs - (this.#storedMs[slot] as number) >= this.#ttlMs) {
      this.#drop(slot);
      return undefined;
    }
    return this.#values[slot];
  }

  has(nowMs: number, key: K): boolean {
    return this.get(nowMs, key) !== undefined;
  }

  delete(key: K): void {
    const slot = this.#slotOf.get(key);
    if (slot !== undefined) this.#drop(slot);
  }

  /** Drops expired entries; slots are in store order, so this stops at the first live one. */
  prune(nowMs: number): void {
    for (let slot = this.#oldestSlot(); slot >= 0; slot = this.#oldestSlot()) {
      if (nowMs - (this.#storedMs[slot] as number) < this.#ttlMs) break;
      this.#drop(slot);
    }
  }

  /** The slot of the entry stored longest ago (skipping dead slots at the front), or -1 when empty. */
  #oldestSlot(): number {
    const capacity = this.#keys.length;
    while (this.#head < this.#tail) {
      const slot = this.#head % capacity;
      if (this.#keys[slot] !== DEAD) return slot;
      this.#head += 1;
    }
    return -1;
  }

  /** Forgets the entry in `slot` and frees its value for the collector. */
  #drop(slot: number): void {
    this.#slotOf.delete(this.#keys[slot] as K);
    this.#keys[slot] = DEAD;
    this.#values[slot] = undefined;
  }

  /** Copies the live entries, oldest first, into a ring of at least twice their number. */
  #rebuild(): void {
    const capacity = this.#keys.length;
    const liveCount = this.#slotOf.size;
    const nextCapacity = Math.max(RING_SLOTS_MIN, 2 * liveCount, liveCount + 1);
    const keys: (K | typeof DEAD)[] = new Array(nextCapacity).fill(DEAD);
    const values: (V | undefined)[] = new Array(nextCapacity).fill(undefined);
    const storedMs = new Float64Array(nextCapacity);
    let next = 0;
    for (let count = this.#head; count < this.#tail; count += 1) {
      const slot = count % capacity;
      const key = this.#keys[slot] as K | typeof DEAD;
      if (key === DEAD) continue;
      keys[next] = key;
      values[next] = this.#values[slot];
      storedMs[next] = this.#storedMs[slot] as number;
      this.#slotOf.set(key, next);
      next += 1;
    }
    this.#keys = keys;
    this.#values = values;
    this.#storedMs = storedMs;
    this.#head = 0;
    this.#tail = next;
  }
}
