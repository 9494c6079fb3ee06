/**
 * Goal: every placement policy keeps the SPEC 5 guarantees in a whole cluster, not only in a pure
 * pick: under 20% loss, duplication, reordering and calculator crashes, restarts and freezes, every
 * task gets exactly one final answer, all correct, and no calculator runs more than its capacity.
 * Method: the seeded whole-cluster simulation (src/sim/cluster-sim.ts, real cores and codec on a
 * MemoryNetwork) with the dispatcher's policy swapped; a few seeds per policy (the many-seed runs
 * with the default policy are in test/sim/). Replay one: SIM_SEED=N npx vitest run <this file>.
 */
import { describe, expect, it } from "vitest";

import { createPlacementPolicy, PLACEMENT_NAMES } from "../../../src/placement/policies.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { runClusterSim } from "../../../src/sim/cluster-sim.js";
import { simCalculatorConfig } from "../../../src/sim/sim-configs.js";
import { chaos, seeds } from "../../sim/chaos.js";

const cases = PLACEMENT_NAMES.flatMap((name) => seeds(4, 7_000).map((seed) => [name, seed] as const));

describe("each placement policy in a cluster under chaos", () => {
  it.each(cases)("%s, seed %i: every task answered once, all correct, within capacity", (name, seed) => {
    const placement = createPlacementPolicy(name, { rng: seededRng(seed) });
    const report = runClusterSim({ ...chaos, seed, dispatcher: { placement } });
    expect(report.hasFinished, `faults: ${report.faults.join(", ")}`).toBe(true);
    const answered = report.records.map((record) => record.id);
    expect(new Set(answered).size).toBe(answered.length);
    expect([...answered].sort()).toEqual([...report.sentTaskIds].sort());
    expect(report.records.every((record) => record.outcome === "ok")).toBe(true);
    expect(report.wrongCount).toBe(0);
    for (const [taskId, count] of report.dispatcherFinals) expect(count, taskId).toBe(1);
    const { capacity } = simCalculatorConfig("c", 0, { host: "h", port: 1 });
    expect(report.peaks.runningPerCalculator).toBeLessThanOrEqual(capacity);
  });
});
