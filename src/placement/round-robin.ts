/**
 * Round-robin placement: calculators take turns in id order, whatever their load. The cursor is the
 * last id chosen, not an index, so calculators joining, leaving or filling up never make it skip or
 * repeat one unfairly: the next pick is the first eligible id after it, wrapping around. Among the
 * healthiest tier only (placement.ts healthyTier). State: one id.
 */
import type { NodeId } from "../protocol/packets.js";
import { type CalculatorView, compareIds, healthyTier, type PlacementPolicy } from "./placement.js";

/** A round-robin policy with its own cursor. */
export function roundRobin(): PlacementPolicy {
  let lastId: NodeId | undefined;
  return {
    name: "round-robin",
    pick(candidates: readonly CalculatorView[]): NodeId | undefined {
      let first: NodeId | undefined;
      let next: NodeId | undefined;
      for (const { id } of healthyTier(candidates)) {
        if (first === undefined || compareIds(id, first) < 0) first = id;
        const isAfter = lastId === undefined || compareIds(id, lastId) > 0;
        if (isAfter && (next === undefined || compareIds(id, next) < 0)) next = id;
      }
      const chosen = next ?? first;
      if (chosen !== undefined) lastId = chosen;
      return chosen;
    },
  };
}
