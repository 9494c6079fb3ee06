/**
 * Placement: which calculator runs the next copy of a task. Policies are pure functions over a
 * snapshot of the registry, so they are tested with plain values and swapped by config.
 */
import type { NodeId } from "../protocol/packets.js";

/** What a policy may know about one live calculator. */
export interface CalculatorView {
  readonly id: NodeId;
  readonly capacity: number;
  /** Slots free now: capacity minus tasks we assigned or it reported running, whichever is more. */
  readonly freeSlots: number;
  /** Estimated chance in [0, 1] that a task placed here fails (EWMA of timeouts, deaths, busy refusals). */
  readonly failureEstimate: number;
  /** Heard from recently enough? A suspect calculator has missed about half its heartbeat timeout. */
  readonly isSuspect: boolean;
  /** When this calculator was last given a task (ms, dispatcher clock); spreads ties. */
  readonly lastAssignedMs: number;
}

/** Chooses a calculator among `candidates` (all alive, none excluded), or undefined when none fits. */
export interface PlacementPolicy {
  readonly name: string;
  pick(candidates: readonly CalculatorView[]): NodeId | undefined;
}

/** A calculator whose failure estimate is at least this is "failing" and chosen only as a last resort. */
export const FAILING_ESTIMATE_MIN = 0.5;
