/**
 * A binary min-heap of keys by due time (ms), with an index so a key can be moved or removed in
 * O(log n): the dispatcher's per-task deadlines, which no longer arrive in due order once a task may
 * carry its own `deadlineMs`. Equal due times leave in insertion order (a sequence number breaks
 * ties), so expiry stays deterministic and FIFO like the arrival-ordered scan it replaces.
 * Pure data structure: no clock; callers pass times in.
 */
import { assert } from "./assert.js";

interface HeapEntry<K> {
  readonly key: K;
  dueMs: number;
  seq: number;
}

/** Keys ordered by due time; a key is in it at most once. */
export class DeadlineHeap<K> {
  /** BOUNDED: by the caller (one entry per key it tracks; the dispatcher's tasksMax). */
  readonly #heap: HeapEntry<K>[] = [];
  /** Key -> its index in #heap. BOUNDED: mirrors #heap. */
  readonly #indexOf = new Map<K, number>();
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  has(key: K): boolean {
    return this.#indexOf.has(key);
  }

  /** Adds `key` due at `dueMs`, or moves it there if present (it then goes behind equal due times). */
  set(key: K, dueMs: number): void {
    assert(!Number.isNaN(dueMs), "a due time is a number");
    const at = this.#indexOf.get(key);
    this.#seq += 1;
    if (at === undefined) {
      this.#heap.push({ key, dueMs, seq: this.#seq });
      this.#indexOf.set(key, this.#heap.length - 1);
      this.#up(this.#heap.length - 1);
      return;
    }
    const entry = this.#heap[at] as HeapEntry<K>;
    entry.dueMs = dueMs;
    entry.seq = this.#seq;
    this.#down(this.#up(at));
  }

  /** Removes `key` (no-op when absent). */
  delete(key: K): void {
    const at = this.#indexOf.get(key);
    if (at === undefined) return;
    this.#indexOf.delete(key);
    const last = this.#heap.pop() as HeapEntry<K>;
    if (at === this.#heap.length) return; // it was the last one
    this.#heap[at] = last;
    this.#indexOf.set(last.key, at);
    this.#down(this.#up(at));
    assert(this.#heap.length === this.#indexOf.size, "heap and index agree");
  }

  /** The earliest due time, or undefined when empty. O(1). */
  peekMs(): number | undefined {
    return this.#heap[0]?.dueMs;
  }

  /** The key due earliest if it is due at `nowMs` (dueMs ≤ nowMs); it stays in the heap. */
  firstDue(nowMs: number): K | undefined {
    const top = this.#heap[0];
    return top !== undefined && top.dueMs <= nowMs ? top.key : undefined;
  }

  #before(a: HeapEntry<K>, b: HeapEntry<K>): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const a = this.#heap[i] as HeapEntry<K>;
    const b = this.#heap[j] as HeapEntry<K>;
    this.#heap[i] = b;
    this.#heap[j] = a;
    this.#indexOf.set(b.key, i);
    this.#indexOf.set(a.key, j);
  }

  /** Sifts the entry at `at` up; returns where it ended. */
  #up(at: number): number {
    let i = at;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(this.#heap[i] as HeapEntry<K>, this.#heap[parent] as HeapEntry<K>)) break;
      this.#swap(i, parent);
      i = parent;
    }
    return i;
  }

  #down(at: number): void {
    const n = this.#heap.length;
    let i = at;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < n && this.#before(this.#heap[left] as HeapEntry<K>, this.#heap[best] as HeapEntry<K>)) best = left;
      if (right < n && this.#before(this.#heap[right] as HeapEntry<K>, this.#heap[best] as HeapEntry<K>)) best = right;
      if (best === i) return;
      this.#swap(i, best);
      i = best;
    }
  }
}
