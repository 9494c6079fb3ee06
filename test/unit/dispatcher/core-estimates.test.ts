/**
 * Goal: the dispatcher core feeds every failure SPEC 9 names into the calculator's failure rate (a
 * copy timeout, a death or restart while holding a copy, an outvoted result, late or not) and every
 * returned result into its latency; least-loaded then breaks ties by the rate and avoids a calculator
 * that keeps failing while a healthy one has a free slot (SPEC 5.7); status(nowMs) reports it all.
 * Method: DispatcherCore driven by plain packets and explicit nowMs (heartbeatTimeoutMs 400,
 * taskTimeoutMs 1500 from the shared fixtures); rates compared before and after each event.
 */
import { describe, expect, it } from "vitest";

import { CALC, Harness } from "./fixtures.js";
import { RepHarness } from "./replication-fixtures.js";

function assignedTo(outputs: readonly { kind: string; to?: unknown; packet?: { type: string } }[]): unknown[] {
  return outputs.flatMap((o) => (o.kind === "send" && o.packet?.type === "task.assign" ? [o.to] : []));
}

describe("DispatcherCore: failure estimates", () => {
  it("a copy timeout raises the calculator's rate; the successful one's latency is recorded", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1); // -> calc-a
    for (let nowMs = 300; nowMs < 1_500; nowMs += 300) {
      h.beat(nowMs, "a", { running: 1 });
      h.beat(nowMs, "b");
    }
    expect(h.core.registry.failureRate(1_499, "calc-a")).toBe(0);
    h.core.onTick(1_500); // copy on calc-a times out -> calc-b
    expect(h.core.registry.failureRate(1_500, "calc-a")).toBeGreaterThan(0.3);
    h.done(1_540, "b", 1, 2);
    expect(h.core.registry.estimates.view(1_540, "calc-b")).toEqual({ failureRate: 0, latencyMs: 40 });
  });

  it("dying while holding a copy raises the rate; dying idle does not", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.beat(0, "c");
    h.submit(0, 1); // -> calc-a
    h.beat(300, "c");
    h.core.onTick(401); // a (holding task 1) and b (idle) die
    expect(h.core.registry.failureRate(401, "calc-a")).toBeGreaterThan(0.3);
    expect(h.core.registry.failureRate(401, "calc-b")).toBe(0);
  });

  it("restarting while holding a copy raises the rate like a death", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.beat(0, "c");
    h.submit(0, 1); // -> calc-a
    h.beat(100, "a", { boot: 2 }); // task 1 -> calc-b
    expect(h.core.registry.failureRate(100, "calc-a")).toBeGreaterThan(0.3);
    h.beat(200, "c", { boot: 2 }); // restarted holding nothing
    expect(h.core.registry.failureRate(200, "calc-c")).toBe(0);
  });

  it("an outvoted result raises the rate, whether it came before the quorum or after the final answer", () => {
    const h = new RepHarness({ replication: { factor: 3, quorum: 2, maxCopies: 3, adaptive: false } });
    for (const name of ["a", "b", "c"] as const) h.beat(0, name);
    h.submit(0, 1); // one copy each on a, b, c
    h.done(10, "c", 1, "wrong");
    h.done(20, "a", 1);
    h.done(30, "b", 1); // quorum: c is outvoted
    const rate = (id: string): number => h.core.registry.failureRate(30, id);
    expect(rate("calc-c")).toBeGreaterThan(rate("calc-a"));
    expect(rate("calc-a")).toBe(0);

    h.submit(40, 2);
    h.done(50, "a", 2);
    h.done(60, "b", 2); // final; c's copy cancelled
    const beforeMs = h.core.registry.failureRate(60, "calc-c");
    h.done(70, "c", 2, "wrong"); // a late, wrong result
    expect(h.core.registry.failureRate(70, "calc-c")).toBeGreaterThan(beforeMs);
  });
});

describe("DispatcherCore: an always-outvoted calculator", () => {
  it("reads as failing (parked): its results count only as failures, its agreeing peers' as successes", () => {
    const h = new RepHarness({ replication: { factor: 3, quorum: 2, maxCopies: 3, adaptive: false } });
    for (const name of ["a", "b", "c"] as const) h.beat(0, name);
    for (let n = 1; n <= 4; n += 1) {
      const t = n * 10;
      h.submit(t, n);
      h.done(t + 1, "c", n, "wrong");
      h.done(t + 2, "a", n);
      h.done(t + 3, "b", n); // quorum: c outvoted
    }
    const status = h.core.status(50);
    const c = status.calculators.find((calc) => calc.id === "calc-c");
    // 4 failures, no success: 4 / (4 + 2); had its results also counted as successes, 4 / 10.
    expect(c?.failureRate).toBeCloseTo(4 / 6, 2);
    expect(c?.state).toBe("parked");
    expect(c?.latencyMs).toBeGreaterThan(0); // its latency is still known
    expect(status.calculators.find((calc) => calc.id === "calc-a")?.failureRate).toBe(0);
    expect(h.core.registry.get("calc-c")?.completedCount).toBe(4);
  });
});

