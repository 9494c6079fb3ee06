/**
 * Least-loaded placement, the default (SPEC section 5, guarantee 7): a busy or failing calculator is
 * never chosen while a healthy idle one exists. Order: healthy before failing before suspect, then
 * lowest load per slot, then lowest failure rate, then longest since last assignment (spreads equal
 * ones), then id.
 */
import type { NodeId } from "../protocol/packets.js";
import { type CalculatorView, compareIds, healthRank, loadPerSlot, type PlacementPolicy } from "./placement.js";

/** Negative when `a` is the better choice. */
export function compareLeastLoaded(a: CalculatorView, b: CalculatorView): number {
  return (
    healthRank(a) - healthRank(b) ||
    loadPerSlot(a) - loadPerSlot(b) ||
    a.failureRate - b.failureRate ||
    a.lastAssignedMs - b.lastAssignedMs ||
    compareIds(a.id, b.id)
  );
}

/** The least-loaded policy (stateless: one instance serves every dispatcher). */
export const leastLoaded: PlacementPolicy = {
  name: "least-loaded",
  pick(candidates: readonly CalculatorView[]): NodeId | undefined {
    let best: CalculatorView | undefined;
    for (const view of candidates) {
      if (view.freeSlots <= 0) continue;
      if (best === undefined || compareLeastLoaded(view, best) < 0) best = view;
    }
    return best?.id;
  },
};
