/**
 * Goal: every core's nextDeadlineMs() is never late. The daemons tick a core only at that deadline
 * (plus a coarse safety tick), so a tick that has work before it would be work done late in production.
 * Method: runClusterSim ticks every core at a fixed 10 ms and records any tick that produced outputs
 * before the deadline the core announced just before it; seeded runs with loss, duplication, delay,
 * calculator crashes, restarts and freezes, dispatcher restarts, overload and slow calculators.
 * Replay one seed with SIM_SEED=<seed> npx vitest run test/sim/deadlines.sim.test.ts.
 */
import { describe, expect, it } from "vitest";

import { type ClusterSimOptions, runClusterSim } from "../../src/sim/cluster-sim.js";
import { seeds, chaos as sharedChaos } from "./chaos.js";

const chaos: Omit<ClusterSimOptions, "seed"> = { ...sharedChaos, hasDispatcherRestart: true };

describe("nextDeadlineMs is never late", () => {
  it.each(seeds(40, 5_000))("seed %i: chaos with faults and a dispatcher restart", (seed) => {
    const report = runClusterSim({ ...chaos, seed });
    expect(report.hasFinished).toBe(true);
    expect(report.deadlineViolations).toEqual([]);
  });

  it.each(seeds(10, 6_000))("seed %i: overload, queueing and slow calculators", (seed) => {
    const report = runClusterSim({
      ...chaos,
      seed,
      calculatorCount: 2,
      lossProbability: 0.05,
      hasDispatcherRestart: false,
      dispatcher: { tasksMax: 8, queueMax: 4, ackDelayMs: 20 },
      calculator: { capacity: 1, computeMs: { min: 20, max: 400 } },
    });
    expect(report.hasFinished).toBe(true);
    expect(report.deadlineViolations).toEqual([]);
  });
});
