/**
 * Goal: the runtime building blocks keep their bounds and their determinism.
 * Method: plain values, a ManualClock and seeded generators; no real time.
 */
import { describe, expect, it } from "vitest";

import { BoundedMap } from "../../src/runtime/bounded-map.js";
import { BoundedQueue } from "../../src/runtime/bounded-queue.js";
import { ManualClock } from "../../src/runtime/clock.js";
import { randomIntInclusive, seededRng, seededUuid } from "../../src/runtime/rng.js";

describe("ManualClock", () => {
  it("fires tickers in time order and only when time is advanced", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.every(10, () => fired.push(`a@${clock.nowMs()}`));
    const stopB = clock.every(15, () => fired.push(`b@${clock.nowMs()}`));
    clock.advance(30);
    expect(fired).toEqual(["a@10", "b@15", "a@20", "a@30", "b@30"]);
    stopB();
    clock.advance(15);
    expect(fired.slice(5)).toEqual(["a@40"]);
    expect(clock.nowMs()).toBe(45);
    expect(() => clock.advance(-1)).toThrow(/backwards/);
  });
});

describe("seededRng", () => {
  it("replays the same sequence for the same seed and differs across seeds", () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const c = seededRng(43);
    const seqA = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });

  it("draws integers inside inclusive bounds and uuid-shaped ids", () => {
    const rng = seededRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i += 1) seen.add(randomIntInclusive(rng, 3, 5));
    expect([...seen].sort()).toEqual([3, 4, 5]);
    expect(seededUuid(rng)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe("BoundedMap", () => {
  it("evicts the oldest entry when full and expires entries after their ttl", () => {
    const map = new BoundedMap<string, number>(2, 100);
    map.set(0, "a", 1);
    map.set(10, "b", 2);
    map.set(20, "c", 3);
    expect(map.size).toBe(2);
    expect(map.evictedCount).toBe(1);
    expect(map.get(20, "a")).toBeUndefined();
    expect(map.get(109, "b")).toBe(2);
    expect(map.get(110, "b")).toBeUndefined();
    map.prune(200);
    expect(map.size).toBe(0);
  });
});

describe("BoundedQueue", () => {
  it("refuses and counts offers beyond capacity, and removes by predicate", () => {
    const queue = new BoundedQueue<number>(2);
    expect(queue.offer(1)).toBe(true);
    expect(queue.offer(2)).toBe(true);
    expect(queue.offer(3)).toBe(false);
    expect(queue.rejectedCount).toBe(1);
    expect(queue.remove((x) => x === 1)).toBe(true);
    expect(queue.poll()).toBe(2);
    expect(queue.poll()).toBeUndefined();
  });
});
