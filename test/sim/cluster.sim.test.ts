/**
 * Goal: the SPEC section 5 guarantees hold under loss, duplication, reordering, calculator crashes,
 * restarts and freezes at random moments, and dispatcher restarts: every task the client sends gets
 * exactly one final answer, none is lost, no wrong result is accepted, every map stays within its
 * maximum.
 * Method: runClusterSim runs the real cores and codec on a seeded MemoryNetwork with a ManualClock;
 * each seed is its own test, so a failure names its seed and replays exactly
 * (SIM_SEED=<seed> npx vitest run test/sim/cluster.sim.test.ts).
 */
import { describe, expect, it } from "vitest";

import { type ClusterSimReport, runClusterSim } from "../../src/sim/cluster-sim.js";
import { simCalculatorConfig, simDispatcherConfig } from "../../src/sim/sim-configs.js";
import { chaos, seeds } from "./chaos.js";

function expectExactlyOneAnswerEach(report: ClusterSimReport): void {
  expect(report.hasFinished, `run did not finish; faults: ${report.faults.join(", ")}`).toBe(true);
  expect(report.sentTaskIds.length).toBeGreaterThan(0);
  const answered = report.records.map((record) => record.id);
  expect(new Set(answered).size).toBe(answered.length);
  expect([...answered].sort()).toEqual([...report.sentTaskIds].sort());
}

function expectWithinBounds(report: ClusterSimReport): void {
  const dispatcher = simDispatcherConfig();
  const calculator = simCalculatorConfig("c", 0, { host: "h", port: 1 });
  expect(report.peaks.tasks).toBeLessThanOrEqual(dispatcher.tasksMax);
  expect(report.peaks.queued).toBeLessThanOrEqual(dispatcher.tasksMax);
  expect(report.peaks.runningPerCalculator).toBeLessThanOrEqual(calculator.capacity);
}

describe("cluster under 20% loss, duplication, reordering, crashes and freezes", () => {
  it.each(seeds(200, 1))("seed %i: every task answered once, all correct", (seed) => {
    const report = runClusterSim({ ...chaos, seed });
    expectExactlyOneAnswerEach(report);
    expectWithinBounds(report);
    expect(report.records.every((record) => record.outcome === "ok")).toBe(true);
    expect(report.wrongCount).toBe(0);
    for (const [taskId, count] of report.dispatcherFinals) expect(count, taskId).toBe(1);
    expect(report.networkStats.lostCount).toBeGreaterThan(0);
  });
});

describe("closed-loop client (window 16) under the same chaos: packets travel in batch frames", () => {
  it.each(seeds(40, 5_000))("seed %i: every task answered once, all correct, frames sent", (seed) => {
    const report = runClusterSim({ ...chaos, seed, client: { concurrency: 16, countMax: 120 } });
    expectExactlyOneAnswerEach(report);
    expectWithinBounds(report);
    expect(report.records.every((record) => record.outcome === "ok")).toBe(true);
    expect(report.wrongCount).toBe(0);
    for (const [taskId, count] of report.dispatcherFinals) expect(count, taskId).toBe(1);
    expect(report.batchFrameCount).toBeGreaterThan(0);
  });
});

describe("dispatcher killed and restarted on the same address mid-run", () => {
  it.each(seeds(40, 1_000))("seed %i: no task whose client is running is lost", (seed) => {
    const report = runClusterSim({ ...chaos, seed, hasDispatcherRestart: true });
    expectExactlyOneAnswerEach(report);
    expect(report.records.every((record) => record.outcome === "ok")).toBe(true);
    expect(report.faults.some((fault) => fault.includes("dispatcher_restart"))).toBe(true);
  });
});

describe("overload", () => {
  it.each(seeds(20, 2_000))("seed %i: tasks beyond tasksMax get an explicit `overloaded` failure, once", (seed) => {
    const report = runClusterSim({
      ...chaos,
      seed,
      hasCalculatorFaults: false,
      lossProbability: 0.05,
      dispatcher: { tasksMax: 6, queueMax: 3 },
      client: { concurrency: 24, countMax: 60 },
    });
    expectExactlyOneAnswerEach(report);
    const failed = report.records.filter((record) => record.outcome === "failed");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((record) => record.reason === "overloaded")).toBe(true);
    expect(report.peaks.tasks).toBeLessThanOrEqual(6);
  });
});

describe("corrupt calculators with replication factor 1", () => {
  it.each(seeds(10, 3_000))("seed %i: wrong results are caught by the client and counted once", (seed) => {
    const report = runClusterSim({
      ...chaos,
      seed,
      hasCalculatorFaults: false,
      calculator: { corruption: { probability: 0.4 } },
    });
    expectExactlyOneAnswerEach(report);
    const wrong = report.records.filter((record) => record.reason === "wrong_result");
    expect(wrong.length).toBe(report.wrongCount);
    expect(report.wrongCount).toBeGreaterThan(0);
    expect(wrong.every((record) => record.outcome === "failed")).toBe(true);
  });
});

describe("emulated outages (failure.probability)", () => {
  it.each(seeds(20, 4_000))("seed %i: calculators that go silent and return keep every task answered", (seed) => {
    const report = runClusterSim({
      ...chaos,
      seed,
      hasCalculatorFaults: false,
      calculator: { failure: { probability: 0.5, checkIntervalMs: 300, durationMs: { min: 200, max: 900 } } },
    });
    expectExactlyOneAnswerEach(report);
    expect(report.records.every((record) => record.outcome === "ok")).toBe(true);
  });
});
