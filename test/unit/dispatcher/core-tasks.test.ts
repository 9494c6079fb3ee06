/**
 * Goal: the dispatcher core's task lifecycle is exactly as SPEC 3 and 5 describe: a task is re-placed
 * at exactly taskTimeoutMs, on another free calculator when there is one; with no free calculator it
 * waits in the queue (highest priority first) and is placed when a slot frees; a task not completed
 * within queueTimeoutMs of arrival is failed with `timeout` exactly once; beyond tasksMax, or beyond
 * queueMax with no free slot, a new task is failed with `overloaded` (guarantee 6); counts() agrees.
 * Method: a DispatcherCore fed plain packets and explicit nowMs; each step asserts the complete
 * output list (packets, destinations, reasons) at the exact ms.
 */
import { describe, expect, it } from "vitest";

import { assignTo, CALC, CLIENT, cancelOf, failedTo, Harness, resultTo, task } from "./fixtures.js";

/** Heartbeats `names` every 300 ms in (fromMs, toMs] so they stay alive (heartbeatTimeoutMs 400). */
function keepAlive(h: Harness, names: readonly ("a" | "b" | "c")[], fromMs: number, toMs: number, running = 1): void {
  for (let nowMs = fromMs + 300; nowMs <= toMs; nowMs += 300) {
    for (const name of names) expect(h.beat(nowMs, name, { running })).toEqual([]);
  }
}

describe("DispatcherCore: task timeout", () => {
  it("re-places a task exactly when taskTimeoutMs expires, to a different free calculator", () => {
    const h = new Harness(); // taskTimeoutMs 1500
    h.beat(0, "a");
    h.beat(0, "b");
    expect(h.submit(0, 1)).toEqual([assignTo("a", 1, 1)]);
    keepAlive(h, ["a"], 0, 1_499);
    keepAlive(h, ["b"], 0, 1_499, 0);

    expect(h.core.onTick(1_499)).toEqual([]);
    expect(h.core.onTick(1_500)).toEqual([
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "task_timeout" },
      assignTo("b", 1, 2),
    ]);
    expect(h.core.registry.failureRate(1_500, "calc-a")).toBeCloseTo(1 / 3, 9);
    expect(h.core.registry.failureRate(1_500, "calc-b")).toBe(0);
    expect(h.core.registry.get("calc-a")?.assigned.size).toBe(0);
    expect([...(h.core.registry.get("calc-b")?.assigned ?? [])]).toEqual([task(1)]);
    expect(h.core.onTick(1_501)).toEqual([]);
  });

  it("re-places to another free calculator even when the silent holder has the lower load per slot", () => {
    // calc-a (4 slots) still runs the first copy; calc-b (2 slots) runs one other task. By load per
    // slot calc-a looks better (1/4 < 1/2), but SPEC 3 sends a timed-out task to *another* free one.
    const h = new Harness({ taskTimeoutMs: 1_500 });
    h.beat(0, "a", { capacity: 4 });
    h.beat(0, "b", { capacity: 2 });
    expect(h.submit(0, 1)).toEqual([assignTo("a", 1, 1)]);
    expect(h.submit(1, 2)).toEqual([assignTo("b", 2, 1)]);
    keepAlive(h, ["a", "b"], 0, 1_499);

    expect(h.core.onTick(1_500)).toEqual([
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "task_timeout" },
      assignTo("b", 1, 2),
    ]);
  });

  it("falls back to the same calculator when no other has a free slot", () => {
    const h = new Harness();
    h.beat(0, "a", { capacity: 2 });
    h.submit(0, 1);
    keepAlive(h, ["a"], 0, 1_499);
    expect(h.core.onTick(1_500)).toEqual([
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "task_timeout" },
      assignTo("a", 1, 2),
    ]);
  });
});

describe("DispatcherCore: the queue", () => {
  it("keeps a task in the queue while no calculator is free and places it when a slot frees", () => {
    const h = new Harness();
    h.beat(0, "a");
    expect(h.submit(0, 1)).toEqual([assignTo("a", 1, 1)]);
    expect(h.submit(1, 2)).toEqual([]);
    expect(h.core.counts()).toEqual({ queued: 1, running: 1, cachedResults: 0 });
    expect(h.core.onTick(2)).toEqual([]);

    expect(h.done(100, "a", 1, 1)).toEqual([
      resultTo(CLIENT, 1, "a", 1),
      { kind: "task_completed", taskId: task(1), calculatorId: "calc-a", latencyMs: 100, attempts: 1 },
      assignTo("a", 2, 1),
    ]);
    expect(h.core.counts()).toEqual({ queued: 0, running: 1, cachedResults: 1 });
  });

  it("places queued tasks by priority, highest first and oldest first within a priority", () => {
    const h = new Harness();
    h.submit(0, 1, CLIENT, { priority: 0 });
    h.submit(1, 2, CLIENT, { priority: 5 });
    h.submit(2, 3, CLIENT, { priority: 5 });
    h.submit(3, 4, CLIENT, { priority: 9 });
    h.submit(4, 5); // no priority = 0
    const outputs = h.beat(10, "a", { capacity: 5 });
    expect(outputs.slice(1)).toEqual([4, 2, 3, 1, 5].map((n) => assignTo("a", n, 1)));
  });

  it("a task taken back from a calculator goes before later arrivals of its priority, never before a higher one", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(0, 1);
    h.submit(1, 2, CLIENT, { priority: 9 });
    h.submit(2, 3);
    expect(h.ack(10, "a", 1, "busy")).toEqual([
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "busy" },
    ]);
    // Priority 9 first (SPEC 8: higher runs first), then task 1, which arrived before task 3.
    expect(h.beat(20, "a", { running: 0, capacity: 3 })).toEqual([
      assignTo("a", 2, 1),
      assignTo("a", 1, 2),
      assignTo("a", 3, 1),
    ]);
  });
});

