/**
 * A FIFO with a fixed capacity: `offer` refuses (and counts) instead of growing. Removal of an
 * arbitrary element is supported because queued tasks can be cancelled or completed elsewhere.
 */
import { assert } from "./assert.js";

/** FIFO of at most `capacity` items. */
export class BoundedQueue<T> {
  /** BOUNDED: capacity; offer() returns false when full. */
  readonly #items: T[] = [];
  readonly #capacity: number;
  #rejectedCount = 0;

  constructor(capacity: number) {
    assert(Number.isInteger(capacity) && capacity > 0, "capacity must be a positive integer");
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  get capacity(): number {
    return this.#capacity;
  }

  get rejectedCount(): number {
    return this.#rejectedCount;
  }

  /** Appends `item`; false (and counted) when the queue is full. */
  offer(item: T): boolean {
    if (this.#items.length >= this.#capacity) {
      this.#rejectedCount += 1;
      return false;
    }
    this.#items.push(item);
    return true;
  }

  /** Removes and returns the oldest item. */
  poll(): T | undefined {
    return this.#items.shift();
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Removes the first item matching `predicate`; true when one was removed. */
  remove(predicate: (item: T) => boolean): boolean {
    const index = this.#items.findIndex(predicate);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /** Removes and returns every item matching `predicate`, keeping the rest in order. */
  removeAll(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (let i = this.#items.length - 1; i >= 0; i -= 1) {
      const item = this.#items[i] as T;
      if (predicate(item)) {
        removed.unshift(item);
        this.#items.splice(i, 1);
      }
    }
    return removed;
  }

  values(): readonly T[] {
    return this.#items;
  }
}
