/**
 * Goal: retransmission follows its policy exactly (the delay table, last entry repeating), stops
 * the moment an entry is settled, switches schedule on reschedule, stays within its bound, and
 * resends at once when expedited, because every delivery guarantee of SPEC.md section 5 rests on it.
 * Method: plain values and explicit nowMs: call due() at every ms and record when each key comes due.
 */
import { describe, expect, it } from "vitest";

import { RetransmitTable } from "../../../src/reliable/retransmit-table.js";
import { nextDelayMs, retryPolicy } from "../../../src/reliable/retry-policy.js";

const fast = retryPolicy([100, 200, 400]);
const slow = retryPolicy([1_000]);

/** Calls due() at every ms in (fromMs, toMs] and returns "key@ms#sendCount" for each resend. */
function dueTimeline<K, V>(table: RetransmitTable<K, V>, fromMs: number, toMs: number): string[] {
  const timeline: string[] = [];
  for (let nowMs = fromMs + 1; nowMs <= toMs; nowMs += 1) {
    for (const entry of table.due(nowMs)) timeline.push(`${String(entry.key)}@${nowMs}#${entry.sendCount}`);
  }
  return timeline;
}

describe("retryPolicy", () => {
  it("repeats the last delay and refuses empty or non-positive tables", () => {
    expect([1, 2, 3, 4, 10].map((sendCount) => nextDelayMs(fast, sendCount))).toEqual([100, 200, 400, 400, 400]);
    expect(() => retryPolicy([])).toThrow();
    expect(() => retryPolicy([100, 0])).toThrow();
    expect(() => retryPolicy([Number.NaN])).toThrow();
    expect(() => retryPolicy([Number.POSITIVE_INFINITY])).toThrow();
    expect(() => nextDelayMs(fast, 0)).toThrow();
  });

  it("copies the table, so a caller mutating its array cannot change the schedule", () => {
    const delaysMs = [10, 20];
    const policy = retryPolicy(delaysMs);
    delaysMs[0] = 99;
    expect(policy.delaysMs).toEqual([10, 20]);
  });
});

describe("RetransmitTable", () => {
  it("comes due by the delay table, the last entry repeating, counting sends", () => {
    const table = new RetransmitTable<string, string>(4);
    expect(table.add(0, "a", "payload-a", fast)).toBe(true);
    expect(dueTimeline(table, 0, 1_500)).toEqual(["a@100#2", "a@300#3", "a@700#4", "a@1100#5", "a@1500#6"]);
    expect(table.resentCount).toBe(5);
  });

  it("hands out the value with each due entry, and nothing before the first delay", () => {
    const table = new RetransmitTable<string, { bytes: string }>(4);
    table.add(50, "a", { bytes: "x" }, fast);
    expect(table.due(149)).toEqual([]);
    expect(table.due(150)).toEqual([{ key: "a", value: { bytes: "x" }, sendCount: 2 }]);
  });

  it("schedules the next resend from when due() is called, so a late tick does not cause a burst", () => {
    const table = new RetransmitTable<string, null>(4);
    table.add(0, "a", null, fast);
    expect(table.due(1_000).map((entry) => entry.sendCount)).toEqual([2]);
    expect(table.due(1_000)).toEqual([]);
    expect(dueTimeline(table, 1_000, 1_200)).toEqual(["a@1200#3"]);
  });

  it("keeps independent schedules per key", () => {
    const table = new RetransmitTable<string, null>(4);
    table.add(0, "a", null, fast);
    table.add(50, "b", null, slow);
    expect(dueTimeline(table, 50, 1_100)).toEqual(["a@100#2", "a@300#3", "a@700#4", "b@1050#2", "a@1100#5"]);
  });

  it("stops resending a settled entry and returns its value once", () => {
    const table = new RetransmitTable<string, string>(4);
    table.add(0, "a", "value-a", fast);
    table.add(0, "b", "value-b", fast);
    expect(dueTimeline(table, 0, 100)).toEqual(["a@100#2", "b@100#2"]);
    expect(table.settle("a")).toBe("value-a");
    expect(table.settle("a")).toBeUndefined();
    expect(table.has("a")).toBe(false);
    expect(table.get("a")).toBeUndefined();
    expect(dueTimeline(table, 100, 700)).toEqual(["b@300#3", "b@700#4"]);
    expect(table.size).toBe(1);
    expect([...table.values()]).toEqual(["value-b"]);
  });

  it("switches policy on reschedule, the next send one new delay from now", () => {
    const table = new RetransmitTable<string, null>(4);
    table.add(0, "a", null, fast);
    expect(dueTimeline(table, 0, 100)).toEqual(["a@100#2"]);
    table.reschedule(150, "a", slow);
    // sendCount restarts with the new policy (it indexes the new delay table).
    expect(dueTimeline(table, 150, 3_150)).toEqual(["a@1150#2", "a@2150#3", "a@3150#4"]);
    table.reschedule(3_200, "a", fast);
    expect(dueTimeline(table, 3_200, 3_600)).toEqual(["a@3300#2", "a@3500#3"]);
    expect(() => table.reschedule(0, "missing", slow)).not.toThrow();
    expect(table.has("missing")).toBe(false);
  });

  it("refuses add when full, counts nothing as resent, and accepts again after a settle", () => {
    const table = new RetransmitTable<number, null>(2);
    expect(table.add(0, 1, null, fast)).toBe(true);
    expect(table.isFull).toBe(false);
    expect(table.add(0, 2, null, fast)).toBe(true);
    expect(table.isFull).toBe(true);
    expect(table.add(0, 3, null, fast)).toBe(false);
    expect(table.has(3)).toBe(false);
    expect(table.size).toBe(2);
    table.settle(1);
    expect(table.add(0, 3, null, fast)).toBe(true);
    expect(table.resentCount).toBe(0);
  });

  it("asserts on our own bugs: a key added twice, a non-positive bound", () => {
    const table = new RetransmitTable<string, null>(2);
    table.add(0, "a", null, fast);
    expect(() => table.add(10, "a", null, fast)).toThrow(/twice/);
    expect(() => new RetransmitTable(0)).toThrow();
    expect(() => new RetransmitTable(1.5)).toThrow();
  });

  it("expedites an entry to be due at once, then resumes its policy from there", () => {
    const table = new RetransmitTable<string, null>(4);
    table.add(0, "a", null, fast);
    table.add(0, "b", null, fast);
    table.expedite(30, "a");
    expect(table.due(30).map((entry) => `${entry.key}#${entry.sendCount}`)).toEqual(["a#2"]);
    expect(dueTimeline(table, 30, 300)).toEqual(["b@100#2", "a@230#3", "b@300#3"]);
    expect(() => table.expedite(0, "missing")).not.toThrow();
  });
});