describe("DispatcherCore: queue timeout", () => {
  it("fails a queued task with `timeout` exactly at arrival + queueTimeoutMs, once", () => {
    const h = new Harness({ queueTimeoutMs: 5_000 });
    h.submit(100, 1);
    expect(h.core.onTick(5_099)).toEqual([]);
    expect(h.core.onTick(5_100)).toEqual([
      failedTo(CLIENT, 1, "timeout"),
      { kind: "task_failed", taskId: task(1), reason: "timeout" },
    ]);
    expect(h.core.onTick(5_101)).toEqual([]);
    expect(h.core.onTick(60_000)).toEqual([]);
    expect(h.core.counts()).toEqual({ queued: 0, running: 0, cachedResults: 1 });
    // A calculator arriving later finds nothing to do.
    expect(h.beat(6_000, "a")).toEqual([{ kind: "calculator_registered", calculatorId: "calc-a", endpoint: CALC.a }]);
  });

  it("fails a running task with `timeout`, cancels its copy, frees its slot, and drops the late result", () => {
    const h = new Harness({ queueTimeoutMs: 5_000, taskTimeoutMs: 100_000 });
    h.beat(0, "a");
    h.submit(0, 1);
    keepAlive(h, ["a"], 0, 4_999);
    expect(h.core.onTick(4_999)).toEqual([]);
    expect(h.core.onTick(5_000)).toEqual([
      failedTo(CLIENT, 1, "timeout"),
      { kind: "task_failed", taskId: task(1), reason: "timeout" },
      ...cancelOf("a", 1, 1),
    ]);
    expect(h.core.registry.get("calc-a")?.assigned.size).toBe(0);
    expect(h.done(5_001, "a", 1, 1)).toEqual([{ kind: "packet_dropped", reason: "late_result", type: "task.done" }]);
    expect(h.core.onTick(5_002)).toEqual([]);
  });

  it("counts queueTimeoutMs from arrival, not from the latest re-placement", () => {
    const h = new Harness({ queueTimeoutMs: 2_000, taskTimeoutMs: 1_500 });
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1);
    keepAlive(h, ["a"], 0, 1_499);
    keepAlive(h, ["b"], 0, 1_499, 0);
    h.core.onTick(1_500); // re-placed on calc-b
    expect(h.core.holderOf(task(1))).toBe("calc-b");
    keepAlive(h, ["a", "b"], 1_500, 1_999);
    expect(h.core.onTick(1_999)).toEqual([]);
    expect(h.core.onTick(2_000)).toEqual([
      failedTo(CLIENT, 1, "timeout"),
      { kind: "task_failed", taskId: task(1), reason: "timeout" },
      ...cancelOf("b", 1, 2), // the live copy; calc-a's timed-out one was taken back already
    ]);
  });
});

describe("DispatcherCore: overload (guarantee 6)", () => {
  it("fails a new task with `overloaded` beyond tasksMax, even with free calculators", () => {
    const h = new Harness({ tasksMax: 2, queueMax: 2 });
    h.beat(0, "a", { capacity: 8 });
    expect(h.submit(0, 1)).toEqual([assignTo("a", 1, 1)]);
    expect(h.submit(0, 2)).toEqual([assignTo("a", 2, 1)]);
    expect(h.submit(0, 3)).toEqual([
      failedTo(CLIENT, 3, "overloaded"),
      { kind: "task_failed", taskId: task(3), reason: "overloaded" },
    ]);
    expect(h.core.counts()).toEqual({ queued: 0, running: 2, cachedResults: 1 });
    // The retransmitted submit gets the same final answer from the cache, not a second chance.
    expect(h.submit(1, 3)).toEqual([failedTo(CLIENT, 3, "overloaded")]);
  });

  it("fails a new task with `overloaded` beyond queueMax when no calculator is free", () => {
    const h = new Harness({ tasksMax: 10, queueMax: 2 });
    h.beat(0, "a");
    expect(h.submit(0, 1)).toEqual([assignTo("a", 1, 1)]);
    expect(h.submit(0, 2)).toEqual([]);
    expect(h.submit(0, 3)).toEqual([]);
    expect(h.submit(0, 4)).toEqual([
      failedTo(CLIENT, 4, "overloaded"),
      { kind: "task_failed", taskId: task(4), reason: "overloaded" },
    ]);
    expect(h.core.counts()).toEqual({ queued: 2, running: 1, cachedResults: 1 });
    // Once a slot frees, the queue drains and there is room again.
    h.done(10, "a", 1, 1);
    expect(h.core.counts()).toEqual({ queued: 1, running: 1, cachedResults: 2 });
    expect(h.submit(11, 5)).toEqual([]);
    expect(h.core.counts()).toEqual({ queued: 2, running: 1, cachedResults: 2 });
  });
});