describe("DispatcherCore: least-loaded reads the failure rate", () => {
  it("breaks a tie between two idle calculators by failure rate before time since last assignment", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1); // -> calc-a (tie: lowest id)
    for (let nowMs = 300; nowMs < 1_500; nowMs += 300) {
      h.beat(nowMs, "a", { running: 1 });
      h.beat(nowMs, "b");
    }
    h.core.onTick(1_500); // a times out; task 1 -> calc-b
    h.done(1_510, "b", 1, 2);
    h.beat(1_520, "a");
    h.beat(1_520, "b");
    // Both idle; a was assigned longest ago (0 ms vs 1500 ms) but has the higher failure rate.
    expect(h.core.registry.failureRate(1_520, "calc-a")).toBeLessThan(0.4); // not failing: a tie-break
    expect(assignedTo(h.submit(1_530, 2))).toEqual([CALC.b]);
  });

  it("avoids a calculator that keeps failing while a healthy one has a free slot, and uses it as last resort", () => {
    const h = new Harness();
    h.beat(0, "a"); // capacity 1
    h.beat(0, "b", { capacity: 2 });
    expect(assignedTo(h.submit(0, 1))).toEqual([CALC.a]);
    h.beat(300, "b");
    h.core.onTick(401); // a dies holding task 1 -> calc-b
    h.beat(500, "a");
    h.beat(500, "b", { running: 1 });
    expect(assignedTo(h.submit(500, 2))).toEqual([CALC.a]); // idle a (rate 1/3) beats half-busy b
    h.beat(800, "b", { running: 1 });
    h.core.onTick(901); // a dies again holding task 2 -> calc-b (now full)
    h.beat(1_000, "a");
    h.beat(1_000, "b", { running: 2 });
    h.done(1_010, "b", 1, 2); // b: one slot free again
    h.beat(1_020, "b", { running: 1 });
    expect(h.core.registry.failureRate(1_020, "calc-a")).toBeGreaterThanOrEqual(0.4);
    expect(assignedTo(h.submit(1_030, 3))).toEqual([CALC.b]); // half-busy b beats idle failing a
    expect(assignedTo(h.submit(1_040, 4))).toEqual([CALC.a]); // b full: a as last resort
  });
});

describe("DispatcherCore.status", () => {
  it("lists every calculator with state, load and estimates, and counts tasks", () => {
    const h = new Harness({ tasksMax: 3, queueMax: 1 });
    h.beat(0, "a");
    h.beat(0, "b", { capacity: 2 });
    h.beat(0, "c");
    h.submit(0, 1); // -> calc-a
    h.submit(0, 2); // -> calc-b
    h.done(120, "a", 1, 1);
    h.beat(250, "c");
    h.beat(300, "b", { running: 1 });
    expect(h.core.status(350)).toEqual({
      calculators: [
        {
          id: "calc-a",
          address: "10.0.0.1:7001",
          state: "suspect",
          capacity: 1,
          running: 0,
          failureRate: 0,
          latencyMs: 120,
          lastSeenMs: 230,
        },
        {
          id: "calc-b",
          address: "10.0.0.2:7002",
          state: "alive",
          capacity: 2,
          running: 1,
          failureRate: 0,
          latencyMs: null,
          lastSeenMs: 50,
        },
        {
          id: "calc-c",
          address: "10.0.0.3:7003",
          state: "alive",
          capacity: 1,
          running: 0,
          failureRate: 0,
          latencyMs: null,
          lastSeenMs: 100,
        },
      ],
      tasks: { queued: 0, running: 1, succeeded: 1, failed: 0 },
    });
    h.beat(500, "b", { running: 1 });
    h.beat(500, "c");
    h.submit(500, 3); // -> calc-c
    h.submit(500, 4); // b's last slot
    h.submit(500, 5); // tasksMax 3: overloaded
    h.core.onTick(521); // a silent since 120: dead
    const status = h.core.status(521);
    expect(status.calculators.map((c) => [c.id, c.state, c.running])).toEqual([
      ["calc-a", "dead", 0],
      ["calc-b", "alive", 2],
      ["calc-c", "alive", 1],
    ]);
    expect(status.tasks).toEqual({ queued: 0, running: 3, succeeded: 1, failed: 1 });
    expect(JSON.parse(JSON.stringify(status))).toEqual(status); // JSON-safe
  });

  it("a dead calculator runs nothing, whatever its last heartbeat said", () => {
    const h = new Harness();
    h.beat(0, "a", { capacity: 3, running: 2 });
    expect(h.core.status(0).calculators[0]).toMatchObject({ state: "alive", running: 2 });
    h.core.onTick(401);
    expect(h.core.status(401).calculators[0]).toMatchObject({ state: "dead", running: 0, lastSeenMs: 401 });
  });

  it("shows a failing calculator as parked", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(0, 1);
    h.beat(100, "a", { boot: 2 }); // restarted holding task 1 -> placed again on a
    h.beat(200, "a", { boot: 3 }); // and again
    expect(h.core.status(200).calculators.map((c) => c.state)).toEqual(["parked"]);
  });
});
