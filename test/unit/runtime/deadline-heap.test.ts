/**
 * Goal: DeadlineHeap hands out keys in due order (ties in insertion order), and moves and removals
 * keep that order and the index exact, so the dispatcher's next deadline is always the true minimum.
 * Method: fixed cases, then fast-check sequences of set/delete/pop compared with a plain model
 * (a Map sorted on every read).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { DeadlineHeap } from "../../../src/runtime/deadline-heap.js";

function drain(heap: DeadlineHeap<string>, nowMs: number): string[] {
  const out: string[] = [];
  for (let key = heap.firstDue(nowMs); key !== undefined; key = heap.firstDue(nowMs)) {
    out.push(key);
    heap.delete(key);
  }
  return out;
}

describe("DeadlineHeap", () => {
  it("gives keys in due order, equal due times in insertion order, and only those due", () => {
    const heap = new DeadlineHeap<string>();
    heap.set("c", 30);
    heap.set("a", 10);
    heap.set("b1", 20);
    heap.set("b2", 20);
    heap.set("d", 40);
    expect(heap.peekMs()).toBe(10);
    expect(heap.firstDue(9)).toBeUndefined();
    expect(drain(heap, 30)).toEqual(["a", "b1", "b2", "c"]);
    expect([heap.size, heap.peekMs(), heap.has("d"), heap.has("a")]).toEqual([1, 40, true, false]);
  });

  it("moves a key when set again and forgets a deleted one", () => {
    const heap = new DeadlineHeap<string>();
    for (const [key, dueMs] of [
      ["a", 10],
      ["b", 20],
      ["c", 30],
    ] as const)
      heap.set(key, dueMs);
    heap.set("c", 5);
    heap.set("a", 25);
    heap.delete("b");
    heap.delete("nope");
    expect(drain(heap, 100)).toEqual(["c", "a"]);
    expect(heap.peekMs()).toBeUndefined();
  });

  it("agrees with a sorted model under random set, delete and pop", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("set" as const),
        key: fc.integer({ min: 0, max: 20 }),
        dueMs: fc.integer({ min: 0, max: 50 }),
      }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant("pop" as const), nowMs: fc.integer({ min: 0, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new DeadlineHeap<number>();
        const model = new Map<number, { dueMs: number; seq: number }>();
        let seq = 0;
        const sorted = () => [...model].sort((x, y) => x[1].dueMs - y[1].dueMs || x[1].seq - y[1].seq);
        for (const o of ops) {
          if (o.kind === "set") {
            heap.set(o.key, o.dueMs);
            model.set(o.key, { dueMs: o.dueMs, seq: ++seq });
          } else if (o.kind === "delete") {
            heap.delete(o.key);
            model.delete(o.key);
          } else {
            const first = sorted()[0];
            const expected = first !== undefined && first[1].dueMs <= o.nowMs ? first[0] : undefined;
            expect(heap.firstDue(o.nowMs)).toBe(expected);
            if (expected !== undefined) {
              heap.delete(expected);
              model.delete(expected);
            }
          }
          expect(heap.size).toBe(model.size);
          expect(heap.peekMs()).toBe(sorted()[0]?.[1].dueMs);
        }
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });
});
