/**
 * Shared driver of the checked simulation scenarios (src/sim/scenarios.ts): each seed is its own test
 * and fails with the checker's violations and the end-state problems, so a failure names its seed.
 * SIM_SEED=<n> replays one seed, SIM_SEEDS=<n> runs n seeds per scenario (longer hunts), and
 * SIM_SCENARIO=<name> keeps one scenario.
 */
import { describe, expect, it } from "vitest";

import { runClusterSim } from "../../src/sim/cluster-sim.js";
import { runProblems, type SimScenario } from "../../src/sim/scenarios.js";

const env = process.env;
const onlySeed = env["SIM_SEED"] === undefined ? undefined : Number(env["SIM_SEED"]);
const seedCount = env["SIM_SEEDS"] === undefined ? undefined : Number(env["SIM_SEEDS"]);
const onlyScenario = env["SIM_SCENARIO"];

/** Seeds of a scenario: its CI count (or SIM_SEEDS) from `offset`, or only SIM_SEED. */
export function scenarioSeeds(scenario: SimScenario, offset: number): number[] {
  if (onlySeed !== undefined) return [onlySeed];
  return Array.from({ length: seedCount ?? scenario.ciSeeds }, (_, i) => offset + i);
}

/**
 * One describe block per scenario: a test per seed, then a test that the checks the scenario is
 * there for actually ran (a check that never runs proves nothing).
 */
export function describeScenario(scenario: SimScenario, offset: number, mustRun: readonly string[]): void {
  if (onlyScenario !== undefined && onlyScenario !== scenario.name) return;
  describe(`checked scenario ${scenario.name}`, () => {
    const ran = new Map<string, number>();
    // CPU-bound, not waiting on real time: a generous bound for a contended machine.
    it.each(scenarioSeeds(scenario, offset))(
      "seed %i: no violation, every task answered once",
      (seed) => {
        const report = runClusterSim({ ...scenario.options, seed });
        for (const [check, count] of report.checkCounts) ran.set(check, (ran.get(check) ?? 0) + count);
        expect(runProblems(scenario, report)).toEqual([]);
      },
      20_000,
    );
    it.runIf(onlySeed === undefined)("its checks ran", () => {
      for (const check of mustRun) expect(ran.get(check) ?? 0, check).toBeGreaterThan(0);
    });
  });
}
