/**
 * Goal: the edge cases of the runtime building blocks that shells and simulations lean on: tickers
 * that stop or start other tickers mid-advance, caches refreshed or pruned at their exact ttl, queues
 * filtered in order, and generators that stay inside their bounds.
 * Method: plain values with a ManualClock and seeded generators; no real time. (The basic cases live
 * in test/unit/runtime.test.ts.)
 */
import { describe, expect, it } from "vitest";

import { AssertionError, assert, assertNever } from "../../../src/runtime/assert.js";
import { BoundedMap } from "../../../src/runtime/bounded-map.js";
import { BoundedQueue } from "../../../src/runtime/bounded-queue.js";
import { ManualClock } from "../../../src/runtime/clock.js";
import { randomBetween, randomIntInclusive, seededRng } from "../../../src/runtime/rng.js";

describe("ManualClock edges", () => {
  it("starts at startMs, and advance(0) fires only what is due now", () => {
    const clock = new ManualClock(1_000);
    const fired: number[] = [];
    clock.every(10, () => fired.push(clock.nowMs()));
    clock.advance(0);
    expect(fired).toEqual([]);
    clock.advance(10);
    expect(fired).toEqual([1_010]);
    clock.advance(0);
    expect(fired).toEqual([1_010]);
  });

  it("fires a ticker several times in one long advance, each at its own time", () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.every(3, () => fired.push(clock.nowMs()));
    clock.advance(10);
    expect(fired).toEqual([3, 6, 9]);
    expect(clock.nowMs()).toBe(10);
  });

  it("lets a ticker stop itself and start another during advance", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    let stopSelf: () => void = () => undefined;
    stopSelf = clock.every(5, () => {
      fired.push(`once@${clock.nowMs()}`);
      stopSelf();
      clock.every(2, () => fired.push(`child@${clock.nowMs()}`));
    });
    clock.advance(10);
    expect(fired).toEqual(["once@5", "child@7", "child@9"]);
  });

  it("lets a ticker stop a later one before it fires, and a stop function is safe to call twice", () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    let stopB: () => void = () => undefined;
    clock.every(5, () => {
      fired.push("a");
      stopB();
    });
    stopB = clock.every(6, () => fired.push("b"));
    clock.advance(20);
    expect(fired).toEqual(["a", "a", "a", "a"]);
    expect(() => stopB()).not.toThrow();
  });

  it("rejects a non-positive interval", () => {
    const clock = new ManualClock();
    expect(() => clock.every(0, () => undefined)).toThrow(AssertionError);
  });
});

describe("BoundedMap edges", () => {
  it("refreshes an entry's ttl and position when set again, without evicting", () => {
    const map = new BoundedMap<string, number>(2, 100);
    map.set(0, "a", 1);
    map.set(10, "b", 2);
    map.set(50, "a", 3);
    expect(map.evictedCount).toBe(0);
    map.set(60, "c", 4); // Evicts b, now the oldest, not the refreshed a.
    expect(map.get(60, "b")).toBeUndefined();
    expect(map.get(149, "a")).toBe(3);
    expect(map.evictedCount).toBe(1);
  });

  it("expires at exactly ttlMs, and prune stops at the first live entry", () => {
    const map = new BoundedMap<string, number>(10, 100);
    map.set(0, "a", 1);
    map.set(50, "b", 2);
    expect(map.has(99, "a")).toBe(true);
    expect(map.has(100, "a")).toBe(false);
    map.prune(120);
    expect(map.size).toBe(1);
    expect(map.get(120, "b")).toBe(2);
    map.delete("b");
    expect(map.size).toBe(0);
  });

  it("stores falsy values faithfully", () => {
    const map = new BoundedMap<string, number | string>(4, 100);
    map.set(0, "zero", 0);
    map.set(0, "empty", "");
    expect(map.get(1, "zero")).toBe(0);
    expect(map.has(1, "empty")).toBe(true);
  });

  it("rejects a non-positive bound or ttl", () => {
    expect(() => new BoundedMap(0, 100)).toThrow(AssertionError);
    expect(() => new BoundedMap(2.5, 100)).toThrow(AssertionError);
    expect(() => new BoundedMap(2, 0)).toThrow(AssertionError);
  });
});

describe("BoundedQueue edges", () => {
  it("removes every match in order and keeps the rest in order", () => {
    const queue = new BoundedQueue<number>(10);
    for (const item of [1, 2, 3, 4, 5, 6]) queue.offer(item);
    expect(queue.removeAll((item) => item % 2 === 0)).toEqual([2, 4, 6]);
    expect(queue.values()).toEqual([1, 3, 5]);
    expect(queue.peek()).toBe(1);
    expect(queue.remove((item) => item === 42)).toBe(false);
    expect(queue.removeAll(() => false)).toEqual([]);
  });

  it("accepts again after a poll frees a slot, counting only refusals", () => {
    const queue = new BoundedQueue<string>(1);
    expect(queue.offer("a")).toBe(true);
    expect(queue.offer("b")).toBe(false);
    expect(queue.poll()).toBe("a");
    expect(queue.offer("c")).toBe(true);
    expect(queue.size).toBe(1);
    expect(queue.capacity).toBe(1);
    expect(queue.rejectedCount).toBe(1);
  });

  it("rejects a non-positive capacity", () => {
    expect(() => new BoundedQueue(0)).toThrow(AssertionError);
  });
});

describe("rng and assert edges", () => {
  it("stays inside degenerate and wide ranges", () => {
    const rng = seededRng(0);
    for (let i = 0; i < 1_000; i += 1) {
      expect(randomIntInclusive(rng, 7, 7)).toBe(7);
      const wide = randomIntInclusive(rng, -5, 5);
      expect(wide >= -5 && wide <= 5).toBe(true);
      const x = randomBetween(rng, 1.5, 2.5);
      expect(x >= 1.5 && x <= 2.5).toBe(true);
    }
    expect(() => randomIntInclusive(rng, 3, 2)).toThrow(AssertionError);
    expect(() => randomIntInclusive(rng, 0, 1.5)).toThrow(AssertionError);
    expect(() => randomBetween(rng, 1, 0)).toThrow(AssertionError);
  });

  it("treats seeds modulo 2^32, so negative and large seeds are still deterministic", () => {
    expect(seededRng(-1)()).toBe(seededRng(0xffffffff)());
    expect(seededRng(2 ** 32)()).toBe(seededRng(0)());
  });

  it("throws AssertionError with its name and message", () => {
    expect(() => assert(false, "broken invariant")).toThrow(/broken invariant/);
    try {
      assertNever("x" as never, "unexpected kind");
    } catch (error) {
      expect(error).toBeInstanceOf(AssertionError);
      expect((error as Error).name).toBe("AssertionError");
      expect((error as Error).message).toBe('unexpected kind: "x"');
    }
    expect.assertions(4);
  });
});
