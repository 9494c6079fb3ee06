/**
 * Adaptive replication's trust (SPEC 9, BOINC-style): a calculator earns trust by a run of results
 * that agreed with quorum and loses it with one outvoted result. A task whose primary copy lands on a
 * trusted calculator may run as a single copy, except every SPOT_CHECK_EVERY-th such task, which is
 * replicated anyway so trust keeps being tested (a calculator that turns bad is caught by a vote).
 * Pure: no time, no I/O.
 */
import type { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";

/** Agreeing results in a row that make a calculator trusted: BOINC's adaptive replication uses 10. */
export const TRUST_RUN_MIN = 10;
/** Of the tasks whose primary is trusted, every this-many-th is still fully replicated (a spot check). */
export const SPOT_CHECK_EVERY = 5;

/** Runs of agreeing results per calculator. */
export class TrustBook {
  /** BOUNDED: entriesMax (the registry's calculatorsMax); forget() on eviction; full = not recorded. */
  readonly #runs = new Map<NodeId, number>();
  readonly #runMin: number;
  readonly #entriesMax: number;
  #trustedPrimaryCount = 0;
  #singleCount = 0;

  constructor(runMin: number, entriesMax: number) {
    assert(Number.isInteger(runMin) && runMin >= 1, "trust run must be a positive integer");
    assert(entriesMax >= 1, "entriesMax must be positive");
    this.#runMin = runMin;
    this.#entriesMax = entriesMax;
  }

  isTrusted(calculatorId: NodeId): boolean {
    return (this.#runs.get(calculatorId) ?? 0) >= this.#runMin;
  }

  /** Agreeing results in a row of `calculatorId` (0 when unknown or reset). */
  runOf(calculatorId: NodeId): number {
    return this.#runs.get(calculatorId) ?? 0;
  }

  /** Its result agreed with the quorum. */
  recordAgreed(calculatorId: NodeId): void {
    const run = this.#runs.get(calculatorId);
    if (run === undefined && this.#runs.size >= this.#entriesMax) return;
    this.#runs.set(calculatorId, (run ?? 0) + 1);
  }

  /** Its result was outvoted (or wrong): trust starts over. */
  recordOutvoted(calculatorId: NodeId): void {
    if (this.#runs.has(calculatorId)) this.#runs.set(calculatorId, 0);
  }

  forget(calculatorId: NodeId): void {
    this.#runs.delete(calculatorId);
  }

  /**
   * Called once per task whose primary went to `calculatorId`: true when the task may run as one copy
   * (the calculator is trusted and this is not a spot check).
   */
  mayRunSingle(calculatorId: NodeId): boolean {
    if (!this.isTrusted(calculatorId)) return false;
    this.#trustedPrimaryCount += 1;
    const isSpotCheck = this.#trustedPrimaryCount % SPOT_CHECK_EVERY === 0;
    if (!isSpotCheck) this.#singleCount += 1;
    return !isSpotCheck;
  }

  /** Tasks that ran as one copy thanks to trust so far. */
  get singleCount(): number {
    return this.#singleCount;
  }
}
