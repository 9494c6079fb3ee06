/**
 * Goal: the calculator registry classifies every heartbeat exactly (registered, refreshed, stale,
 * recovered, restarted with its lost tasks, full), marks a calculator dead only after more than
 * heartbeatTimeoutMs of silence and forgets it only after more than evictAfterMs, trusts a packet
 * only from the known address, and derives free slots, suspicion and the failure estimate exactly.
 * Method: a CalculatorRegistry fed plain heartbeats and explicit nowMs; exact outcomes and fields.
 */
import { describe, expect, it } from "vitest";

import { CalculatorRegistry } from "../../../src/dispatcher/registry.js";
import { CALC, heartbeatPacket, task } from "./fixtures.js";

function registry(calculatorsMax = 8): CalculatorRegistry {
  return new CalculatorRegistry({ heartbeatTimeoutMs: 400, evictAfterMs: 4_000, calculatorsMax });
}

describe("CalculatorRegistry.onHeartbeat", () => {
  it("registers on the first heartbeat with every field from it", () => {
    const r = registry();
    expect(r.onHeartbeat(5, CALC.a, heartbeatPacket("a", 3, { boot: 9, capacity: 2, running: 1 }))).toEqual({
      kind: "registered",
    });
    expect(r.get("calc-a")).toEqual({
      id: "calc-a",
      endpoint: CALC.a,
      boot: 9,
      seq: 3,
      capacity: 2,
      reportedRunning: 1,
      lastHeardMs: 5,
      isAlive: true,
      assigned: expect.any(Set),
      lastAssignedMs: Number.NEGATIVE_INFINITY,
      completedCount: 0,
    });
    expect([...(r.get("calc-a")?.assigned ?? ["missing"])]).toEqual([]);
  });

  it("orders heartbeats by (boot, seq): equal or older ones are stale and change nothing", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 5, { boot: 2, capacity: 2 }));
    expect(r.onHeartbeat(10, CALC.b, heartbeatPacket("a", 5, { boot: 2, capacity: 4 }))).toEqual({ kind: "stale" });
    expect(r.onHeartbeat(10, CALC.b, heartbeatPacket("a", 4, { boot: 2, capacity: 4 }))).toEqual({ kind: "stale" });
    expect(r.onHeartbeat(10, CALC.b, heartbeatPacket("a", 50, { boot: 1, capacity: 4 }))).toEqual({ kind: "stale" });
    expect(r.get("calc-a")).toMatchObject({ endpoint: CALC.a, capacity: 2, seq: 5, boot: 2, lastHeardMs: 0 });
    expect(r.onHeartbeat(20, CALC.b, heartbeatPacket("a", 6, { boot: 2, capacity: 4 }))).toEqual({ kind: "refreshed" });
    expect(r.get("calc-a")).toMatchObject({ endpoint: CALC.b, capacity: 4, seq: 6, lastHeardMs: 20 });
  });

  it("a newer boot is a restart: it returns and clears the tasks assigned to the old incarnation", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 40, { boot: 1, capacity: 2 }));
    r.get("calc-a")?.assigned.add(task(1));
    r.get("calc-a")?.assigned.add(task(2));
    expect(r.onHeartbeat(10, CALC.a, heartbeatPacket("a", 1, { boot: 2, capacity: 2 }))).toEqual({
      kind: "restarted",
      lostTasks: [task(1), task(2)],
    });
    expect(r.get("calc-a")).toMatchObject({ boot: 2, seq: 1, isAlive: true });
    expect(r.get("calc-a")?.assigned.size).toBe(0);
  });

  it("refuses a new id when full but still refreshes known ones", () => {
    const r = registry(1);
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    expect(r.onHeartbeat(1, CALC.b, heartbeatPacket("b", 1))).toEqual({ kind: "full" });
    expect(r.onHeartbeat(2, CALC.a, heartbeatPacket("a", 2))).toEqual({ kind: "refreshed" });
    expect(r.size).toBe(1);
  });
});

