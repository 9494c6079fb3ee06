/**
 * Goal: BoundedMap (a Map from key to slot plus a ring of slots in store order, for O(1) eviction
 * without an object per entry) behaves exactly like the plain insertion-ordered Map it replaced: same
 * values, sizes, evictions and expiries under any sequence of set, get, delete and prune, including
 * the ring's rebuilds (it starts at 16 slots; the seeds reach up to 40 live entries among dead slots).
 * Method: seeded random operation sequences run against both, compared after every step.
 */
import { describe, expect, it } from "vitest";

import { BoundedMap } from "../../../src/runtime/bounded-map.js";
import { randomIntInclusive, seededRng } from "../../../src/runtime/rng.js";

/** The previous implementation: the Map's own insertion order finds the oldest entry. */
class ReferenceMap {
  readonly entries = new Map<string, { value: number; storedMs: number }>();
  evictedCount = 0;
  readonly entriesMax: number;
  readonly ttlMs: number;
  constructor(entriesMax: number, ttlMs: number) {
    this.entriesMax = entriesMax;
    this.ttlMs = ttlMs;
  }
  set(nowMs: number, key: string, value: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.entriesMax) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        this.entries.delete(oldest.value);
        this.evictedCount += 1;
      }
    }
    this.entries.set(key, { value, storedMs: nowMs });
  }
  get(nowMs: number, key: string): number | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs - entry.storedMs >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  prune(nowMs: number): void {
    for (const [key, entry] of this.entries) {
      if (nowMs - entry.storedMs < this.ttlMs) break;
      this.entries.delete(key);
    }
  }
}

describe("BoundedMap against the plain-Map reference", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])("seed %i: identical through 6 000 random operations", (seed) => {
    const rng = seededRng(seed);
    const entriesMax = randomIntInclusive(rng, 1, 40);
    const ttlMs = randomIntInclusive(rng, 5, 200);
    const keyCount = randomIntInclusive(rng, 2, 120);
    const map = new BoundedMap<string, number>(entriesMax, ttlMs);
    const reference = new ReferenceMap(entriesMax, ttlMs);
    let nowMs = 0;
    const mismatches: string[] = [];
    for (let step = 0; step < 6_000 && mismatches.length === 0; step += 1) {
      nowMs += rng() < 0.3 ? randomIntInclusive(rng, 0, 5) : 0;
      const key = `k${randomIntInclusive(rng, 0, keyCount - 1)}`;
      const draw = rng();
      if (draw < 0.5) {
        map.set(nowMs, key, step);
        reference.set(nowMs, key, step);
      } else if (draw < 0.8) {
        const [got, expected] = [map.get(nowMs, key), reference.get(nowMs, key)];
        if (got !== expected) mismatches.push(`step ${step}: get ${key} = ${got}, expected ${expected}`);
      } else if (draw < 0.9) {
        map.delete(key);
        reference.entries.delete(key);
      } else {
        map.prune(nowMs);
        reference.prune(nowMs);
      }
      if (map.size !== reference.entries.size || map.evictedCount !== reference.evictedCount) {
        mismatches.push(`step ${step}: size ${map.size}/${reference.entries.size}, evicted ${map.evictedCount}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
