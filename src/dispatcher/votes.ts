/**
 * Quorum voting for one task (SPEC 9), as pure values: a VoteBox holds at most one vote per
 * calculator, and planCopies decides from the tally and the copies still out whether the task needs
 * more copies, must wait, or can no longer reach quorum. No time, no I/O: tested alone, including
 * property tests (test/unit/dispatcher/votes.test.ts).
 */
import type { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";

/** What recording one result did. */
export type VoteOutcome =
  | { readonly kind: "counted"; readonly agreeingCount: number }
  /** This calculator already voted on this task: a repeated or forged second result never counts. */
  | { readonly kind: "duplicate" };

/** The votes of one task: one per calculator, counted per distinct result. */
export class VoteBox {
  /** BOUNDED: one entry per calculator that was given the task (maxCopies for replicated tasks). */
  readonly #byCalculator = new Map<NodeId, string>();
  /** BOUNDED: at most one entry per vote above. */
  readonly #counts = new Map<string, number>();
  #leading: { result: string; count: number } | undefined;

  /** Counts `result` from `calculatorId` unless that calculator voted before. */
  record(calculatorId: NodeId, result: string): VoteOutcome {
    if (this.#byCalculator.has(calculatorId)) return { kind: "duplicate" };
    this.#byCalculator.set(calculatorId, result);
    const count = (this.#counts.get(result) ?? 0) + 1;
    this.#counts.set(result, count);
    if (this.#leading === undefined || count > this.#leading.count) this.#leading = { result, count };
    assert(count <= this.#byCalculator.size, "more votes for a result than voters");
    return { kind: "counted", agreeingCount: count };
  }

  hasVoted(calculatorId: NodeId): boolean {
    return this.#byCalculator.has(calculatorId);
  }

  /** Votes received (one per calculator). */
  get votedCount(): number {
    return this.#byCalculator.size;
  }

  /** The result with the most votes (the first to reach that count), or undefined before any vote. */
  get leading(): { readonly result: string; readonly count: number } | undefined {
    return this.#leading;
  }

  /** Every vote, as [calculator, result] pairs in arrival order. */
  entries(): IterableIterator<[NodeId, string]> {
    return this.#byCalculator.entries();
  }
}

/** What planCopies needs to know about one task. */
export interface CopyPlanInput {
  readonly factor: number;
  readonly quorum: number;
  readonly votedCount: number;
  /** Votes for the leading result (0 before any vote). */
  readonly leadingCount: number;
  /** Copies placed on a calculator and not yet voted, lost or cancelled. */
  readonly liveCount: number;
  /** Copies that may still vote: the live ones plus lost ones whose calculator is alive (a timed-out copy may still finish). */
  readonly outstandingCount: number;
  /** Copies started so far (every kind). */
  readonly startedCount: number;
  /** Copies allowed in all (Infinity for plain k = 1 execution, which resends until its deadline). */
  readonly copiesMax: number;
  /** Calculators that could still take a copy (Infinity when unknown: the cluster may still grow). */
  readonly eligibleCount: number;
}

/** The decision for one task. */
export type CopyPlan =
  | { readonly kind: "final" }
  | { readonly kind: "no_quorum" }
  /** Start `count` more copies now (0: wait for the copies out). */
  | { readonly kind: "copies"; readonly count: number };

/**
 * Copies wanted out: enough to replace lost copies (k minus the votes in), and enough that the leading
 * result could still reach quorum (q minus its votes). Quorum is unreachable when even every copy that
 * may still vote, and every copy still allowed on a calculator still eligible, agreeing with the leader
 * would not make q.
 */
export function planCopies(input: CopyPlanInput): CopyPlan {
  assert(input.quorum >= 1 && input.quorum <= input.factor, "need 1 <= quorum <= factor");
  assert(input.liveCount >= 0 && input.startedCount >= input.liveCount, "more live copies than started");
  assert(input.outstandingCount >= input.liveCount, "a live copy is not outstanding");
  if (input.leadingCount >= input.quorum) return { kind: "final" };
  const desiredCount = Math.max(input.factor - input.votedCount, input.quorum - input.leadingCount);
  const neededCount = Math.max(0, desiredCount - input.liveCount);
  const remainingCount = Math.max(0, input.copiesMax - input.startedCount);
  const possibleCount = Math.min(remainingCount, input.eligibleCount);
  if (input.leadingCount + input.outstandingCount + possibleCount < input.quorum) return { kind: "no_quorum" };
  return { kind: "copies", count: Math.min(neededCount, remainingCount) };
}
