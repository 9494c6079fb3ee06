/**
 * Power-of-two-choices placement (Mitzenmacher, "The Power of Two Choices in Randomized Load
 * Balancing", 2001): draw two distinct calculators at random from the healthiest tier and give the
 * copy to the less loaded (least-loaded's order). Nearly as even as least-loaded, but without every
 * dispatcher decision piling onto the same momentarily emptiest calculator. Rng from the shell.
 */
import type { NodeId } from "../protocol/packets.js";
import type { Rng } from "../runtime/rng.js";
import { compareLeastLoaded } from "./least-loaded.js";
import { type CalculatorView, healthyTier, type PlacementPolicy } from "./placement.js";
import { randomIndex } from "./random.js";

/** A power-of-two-choices policy drawing from `rng`. */
export function powerOfTwo(rng: Rng): PlacementPolicy {
  return {
    name: "power-of-two",
    pick(candidates: readonly CalculatorView[]): NodeId | undefined {
      const tier = healthyTier(candidates);
      if (tier.length <= 1) return tier[0]?.id;
      const firstIndex = randomIndex(rng, tier.length);
      // The second draw skips the first: two distinct choices.
      const secondIndex = (firstIndex + 1 + randomIndex(rng, tier.length - 1)) % tier.length;
      const first = tier[firstIndex] as CalculatorView;
      const second = tier[secondIndex] as CalculatorView;
      return compareLeastLoaded(first, second) <= 0 ? first.id : second.id;
    },
  };
}
