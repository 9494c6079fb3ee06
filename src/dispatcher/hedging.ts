/**
 * Hedging's pure parts (SPEC 9): a bounded sliding sample of recent copy latencies, whose quantile
 * says when a copy is slow enough to get a backup, which calculators are slow outliers (their
 * latencies would lift that quantile to their own), and a token bucket shared by hedges and
 * re-placements, refilled by primary copies (as gRPC's retry throttling is refilled by successes), so a
 * dying cluster is not flooded with extra copies. No time reads, no I/O.
 */
import type { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";

/** Copy latencies kept for the quantile: enough for a p99 to mean something, small to sort. */
export const LATENCY_SAMPLE_MAX = 512;
/** No hedging before this many latencies were seen: a quantile of a handful says nothing. */
export const LATENCY_SAMPLE_MIN = 20;
/** The bucket holds at most budget × this many primaries' worth of tokens: the "sliding window". */
export const BUDGET_WINDOW_PRIMARIES = 100;

/**
 * A calculator whose latency estimate is at least this many times the cluster's typical one (the lower
 * median of the alive calculators' estimates) is "slow": its latencies stay out of the hedge quantile,
 * its copies are hedged after minDelayMs, and hedges avoid it.
 */
export const SLOW_LATENCY_FACTOR = 4;

/**
 * The slow calculators among `latenciesMs` (latency estimate by calculator): those at least
 * SLOW_LATENCY_FACTOR × the lower median of all estimates. With one slow calculator of four the median
 * is a fast one; with fewer than two estimates nothing is slow.
 */
export function slowOutliers(latenciesMs: ReadonlyMap<NodeId, number>): Set<NodeId> {
  const slow = new Set<NodeId>();
  if (latenciesMs.size < 2) return slow;
  const sorted = [...latenciesMs.values()].sort((a, b) => a - b);
  const typicalMs = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
  for (const [id, latencyMs] of latenciesMs) {
    if (latencyMs > typicalMs && latencyMs >= SLOW_LATENCY_FACTOR * typicalMs) slow.add(id);
  }
  return slow;
}

/** The last LATENCY_SAMPLE_MAX copy latencies (ms) with the calculator each came from, in a ring. */
export class LatencySample {
  /** BOUNDED: LATENCY_SAMPLE_MAX values, overwritten oldest first. */
  readonly #values = new Float64Array(LATENCY_SAMPLE_MAX);
  /** BOUNDED: LATENCY_SAMPLE_MAX ids, alongside #values. */
  readonly #ids: NodeId[] = [];
  #count = 0;
  #next = 0;

  record(latencyMs: number, calculatorId: NodeId): void {
    assert(Number.isFinite(latencyMs) && latencyMs >= 0, "latency must be a finite non-negative number");
    this.#values[this.#next] = latencyMs;
    this.#ids[this.#next] = calculatorId;
    this.#next = (this.#next + 1) % LATENCY_SAMPLE_MAX;
    this.#count = Math.min(this.#count + 1, LATENCY_SAMPLE_MAX);
  }

  get size(): number {
    return this.#count;
  }

  /**
   * The `quantile` (0..1) of the sample (nearest rank), leaving out the latencies of `excluded`
   * calculators while at least LATENCY_SAMPLE_MIN others remain (else all count); undefined below
   * LATENCY_SAMPLE_MIN values. So one slow calculator cannot lift the threshold to its own latency.
   */
  quantileMs(quantile: number, excluded: ReadonlySet<NodeId> = new Set()): number | undefined {
    assert(quantile > 0 && quantile <= 1, "quantile must be in (0, 1]");
    if (this.#count < LATENCY_SAMPLE_MIN) return undefined;
    let values = this.#values.slice(0, this.#count);
    if (excluded.size > 0) {
      const kept = values.filter((_, i) => !excluded.has(this.#ids[i] ?? ""));
      if (kept.length >= LATENCY_SAMPLE_MIN) values = kept;
    }
    values.sort();
    const rank = Math.min(values.length, Math.max(1, Math.ceil(quantile * values.length)));
    return values[rank - 1];
  }
}

/**
 * Tokens for extra copies: each primary adds `budget`, a hedge needs a whole token and spends it, a
 * re-placement always proceeds (a lost copy must be replaced, SPEC 5.2) but spends one too, down to
 * minus the cap, so hedges stop while a cluster is losing copies. Over any long run, hedges are at
 * most budget × primaries plus the cap.
 */
export class HedgeBudget {
  readonly #ratio: number;
  readonly #tokensMax: number;
  #tokens: number;

  constructor(budget: number) {
    assert(budget >= 0 && Number.isFinite(budget), "budget must be a finite non-negative number");
    this.#ratio = budget;
    this.#tokensMax = budget === 0 ? 0 : Math.max(1, budget * BUDGET_WINDOW_PRIMARIES);
    this.#tokens = this.#tokensMax;
  }

  get tokens(): number {
    return this.#tokens;
  }

  onPrimary(): void {
    // Rounded so that ten primaries at budget 0.1 make exactly one token, not 0.999…
    this.#tokens = Math.min(this.#tokensMax, Math.round((this.#tokens + this.#ratio) * 1e9) / 1e9);
  }

  /** Spends a token for a hedge if a whole one is there. */
  tryHedge(): boolean {
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  onReplacement(): void {
    this.#tokens = Math.max(-this.#tokensMax, this.#tokens - 1);
  }
}
