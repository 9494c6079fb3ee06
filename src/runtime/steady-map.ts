/**
 * A Map and a Set that V8 never sees empty, for the tables that hold a task only while it is in
 * flight (tasks, assigns, receipts owed, a calculator's running set) and so go from one entry to none
 * on every task at low load.
 *
 * Why: deleting the last entry of a Map or Set makes V8 shrink it, which always allocates a fresh
 * hash table, and the table it replaces, already promoted because the Map lives long, keeps a pointer
 * to the new one for iterators. Each new table therefore survives every scavenge until the next full
 * collection: a sampling heap profile of what survived minor collections put these tables at about
 * 600 bytes promoted per task in the dispatcher at window 1. One hidden entry keeps V8's element count
 * above zero, so removing the last real entry shrinks nothing.
 *
 * Both behave exactly as Map and Set to their users: the hidden entry is a private symbol, first in
 * insertion order, and left out of `size`, iteration and `forEach`; `clear()` deletes the real entries
 * one by one, so an iteration in progress never meets the hidden one. Not hidden from what reads the
 * table directly: `structuredClone` (throws on the symbol), `util.inspect` (shows one more entry)
 * and, on Node 22 and later, Set's union/intersection/isSubsetOf family. None is used on them here.
 */

/** The hidden key; no caller can name it. */
const KEEPER: unique symbol = Symbol("steady-map keeper");

/** A Map whose hash table is not reallocated when its last entry is deleted. */
export class SteadyMap<K, V> extends Map<K, V> {
  constructor() {
    super();
    super.set(KEEPER as K, undefined as V);
  }

  override get size(): number {
    return super.size - 1;
  }

  override clear(): void {
    for (const key of [...this.keys()]) super.delete(key);
  }

  override entries(): MapIterator<[K, V]> {
    const iterator = super.entries();
    iterator.next(); // the keeper is always first
    return iterator;
  }

  override keys(): MapIterator<K> {
    const iterator = super.keys();
    iterator.next();
    return iterator;
  }

  override values(): MapIterator<V> {
    const iterator = super.values();
    iterator.next();
    return iterator;
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  override forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}

/** A Set whose hash table is not reallocated when its last element is deleted. */
export class SteadySet<T> extends Set<T> {
  constructor() {
    super();
    super.add(KEEPER as T);
  }

  override get size(): number {
    return super.size - 1;
  }

  override clear(): void {
    for (const value of [...this.values()]) super.delete(value);
  }

  override values(): SetIterator<T> {
    const iterator = super.values();
    iterator.next();
    return iterator;
  }

  override keys(): SetIterator<T> {
    return this.values();
  }

  override entries(): SetIterator<[T, T]> {
    const iterator = super.entries();
    iterator.next();
    return iterator;
  }

  override [Symbol.iterator](): SetIterator<T> {
    return this.values();
  }

  override forEach(callback: (value: T, key: T, set: Set<T>) => void, thisArg?: unknown): void {
    for (const value of this.values()) callback.call(thisArg, value, value, this);
  }
}
