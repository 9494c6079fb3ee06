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
  /**
   * Decaying failure rate in [0, 1] (timeouts, deaths holding copies, outvoted results; see
   * dispatcher/estimates.ts); 0 for a calculator never seen failing.
   */
  readonly failureRate: number;
  /** EWMA of its successful copies' latencies (ms); undefined until its first result. */
  readonly latencyMs: number | undefined;
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

/**
 * A calculator whose failure rate is at least this is "failing" (shown `parked` in /status) and
 * chosen only as a last resort. With estimates.ts's prior, two failures in a row with no success
 * reach it (1/3 after one), and so does a calculator failing about half its copies.
 */
export const FAILING_RATE_MIN = 0.4;
