/**
 * Failure and latency estimates per calculator (SPEC 9, "Failure estimates"): the one place the
 * dispatcher keeps how often a calculator fails its copies and how long its copies take. Placement
 * reads both through CalculatorView (`failureRate`, `latencyMs`); `/status` and `cluster calculators`
 * show them. Pure: time arrives as nowMs; no I/O.
 *
 * Failure rate: time-decayed counts of failures and successes, both halved every `halfLifeMs`, so old
 * behaviour fades and a calculator that stopped failing is forgiven. The rate is
 * failures / (failures + successes + PRIOR_SUCCESS_WEIGHT): the prior keeps one early failure from
 * reading as certainty, and lets the rate decay toward 0 when nothing happens at all. Failures are a
 * copy timeout, a death or restart while holding copies, an outvoted result and a copy that lost the
 * race to its own hedge; a success is a result returned (for a task that votes, a result the
 * quorum agreed with: an outvoted one counts only as a failure).
 *
 * Latency: an EWMA of the start-to-result time of copies that returned a result; undefined until the
 * first one (placement policies decide what unknown means).
 */
import type { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";

/** Why a copy counted as a failure of its calculator. */
export type FailureCause = "timeout" | "death" | "outvoted" | "hedge_lost";

/** Failure counts halve this often by default (ms): config `failureHalfLifeMs`. */
export const FAILURE_HALF_LIFE_MS_DEFAULT = 60_000;
/** Pseudo-successes in the rate's denominator: one failure alone reads 1/3, two in a row 1/2. */
export const PRIOR_SUCCESS_WEIGHT = 2;
/** Weight of the newest copy latency in the latency EWMA (about the last 5 copies dominate). */
export const LATENCY_EWMA_WEIGHT = 0.2;

/** Estimate settings. */
export interface EstimatesConfig {
  /** Failure and success counts halve after this long (ms, > 0). */
  readonly halfLifeMs: number;
  /** Calculators tracked at most (the registry's calculatorsMax). */
  readonly entriesMax: number;
}

/** The state of one calculator's estimate. Counts are decayed to `updatedMs`. */
interface Estimate {
  failures: number;
  successes: number;
  updatedMs: number;
  latencyMs: number | undefined;
}

/** What the estimates say about one calculator at one time. */
export interface EstimateView {
  /** In [0, 1]: decayed failures over decayed events plus the prior; 0 for a calculator never seen failing. */
  readonly failureRate: number;
  /** EWMA of successful copies' latencies (ms); undefined before the first result. */
  readonly latencyMs: number | undefined;
}

/** 2^(-elapsed / halfLife): the factor a count keeps after `elapsedMs`. Time never runs backwards here. */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  assert(halfLifeMs > 0, "halfLifeMs must be positive");
  return elapsedMs <= 0 ? 1 : 2 ** (-elapsedMs / halfLifeMs);
}

/** The failure rate of decayed counts, in [0, 1]. */
export function failureRateOf(failures: number, successes: number): number {
  assert(failures >= 0 && successes >= 0, "counts are never negative");
  return failures / (failures + successes + PRIOR_SUCCESS_WEIGHT);
}

/** Per-calculator failure and latency estimates. */
export class CalculatorEstimates {
  /** BOUNDED: config.entriesMax (calculatorsMax); a new id when full is not recorded; forget() on eviction. */
  readonly #byId = new Map<NodeId, Estimate>();
  readonly #config: EstimatesConfig;
  /** Events not recorded because the table was full. */
  droppedCount = 0;

  constructor(config: EstimatesConfig) {
    assert(config.halfLifeMs > 0 && Number.isFinite(config.halfLifeMs), "halfLifeMs must be positive and finite");
    assert(config.entriesMax >= 1, "entriesMax must be positive");
    this.#config = config;
  }

  /** Calculators with an estimate. */
  get size(): number {
    return this.#byId.size;
  }

  /** A copy on `id` failed (`cause` is kept for the reader; every cause weighs the same). */
  recordFailure(nowMs: number, id: NodeId, cause: FailureCause): void {
    assert(cause.length > 0, "a failure has a cause");
    const estimate = this.#decayed(nowMs, id);
    if (estimate !== undefined) estimate.failures += 1;
  }

  /**
   * A copy on `id` succeeded; with `latencyMs` (ms since the copy started) also a latency sample. A
   * voting copy's success is recorded when the vote agrees with it, its latency when it arrives.
   */
  recordSuccess(nowMs: number, id: NodeId, latencyMs?: number): void {
    const estimate = this.#decayed(nowMs, id);
    if (estimate === undefined) return;
    estimate.successes += 1;
    if (latencyMs !== undefined) this.#sampleLatency(estimate, latencyMs);
  }

  /** A copy on `id` returned a result after `latencyMs` (ms), success or not yet known. */
  recordLatency(nowMs: number, id: NodeId, latencyMs: number): void {
    const estimate = this.#decayed(nowMs, id);
    if (estimate !== undefined) this.#sampleLatency(estimate, latencyMs);
  }

  #sampleLatency(estimate: Estimate, latencyMs: number): void {
    assert(Number.isFinite(latencyMs), "latency must be finite");
    const sampleMs = Math.max(0, latencyMs);
    estimate.latencyMs =
      estimate.latencyMs === undefined
        ? sampleMs
        : estimate.latencyMs + LATENCY_EWMA_WEIGHT * (sampleMs - estimate.latencyMs);
  }

  /** The estimate of `id` at `nowMs`; a calculator never recorded has rate 0 and no latency. */
  view(nowMs: number, id: NodeId): EstimateView {
    const estimate = this.#byId.get(id);
    if (estimate === undefined) return { failureRate: 0, latencyMs: undefined };
    const keep = decayFactor(nowMs - estimate.updatedMs, this.#config.halfLifeMs);
    return {
      failureRate: failureRateOf(estimate.failures * keep, estimate.successes * keep),
      latencyMs: estimate.latencyMs,
    };
  }

  /** Failure rate of `id` at `nowMs`, in [0, 1]. */
  failureRate(nowMs: number, id: NodeId): number {
    return this.view(nowMs, id).failureRate;
  }

  /** Drops what is known about `id` (evicted from the registry). */
  forget(id: NodeId): void {
    this.#byId.delete(id);
  }

  /** The entry of `id` with its counts decayed to nowMs (created if there is room). */
  #decayed(nowMs: number, id: NodeId): Estimate | undefined {
    let estimate = this.#byId.get(id);
    if (estimate === undefined) {
      if (this.#byId.size >= this.#config.entriesMax) {
        this.droppedCount += 1;
        return undefined;
      }
      estimate = { failures: 0, successes: 0, updatedMs: nowMs, latencyMs: undefined };
      this.#byId.set(id, estimate);
      return estimate;
    }
    const keep = decayFactor(nowMs - estimate.updatedMs, this.#config.halfLifeMs);
    estimate.failures *= keep;
    estimate.successes *= keep;
    estimate.updatedMs = Math.max(estimate.updatedMs, nowMs);
    return estimate;
  }
}
