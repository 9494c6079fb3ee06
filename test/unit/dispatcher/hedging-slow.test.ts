/**
 * Goal: one slow calculator does not blunt hedging (issue 9 item 5). Its latencies stay out of the
 * hedge quantile, so the other copies are hedged at the fast calculators' quantile; its own copies,
 * and those of a failing (parked) calculator, are hedged as soon as minDelayMs allows; a hedge goes
 * to the fastest free calculator that is not slow. In a closed loop with 1 of 4 calculators ten
 * times slower, hedging brings the task latency p99 down to the fast calculators' at < 10% extra copies.
 * Method: a DispatcherCore (RepHarness) on a manual clock: a latency sample where a quarter of the
 * copies came from the slow calculator, then ticks at the due times; pure checks of slowOutliers,
 * LatencySample's exclusion and fastestFree; the closed-loop model of slow-cluster.ts.
 */
import { describe, expect, it } from "vitest";

import { fastestFree } from "../../../src/dispatcher/hedger.js";
import { LATENCY_SAMPLE_MIN, LatencySample, slowOutliers } from "../../../src/dispatcher/hedging.js";
import type { HedgingConfig } from "../../../src/dispatcher/types.js";
import type { CalculatorView } from "../../../src/placement/placement.js";
import { task } from "./fixtures.js";
import { assignedTo, copyKinds, type Name, RepHarness } from "./replication-fixtures.js";
import { quantileOf, runSlowCluster } from "./slow-cluster.js";

const HEDGING: HedgingConfig = { enabled: true, quantile: 0.9, minDelayMs: 5, budget: 1 };

/** Which calculator got task n's assign in `outputs`. */
function holderOf(outputs: ReturnType<RepHarness["submit"]>): Name {
  const [name] = assignedTo(outputs);
  if (name === undefined) throw new Error("no assign");
  return name;
}

/** Rounds of 4 tasks (one per calculator): a, b, c answer after 10 ms, d after 100 ms; no ticks. */
function warmedWithSlowD(rounds: number): { h: RepHarness; nowMs: number; n: number } {
  const h = new RepHarness({ hedging: HEDGING, taskTimeoutMs: 100_000 });
  for (const name of ["a", "b", "c", "d"] as const) h.beat(0, name, 4);
  let nowMs = 1;
  let n = 0;
  for (let round = 0; round < rounds; round += 1) {
    const holders = new Map<Name, number>();
    for (let i = 0; i < 4; i += 1) holders.set(holderOf(h.submit(nowMs, ++n)), n);
    expect([...holders.keys()].sort()).toEqual(["a", "b", "c", "d"]);
    for (const [name, taskN] of holders) if (name !== "d") h.done(nowMs + 10, name, taskN);
    h.done(nowMs + 100, "d", holders.get("d") ?? 0);
    nowMs += 101;
  }
  return { h, nowMs, n };
}

