/**
 * What the cluster simulations share: the seed list (SIM_SEED=N replays one seed) and the chaos
 * settings (20% loss, 10% duplication, reordering by up to 30 ms, calculator crashes and freezes).
 */
import type { ClusterSimOptions } from "../../src/sim/cluster-sim.js";

const onlySeed = process.env["SIM_SEED"] === undefined ? undefined : Number(process.env["SIM_SEED"]);

/** `count` consecutive seeds from `offset`, or only SIM_SEED when it is set. */
export function seeds(count: number, offset: number): number[] {
  if (onlySeed !== undefined) return [onlySeed];
  return Array.from({ length: count }, (_, i) => offset + i);
}

/** Chaos on every link and calculator faults; no dispatcher restart unless a test adds one. */
export const chaos: Omit<ClusterSimOptions, "seed"> = {
  calculatorCount: 4,
  lossProbability: 0.2,
  duplicateProbability: 0.1,
  delayMsMax: 30,
  hasCalculatorFaults: true,
  hasDispatcherRestart: false,
  simTimeMsMax: 300_000,
};
