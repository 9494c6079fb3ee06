/**
 * Goal: hedged copies (SPEC 9): a copy that has run longer than the `quantile` of recent copy latencies
 * (and at least minDelayMs) gets exactly one backup on another calculator; the first valid result wins
 * and the loser is cancelled; no hedge before enough latencies are known; hedges and re-placements
 * share a token bucket refilled by primaries, so hedges stop when it is empty; nextDeadlineMs wakes
 * the shell in time for a hedge.
 * Method: a DispatcherCore with k = 1 and two or three calculators; 20 quick tasks fill the latency
 * sample, then a slow one is watched tick by tick. HedgeBudget and LatencySample also alone.
 */
import { describe, expect, it } from "vitest";

import { HedgeBudget, LATENCY_SAMPLE_MAX, LATENCY_SAMPLE_MIN, LatencySample } from "../../../src/dispatcher/hedging.js";
import type { HedgingConfig, ReplicationConfig } from "../../../src/dispatcher/types.js";
import { task } from "./fixtures.js";
import { assignedTo, cancelledAt, copyKinds, finals, type Name, RepHarness } from "./replication-fixtures.js";

const HEDGING: HedgingConfig = { enabled: true, quantile: 0.9, minDelayMs: 30, budget: 1 };

/** A harness whose latency sample holds LATENCY_SAMPLE_MIN copies of `latencyMs` each; returns the next free ms. */
function warmed(
  hedging: HedgingConfig,
  latencyMs = 10,
  names: readonly Name[] = ["a", "b", "c"],
  capacity = 4,
  replication?: ReplicationConfig,
): { h: RepHarness; nowMs: number } {
  const h = new RepHarness({ hedging, taskTimeoutMs: 100_000, ...(replication === undefined ? {} : { replication }) });
  for (const name of names) h.beat(0, name, capacity);
  let nowMs = 1;
  for (let n = 1; n <= LATENCY_SAMPLE_MIN; n += 1) {
    const [holder] = assignedTo(h.submit(nowMs, n)) as [Name];
    nowMs += latencyMs;
    h.done(nowMs, holder, n);
    nowMs += 1;
  }
  return { h, nowMs };
}

