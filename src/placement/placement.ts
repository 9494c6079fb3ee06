/**
 * Placement: which calculator runs the next copy of a task. A policy chooses over a snapshot of the
 * live calculators (CalculatorView) and nothing else, so it is pure, tested with plain values and
 * swapped by the dispatcher's `placement` config key (policies.ts lists them). A policy never reads
 * time or Math.random: one that draws gets an Rng from the shell, which seeds it.
 *
 * Every policy keeps SPEC 5.7 the same way: it picks only a calculator with a free slot, and only
 * among the healthiest calculators that have one (healthyTier: healthy, then failing, then suspect),
 * so a failing or silent calculator runs a copy only when no healthy one can. Policies that weigh several criteria (TOPSIS, ELECTRE) or learn (bandits) read `failureRate`,
 * `latencyMs`, `capacity` and `freeSlots` from the same view.
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

/**
 * Chooses a calculator among `candidates` (all alive, none excluded): the id of one with a free
 * slot, or undefined when none has one. May keep state between calls (round-robin's cursor), so
 * each dispatcher gets its own instance from createPlacementPolicy.
 */
export interface PlacementPolicy {
  /** The config name that selects it (policies.ts PLACEMENT_NAMES). */
  readonly name: string;
  pick(candidates: readonly CalculatorView[]): NodeId | undefined;
}

/**
 * A calculator whose failure rate is at least this is "failing" (shown `parked` in /status) and
 * chosen only as a last resort. With estimates.ts's prior, two failures in a row with no success
 * reach it (1/3 after one), and so does a calculator failing about half its copies.
 */
export const FAILING_RATE_MIN = 0.4;

/** 0 healthy, 1 failing, 2 suspect (silent): lower is better. */
export function healthRank(view: CalculatorView): number {
  if (view.isSuspect) return 2;
  return view.failureRate >= FAILING_RATE_MIN ? 1 : 0;
}

/** Share of its slots in use, in [0, 1]. */
export function loadPerSlot(view: CalculatorView): number {
  return (view.capacity - view.freeSlots) / view.capacity;
}

/**
 * The candidates a policy may choose from: those with a free slot and the best health rank among
 * them, in their given order. Empty when none has a free slot.
 */
export function healthyTier(candidates: readonly CalculatorView[]): CalculatorView[] {
  let bestRank = Number.POSITIVE_INFINITY;
  for (const view of candidates) if (view.freeSlots > 0) bestRank = Math.min(bestRank, healthRank(view));
  return candidates.filter((view) => view.freeSlots > 0 && healthRank(view) === bestRank);
}

/** Orders ids so ties end the same way in every run. */
export function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
