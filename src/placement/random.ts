/**
 * Random placement: a uniform choice among the healthiest calculators with a free slot (placement.ts
 * healthyTier), ignoring load. The Rng comes from the shell (seeded from crypto in the daemon, from
 * the seed in simulations), never Math.random, so a seed replays the same choices.
 */
import type { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import type { Rng } from "../runtime/rng.js";
import { type CalculatorView, healthyTier, type PlacementPolicy } from "./placement.js";

/** Index in [0, count) drawn from `rng`. */
export function randomIndex(rng: Rng, count: number): number {
  assert(count > 0, "nothing to draw from");
  const draw = rng();
  assert(draw >= 0 && draw < 1, "an Rng returns a float in [0, 1)");
  return Math.floor(draw * count);
}

/** A random policy drawing from `rng`. */
export function randomPlacement(rng: Rng): PlacementPolicy {
  return {
    name: "random",
    pick(candidates: readonly CalculatorView[]): NodeId | undefined {
      const tier = healthyTier(candidates);
      return tier.length === 0 ? undefined : tier[randomIndex(rng, tier.length)]?.id;
    },
  };
}
