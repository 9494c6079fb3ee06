/**
 * Goal: the dispatcher core's view of calculators is exactly as SPEC 3 and 5 describe: a calculator
 * registers by its first heartbeat; a stale heartbeat (older boot, seq) changes nothing; a calculator
 * silent for more than heartbeatTimeoutMs is declared dead at exactly that ms and its task re-placed
 * on another free calculator; it is forgotten after evictAfterMs; coming back with the same boot keeps
 * its identity (recovered) and it gets work again; a new boot (restarted) re-places its tasks at once.
 * Method: a DispatcherCore fed plain packets and explicit nowMs (no timers, no sockets); each step
 * asserts the complete output list, so a missing, extra or misaddressed packet fails the test.
 */
import { describe, expect, it } from "vitest";

import { CALC, CLIENT, digest, Harness, heartbeatPacket, task } from "./fixtures.js";

describe("DispatcherCore: registration and heartbeats", () => {
  it("registers a calculator on its first heartbeat and places the queued task on it at once", () => {
    const h = new Harness();
    expect(h.submit(0, 1)).toEqual([]);
    expect(h.core.counts()).toEqual({ queued: 1, running: 0, cachedResults: 0 });
    expect(h.core.taskState(0, task(1))).toBe("queued");

    expect(h.beat(10, "a")).toEqual([
      { kind: "calculator_registered", calculatorId: "calc-a", endpoint: CALC.a },
      { kind: "send", to: CALC.a, packet: expect.objectContaining({ type: "task.assign", taskId: task(1) }) },
    ]);
    expect(h.core.counts()).toEqual({ queued: 0, running: 1, cachedResults: 0 });
    expect(h.core.holderOf(task(1))).toBe("calc-a");
    expect(h.core.registry.get("calc-a")).toMatchObject({
      boot: 1,
      seq: 1,
      capacity: 1,
      isAlive: true,
      lastHeardMs: 10,
    });
  });

  it("a second heartbeat refreshes silently and updates capacity, running and lastHeardMs", () => {
    const h = new Harness();
    h.beat(0, "a", { capacity: 1 });
    expect(h.beat(50, "a", { capacity: 3, running: 2 })).toEqual([]);
    expect(h.core.registry.get("calc-a")).toMatchObject({ seq: 2, capacity: 3, reportedRunning: 2, lastHeardMs: 50 });
  });

  it("drops a heartbeat with an older (boot, seq) as stale_heartbeat; it overwrites neither capacity nor endpoint", () => {
    const h = new Harness();
    const movedAddress = { host: "10.9.9.9", port: 9999 };
    h.core.onPacket(0, CALC.a, heartbeatPacket("a", 5, { boot: 7, capacity: 1 }));
    const stale = [{ kind: "packet_dropped", reason: "stale_heartbeat", type: "calc.heartbeat" }];

    expect(h.core.onPacket(10, movedAddress, heartbeatPacket("a", 4, { boot: 7, capacity: 4 }))).toEqual(stale);
    expect(h.core.onPacket(11, movedAddress, heartbeatPacket("a", 5, { boot: 7, capacity: 4 }))).toEqual(stale);
    expect(h.core.onPacket(12, movedAddress, heartbeatPacket("a", 99, { boot: 6, capacity: 4 }))).toEqual(stale);

    expect(h.core.registry.get("calc-a")).toMatchObject({
      endpoint: CALC.a,
      capacity: 1,
      boot: 7,
      seq: 5,
      lastHeardMs: 0,
    });
    // Capacity is still 1: the first task goes to the original address, the second waits.
    expect(h.submit(20, 1)).toEqual([
      { kind: "send", to: CALC.a, packet: expect.objectContaining({ taskId: task(1) }) },
    ]);
    expect(h.submit(21, 2)).toEqual([]);
  });

  it("drops a heartbeat from a new id when calculatorsMax is reached (registry_full)", () => {
    const h = new Harness({ calculatorsMax: 2 });
    h.beat(0, "a");
    h.beat(0, "b");
    expect(h.beat(0, "c")).toEqual([{ kind: "packet_dropped", reason: "registry_full", type: "calc.heartbeat" }]);
    expect(h.core.registry.size).toBe(2);
    expect(h.core.registry.get("calc-c")).toBeUndefined();
  });
});