describe("hedging with one slow calculator", () => {
  it("leaves the slow calculator out of the quantile and hedges its copy after minDelayMs, on a fast one", () => {
    // 8 rounds: 24 latencies of 10 ms, 8 of 100 ms; the p90 of all of them is 100 ms.
    const { h, nowMs: startMs, n } = warmedWithSlowD(8);
    const holders = new Map<Name, number>();
    for (let i = 1; i <= 4; i += 1) holders.set(holderOf(h.submit(startMs, n + i)), n + i);
    expect(h.core.nextDeadlineMs()).toBeLessThanOrEqual(startMs + 5);
    for (let nowMs = startMs; nowMs < startMs + 5; nowMs += 1) expect(copyKinds(h.core.onTick(nowMs))).toEqual([]);
    const early = h.core.onTick(startMs + 5);
    expect(copyKinds(early)).toEqual(["hedge"]);
    expect(early).toContainEqual(
      expect.objectContaining({ kind: "copy_started", taskId: task(holders.get("d") ?? 0) }),
    );
    expect(["a", "b", "c"]).toContain(holderOf(early));
    for (let nowMs = startMs + 6; nowMs < startMs + 10; nowMs += 1) expect(copyKinds(h.core.onTick(nowMs))).toEqual([]);
    // The fast copies pass the fast calculators' p90 (10 ms), not the 100 ms of the whole sample.
    expect(copyKinds(h.core.onTick(startMs + 10))).toEqual(["hedge", "hedge", "hedge"]);
  });

  it("hedges a copy on a failing (parked) calculator after minDelayMs, even with no latency known for it", () => {
    const h = new RepHarness({ hedging: HEDGING, taskTimeoutMs: 100_000 });
    for (const name of ["a", "b", "c"] as const) h.beat(0, name, 1);
    h.beat(0, "d", 4);
    h.core.registry.recordFailure(0, "calc-d", "hedge_lost");
    h.core.registry.recordFailure(0, "calc-d", "hedge_lost"); // 2 / (2 + 2): parked
    let nowMs = 1;
    for (let n = 1; n <= LATENCY_SAMPLE_MIN; n += 1) {
      h.done(nowMs + 10, holderOf(h.submit(nowMs, n)), n);
      nowMs += 11;
    }
    // a, b and c are full, so the parked d gets task 100; a frees its slot at +3.
    const fast = [101, 102, 103].map((n) => holderOf(h.submit(nowMs, n)));
    expect(holderOf(h.submit(nowMs, 100))).toBe("d");
    h.done(nowMs + 3, fast[0] ?? "a", 101);
    expect(copyKinds(h.core.onTick(nowMs + 4))).toEqual([]);
    expect(copyKinds(h.core.onTick(nowMs + 5))).toEqual(["hedge"]); // the quantile would say 10 ms
  });

  it("closed loop, 1 of 4 calculators ten times slower: p99 near the fast ones' at < 10% extra copies", () => {
    const calculators = [
      { name: "a", computeMs: [20, 30], capacity: 2 },
      { name: "b", computeMs: [20, 30], capacity: 2 },
      { name: "c", computeMs: [20, 30], capacity: 2 },
      { name: "d", computeMs: [200, 300], capacity: 2 },
    ] as const;
    const options = { count: 600, warmupCount: 200, window: 4, seed: 7 };
    const off = runSlowCluster(calculators, undefined, options);
    const on = runSlowCluster(calculators, { ...HEDGING, quantile: 0.95, budget: 0.1 }, options);
    expect(quantileOf(off.latenciesMs, 0.99)).toBeGreaterThanOrEqual(200);
    expect(quantileOf(on.latenciesMs, 0.99)).toBeLessThanOrEqual(40);
    expect(on.hedges).toBeLessThanOrEqual(0.1 * on.primaries);
  });
});

describe("slowOutliers, LatencySample exclusion, fastestFree", () => {
  it("a calculator is slow at 4x the lower median of the estimates; none with fewer than two", () => {
    expect(
      slowOutliers(
        new Map([
          ["a", 10],
          ["b", 12],
          ["c", 11],
          ["d", 100],
        ]),
      ),
    ).toEqual(new Set(["d"]));
    expect(
      slowOutliers(
        new Map([
          ["a", 10],
          ["b", 40],
        ]),
      ),
    ).toEqual(new Set(["b"]));
    expect(
      slowOutliers(
        new Map([
          ["a", 10],
          ["b", 39],
        ]),
      ),
    ).toEqual(new Set());
    expect(
      slowOutliers(
        new Map([
          ["a", 0],
          ["b", 0],
        ]),
      ),
    ).toEqual(new Set());
    expect(slowOutliers(new Map([["a", 500]]))).toEqual(new Set());
  });

  it("the quantile leaves excluded calculators out while LATENCY_SAMPLE_MIN others remain", () => {
    const sample = new LatencySample();
    for (let i = 0; i < LATENCY_SAMPLE_MIN; i += 1) sample.record(10, "a");
    for (let i = 0; i < LATENCY_SAMPLE_MIN; i += 1) sample.record(100, "d");
    expect(sample.quantileMs(0.9)).toBe(100);
    expect(sample.quantileMs(0.9, new Set(["d"]))).toBe(10);
    expect(sample.quantileMs(0.9, new Set(["a", "d"]))).toBe(100); // nothing left: all count
  });

  it("a hedge goes to the fastest healthy free calculator that is not slow", () => {
    const view = (id: string, overrides: Partial<CalculatorView> = {}): CalculatorView => ({
      id,
      capacity: 2,
      freeSlots: 2,
      failureRate: 0,
      latencyMs: 30,
      isSuspect: false,
      lastAssignedMs: 0,
      ...overrides,
    });
    const views = [view("a"), view("b", { latencyMs: 10, freeSlots: 1 }), view("c", { latencyMs: undefined })];
    expect(fastestFree(views, new Set())).toBe("b");
    expect(fastestFree(views, new Set(["b"]))).toBe("a");
    expect(fastestFree([view("a"), view("b", { latencyMs: 10, failureRate: 0.9 })], new Set())).toBe("a");
    expect(fastestFree([view("a", { latencyMs: 300 })], new Set(["a"]))).toBe("a");
    expect(fastestFree([view("a", { freeSlots: 0 })], new Set())).toBeUndefined();
  });
});