describe("CalculatorRegistry liveness", () => {
  it("is dead only after more than heartbeatTimeoutMs, evicted only after more than evictAfterMs", () => {
    const r = registry();
    r.onHeartbeat(100, CALC.a, heartbeatPacket("a", 1));
    expect(r.expire(500)).toEqual({ dead: [], evicted: [] });
    const { dead, evicted } = r.expire(501);
    expect(dead.map((entry) => entry.id)).toEqual(["calc-a"]);
    expect(evicted).toEqual([]);
    expect(r.expire(502)).toEqual({ dead: [], evicted: [] });
    expect(r.expire(4_100)).toEqual({ dead: [], evicted: [] });
    expect(r.expire(4_101)).toEqual({ dead: [], evicted: ["calc-a"] });
    expect(r.get("calc-a")).toBeUndefined();
  });

  it("a dead calculator heartbeating with the same boot is recovered", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    r.expire(401);
    expect(r.onHeartbeat(600, CALC.a, heartbeatPacket("a", 2))).toEqual({ kind: "recovered" });
    expect(r.get("calc-a")).toMatchObject({ isAlive: true, lastHeardMs: 600, seq: 2 });
  });

  it("touch accepts only the known address and refreshes only a live calculator", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    expect(r.touch(10, "calc-a", CALC.b)).toBeUndefined();
    expect(r.touch(10, "calc-x", CALC.a)).toBeUndefined();
    expect(r.get("calc-a")?.lastHeardMs).toBe(0);
    expect(r.touch(10, "calc-a", { ...CALC.a })?.lastHeardMs).toBe(10);
    expect(r.touch(5, "calc-a", CALC.a)?.lastHeardMs).toBe(10); // never moves back
    r.expire(411);
    expect(r.touch(500, "calc-a", CALC.a)).toMatchObject({ isAlive: false, lastHeardMs: 10 });
  });
});

describe("CalculatorRegistry views", () => {
  it("free slots are capacity minus the larger of our bookkeeping and its report", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1, { capacity: 4, running: 1 }));
    const entry = r.get("calc-a");
    if (entry === undefined) throw new Error("not registered");
    expect(r.freeSlots(entry)).toBe(3);
    entry.assigned.add(task(1)).add(task(2));
    expect(r.freeSlots(entry)).toBe(2);
    entry.reportedRunning = 9;
    expect(r.freeSlots(entry)).toBe(0);
    expect(r.hasFreeSlot()).toBe(false);
    expect(r.candidates(0)).toEqual([]);
  });

  it("candidates are live calculators with a free slot; suspect after more than half the timeout", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1, { capacity: 2 }));
    r.onHeartbeat(100, CALC.b, heartbeatPacket("b", 1, { capacity: 1 }));
    r.onHeartbeat(0, CALC.c, heartbeatPacket("c", 1, { capacity: 1, running: 1 }));
    expect(r.candidates(200)).toEqual([
      {
        id: "calc-a",
        capacity: 2,
        freeSlots: 2,
        failureRate: 0,
        latencyMs: undefined,
        isSuspect: false,
        lastAssignedMs: -Infinity,
      },
      {
        id: "calc-b",
        capacity: 1,
        freeSlots: 1,
        failureRate: 0,
        latencyMs: undefined,
        isSuspect: false,
        lastAssignedMs: -Infinity,
      },
    ]);
    expect(r.candidates(201).map((view) => [view.id, view.isSuspect])).toEqual([
      ["calc-a", true],
      ["calc-b", false],
    ]);
    expect(r.candidates(201, new Set(["calc-a"])).map((view) => view.id)).toEqual(["calc-b"]);
    r.expire(401);
    expect(r.candidates(401).map((view) => view.id)).toEqual(["calc-b"]);
  });

  it("failures and successes feed the estimates (rate, latency) that candidates show; successes count as completed", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    r.recordFailure(0, "calc-a", "timeout");
    expect(r.failureRate(0, "calc-a")).toBeCloseTo(1 / 3, 12);
    r.recordFailure(0, "calc-a", "outvoted");
    expect(r.failureRate(0, "calc-a")).toBeCloseTo(1 / 2, 12);
    r.recordResult(0, "calc-a", 40, true);
    expect(r.failureRate(0, "calc-a")).toBeCloseTo(2 / 5, 12);
    expect(r.get("calc-a")).toMatchObject({ completedCount: 1 });
    expect(r.candidates(0)[0]).toMatchObject({ failureRate: 0.4, latencyMs: 40 });
    // A voting copy's result: latency now, success only when the vote agrees.
    r.recordResult(0, "calc-a", 40, false);
    expect(r.failureRate(0, "calc-a")).toBeCloseTo(2 / 5, 12);
    expect(r.get("calc-a")).toMatchObject({ completedCount: 2 });
    r.recordAgreed(0, "calc-a");
    expect(r.failureRate(0, "calc-a")).toBeCloseTo(2 / 6, 12);
    r.recordFailure(0, "calc-unknown", "death"); // ignored, no throw
    r.recordResult(0, "calc-unknown", 1, true);
    r.recordAgreed(0, "calc-unknown");
    expect(r.size).toBe(1);
    expect(r.estimates.size).toBe(1);
  });

  it("an evicted calculator's estimates are forgotten: it comes back with a clean record", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    r.recordFailure(0, "calc-a", "death");
    r.expire(401);
    expect(r.expire(4_001).evicted).toEqual(["calc-a"]);
    expect(r.estimates.size).toBe(0);
    r.onHeartbeat(5_000, CALC.a, heartbeatPacket("a", 2));
    expect(r.failureRate(5_000, "calc-a")).toBe(0);
  });
});