describe("DispatcherCore: dead, evicted, recovered, restarted", () => {
  it("declares a silent calculator dead exactly after heartbeatTimeoutMs and re-places its task on another", () => {
    const h = new Harness(); // heartbeatTimeoutMs 400
    h.beat(0, "a");
    h.beat(0, "b");
    expect(h.submit(0, 1)).toEqual([{ kind: "send", to: CALC.a, packet: expect.objectContaining({ attempt: 1 }) }]);
    h.beat(300, "b");

    expect(h.core.onTick(400)).toEqual([]); // silent exactly 400 ms: still alive
    expect(h.core.registry.get("calc-a")?.isAlive).toBe(true);
    expect(h.core.onTick(401)).toEqual([
      { kind: "calculator_dead", calculatorId: "calc-a", taskCount: 1 },
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "calculator_dead" },
      {
        kind: "send",
        to: CALC.b,
        packet: {
          v: 1,
          type: "task.assign",
          from: "disp-1",
          taskId: task(1),
          attempt: 2,
          input: "in-1",
          rounds: 3,
          toBoot: 1,
        },
      },
    ]);
    expect(h.core.holderOf(task(1))).toBe("calc-b");
    expect(h.core.registry.get("calc-a")).toMatchObject({ isAlive: false });
    expect(h.core.registry.failureRate(401, "calc-a")).toBeCloseTo(1 / 3, 9); // one death holding a copy
    expect(h.core.registry.get("calc-a")?.assigned.size).toBe(0);
    expect(h.core.onTick(402)).toEqual([]); // declared dead once
  });

  it("a dead calculator's task waits in the queue when no other is free", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(0, 1);
    expect(h.core.onTick(401)).toEqual([
      { kind: "calculator_dead", calculatorId: "calc-a", taskCount: 1 },
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "calculator_dead" },
    ]);
    expect(h.core.counts()).toEqual({ queued: 1, running: 0, cachedResults: 0 });
  });

  it("evicts a dead calculator exactly after evictAfterMs of silence; it may then register anew", () => {
    const h = new Harness(); // evictAfterMs 4000
    h.beat(0, "a");
    expect(h.core.onTick(401)).toEqual([{ kind: "calculator_dead", calculatorId: "calc-a", taskCount: 0 }]);
    expect(h.core.onTick(4_000)).toEqual([]);
    expect(h.core.registry.get("calc-a")).toBeDefined();
    expect(h.core.onTick(4_001)).toEqual([{ kind: "calculator_evicted", calculatorId: "calc-a" }]);
    expect(h.core.registry.get("calc-a")).toBeUndefined();
    expect(h.core.onTick(4_002)).toEqual([]);
    expect(h.beat(5_000, "a")).toEqual([{ kind: "calculator_registered", calculatorId: "calc-a", endpoint: CALC.a }]);
  });

  it("a dead calculator heartbeating again with the same boot is recovered, keeps its identity and gets work", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1); // -> calc-a
    h.beat(300, "b");
    h.core.onTick(401); // calc-a dead, task 1 -> calc-b
    expect(h.submit(402, 2)).toEqual([]); // calc-b full, calc-a dead: queued

    expect(h.beat(500, "a")).toEqual([
      { kind: "calculator_recovered", calculatorId: "calc-a" },
      // It may still hold task 1, placed on calc-b meanwhile: its abandoned copy (attempt 1; calc-b's is
      // attempt 2) is revoked, every attempt so far.
      { kind: "send", to: CALC.a, packet: { v: 1, type: "task.cancel", from: "disp-1", taskId: task(1), attempt: 2 } },
      { kind: "copy_revoked", taskId: task(1), calculatorId: "calc-a" },
      {
        kind: "send",
        to: CALC.a,
        packet: {
          v: 1,
          type: "task.assign",
          from: "disp-1",
          taskId: task(2),
          attempt: 1,
          input: "in-2",
          rounds: 3,
          toBoot: 1,
        },
      },
    ]);
    expect(h.core.registry.get("calc-a")).toMatchObject({ isAlive: true, boot: 1, seq: 2 });
    expect(h.core.registry.failureRate(500, "calc-a")).toBeCloseTo(1 / 3, 2); // kept across the outage
    expect(h.core.registry.size).toBe(2);
  });

  it("a new boot is calculator_restarted and its tasks are re-placed at once, on another free calculator", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1); // -> calc-a
    expect(h.beat(100, "a", { boot: 2 })).toEqual([
      { kind: "calculator_restarted", calculatorId: "calc-a" },
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "calculator_restarted" },
      { kind: "send", to: CALC.b, packet: expect.objectContaining({ taskId: task(1), attempt: 2 }) },
    ]);
    expect(h.core.registry.get("calc-a")).toMatchObject({ boot: 2, seq: 1, isAlive: true });
    expect(h.core.registry.get("calc-a")?.assigned.size).toBe(0);
  });

  it("a restarted calculator that is the only one gets its lost task again at once (a new attempt)", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(0, 1);
    expect(h.beat(100, "a", { boot: 2 })).toEqual([
      { kind: "calculator_restarted", calculatorId: "calc-a" },
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "calculator_restarted" },
      { kind: "send", to: CALC.a, packet: expect.objectContaining({ taskId: task(1), attempt: 2 }) },
    ]);
    // The old incarnation's result, if it still arrives, is a valid result of the task.
    expect(h.done(200, "a", 1, 1)).toEqual([
      {
        kind: "send",
        to: CLIENT,
        packet: { v: 1, type: "task.result", from: "disp-1", taskId: task(1), result: digest(1, "a"), attempts: 2 },
      },
      { kind: "task_completed", taskId: task(1), calculatorId: "calc-a", latencyMs: 200, attempts: 2 },
    ]);
  });

  it("ignores a restart heartbeat that is older than the current boot", () => {
    const h = new Harness();
    h.beat(0, "a", { boot: 5 });
    h.submit(0, 1);
    expect(h.core.onPacket(10, CALC.a, heartbeatPacket("a", 1, { boot: 4 }))).toEqual([
      { kind: "packet_dropped", reason: "stale_heartbeat", type: "calc.heartbeat" },
    ]);
    expect(h.core.holderOf(task(1))).toBe("calc-a");
  });
});
