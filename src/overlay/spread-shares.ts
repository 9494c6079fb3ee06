/**
 * Each node's share of a spread batch (SPEC.md section 7): `count × slots / Σ slots`, rounded to
 * ⌊share⌋ or ⌈share⌉ so the shares sum to `count` (largest remainder; ties go to the earlier node in
 * the topology file). Every node computes the same shares from the same topology, so a node that acts
 * in a Finn wave knows its own index range [first, first + share) without asking anyone. Pure.
 */
import { assert } from "../runtime/assert.js";
import type { Topology } from "./tree.js";

/** Shares of `count` tasks by slots, one per topology node (in file order); they sum to `count`. */
export function spreadShares(slots: readonly number[], count: number): number[] {
  assert(Number.isInteger(count) && count >= 0, "count must be a non-negative integer");
  assert(slots.length > 0 && slots.every((s) => Number.isInteger(s) && s >= 1), "slots must be positive integers");
  const slotsTotal = slots.reduce((sum, s) => sum + s, 0);
  // Integer arithmetic: count × slots stays far below 2^53 (count ≤ 10 000, slots ≤ 1 024 × 100 000).
  const shares = slots.map((s) => Math.floor((count * s) / slotsTotal));
  const remainders = slots.map((s, i) => ({ i, rest: (count * s) % slotsTotal }));
  remainders.sort((a, b) => b.rest - a.rest || a.i - b.i);
  let left = count - shares.reduce((sum, s) => sum + s, 0);
  assert(left >= 0 && left < slots.length, "largest remainder leaves fewer than N tasks");
  for (const { i } of remainders) {
    if (left === 0) break;
    shares[i] = (shares[i] as number) + 1;
    left -= 1;
  }
  return shares;
}

/** BOUNDED: one entry per live topology (weakly held), each for the last batch size asked. */
const rangesCache = new WeakMap<
  Topology,
  { readonly count: number; readonly firsts: number[]; readonly shares: number[] }
>();

/**
 * Node `index`'s range of task indexes in a batch of `count` tasks over `topology`. The shares are
 * computed once per topology and count (a simulator's agents share one topology), not once per node.
 */
export function spreadRangeOf(topology: Topology, count: number, index: number): { first: number; count: number } {
  assert(index >= 0 && index < topology.size, "node index out of range");
  let cached = rangesCache.get(topology);
  if (cached === undefined || cached.count !== count) {
    const shares = spreadShares(topology.slots, count);
    const firsts: number[] = [];
    let first = 0;
    for (const share of shares) {
      firsts.push(first);
      first += share;
    }
    cached = { count, firsts, shares };
    rangesCache.set(topology, cached);
  }
  return { first: cached.firsts[index] as number, count: cached.shares[index] as number };
}
