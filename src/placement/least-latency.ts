/**
 * Least-latency placement: the copy goes to the calculator whose successful copies have been
 * fastest (the latency EWMA of dispatcher/estimates.ts), among the healthiest tier. A calculator
 * with no latency yet counts as fastest, so each new calculator is tried (explored) as soon as it has
 * a free slot; one that never returns a result does not stay "unknown and fastest" for long, because
 * its timeouts raise its failure rate and move it out of the healthy tier. Ties: lower load per slot,
 * lower failure rate, then id. Stateless.
 */
import type { NodeId } from "../protocol/packets.js";
import { type CalculatorView, compareIds, healthyTier, loadPerSlot, type PlacementPolicy } from "./placement.js";

/** Unknown latency sorts first (explore); known ones ascending. */
function latencyKey(view: CalculatorView): number {
  return view.latencyMs ?? Number.NEGATIVE_INFINITY;
}

/** Negative when `a` is the better choice (both in the same health tier). */
export function compareLeastLatency(a: CalculatorView, b: CalculatorView): number {
  const byLatency = latencyKey(a) - latencyKey(b);
  return (
    (Number.isNaN(byLatency) ? 0 : byLatency) ||
    loadPerSlot(a) - loadPerSlot(b) ||
    a.failureRate - b.failureRate ||
    compareIds(a.id, b.id)
  );
}

/** The least-latency policy (stateless). */
export const leastLatency: PlacementPolicy = {
  name: "least-latency",
  pick(candidates: readonly CalculatorView[]): NodeId | undefined {
    let best: CalculatorView | undefined;
    for (const view of healthyTier(candidates)) {
      if (best === undefined || compareLeastLatency(view, best) < 0) best = view;
    }
    return best?.id;
  },
};
