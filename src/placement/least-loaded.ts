/**
 * Least-loaded placement (SPEC section 5, guarantee 7): a busy or failing calculator is never chosen
 * while a healthy idle one exists. Order: healthy before suspect or failing, then lowest load per
 * slot, then lowest failure estimate, then longest since last assignment (spreads equal ones).
 */
import type { NodeId } from "../protocol/packets.js";
import { type CalculatorView, FAILING_RATE_MIN, type PlacementPolicy } from "./placement.js";

function healthRank(view: CalculatorView): number {
  if (view.isSuspect) return 2;
  return view.failureRate >= FAILING_RATE_MIN ? 1 : 0;
}

function loadPerSlot(view: CalculatorView): number {
  return (view.capacity - view.freeSlots) / view.capacity;
}

/** Negative when `a` is the better choice. */
export function compareLeastLoaded(a: CalculatorView, b: CalculatorView): number {
  return (
    healthRank(a) - healthRank(b) ||
    loadPerSlot(a) - loadPerSlot(b) ||
    a.failureRate - b.failureRate ||
    a.lastAssignedMs - b.lastAssignedMs ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** The least-loaded policy. */
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