describe("hedging", () => {
  it("hedges a slow copy once, at max(minDelayMs, quantile), on another calculator; the first result wins", () => {
    const { h, nowMs: startMs } = warmed(HEDGING);
    const [slow] = assignedTo(h.submit(startMs, 100)) as [Name];
    expect(h.core.nextDeadlineMs()).toBeLessThanOrEqual(startMs + 30);
    for (let nowMs = startMs; nowMs < startMs + 30; nowMs += 1) expect(copyKinds(h.core.onTick(nowMs))).toEqual([]);
    const hedged = h.core.onTick(startMs + 30); // quantile 10 ms < minDelayMs 30 ms
    expect(copyKinds(hedged)).toEqual(["hedge"]);
    const [backup] = assignedTo(hedged) as [Name];
    expect(backup).not.toBe(slow);
    for (let nowMs = startMs + 31; nowMs < startMs + 200; nowMs += 1)
      expect(copyKinds(h.core.onTick(nowMs))).toEqual([]);
    const won = h.done(startMs + 200, backup, 100);
    expect(finals(won)).toHaveLength(1);
    expect(cancelledAt(won)).toEqual([slow]);
    expect(h.core.copiesStarted().hedge).toBe(1);
    // The loser was too slow: its failure estimate rises (placement then prefers the others).
    expect(h.core.registry.failureRate(startMs + 200, `calc-${slow}`)).toBeGreaterThan(
      h.core.registry.failureRate(startMs + 200, `calc-${backup}`),
    );
  });

  it("waits for the quantile when it is above minDelayMs, and never hedges before enough latencies are known", () => {
    const { h, nowMs: startMs } = warmed({ ...HEDGING, minDelayMs: 1 }, 50);
    h.submit(startMs, 100);
    for (let nowMs = startMs; nowMs < startMs + 50; nowMs += 1) expect(copyKinds(h.core.onTick(nowMs))).toEqual([]);
    expect(copyKinds(h.core.onTick(startMs + 50))).toEqual(["hedge"]);

    const cold = new RepHarness({ hedging: HEDGING, taskTimeoutMs: 100_000 });
    cold.beat(0, "a");
    cold.beat(0, "b");
    cold.submit(1, 1);
    for (let nowMs = 1; nowMs < 5_000; nowMs += 7) expect(copyKinds(cold.core.onTick(nowMs))).toEqual([]);
  });

  it("counts hedges in maxCopies: a replicated task with no copy left to start is not hedged", () => {
    const pair = { factor: 2, quorum: 1, adaptive: false };
    const full = warmed(HEDGING, 10, ["a", "b", "c", "d"], 4, { ...pair, maxCopies: 2 });
    full.h.submit(full.nowMs, 100);
    expect(copyKinds(full.h.core.onTick(full.nowMs + 30))).toEqual([]);
    const room = warmed(HEDGING, 10, ["a", "b", "c", "d"], 4, { ...pair, maxCopies: 3 });
    room.h.submit(room.nowMs, 100);
    expect(copyKinds(room.h.core.onTick(room.nowMs + 30))).toEqual(["hedge"]);
  });

  it("with an empty budget it reports hedge_skipped once and starts no hedge", () => {
    const { h, nowMs: startMs } = warmed({ ...HEDGING, budget: 0 });
    h.submit(startMs, 100);
    const outputs = h.core.onTick(startMs + 30);
    expect(copyKinds(outputs)).toEqual([]);
    expect(outputs).toContainEqual({ kind: "hedge_skipped", taskId: task(100), reason: "budget" });
    expect(h.core.onTick(startMs + 60).filter((o) => o.kind === "hedge_skipped")).toEqual([]);
  });

  it("hedges stay within the bucket: budget × primaries, at most budget × 100 saved up", () => {
    const { h, nowMs: startMs } = warmed({ ...HEDGING, budget: 0.1 }, 10, ["a", "b", "c", "d", "e", "f"], 10);
    // The bucket holds 0.1 × 100 = 10 tokens and is full; 30 slow tasks now, none answered.
    let hedges = 0;
    for (let n = 100; n < 130; n += 1) h.submit(startMs, n);
    for (let nowMs = startMs; nowMs <= startMs + 500; nowMs += 5) hedges += copyKinds(h.core.onTick(nowMs)).length;
    expect(hedges).toBe(10);
    // Ten more primaries refill one token: one more hedge once their copies are slow too.
    for (let n = 200; n < 210; n += 1) h.submit(startMs + 501, n);
    let more = 0;
    for (let nowMs = startMs + 501; nowMs <= startMs + 1_000; nowMs += 5)
      more += copyKinds(h.core.onTick(nowMs)).length;
    expect(more).toBe(1);
  });
});

describe("HedgeBudget and LatencySample", () => {
  it("a token per hedge; primaries refill by `budget`; re-placements drain it below zero", () => {
    const budget = new HedgeBudget(0.5);
    expect(budget.tokens).toBe(50);
    for (let i = 0; i < 50; i += 1) expect(budget.tryHedge()).toBe(true);
    expect(budget.tryHedge()).toBe(false);
    budget.onPrimary();
    budget.onPrimary();
    expect(budget.tryHedge()).toBe(true);
    for (let i = 0; i < 200; i += 1) budget.onReplacement();
    expect(budget.tokens).toBe(-50);
    budget.onPrimary();
    expect(budget.tryHedge()).toBe(false);
  });

  it("the quantile is the nearest-rank value of the last LATENCY_SAMPLE_MAX latencies", () => {
    const sample = new LatencySample();
    for (let i = 1; i < LATENCY_SAMPLE_MIN; i += 1) sample.record(i, "calc-a");
    expect(sample.quantileMs(0.5)).toBeUndefined();
    sample.record(LATENCY_SAMPLE_MIN, "calc-a");
    expect(sample.quantileMs(0.5)).toBe(LATENCY_SAMPLE_MIN / 2);
    expect(sample.quantileMs(1)).toBe(LATENCY_SAMPLE_MIN);
    for (let i = 0; i < LATENCY_SAMPLE_MAX; i += 1) sample.record(1_000, "calc-b");
    expect(sample.size).toBe(LATENCY_SAMPLE_MAX);
    expect(sample.quantileMs(0.01)).toBe(1_000);
  });
});
